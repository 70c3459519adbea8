"""The agent: unlock the file keyring once, then hand-overs need no passphrase.

Everything goes through the real command line in subprocesses, with a
temporary XDG_RUNTIME_DIR, against a real moto_server where AWS is needed.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.agent import (
    agent_status,
    env_without_passphrase,
    on_terminal,
    plant_session,
    start_agent,
    wait_dead,
)
from support.cli import assert_error_line, cli, sessman, sessman_argv
from support.fakes import FAKE_SECRET, PASSPHRASE


@pytest.fixture
def config(tmp_path: Path, moto_server: object) -> Path:
    url = moto_server.url  # type: ignore[attr-defined]
    path = tmp_path / "profiles.yaml"
    path.write_text(
        f"""\
version: 1
keyring_service: agent-{tmp_path.name}
defaults:
  region: eu-north-1
  endpoint_url: {url}
  connect_timeout: 2
  read_timeout: 5
  retries: {{mode: standard, max_attempts: 1}}
profiles:
  dev:
    access_key_id: AKIAAGENTEXAMPLE0001
  ops:
    source_profile: dev
    role_arn: arn:aws:iam::123456789012:role/Ops
    role_session_name: tester
"""
    )
    stored = cli("secret", "set", "dev", "--stdin", "-c", str(path), input=FAKE_SECRET)
    assert stored.exit_code == 0, stored.stderr
    return path


@pytest.fixture
def keyring_file(tmp_path: Path) -> Path:
    """A keyring file holding one entry, so the agent has something to unlock."""
    stored = cli(
        "secret", "set", "x", "--stdin", "-c", str(_plain_config(tmp_path)), input=FAKE_SECRET
    )
    assert stored.exit_code == 0, stored.stderr
    return Path(os.environ["SESSMAN_KEYRING_FILE"])


def _plain_config(tmp_path: Path) -> Path:
    path = tmp_path / "plain.yaml"
    path.write_text(
        "version: 1\nkeyring_service: plain\nprofiles:\n"
        "  x: {access_key_id: AKIAIOSFODNN7EXAMPLE, region: us-east-1}\n"
    )
    return path


def test_start_status_lock_stop(runtime_dir: Path, keyring_file: Path) -> None:
    pid = start_agent("--ttl", "1h")
    status = agent_status()
    assert status["running"] is True and status["locked"] is False
    assert isinstance(status["ttl"], int) and 3500 < status["ttl"] <= 3600
    assert status["file"] == str(keyring_file)
    sock = runtime_dir / "sessman" / "agent.sock"
    assert stat.S_ISSOCK(sock.lstat().st_mode)
    assert stat.S_IMODE(sock.lstat().st_mode) == 0o600
    assert stat.S_IMODE(sock.parent.lstat().st_mode) == 0o700
    # Starting again is harmless: one agent.
    again = sessman("agent", "start")
    assert again.returncode == 0 and "already running" in again.stdout
    assert agent_status()["pid"] == pid

    locked = sessman("agent", "lock")
    assert locked.returncode == 0, locked.stderr
    status = agent_status()
    assert status["running"] is True and status["locked"] is True and status["ttl"] is None
    # start unlocks a locked agent (the same process).
    assert sessman("agent", "start").returncode == 0
    assert agent_status()["locked"] is False and agent_status()["pid"] == pid

    stopped = sessman("agent", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert not sock.exists()  # stop returns once the agent is gone
    assert wait_dead(pid)
    assert agent_status()["running"] is False
    assert not sock.exists()
    text = sessman("agent", "status")
    assert text.returncode == 0 and "not running" in text.stdout


def test_ttl_locks_the_agent(runtime_dir: Path, keyring_file: Path) -> None:
    start_agent("--ttl", "1")
    deadline = time.monotonic() + 15
    while agent_status()["locked"] is not True:
        assert time.monotonic() < deadline, "the agent did not lock after its time to live"
        time.sleep(0.2)


def test_start_refusals(runtime_dir: Path, keyring_file: Path) -> None:
    no_pass = sessman("agent", "start", env=env_without_passphrase())
    assert no_pass.returncode == 1
    assert_error_line(no_pass, contains="passphrase")
    wrong = sessman("agent", "start", env={**os.environ, "SESSMAN_KEYRING_PASSPHRASE": "nope"})
    assert wrong.returncode == 1
    assert_error_line(wrong, contains="wrong passphrase")
    assert "nope" not in wrong.stderr
    bad_ttl = sessman("agent", "start", "--ttl", "soon")
    assert bad_ttl.returncode == 2
    assert_error_line(bad_ttl, contains="--ttl")
    assert agent_status()["running"] is False
    # One agent per socket: one for another file is not silently taken for ours.
    start_agent()
    other = sessman(
        "agent", "start", env={**os.environ, "SESSMAN_KEYRING_FILE": str(keyring_file) + ".2"}
    )
    assert other.returncode == 1
    assert_error_line(other, contains=("another keyring file", str(keyring_file)))


def test_credential_process_through_the_agent(runtime_dir: Path, config: Path) -> None:
    start_agent()
    plain = env_without_passphrase()
    # No passphrase anywhere: the ordinary path opens the session through the agent...
    first = sessman("credential-process", "dev", "-c", str(config), env=plain)
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    assert doc["Version"] == 1 and doc["AccessKeyId"] != "AKIAAGENTEXAMPLE0001"
    assert doc["SecretAccessKey"] != FAKE_SECRET and doc["SessionToken"]
    # ... and the next call is answered by the agent itself (the same session),
    # without importing the keyring or its cryptography.
    argv = ["-X", "importtime", "-m", "sessman", "credential-process", "dev", "-c", str(config)]
    again = subprocess.run(
        [sys.executable, *argv],
        capture_output=True,
        text=True,
        env=plain,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == doc
    imported = {line.split("|")[-1].strip() for line in again.stderr.splitlines() if "|" in line}
    assert "sessman.agent.client" in imported  # the check can see imports
    assert not {"keyring", "cryptography", "boto3", "botocore", "pydantic"} & imported
    role = sessman("credential-process", "ops", "-c", str(config), env=plain)
    assert role.returncode == 0, role.stderr
    assert json.loads(role.stdout)["AccessKeyId"] != doc["AccessKeyId"]
    # env and exec take the same way: no passphrase needed while the agent runs.
    env_out = sessman("env", "dev", "--format", "json", "-c", str(config), env=plain)
    assert env_out.returncode == 0, env_out.stderr
    assert json.loads(env_out.stdout)["AWS_ACCESS_KEY_ID"] == doc["AccessKeyId"]
    ran = sessman(
        "exec", "ops", "-c", str(config), "--", "sh", "-c", "echo $AWS_SESSION_TOKEN", env=plain
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == json.loads(role.stdout)["SessionToken"]
    for done in (first, again, role, env_out, ran):
        assert FAKE_SECRET not in done.stdout + done.stderr

    assert sessman("agent", "lock").returncode == 0
    locked = sessman("credential-process", "dev", "-c", str(config), env=plain)
    assert locked.returncode == 1
    assert locked.stdout == ""
    assert_error_line(locked, contains="passphrase")
    assert PASSPHRASE not in locked.stderr


def test_secrets_go_through_the_agent_into_the_file(
    runtime_dir: Path, config: Path, keyring_file: Path
) -> None:
    pid = start_agent()
    plain = env_without_passphrase()
    other = "AKIAAGENTEXAMPLE0002"
    text = config.read_text() + f"  more:\n    access_key_id: {other}\n"
    config.write_text(text)
    secret = FAKE_SECRET[::-1]
    stored = sessman("secret", "set", "more", "--stdin", "-c", str(config), input=secret, env=plain)
    assert stored.returncode == 0, stored.stderr
    assert sessman("agent", "stop").returncode == 0
    assert wait_dead(pid)
    # The agent is gone; the file has the entry (the passphrase opens it as ever).
    from sessman.filekeyring import EncryptedFileKeyring

    keyring = EncryptedFileKeyring(keyring_file, PASSPHRASE)
    assert keyring.get_password(f"agent-{config.parent.name}", "more") == secret
    assert secret.encode() not in b"".join(
        p.read_bytes() for p in config.parent.rglob("*") if p.is_file()
    )


def test_passphrase_never_in_the_agent_environment_or_argv(
    runtime_dir: Path, keyring_file: Path
) -> None:
    pid = start_agent()
    environ = Path(f"/proc/{pid}/environ").read_bytes()
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    assert b"XDG_RUNTIME_DIR" in environ  # the check can see the environment
    assert PASSPHRASE.encode() not in environ
    assert b"SESSMAN_KEYRING_PASSPHRASE" not in environ
    assert PASSPHRASE.encode() not in cmdline
    # Detached: its own session, standard streams closed (on /dev/null).
    assert os.getsid(pid) != os.getsid(0)
    for fd in (0, 1, 2):
        assert os.readlink(f"/proc/{pid}/fd/{fd}") == "/dev/null"


def test_foreground_starts_locked_without_a_passphrase_and_stops_on_sigterm(
    runtime_dir: Path, keyring_file: Path, tmp_path: Path
) -> None:
    # What a service manager does: no terminal, no variable.
    log = tmp_path / "agent.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            sessman_argv("agent", "start", "--foreground"),
            env=env_without_passphrase(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 30
        while not agent_status()["running"]:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        status = agent_status()
        assert status["locked"] is True and status["pid"] == proc.pid
        unlocked = sessman("agent", "start")  # the passphrase from the variable
        assert unlocked.returncode == 0 and "unlocked" in unlocked.stdout
        assert agent_status()["locked"] is False
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not (runtime_dir / "sessman" / "agent.sock").exists()
    assert "locked, listening on" in log.read_text()
    assert PASSPHRASE not in log.read_text()


def test_the_agent_reads_variables_the_profiles_file_references_from_the_client(
    runtime_dir: Path, tmp_path: Path
) -> None:
    config = tmp_path / "vars.yaml"
    config.write_text(
        "version: 1\nkeyring_service: ${SVC}\nprofiles:\n"
        "  dev: {access_key_id: AKIAIOSFODNN7EXAMPLE, region: us-east-1}\n"
    )
    plant_session("svc-a", "dev", PASSPHRASE, config, {**os.environ, "SVC": "svc-a"})
    start_agent()  # its environment has no SVC
    plain = env_without_passphrase()
    found = sessman("credential-process", "dev", "-c", str(config), env={**plain, "SVC": "svc-a"})
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["AccessKeyId"] == "ASIAPLANTEDEXAMPLE01"
    # Another value is another keyring service: no session there, and without a
    # passphrase the ordinary path cannot open one (it fails cleanly).
    other = sessman("credential-process", "dev", "-c", str(config), env={**plain, "SVC": "svc-b"})
    assert other.returncode == 1
    assert_error_line(other)
    assert "ASIAPLANTED" not in other.stdout


def test_start_asks_for_the_passphrase_once_on_a_terminal(
    runtime_dir: Path, keyring_file: Path
) -> None:
    # A new session whose controlling terminal is a pseudo-terminal (no fork
    # of the test process): getpass reads /dev/tty, as on a real terminal.
    code, shown = on_terminal(
        ["agent", "start"], [PASSPHRASE.encode() + b"\n"], env_without_passphrase()
    )
    assert "Passphrase of the sessman keyring" in shown, shown
    assert code == 0, shown
    assert PASSPHRASE not in shown  # hidden
    assert "sessman agent started" in shown
    assert agent_status()["locked"] is False
