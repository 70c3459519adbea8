"""Helpers for the agent tests: a short private runtime dir, starting and reaping agents."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from support.cli import sessman


def env_without_passphrase() -> dict[str, str]:
    """The test's environment, minus the keyring passphrase (what the agent is for)."""
    return {k: v for k, v in os.environ.items() if k != "SESSMAN_KEYRING_PASSPHRASE"}


def agent_status() -> dict[str, object]:
    done = sessman("agent", "status", "--json")
    assert done.returncode == 0, done.stderr
    data: dict[str, object] = json.loads(done.stdout)
    return data


def start_agent(*extra: str) -> int:
    """``sessman agent start`` with the passphrase from the environment; the agent's pid."""
    done = sessman("agent", "start", *extra)
    assert done.returncode == 0, done.stderr
    pid = agent_status()["pid"]
    assert isinstance(pid, int)
    return pid


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as fh:
        return fh.read().split(")")[-1].split()[0] != "Z"  # a zombie is dead for us
    return True


def wait_dead(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def runtime_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A short XDG_RUNTIME_DIR (socket paths are limited to 107 bytes); agents reaped after."""
    root = Path(tempfile.mkdtemp(prefix="sm-run-", dir="/tmp"))
    root.chmod(0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(root))
    yield root
    with contextlib.suppress(Exception):
        pid = agent_status().get("pid")
        sessman("agent", "stop")
        if isinstance(pid, int) and not wait_dead(pid, 5.0):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(root, ignore_errors=True)


def plant_session(
    service: str,
    profile: str,
    passphrase: str,
    config: Path,
    env: Mapping[str, str] | None = None,
) -> None:
    """An open session of ``profile`` (one hour left) in the keyring file and the state dir.

    What ``sessman open`` would leave behind, without asking AWS: for tests of
    the hand-over paths that need no endpoint. The record is bound to the
    profile as ``config`` (read with ``env``) defines it, as ``open`` binds it.
    """
    from datetime import datetime, timedelta, timezone

    from sessman.binding import fingerprint
    from sessman.config import load_config
    from sessman.credentials import TemporaryCredentials
    from sessman.filekeyring import EncryptedFileKeyring
    from sessman.locations import state_dir
    from sessman.secretstore import session_user
    from sessman.state import SessionRecord, StateFile

    expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=1)
    creds = TemporaryCredentials("ASIAPLANTEDEXAMPLE01", "planted/secret", "planted-token", expires)
    EncryptedFileKeyring(passphrase=passphrase).set_password(
        service, session_user(profile), creds.to_json()
    )
    record = SessionRecord(
        profile,
        creds.access_key_id,
        "123456789012",
        "arn:aws:iam::123456789012:user/t",
        "AIDA1",
        expires,
        binding=fingerprint(load_config(config, env), profile),
    )
    StateFile(state_dir(), service).put(record)


def on_terminal(
    args: list[str], answers: list[bytes], env: Mapping[str, str], timeout: float = 30.0
) -> tuple[int, str]:
    """Run ``sessman ARGS`` on a pseudo-terminal, typing one answer per prompt.

    The process gets a new session whose controlling terminal is the
    pseudo-terminal (no fork of the test process), so getpass reads
    /dev/tty as on a real terminal. An answer of ``b"\\x04"`` is Ctrl-D.
    Returns the exit code and everything the terminal showed.
    """
    import subprocess
    import sys

    master, slave = os.openpty()
    take_tty = (
        "import os, runpy, sys\n"
        "os.close(os.open(os.ttyname(0), os.O_RDWR))\n"
        f"sys.argv = ['sessman', *{args!r}]\n"
        "runpy.run_module('sessman', run_name='__main__')\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", take_tty],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=dict(env),
        start_new_session=True,
    )
    os.close(slave)
    output = b""
    try:
        deadline = time.monotonic() + timeout
        for answer in answers:  # each after the next prompt ("...: ") shows
            seen = output.count(b": ")
            with contextlib.suppress(OSError):  # EIO: it exited without asking
                while output.count(b": ") == seen and time.monotonic() < deadline:
                    output += os.read(master, 1024)
            with contextlib.suppress(OSError):
                os.write(master, answer)
        while True:
            try:
                chunk = os.read(master, 1024)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
    finally:
        code = proc.wait(timeout=timeout)
        os.close(master)
    return code, output.decode("utf-8", "replace")
