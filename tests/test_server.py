"""The credential server (SPEC 10.1): `exec --server` and `serve`, with real clients.

botocore's ContainerProvider (boto3's default chain in a child process), the
AWS CLI and the JavaScript SDK v3 get their credentials from the server and
call STS on a real moto_server across at least one renewal. Renewals are
made quick with SESSMAN_SERVER_RENEW_AHEAD (897 s ahead on 900 s sessions:
one every few seconds). Refusals (no token, wrong token, foreign Host) are
asked over raw HTTP; the server's policy is also driven in-process with a
fetch that blocks or fails.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from support.cli import assert_error_line, cli, running, sessman, sessman_argv
from support.fakes import FAKE_SECRET
from support.infra import MotoServer

from sessman._http import LoopbackServer, _Server
from sessman.credentials import TemporaryCredentials
from sessman.credserver import (
    CredentialServer,
    RenewingCredentials,
    Timing,
    TokenFile,
    served_duration,
    timing,
)
from sessman.errors import SessmanError, UsageError
from sessman.testing import make_manager

BIN = Path(sys.executable).parent
JS_DIR = Path(__file__).parent / "js"
ROLE_ARN = "arn:aws:sts::123456789012:assumed-role/Ops/tester"
STATIC = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")
WAIT = 60.0  # generous: the machine is shared


@pytest.fixture
def config(tmp_path: Path, moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Profiles against moto_server; renewals every few seconds for the processes started."""
    path = tmp_path / "profiles.yaml"
    path.write_text(
        f"""\
version: 1
keyring_service: server-{tmp_path.name}
defaults:
  region: eu-north-1
  endpoint_url: {moto_server.url}
  connect_timeout: 2
  read_timeout: 5
  retries: {{mode: standard, max_attempts: 1}}
profiles:
  dev:
    access_key_id: AKIAHANDOVEREXAMPLE1
  ops:
    source_profile: dev
    role_arn: arn:aws:iam::123456789012:role/Ops
    role_session_name: tester
    session_duration: 900
"""
    )
    stored = cli("secret", "set", "dev", "--stdin", "-c", str(path), input=FAKE_SECRET)
    assert stored.exit_code == 0, stored.stderr
    monkeypatch.setenv("SESSMAN_SERVER_RENEW_AHEAD", "897")
    monkeypatch.setenv("SESSMAN_SERVER_RETRY", "1")
    return path


def refused(url: str) -> bool:
    """Whether nothing listens at the port of ``url`` any more."""
    port = int(url.rsplit(":", 1)[1].strip("/"))
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def get(url: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """A GET with exactly ``headers`` (no Host unless given)."""
    rest = url.removeprefix("http://")
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.putrequest("GET", "/" + path, skip_host=True, skip_accept_encoding=True)
        for key, value in headers.items():
            conn.putheader(key, value)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


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
    config.write_text(
        config.read_text()
        + """\
  mfaops:
    source_profile: dev
    role_arn: arn:aws:iam::123456789012:role/Ops
    role_session_name: tester
    mfa_serial: arn:aws:iam::123456789012:mfa/dev
    session_duration: 900
"""
    )
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


# -- serve -----------------------------------------------------------------------


@pytest.fixture
def served(config: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    """`sessman serve ops --format json` running, and the variables it printed."""
    with running(["serve", "ops", "--format", "json", "-c", str(config)]) as proc:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(4)]
        yield proc, json.loads("".join(lines))


@pytest.mark.slow
def test_serve_refuses_foreign_hosts_before_tokens(
    served: tuple[subprocess.Popen[str], dict[str, str]],
) -> None:
    proc, found = served
    assert set(found) == {
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    }
    url = found["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
    token_file = Path(found["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"])
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text()
    assert token and token == token.strip()
    port = url.split(":")[2].strip("/")
    good = {"Host": f"127.0.0.1:{port}", "Authorization": token}
    status, body = get(url, good)
    assert status == 200
    doc = json.loads(body)
    assert set(doc) == {"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "AccountId"}
    assert doc["AccountId"] == "123456789012" and doc["Expiration"].endswith("Z")
    assert get(url, {**good, "Host": f"localhost:{port}"})[0] == 200
    assert get(url, {**good, "Host": "localhost"})[0] == 200
    assert get(url, {"Host": f"127.0.0.1:{port}"})[0] == 401
    assert get(url, {**good, "Authorization": token + "x"})[0] == 401
    assert get(url, {**good, "Authorization": ""})[0] == 401
    # DNS rebinding: a foreign name is refused even with the right token, and
    # without one it is 403, not 401 (the Host is checked first).
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1:{int(port) + 1}", "[::1]"):
        assert get(url, {**good, "Host": host})[0] == 403, host
        assert get(url, {"Host": host})[0] == 403, host
    assert get(url, {"Authorization": token})[0] == 403  # no Host at all
    assert get(url + "other", good)[0] == 404
    assert token not in json.dumps(found)
    # SIGTERM: a clean stop, token removed, port closed.
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=WAIT) == 0
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    assert "stopped" in stderr
    assert refused(url) and not token_file.parent.exists()
    assert doc["SecretAccessKey"] not in stderr and token not in stderr


def read_sh(proc: subprocess.Popen[str]) -> list[str]:
    """The lines of ``serve``'s sh output, up to the token's (the last)."""
    assert proc.stdout is not None
    lines = [proc.stdout.readline()]
    while lines[-1] and "AWS_CONTAINER_AUTHORIZATION_TOKEN=" not in lines[-1]:
        lines.append(proc.stdout.readline())
    return lines


@pytest.mark.slow
def test_serve_sh_output_is_evaluated_by_bash_and_ctrl_c_stops_it(
    config: Path, moto_server: MotoServer, tmp_path: Path
) -> None:
    # Another [default] profile, in files the shell points to: they must not win.
    stray = tmp_path / "stray-credentials"
    stray.write_text(
        "[default]\naws_access_key_id = AKIASTRAYFILEKEY0000\naws_secret_access_key = stray\n"
    )
    env = {
        **os.environ,
        "AWS_SHARED_CREDENTIALS_FILE": str(stray),
        "AWS_CONFIG_FILE": str(stray),
        "AWS_REGION": "us-east-2",
        "AWS_PAGER": "",
    }
    with running(["serve", "ops", "-c", str(config)], env=env) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        lines = read_sh(proc)
        unset = lines[0].split()
        assert unset[0] == "unset"
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
            assert name in unset
        assert "AWS_PAGER" not in unset  # kept, as by env
        exported = {line.split()[1].split("=")[0] for line in lines[1:]}
        assert not exported & set(unset)
        assert "$(cat " in lines[-1]  # the token is read when evaluated, never printed
        script = "".join(lines) + (
            'printf "%s\\n" "$AWS_CONTAINER_CREDENTIALS_FULL_URI" "$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"'
            ' "$AWS_CONTAINER_AUTHORIZATION_TOKEN"'
        )
        env = {
            **env,
            "AWS_ACCESS_KEY_ID": "AKIASTRAYPARENTKEY00",
            "AWS_ENDPOINT_URL": moto_server.url,
            "AWS_DEFAULT_REGION": "eu-north-1",
        }
        done = subprocess.run(
            ["bash", "-c", script], capture_output=True, text=True, env=env, check=True, timeout=30
        )
        url, token_file, token = done.stdout.split()
        assert token == Path(token_file).read_text() and token not in "".join(lines)
        code = (
            "import boto3; s = boto3.Session(); c = s.client('sts');"
            "print(c.get_caller_identity()['Arn'], s.get_credentials().method, s.region_name)"
        )
        child = subprocess.run(
            ["bash", "-c", script.rsplit("\n", 1)[0] + f"\n{sys.executable} -c {code!r}"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=60,
        )
        assert child.stdout.split() == [ROLE_ARN, "container-role", "eu-north-1"], child.stderr
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=WAIT) == 130
        stderr = proc.stderr.read()
        assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr, stderr
        assert refused(url) and not Path(token_file).exists()


@contextlib.contextmanager
def moto_on(port: int, log: Path) -> Iterator[None]:
    """A moto_server of this test's own on ``port`` (so it can be stopped and started again)."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        )
    try:
        deadline = time.monotonic() + WAIT
        while refused(f"http://127.0.0.1:{port}"):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.05)
        yield
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=WAIT)


def wait_for(path: Path, needle: str) -> str:
    deadline = time.monotonic() + WAIT
    while needle not in path.read_text():
        assert time.monotonic() < deadline, path.read_text()
        time.sleep(0.1)
    return path.read_text()


@pytest.mark.slow
def test_a_failing_renewal_keeps_serving_and_says_so_once(
    config: Path, tmp_path: Path, moto_server: MotoServer
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    own = tmp_path / "own.yaml"
    own.write_text(config.read_text().replace(moto_server.url, f"http://127.0.0.1:{port}"))
    stderr_file = tmp_path / "serve.err"
    first_moto = contextlib.ExitStack()
    first_moto.enter_context(moto_on(port, tmp_path / "moto.log"))
    with stderr_file.open("w") as err:
        proc = subprocess.Popen(
            sessman_argv("serve", "ops", "--format", "json", "-c", str(own)),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    assert proc.stdout is not None
    try:
        found = json.loads("".join(proc.stdout.readline() for _ in range(4)))
        url = found["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
        token = Path(found["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]).read_text()
        headers = {"Host": url.split("/")[2], "Authorization": token}

        def served_key() -> str:
            status, body = get(url, headers)
            assert status == 200, body
            key: str = json.loads(body)["AccessKeyId"]
            return key

        before = served_key()
        first_moto.close()
        # STS is gone: the current credentials are still served.
        wait_for(stderr_file, "failed")
        time.sleep(3)  # three more failed attempts (SESSMAN_SERVER_RETRY=1)
        assert served_key() == before
        with moto_on(port, tmp_path / "moto.log"):
            text = wait_for(stderr_file, "renewed again")
            assert served_key() != before
    finally:
        first_moto.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=WAIT) == 0
        proc.stdout.close()
    failures = [line for line in text.splitlines() if "failed" in line]
    assert len(failures) == 1, text
    assert failures[0].startswith("sessman: note: ") and "'ops'" in failures[0]
    assert FAKE_SECRET not in stderr_file.read_text()


# -- bad input ---------------------------------------------------------------------


def test_bad_timing_variables_are_one_clear_error(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad_values = [("SESSMAN_SERVER_RENEW_AHEAD", v) for v in ("soon", "inf", "nan")]
    bad_values += [("SESSMAN_SERVER_RETRY", v) for v in ("-1", "inf", "nan", "1e300", "43201")]
    for name, value in bad_values:
        monkeypatch.setenv(name, value)
        bad = cli("exec", "--server", "ops", "-c", str(config), "--", "true")
        assert bad.exit_code == 2, bad.stderr
        assert_error_line(bad, contains=name)
        monkeypatch.setenv("SESSMAN_SERVER_RENEW_AHEAD", "897")
        monkeypatch.setenv("SESSMAN_SERVER_RETRY", "1")
    monkeypatch.setenv("SESSMAN_SERVER_RENEW_AHEAD", "900")
    impossible = cli("serve", "ops", "-c", str(config))
    assert impossible.exit_code == 2
    assert_error_line(impossible, contains="900")
    unknown = cli("exec", "--server", "nope", "-c", str(config), "--", "true")
    assert unknown.exit_code == 2
    assert_error_line(unknown, contains="nope")


def test_timing_fits_the_session_length() -> None:
    assert timing(3600, {}) == Timing(1200, 30)
    assert timing(900, {}) == Timing(450, 30)  # half a short session, not every request
    assert timing(900, {"SESSMAN_SERVER_RENEW_AHEAD": "10", "SESSMAN_SERVER_RETRY": "2"}) == Timing(
        10, 2
    )
    with pytest.raises(UsageError):
        timing(900, {"SESSMAN_SERVER_RENEW_AHEAD": "0"})
    # A retry the clock cannot wait for is refused, not an OverflowError in the thread.
    for value in ("inf", "-inf", "nan", "1e300", "43201"):
        with pytest.raises(UsageError, match="SESSMAN_SERVER_RETRY"):
            timing(900, {"SESSMAN_SERVER_RETRY": value})
    assert timing(900, {"SESSMAN_SERVER_RETRY": "43200"}).retry == 43200


def test_chained_roles_are_renewed_within_the_one_hour_cap() -> None:
    manager = make_manager(
        {
            "base": {"access_key_id": "AKIAHANDOVEREXAMPLE1", "region": "eu-north-1"},
            "first": {
                "source_profile": "base",
                "role_arn": "arn:aws:iam::123456789012:role/First",
                "region": "eu-north-1",
                "session_duration": 7200,
            },
            "second": {
                "source_profile": "first",
                "role_arn": "arn:aws:iam::123456789012:role/Second",
                "region": "eu-north-1",
                "session_duration": 7200,
            },
        }
    )
    with manager:
        assert served_duration(manager, "first") == 7200
        assert served_duration(manager, "second") == 3600
        assert served_duration(manager, "base") == manager.profile("base").session_duration


# -- the policy, in-process --------------------------------------------------------


def fake_credentials(number: int, seconds: float) -> TemporaryCredentials:
    return TemporaryCredentials(
        f"ASIAFAKE{number:012d}",
        f"secret-{number}",
        f"token-{number}",
        datetime.now(timezone.utc) + timedelta(seconds=seconds),
    )


def test_requests_never_wait_on_a_renewal_and_failures_are_said_once() -> None:
    """A renewal that hangs, then fails, then succeeds: requests are answered throughout."""
    release = threading.Event()
    calls: list[int] = []
    notes: list[str] = []

    def fetch() -> tuple[TemporaryCredentials, str | None]:
        calls.append(1)
        if len(calls) == 2:
            release.wait(WAIT)  # STS hangs on the first renewal
        if 2 <= len(calls) <= 5:
            raise SessmanError("profile 'x': cannot reach STS")
        return fake_credentials(len(calls), 60), "123456789012"

    renewing = RenewingCredentials("x", fetch, Timing(ahead=59.9, retry=0.05), note=notes.append)
    with CredentialServer(renewing) as server:
        token = server.token_file.read_text()
        headers = {"Host": server.url.split("/")[2], "Authorization": token}
        deadline = time.monotonic() + WAIT
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(calls) == 2 and not release.is_set()
        # The renewal is stuck: a request is still answered, with the current keys.
        status, body = get(server.url, headers)
        assert status == 200 and json.loads(body)["AccessKeyId"] == "ASIAFAKE000000000001"
        release.set()
        while len(calls) < 7 and time.monotonic() < deadline:
            time.sleep(0.01)
        status, body = get(server.url, headers)
        assert status == 200 and json.loads(body)["AccessKeyId"] != "ASIAFAKE000000000001"
    assert len(calls) >= 7
    assert len([n for n in notes if "failed" in n]) == 1, notes
    assert "cannot reach STS" in notes[0] and "serving the current ones" in notes[0]
    assert "renewed again" in notes[1]
    assert renewing.renewals >= 2
    assert refused(server.url)


def test_expired_credentials_are_not_served() -> None:
    calls: list[int] = []
    notes: list[str] = []

    def fetch() -> tuple[TemporaryCredentials, str | None]:
        calls.append(1)
        if len(calls) > 1:
            raise OSError("no route to STS: secret-1")  # its text is never shown
        return fake_credentials(1, 0.5), None

    renewing = RenewingCredentials("x", fetch, Timing(ahead=0.1, retry=0.05), note=notes.append)
    with CredentialServer(renewing) as server:
        headers = {"Host": server.url.split("/")[2], "Authorization": server.token_file.read_text()}
        status, body = get(server.url, headers)
        assert status == 200 and "AccountId" not in json.loads(body)
        deadline = time.monotonic() + WAIT
        while len(notes) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        status, body = get(server.url, headers)
        assert status == 503 and b"secret-1" not in body
    assert len(notes) == 2, notes
    assert "failed (OSError)" in notes[0] and "expired" in notes[1]
    assert not any("secret-1" in note for note in notes)


def test_the_http_part_is_separate_from_credentials() -> None:
    with LoopbackServer("t0ken", lambda: (200, b'{"ok": true}'), path="/x") as server:
        assert server.url.endswith("/x")
        host = server.url.split("/")[2]
        assert get(server.url, {"Host": host, "Authorization": "t0ken"}) == (200, b'{"ok": true}')
        assert get(server.url, {"Host": host})[0] == 401
        two = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        two.putrequest("GET", "/x", skip_host=True)
        two.putheader("Host", host)
        two.putheader("Host", "evil.example")
        two.putheader("Authorization", "t0ken")
        two.endheaders()
        assert two.getresponse().status == 403
        two.close()
    assert "t0ken" not in repr(server)


def test_other_commands_do_not_load_the_server() -> None:
    code = "import sys, sessman.cli.app; print(sorted({'http.server', 'sessman.credserver'} & set(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def test_the_token_file_prefers_a_private_runtime_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    private = TokenFile()
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o777)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(shared))
    elsewhere = TokenFile()
    try:
        assert private.path.parent.parent == runtime
        assert elsewhere.path.parent.parent != shared
        for made in (private, elsewhere):
            assert stat.S_IMODE(made.path.stat().st_mode) == 0o600
            assert stat.S_IMODE(made.path.parent.stat().st_mode) == 0o700
            assert made.path.read_text() == made.token and "\n" not in made.token
            assert made.token not in repr(made)
    finally:
        private.remove()
        elsewhere.remove()
    assert not private.path.parent.exists() and not elsewhere.path.parent.exists()


# -- clients that misbehave ----------------------------------------------------------


@contextlib.contextmanager
def served_in_process(
    answer: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[LoopbackServer, threading.Semaphore]]:
    """A LoopbackServer (token ``t0ken``) and a semaphore released once per connection handled."""
    handled = threading.Semaphore(0)
    original = _Server.shutdown_request

    def counted(self: _Server, request: Any) -> None:
        original(self, request)
        handled.release()

    monkeypatch.setattr(_Server, "shutdown_request", counted)
    with LoopbackServer("t0ken", answer) as server:
        yield server, handled


def hang_up(port: int, data: bytes, *, reset: bool, after: threading.Event | None = None) -> None:
    """Send ``data`` and go away without reading: a reset (RST) or a plain close."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(data)
    if reset:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()
    if after is not None:
        after.set()


#: The start of a TLS ClientHello: what `curl https://127.0.0.1:PORT/` sends.
CLIENT_HELLO = bytes.fromhex("16030100f8010000f40303") + bytes(range(32)) + b"\x00\x3e\x13\x02"


def test_clients_that_hang_up_early_are_not_reported(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    gone = threading.Event()

    def answer() -> tuple[int, bytes]:
        gone.wait(WAIT)  # answer only once the client has left: the write must fail
        return 200, b"x" * (4 << 20)

    with served_in_process(answer, monkeypatch) as (server, handled):
        request = f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nAuthorization: t0ken\r\n\r\n"
        cases = [
            (request.encode(), True, gone),  # curl -m 0.002: reset while the answer is made
            (request.encode(), False, gone),  # a GET closed before reading the answer
            (CLIENT_HELLO, True, None),  # https:// to an http:// port
            (CLIENT_HELLO, False, None),
            (b"GET / HTTP/1.1\r\nHost: 127.0", True, None),  # a reset mid-request
        ]
        for data, reset, after in cases:
            gone.clear()
            hang_up(server.port, data, reset=reset, after=after)
            assert handled.acquire(timeout=WAIT)
        # Still serving.
        gone.set()
        assert get(server.url, {"Host": server.url.split("/")[2]})[0] == 401
    err = capfd.readouterr().err
    assert err == "", err


def test_a_failing_answer_is_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    def answer() -> tuple[int, bytes]:
        raise RuntimeError(f"broken with {FAKE_SECRET}")

    with served_in_process(answer, monkeypatch) as (server, handled):
        with pytest.raises((http.client.HTTPException, ConnectionError)):
            get(server.url, {"Host": server.url.split("/")[2], "Authorization": "t0ken"})
        assert handled.acquire(timeout=WAIT)
    err = capfd.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("sessman: ") and "RuntimeError" in err
    assert "Traceback" not in err and FAKE_SECRET not in err


def request(server: LoopbackServer, method: str, headers: dict[str, str]) -> tuple[int, Any, bytes]:
    """``method`` on the server's path with exactly ``headers``: status, headers, body."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.putrequest(method, "/", skip_host=True, skip_accept_encoding=True)
        for key, value in headers.items():
            conn.putheader(key, value)
        body = b'{"a": 1}' if method in ("POST", "PUT") else b""
        if body:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def test_other_methods_are_guarded_then_refused() -> None:
    with LoopbackServer("t0ken", lambda: (200, b'{"secret": 1}')) as server:
        host = server.url.split("/")[2]
        for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "BREW"):
            # The Host first (DNS rebinding), then the token, as for GET.
            for headers, expected in (
                ({"Host": "evil.example", "Authorization": "t0ken"}, 403),
                ({"Host": host}, 401),
                ({"Host": host, "Authorization": "t0ken"}, 405),
            ):
                status, found, body = request(server, method, headers)
                assert status == expected, (method, headers, status)
                assert found["Content-Type"] == "application/json", method
                assert b"secret" not in body and b"<html" not in body.lower()
                if method == "HEAD":
                    assert body == b""
                else:
                    assert json.loads(body)["Code"]
            assert found["Allow"] == "GET"
        assert get(server.url, {"Host": host, "Authorization": "t0ken"})[0] == 200


# -- what exec --server and serve are given --------------------------------------------


@pytest.mark.slow
def test_exec_server_hands_over_the_region_and_uses_the_mfa_code(config: Path) -> None:
    code = "import os; print(os.environ['AWS_REGION'], os.environ['AWS_DEFAULT_REGION'])"
    argv = ["exec", "--server", "ops", "--region", "ap-south-2", "-c", str(config), "--"]
    done = sessman(*argv, sys.executable, "-c", code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ap-south-2", "ap-south-2"]
    config.write_text(
        config.read_text()
        + """\
  mfaops:
    source_profile: dev
    role_arn: arn:aws:iam::123456789012:role/Ops
    role_session_name: tester
    mfa_serial: arn:aws:iam::123456789012:mfa/dev
    session_duration: 900
"""
    )
    # No terminal: the code given on the command line opens the first session.
    with_code = sessman(
        "exec", "--server", "mfaops", "--mfa-code", "123456", "-c", str(config), "--", "true"
    )
    assert with_code.returncode == 0, with_code.stderr
    bad = sessman("exec", "--server", "mfaops", "--mfa-code", "12", "-c", str(config), "--", "true")
    assert bad.returncode == 2
    assert_error_line(bad, contains="MFA")


def test_programs_that_cannot_run_exit_as_in_a_shell(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = tmp_path / "plain"
    plain.write_text("echo hi\n")
    plain.chmod(0o644)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    for server in (["--server"], []):
        for program, code, needle in (
            ("/etc/passwd", 126, "permission denied"),  # bash: Permission denied, 126
            ("plain", 126, "permission denied"),  # found on PATH, not executable
            (str(tmp_path), 126, "directory"),
            ("no-such-command-sessman", 127, "command not found"),
            ("./no-such-command-sessman", 127, "command not found"),
        ):
            done = cli("exec", *server, "ops", "-c", str(config), "--", program)
            assert done.exit_code == code, (server, program, done.stderr)
            assert_error_line(done, contains=(needle, program))


@pytest.mark.slow
def test_a_program_the_system_cannot_start_is_126(config: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"\x7fELF\x00\x00garbage")
    garbage.chmod(0o755)
    for server in (["--server"], []):
        done = sessman("exec", *server, "ops", "-c", str(config), "--", str(garbage))
        assert done.returncode == 126, done.stderr
        assert_error_line(done, contains=("cannot run", str(garbage), "format"))


@pytest.mark.slow
@pytest.mark.parametrize("format_", ["sh", "json"])
def test_serve_to_a_full_stdout_is_one_clear_error(config: Path, format_: str) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            sessman_argv("serve", "ops", "-f", format_, "-c", str(config)),
            stdin=subprocess.DEVNULL,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=WAIT,
            check=False,
        )
    assert done.returncode == 1, done.stderr
    assert_error_line(done, contains=("standard output", "No space left"))
    assert "unexpected" not in done.stderr


@pytest.mark.slow
def test_serve_to_a_closed_pipe_is_one_clear_error(config: Path) -> None:
    read, write = os.pipe()
    os.close(read)  # as `sessman serve ops | true` once true has gone
    try:
        done = subprocess.run(
            sessman_argv("serve", "ops", "-c", str(config)),
            stdin=subprocess.DEVNULL,
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=WAIT,
            check=False,
        )
    finally:
        os.close(write)
    assert done.returncode == 1, done.stderr
    assert_error_line(done, contains=("standard output", "Broken pipe"))
