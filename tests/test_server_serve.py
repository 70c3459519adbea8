"""The credential server of `serve`, and what `exec --server` and `serve` are given.

Refusals (no token, wrong token, foreign Host) are asked over raw HTTP;
``serve --sh`` output is evaluated by bash; a failing renewal keeps serving.
Then the region, the MFA code, programs that cannot run, and a full or
closed stdout.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.cli import assert_error_line, cli, running, sessman, sessman_argv
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


# -- what exec --server and serve are given --------------------------------------------


@pytest.mark.slow
def test_exec_server_hands_over_the_region_and_uses_the_mfa_code(config: Path) -> None:
    code = "import os; print(os.environ['AWS_REGION'], os.environ['AWS_DEFAULT_REGION'])"
    argv = ["exec", "--server", "ops", "--region", "ap-south-2", "-c", str(config), "--"]
    done = sessman(*argv, sys.executable, "-c", code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ap-south-2", "ap-south-2"]
    config.write_text(config.read_text() + MFA_ROLE)
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
