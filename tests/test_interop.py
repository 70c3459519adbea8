"""Interoperability: real clients use sessman's sessions through every hand-over.

The matrix (client x hand-over), each against one moto_server per run:

- clients: AWS CLI v1 (the venv's ``aws``), AWS CLI v2 (Debian's
  ``/usr/bin/aws``), the JavaScript SDK v3 (``tests/js``), boto3 in its own
  process;
- hand-overs: ``credential_process`` in ``~/.aws/config``, ``sessman exec``,
  ``eval "$(sessman env)"`` in bash, and for the dotenv readers
  (python-dotenv, Node's ``dotenv``, ``node --env-file``) ``--format dotenv``.

Each client must come out as the role ``Ops`` (session ``interop``), even with
a stray ``AWS_PROFILE`` (pointing at other static keys) in the parent. Shells
(bash, dash, zsh, fish) evaluate ``env a`` then ``env b`` and must hold
exactly b's environment. Everything runs as separate processes with an
explicit environment: nothing here sees the user's AWS set-up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.fakes import FAKE_SECRET, PASSPHRASE
from support.infra import MotoServer
from support.programs import need

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
JS = Path(__file__).parent / "js"
AWS_V2 = Path("/usr/bin/aws")
OPS_ARN = "arn:aws:sts::123456789012:assumed-role/Ops/interop"
#: A different identity: what a client reports if a stray AWS_PROFILE wins.
STRAY_KEY = "AKIASTRAYPROFILE0001"
#: What installs the clients this suite runs (a skip or a failure names it).
INSTALLED_BY = "scripts/system-deps.sh, make js-deps"


@dataclass(frozen=True)
class World:
    """A profiles file, keyring, state dir and ~/.aws/config shared by the module."""

    root: Path
    url: str
    env: Mapping[str, str]

    def run(
        self,
        argv: list[str],
        *,
        extra: Mapping[str, str] | None = None,
        input: str | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            argv,
            env={**self.env, **(extra or {})},
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=cwd or self.root,
        )
        assert FAKE_SECRET not in done.stdout + done.stderr
        return done


def _sessman() -> str:
    script = BIN / "sessman"
    return str(script) if script.exists() else f"{sys.executable} -m sessman"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, moto_server: MotoServer) -> Iterator[World]:
    root = tmp_path_factory.mktemp("interop")
    home = root / "home"
    (home / ".aws").mkdir(parents=True)
    config = root / "profiles.yaml"
    config.write_text(
        f"""\
version: 1
keyring_service: interop
defaults:
  region: eu-north-1
  endpoint_url: {moto_server.url}
  retries: {{mode: standard, max_attempts: 2}}
profiles:
  dev:
    access_key_id: AKIAINTEROPEXAMPLE01
  ops:
    source_profile: dev
    role_arn: arn:aws:iam::123456789012:role/Ops
    role_session_name: interop
  other:
    source_profile: dev
    role_arn: arn:aws:iam::123456789012:role/Other
    role_session_name: interop
    region: us-west-2
    endpoint_url: http://localhost:{moto_server.port}
"""
    )
    aws_config = home / ".aws" / "config"
    aws_config.write_text(
        "[profile viasessman]\n"
        f"credential_process = {_sessman()} credential-process ops\n"
        "region = eu-north-1\n"
        "[profile stray]\n"
        f"aws_access_key_id = {STRAY_KEY}\n"
        "aws_secret_access_key = strayStraySecretKeyExample0000000000000\n"
        "region = eu-north-1\n"
    )
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "TERM")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        HOME=str(home),
        SHELL="/bin/sh",
        AWS_CONFIG_FILE=str(aws_config),
        AWS_SHARED_CREDENTIALS_FILE=str(home / ".aws" / "credentials"),
        SESSMAN_CONFIG=str(config),
        SESSMAN_STATE_DIR=str(root / "state"),
        SESSMAN_KEYRING_FILE=str(root / "keyring.enc"),
        SESSMAN_KEYRING_PASSPHRASE=PASSPHRASE,
        PYTHON_KEYRING_BACKEND="sessman.filekeyring.EncryptedFileKeyring",
        SESSMAN_T_ENDPOINT=moto_server.url,
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
    )
    w = World(root=root, url=moto_server.url, env=env)
    stored = w.run([*_sessman().split(), "secret", "set", "dev", "--stdin"], input=FAKE_SECRET)
    assert stored.returncode == 0, stored.stderr
    opened = w.run([*_sessman().split(), "open", "ops", "other"])
    assert opened.returncode == 0, opened.stderr
    yield w


# -- the clients ------------------------------------------------------------------

#: Each client's command line for GetCallerIdentity; it prints JSON with "arn".
PY_WHOAMI = (
    "import boto3, json, os\n"
    "s = boto3.Session()\n"
    "sts = s.client('sts', endpoint_url=os.environ['SESSMAN_T_ENDPOINT'])\n"
    "key = s.get_credentials().get_frozen_credentials().access_key\n"
    "print(json.dumps({'arn': sts.get_caller_identity()['Arn'], 'key': key}))\n"
)


def client_argv(client: str, url: str) -> list[str]:
    if client == "aws-cli-v1":
        return [str(BIN / "aws"), "sts", "get-caller-identity", "--output", "json"]
    if client == "aws-cli-v2":
        if not AWS_V2.exists():
            need("/usr/bin/aws", INSTALLED_BY)
        # v2 2.9 ignores AWS_ENDPOINT_URL (FACTS): the endpoint goes on the line.
        return [
            str(AWS_V2),
            "sts",
            "get-caller-identity",
            "--endpoint-url",
            url,
            "--output",
            "json",
        ]
    if client == "js-sdk-v3":
        if not (JS / "node_modules" / "@aws-sdk" / "client-sts").is_dir():
            if os.environ.get("CI") == "true":
                pytest.fail("tests/js is not installed (make js-deps)")
            pytest.skip("tests/js is not installed (make js-deps)")
        return [need("node", INSTALLED_BY), str(JS / "whoami.mjs")]
    assert client == "boto3"
    return [sys.executable, "-c", PY_WHOAMI]


def arn_of(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    return str(data.get("arn") or data.get("Arn"))


CLIENTS = ["aws-cli-v1", "aws-cli-v2", "js-sdk-v3", "boto3"]


@pytest.mark.parametrize("client", CLIENTS)
def test_credential_process(world: World, client: str) -> None:
    argv = client_argv(client, world.url)
    extra = {"AWS_PROFILE": "viasessman"}
    if client == "aws-cli-v1":
        extra["AWS_ENDPOINT_URL"] = world.url
    assert arn_of(world.run(argv, extra=extra)) == OPS_ARN


@pytest.mark.parametrize("client", CLIENTS)
def test_exec(world: World, client: str) -> None:
    argv = client_argv(client, world.url)
    done = world.run(["sessman", "exec", "ops", "--", *argv], extra={"AWS_PROFILE": "stray"})
    assert arn_of(done) == OPS_ARN


@pytest.mark.parametrize("client", CLIENTS)
def test_env_in_bash(world: World, client: str) -> None:
    argv = " ".join(client_argv(client, world.url)).replace(PY_WHOAMI, "")
    if client == "boto3":
        argv = f'{sys.executable} -c "$PY_WHOAMI"'
    script = f'eval "$(sessman env ops)" && exec {argv}'
    done = world.run(
        [need("bash", INSTALLED_BY), "-c", script],
        extra={"AWS_PROFILE": "stray", "PY_WHOAMI": PY_WHOAMI},
    )
    assert arn_of(done) == OPS_ARN


@pytest.mark.parametrize("reader", ["python-dotenv", "node --env-file", "node dotenv"])
def test_dotenv(world: World, reader: str, tmp_path: Path) -> None:
    written = world.run(["sessman", "env", "ops", "--format", "dotenv"])
    assert written.returncode == 0, written.stderr
    dotenv = tmp_path / "ops.env"
    dotenv.write_text(written.stdout)
    extra = {"AWS_PROFILE": "stray"}
    if reader == "python-dotenv":
        code = "import dotenv; dotenv.load_dotenv(os.environ['T_FILE'], override=True)\n"
        argv = [sys.executable, "-c", "import os\n" + code + PY_WHOAMI]
        extra["T_FILE"] = str(dotenv)
        # A dotenv file cannot unset: the program is started without the stray profile.
        extra.pop("AWS_PROFILE")
    elif reader == "node --env-file":
        argv = [*client_argv("js-sdk-v3", world.url)]
        argv.insert(1, f"--env-file={dotenv}")
        extra.pop("AWS_PROFILE")
    else:
        argv = client_argv("js-sdk-v3", world.url)
        argv[1:1] = ["-r", "dotenv/config"]
        extra = {"DOTENV_CONFIG_PATH": str(dotenv)}
    assert arn_of(world.run(argv, extra=extra, cwd=JS)) == OPS_ARN


# -- shells -----------------------------------------------------------------------

SHELLS = ["bash", "dash", "zsh", "fish"]
STRAYS = {
    "AWS_PROFILE": "stray",
    "AWS_DEFAULT_PROFILE": "stray",
    "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:9",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
    "AWS_SECURITY_TOKEN": "old",
    "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/Stray",
    "AWS_FUTURE_CREDENTIAL_SOURCE": "x",  # unknown today: the allow-list removes it too
    "AWS_DEFAULT_OUTPUT": "text",  # kept: it only changes how output looks
}
DUMP = (
    "import json, os; print(json.dumps({k: v for k, v in sorted(os.environ.items())"
    " if k.startswith(('AWS_', 'SESSMAN_'))}))"
)


def shell_env(world: World, shell: str, *profiles: str) -> dict[str, str]:
    """The AWS_* / SESSMAN_* variables after evaluating ``sessman env P`` for each of profiles."""
    program = need(shell, INSTALLED_BY)
    if shell == "fish":
        evals = "; ".join(f"sessman env {p} --format fish | source" for p in profiles)
    else:
        evals = "; ".join(f'eval "$(sessman env {p})"' for p in profiles)
    script = f'{evals}; {sys.executable} -c "{DUMP}"'
    done = world.run([program, "-c", script], extra=STRAYS)
    assert done.returncode == 0, done.stderr
    variables: dict[str, str] = json.loads(done.stdout)
    return variables


@pytest.mark.parametrize("shell", SHELLS)
def test_env_b_after_env_a_leaves_exactly_b(world: World, shell: str) -> None:
    only_b = shell_env(world, shell, "ops")
    a_then_b = shell_env(world, shell, "other", "ops")
    assert a_then_b == only_b
    expected = {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CREDENTIAL_EXPIRATION",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_DEFAULT_OUTPUT",
        "SESSMAN_PROFILE",
        # Not AWS_*: the profiles file, state and keyring of this test world.
        "SESSMAN_CONFIG",
        "SESSMAN_STATE_DIR",
        "SESSMAN_KEYRING_FILE",
        "SESSMAN_KEYRING_PASSPHRASE",
        "SESSMAN_T_ENDPOINT",
    }
    assert set(only_b) == expected
    assert only_b["AWS_ENDPOINT_URL"] == world.url and only_b["AWS_REGION"] == "eu-north-1"
    assert only_b["SESSMAN_PROFILE"] == "ops" and "SESSMAN_EXEC" not in only_b
    assert only_b["AWS_CREDENTIAL_EXPIRATION"].endswith("Z")
    a = shell_env(world, shell, "other")
    assert a["AWS_REGION"] == "us-west-2" and a["AWS_ENDPOINT_URL"] != world.url


def test_exec_after_env_and_no_exec_inside_exec(world: World) -> None:
    bash = need("bash", INSTALLED_BY)
    script = f'eval "$(sessman env other)" && sessman exec ops -- {sys.executable} -c "{DUMP}"'
    done = world.run([bash, "-c", script])
    assert done.returncode == 0, done.stderr
    inside = json.loads(done.stdout)
    assert inside["SESSMAN_PROFILE"] == inside["SESSMAN_EXEC"] == "ops"
    assert inside["AWS_REGION"] == "eu-north-1"
    assert "SESSMAN_KEYRING_PASSPHRASE" not in inside
    assert "AWS_CONFIG_FILE" not in inside
    nested = world.run(["sessman", "exec", "ops", "--", "sessman", "exec", "other", "--", "true"])
    assert nested.returncode == 2
    assert "already inside" in nested.stderr


@pytest.mark.parametrize("shell", ["bash", "dash", "zsh", "fish"])
def test_exec_without_a_command_runs_the_shell_on_stdin(world: World, shell: str) -> None:
    program = need(shell, INSTALLED_BY)
    done = world.run(
        ["sessman", "exec", "ops", "--region", "us-east-2"],
        extra={"SHELL": program},
        input="echo inside $SESSMAN_PROFILE $AWS_REGION\nexit 3\n",
    )
    assert done.returncode == 3, done.stderr
    assert done.stdout.split() == ["inside", "ops", "us-east-2"]


def test_exec_without_a_command_is_an_interactive_shell_on_a_terminal(world: World) -> None:
    import pty
    import select

    bash = need("bash", INSTALLED_BY)
    main, child = pty.openpty()
    proc = subprocess.Popen(
        ["sessman", "exec", "ops"],
        stdin=child,
        stdout=child,
        stderr=child,
        env={**world.env, "SHELL": bash, "PS1": "sessman-prompt$ ", "TERM": "dumb"},
        cwd=world.root,
        start_new_session=True,
    )
    os.close(child)
    os.write(main, b"echo marker-$SESSMAN_PROFILE-$-\nexit\n")
    seen = b""
    while proc.poll() is None or select.select([main], [], [], 0.1)[0]:
        if select.select([main], [], [], 1)[0]:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    proc.wait(timeout=60)
    os.close(main)
    text = seen.decode(errors="replace")
    marker = next(line for line in text.splitlines() if line.startswith("marker-ops-"))
    assert "i" in marker.removeprefix("marker-ops-")  # $- holds i: interactive
