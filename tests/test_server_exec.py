"""The credential server behind `exec --server`, with real clients in the child.

botocore's ContainerProvider (boto3's default chain in a child process), the
AWS CLI and the JavaScript SDK v3 get their credentials from the server and
call STS on a real moto_server across at least one renewal. Renewals are
made quick with SESSMAN_SERVER_RENEW_AHEAD (897 s ahead on 900 s sessions:
one every few seconds). The server goes with the child; Ctrl-C reaches the
child once.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support.cli import assert_error_line, cli, running, sessman
from support.fakes import FAKE_SECRET
from support.infra import MotoServer
from support.server import (
    MFA_ROLE,
    ROLE_ARN,
    WAIT,
    config_fixture,  # noqa: F401
    get,
    refused,
)

BIN = Path(sys.executable).parent
JS_DIR = Path(__file__).parent / "js"


STATIC = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")


# -- exec --server, with boto3 and the AWS CLI in the child --------------------------

CHILD = """\
import json, os, re, stat, subprocess, sys, time, urllib.error, urllib.request
import boto3

AWS = sys.argv[1]
e = os.environ
uri, token_file = e["AWS_CONTAINER_CREDENTIALS_FULL_URI"], e["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]
token = open(token_file).read()
deadline = time.monotonic() + 60

def status(headers):
    try:
        with urllib.request.urlopen(urllib.request.Request(uri, headers=headers), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code

def until_changed(key_of):
    first = key_of()
    last = first
    while last == first and time.monotonic() < deadline:
        time.sleep(0.5)
        last = key_of()
    return [first, last]

session = boto3.Session()
sts = session.client("sts")
arns = []

def boto_key():
    arns.append(sts.get_caller_identity()["Arn"])
    return session.get_credentials().get_frozen_credentials().access_key

def cli_key():
    done = subprocess.run(
        [AWS, "sts", "get-caller-identity", "--endpoint-url", e["AWS_ENDPOINT_URL"], "--debug"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    arns.append(json.loads(done.stdout)["Arn"])
    return re.findall(r"Credential=(\\w+)/", done.stderr)[-1]

boto = until_changed(boto_key)
print(json.dumps({
    "aws_env": sorted(k for k in e if k.startswith("AWS_")),
    "passphrase": "SESSMAN_KEYRING_PASSPHRASE" in e,
    "uri": uri,
    "token_file": token_file,
    "file_mode": stat.S_IMODE(os.stat(token_file).st_mode),
    "dir_mode": stat.S_IMODE(os.stat(os.path.dirname(token_file)).st_mode),
    "newline": token.endswith("\\n") or token != token.strip(),
    "token_variable": e.get("AWS_CONTAINER_AUTHORIZATION_TOKEN") == token,
    "no_token": status({}),
    "wrong_token": status({"Authorization": token[:-1] + ("A" if token[-1] != "A" else "B")}),
    "right_token": status({"Authorization": token}),
    "method": session.get_credentials().method,
    "boto": boto,
    "cli": until_changed(cli_key),
    "arns": sorted(set(arns)),
}), flush=True)
sys.exit(7)
"""


@pytest.mark.slow
def test_exec_server_serves_boto3_and_the_aws_cli_across_renewals(
    config: Path, tmp_path: Path
) -> None:
    child = tmp_path / "child.py"
    child.write_text(CHILD)
    # Stray credentials of the parent must not reach the child: they would win.
    env = {
        **os.environ,
        "AWS_PROFILE": "stray",
        "AWS_ACCESS_KEY_ID": "AKIASTRAYPARENTKEY00",
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET,
        "AWS_SESSION_TOKEN": "stray",
    }
    done = sessman(
        "exec",
        "--server",
        "ops",
        "-c",
        str(config),
        "--",
        sys.executable,
        str(child),
        str(BIN / "aws"),
        env=env,
        timeout=180,
    )
    assert done.returncode == 7, done.stderr  # the child's code, passed through
    seen = json.loads(done.stdout)
    assert not set(STATIC) & set(seen["aws_env"]), seen["aws_env"]
    assert "AWS_CONTAINER_CREDENTIALS_FULL_URI" in seen["aws_env"]
    assert not seen["passphrase"]
    assert seen["uri"].startswith("http://127.0.0.1:")
    assert (seen["file_mode"], seen["dir_mode"], seen["newline"]) == (0o600, 0o700, False)
    assert seen["token_variable"]
    assert (seen["no_token"], seen["wrong_token"], seen["right_token"]) == (401, 401, 200)
    assert seen["method"] == "container-role"
    assert seen["arns"] == [ROLE_ARN]
    # Both clients made calls before and after a renewal.
    for client in ("boto", "cli"):
        first, last = seen[client]
        assert first.startswith("ASIA") and last.startswith("ASIA") and first != last, seen
    # The server and its token are gone with the child.
    assert refused(seen["uri"])
    assert not Path(seen["token_file"]).parent.exists()
    assert FAKE_SECRET not in done.stdout + done.stderr
    assert "note:" not in done.stderr, done.stderr


AWS_V2 = Path("/usr/bin/aws")  # Debian 12's awscli package: AWS CLI 2.9


@pytest.mark.slow
def test_exec_server_serves_the_aws_cli_v2(config: Path, moto_server: MotoServer) -> None:
    """AWS CLI 2.9 reads only the token variable, not the file: sessman sets both."""
    if not AWS_V2.is_file():
        pytest.skip(f"{AWS_V2} (Debian's awscli, the AWS CLI v2) is not installed")
    argv = [str(AWS_V2), "sts", "get-caller-identity", "--endpoint-url", moto_server.url]
    done = sessman("exec", "--server", "ops", "-c", str(config), "--", *argv)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Arn"] == ROLE_ARN


@pytest.fixture(scope="session")
def js_client() -> Path:
    """tests/js with its node_modules (installed by `make test`, else here)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed: the JavaScript SDK cannot be tried")
    if not (JS_DIR / "node_modules" / "@aws-sdk" / "client-sts").is_dir():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, check=True, timeout=600
        )
    return JS_DIR / "server_client.mjs"


@pytest.mark.slow
def test_exec_server_serves_the_javascript_sdk_across_renewals(
    config: Path, js_client: Path
) -> None:
    done = sessman(
        "exec", "--server", "ops", "-c", str(config), "--", "node", str(js_client), timeout=180
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["sameToken"] is True
    for way in ("chain", "container"):
        first, last = seen[way]
        assert first["arn"] == last["arn"] == ROLE_ARN
        assert first["key"] != last["key"], seen


@pytest.mark.slow
@pytest.mark.parametrize(("how", "code"), [(signal.SIGKILL, 128 + 9), (signal.SIGTERM, 42)])
def test_the_server_is_gone_when_the_child_is_killed(
    config: Path, how: signal.Signals, code: int
) -> None:
    script = (
        "import os, signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(42))\n"
        "e = os.environ\n"
        "print(os.getpid(), e['AWS_CONTAINER_CREDENTIALS_FULL_URI'],"
        " e['AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'], flush=True)\n"
        "time.sleep(60)\n"
    )
    argv = ["exec", "--server", "ops", "-c", str(config), "--", sys.executable, "-c", script]
    with running(argv) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        pid, url, token_file = proc.stdout.readline().split()
        token = Path(token_file).read_text()
        assert get(url, {"Host": url.split("/")[2], "Authorization": token})[0] == 200
        if how == signal.SIGKILL:
            os.kill(int(pid), how)  # the child dies; sessman must notice
        else:
            proc.send_signal(how)  # sessman is asked to stop; the child hears it
        assert proc.wait(timeout=WAIT) == code
        assert refused(url)
        assert not Path(token_file).exists()


@pytest.mark.slow
def test_ctrl_c_reaches_the_child_once(config: Path) -> None:
    """Ctrl-C on a terminal signals the whole process group: sessman must not send a second."""
    script = (
        "import signal, sys, time\n"
        "seen = []\n"
        "signal.signal(signal.SIGINT, lambda *a: seen.append(1))\n"
        "print('ready', flush=True)\n"
        "deadline = time.monotonic() + 30\n"
        "while not seen and time.monotonic() < deadline:\n"
        "    time.sleep(0.05)\n"
        "time.sleep(0.5)\n"
        "sys.exit(10 + len(seen))\n"
    )
    argv = ["exec", "--server", "ops", "-c", str(config), "--", sys.executable, "-c", script]
    with running(argv, start_new_session=True) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline().strip() == "ready"
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=WAIT) == 11, proc.stderr.read()


@pytest.mark.slow
def test_roles_behind_mfa_are_renewed_without_a_prompt(config: Path) -> None:
    config.write_text(config.read_text() + MFA_ROLE)
    # No terminal, no session: a clear error, not a prompt.
    refused_ = sessman("exec", "--server", "mfaops", "-c", str(config), "--", "true")
    assert refused_.returncode == 2
    assert_error_line(refused_, contains="MFA code")
    assert "sessman open mfaops --mfa-code" in refused_.stderr
    opened = cli("open", "mfaops", "--mfa-code", "123456", "-c", str(config))
    assert opened.exit_code == 0, opened.stderr
    # With the MFA session open, the role is assumed again in the background.
    script = (
        "import boto3, sys, time\n"
        "s = boto3.Session()\n"
        "key = lambda: s.get_credentials().get_frozen_credentials().access_key\n"
        "first, deadline = key(), time.monotonic() + 60\n"
        "while key() == first and time.monotonic() < deadline:\n"
        "    time.sleep(0.2)\n"
        "sys.exit(0 if key() != first else 3)\n"
    )
    done = sessman(
        "exec", "--server", "mfaops", "-c", str(config), "--", sys.executable, "-c", script
    )
    assert done.returncode == 0, done.stderr
    assert "note:" not in done.stderr, done.stderr
