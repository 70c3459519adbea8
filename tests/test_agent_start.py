"""``sessman agent start`` and ``status`` in the cases a new user met.

A keyring file created after the agent started, prompts on a terminal,
a wrong passphrase for a running agent, agents started at the same moment,
a hung agent, and a keyring file replaced under a running agent. Real
processes, a temporary XDG_RUNTIME_DIR, pseudo-terminals for the prompts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
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

SERVICE = "agent-start"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A profiles file needing no endpoint (sessions are planted, never opened)."""
    path = tmp_path / "profiles.yaml"
    path.write_text(
        f"version: 1\nkeyring_service: {SERVICE}\nprofiles:\n"
        "  dev: {access_key_id: AKIAIOSFODNN7EXAMPLE, region: us-east-1}\n"
    )
    return path


def _credential_process(config: Path) -> subprocess.CompletedProcess[str]:
    """``credential-process dev`` without the passphrase: only an agent can answer."""
    return sessman("credential-process", "dev", "-c", str(config), env=env_without_passphrase())


def test_an_agent_started_before_the_keyring_file_opens_it_once_created(
    runtime_dir: Path, config: Path
) -> None:
    file = Path(os.environ["SESSMAN_KEYRING_FILE"])
    assert not file.exists()
    start_agent()  # the passphrase is in the environment
    status = agent_status()
    assert status["locked"] is False and status["file_unlocked"] is False
    assert status["file_state"] == "absent"
    text = sessman("agent", "status").stdout
    assert "unlocked" not in text and "does not exist yet" in text

    plant_session(SERVICE, "dev", PASSPHRASE, config)  # creates the file
    assert file.exists()
    status = agent_status()
    assert status["file_unlocked"] is True and status["file_state"] == "open"
    assert "unlocked for" in sessman("agent", "status").stdout
    found = _credential_process(config)
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["AccessKeyId"] == "ASIAPLANTEDEXAMPLE01"
    again = sessman("agent", "start")
    assert again.returncode == 0 and "already running and unlocked" in again.stdout


def test_start_unlocks_an_agent_that_holds_no_passphrase_once_the_file_exists(
    runtime_dir: Path, config: Path
) -> None:
    # Off a terminal without the variable and without a file: other backends only.
    started = sessman("agent", "start", env=env_without_passphrase())
    assert started.returncode == 0, started.stderr
    assert agent_status()["file_state"] == "no-passphrase"
    plant_session(SERVICE, "dev", PASSPHRASE, config)
    status = agent_status()
    assert status["locked"] is False and status["file_unlocked"] is False
    text = sessman("agent", "status").stdout
    assert "unlocked" not in text and "no passphrase" in text
    assert _credential_process(config).returncode == 1

    pid = status["pid"]
    unlocked = sessman("agent", "start")  # with the passphrase: not "already running"
    assert unlocked.returncode == 0, unlocked.stderr
    assert "sessman agent unlocked" in unlocked.stdout
    status = agent_status()
    assert status["pid"] == pid and status["file_unlocked"] is True
    found = _credential_process(config)
    assert found.returncode == 0, found.stderr


def test_start_without_a_file_asks_for_a_new_passphrase_twice_on_a_terminal(
    runtime_dir: Path, config: Path
) -> None:
    env = env_without_passphrase()
    code, shown = on_terminal(
        ["agent", "start"], [b"one\n", b"two\n"], env
    )  # mistyped: nothing starts
    assert code == 1, shown
    assert "New passphrase for the sessman keyring" in shown and "Repeat" in shown
    assert "the two passphrases typed differ" in shown
    assert agent_status()["running"] is False

    answer = PASSPHRASE.encode() + b"\n"
    code, shown = on_terminal(["agent", "start"], [answer, answer], env)
    assert code == 0, shown
    assert PASSPHRASE not in shown
    assert agent_status()["file_state"] == "absent"
    plant_session(SERVICE, "dev", PASSPHRASE, config)
    assert agent_status()["file_unlocked"] is True


@pytest.mark.parametrize(
    ("typed", "said"),
    [(b"\n", "no passphrase typed"), (b"\x04", "no passphrase could be read from the terminal")],
)
def test_no_passphrase_at_the_prompt_is_said_as_such(
    runtime_dir: Path, config: Path, typed: bytes, said: str
) -> None:
    stored = cli("secret", "set", "dev", "--stdin", "-c", str(config), input=FAKE_SECRET)
    assert stored.exit_code == 0, stored.stderr
    code, shown = on_terminal(["agent", "start"], [typed], env_without_passphrase())
    assert code == 1, shown
    assert said in shown
    assert "there is no terminal" not in shown
    assert agent_status()["running"] is False


def test_a_wrong_passphrase_for_a_locked_agent_says_it_did_not_unlock(
    runtime_dir: Path, config: Path
) -> None:
    plant_session(SERVICE, "dev", PASSPHRASE, config)
    pid = start_agent()
    assert sessman("agent", "lock").returncode == 0
    wrong = {**os.environ, "SESSMAN_KEYRING_PASSPHRASE": "not the passphrase"}
    done = sessman("agent", "start", env=wrong)
    assert done.returncode == 1
    line = assert_error_line(done, contains=("did not unlock", "wrong passphrase", "locked"))
    assert ".;" not in line
    assert "did not start" not in line and "not the passphrase" not in done.stderr
    status = agent_status()
    assert status["pid"] == pid and status["locked"] is True


def test_agents_started_at_the_same_moment_all_exit_0(runtime_dir: Path, config: Path) -> None:
    plant_session(SERVICE, "dev", PASSPHRASE, config)
    argv = sessman_argv("agent", "start")
    procs = [
        subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(4)
    ]
    results = [(p.wait(timeout=60), *p.communicate()) for p in procs]
    for code, out, err in results:
        assert code == 0, err
        assert b"sessman agent started" in out or b"already running and unlocked" in out, out
    assert sum(b"sessman agent started" in out for _, out, _ in results) == 1
    assert agent_status()["file_unlocked"] is True


def test_a_hung_agent_is_reported_and_given_up_once(runtime_dir: Path, config: Path) -> None:
    from sessman.agent import client

    plant_session(SERVICE, "dev", PASSPHRASE, config)
    pid = start_agent()
    os.kill(pid, signal.SIGSTOP)
    try:
        done = sessman("agent", "status")
        assert done.returncode == 1
        assert_error_line(done, contains=("not answering", "socket"))
        assert "not running" not in done.stdout + done.stderr
        as_json = sessman("agent", "status", "--json")
        assert as_json.returncode == 1
        data = json.loads(as_json.stdout)
        assert data["answering"] is False and data["running"] is None
        # The ordinary path (the variable) answers after one short wait, not two.
        began = time.monotonic()
        found = sessman("credential-process", "dev", "-c", str(config))
        elapsed = time.monotonic() - began
        assert found.returncode == 0, found.stderr
        assert json.loads(found.stdout)["AccessKeyId"] == "ASIAPLANTEDEXAMPLE01"
        assert elapsed < 2 * client.TIMEOUT + 3.0, elapsed  # 10 s before: two 5 s waits
    finally:
        os.kill(pid, signal.SIGCONT)


def test_status_says_when_the_held_passphrase_no_longer_opens_the_file(
    runtime_dir: Path, config: Path
) -> None:
    plant_session(SERVICE, "dev", PASSPHRASE, config)
    pid = start_agent()
    file = Path(os.environ["SESSMAN_KEYRING_FILE"])
    other = "another passphrase"
    replaced = file.with_name("other.enc")
    env = {**os.environ, "SESSMAN_KEYRING_FILE": str(replaced)}
    os.environ.update(env)  # only for plant_session; restored below
    try:
        plant_session(SERVICE, "dev", other, config)
    finally:
        os.environ["SESSMAN_KEYRING_FILE"] = str(file)
    os.replace(replaced, file)

    status = agent_status()
    assert status["locked"] is False and status["file_unlocked"] is False
    assert status["file_state"] == "wrong-passphrase"
    text = sessman("agent", "status").stdout
    assert "does not open" in text and "unlocked" not in text
    # start unlocks it with the file's passphrase (the same agent).
    done = sessman("agent", "start", env={**os.environ, "SESSMAN_KEYRING_PASSPHRASE": other})
    assert done.returncode == 0, done.stderr
    status = agent_status()
    assert status["pid"] == pid and status["file_unlocked"] is True


def test_the_passphrase_error_names_a_locked_or_dead_agent(runtime_dir: Path, config: Path) -> None:
    plant_session(SERVICE, "dev", PASSPHRASE, config)
    pid = start_agent()
    assert sessman("agent", "lock").returncode == 0
    locked = _credential_process(config)
    assert locked.returncode == 1
    assert_error_line(locked, contains="passphrase")
    assert "hint: the sessman agent is locked: run `sessman agent start`" in locked.stderr

    os.kill(pid, signal.SIGKILL)  # its socket stays behind: connections are refused
    assert wait_dead(pid)
    refused = _credential_process(config)
    assert refused.returncode == 1
    assert_error_line(refused, contains="passphrase")
    assert "hint: the sessman agent is not running: run `sessman agent start`" in refused.stderr
    assert FAKE_SECRET not in locked.stderr + refused.stderr
