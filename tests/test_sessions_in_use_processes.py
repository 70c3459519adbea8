"""Sessions that hold up in real use: short roles refreshed, many processes at once, their lock files.

Everything runs against a real ``moto.server`` over HTTP, with a recording
proxy in front of it that counts the STS calls made:
a 900 s role used for 20 calls, eight ``credential-process`` processes
started at the same moment, a lock left by a killed process, and lock files
that stay private and are never followed through a symlink.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from support.cli import assert_error_line, cli, sessman, sessman_argv, store_secret
from support.fakes import FAKE_SECRET
from support.proxies import RecordingProxy
from support.sessions_in_use import ACCOUNT, ROLE_ARN, interrupt, write_config

from sessman.filekeyring import EncryptedFileKeyring
from sessman.locks import lock_path
from sessman.manager import SessionManager
from sessman.state import StateFile


def short_role_config(tmp_path: Path, url: str) -> Path:
    config = write_config(
        tmp_path / "profiles.yaml",
        url,
        {
            "src": {"access_key_id": "AKIAEXAMPLESHORT0001"},
            "short": {"source_profile": "src", "role_arn": ROLE_ARN, "session_duration": 900},
        },
    )
    store_secret(config, "src")
    return config


# -- refresh that fits every duration ------------------------------------------------


def test_a_900_s_role_is_assumed_once_for_20_calls(
    tmp_path: Path, recorder: RecordingProxy
) -> None:
    with SessionManager.load(short_role_config(tmp_path, recorder.url)) as manager:
        sts = manager.session("short").client("sts")
        arns = {sts.get_caller_identity()["Arn"] for _ in range(10)}
        arns |= {manager.client("short", "sts").get_caller_identity()["Arn"] for _ in range(10)}
    assert arns == {f"arn:aws:sts::{ACCOUNT}:assumed-role/Short/sessman-short"}
    assert len(recorder.signers("GetCallerIdentity")) == 20
    assert recorder.signers("AssumeRole") == ["AKIAEXAMPLESHORT0001"]
    # Every call was signed with the one set of role credentials.
    assert len(set(recorder.signers("GetCallerIdentity"))) == 1


def test_an_open_900_s_role_session_is_used_not_reassumed(
    tmp_path: Path, recorder: RecordingProxy
) -> None:
    config = short_role_config(tmp_path, recorder.url)
    opened = cli("open", "short", "-c", str(config))
    assert opened.exit_code == 0, opened.stderr
    with SessionManager.load(config) as manager:
        sts = manager.session("short").client("sts")
        for _ in range(20):
            sts.get_caller_identity()
        record = manager.state.get("short")
    assert record is not None
    assert recorder.signers("AssumeRole") == ["AKIAEXAMPLESHORT0001"]
    assert set(recorder.signers("GetCallerIdentity")) == {record.access_key_id}


def test_an_open_role_session_near_its_end_is_renewed_once_and_stored(
    tmp_path: Path, recorder: RecordingProxy
) -> None:
    config = short_role_config(tmp_path, recorder.url)
    opened = cli("open", "short", "-c", str(config))
    assert opened.exit_code == 0, opened.stderr
    age_session("short", seconds_left=100)  # under half of 900 s: due for renewal
    with SessionManager.load(config) as manager:
        sts = manager.session("short").client("sts")
        for _ in range(20):
            sts.get_caller_identity()
        record = manager.state.get("short")
    assert len(recorder.signers("AssumeRole")) == 2  # the open, and one renewal
    # The renewal is stored for every process, and every call after it used it.
    assert record is not None and record.remaining() > 800
    assert set(recorder.signers("GetCallerIdentity")[-20:]) == {record.access_key_id}


@pytest.mark.parametrize(
    "argv",
    [
        ["open", "short"],
        ["env", "short"],
        ["credential-process", "short"],
        ["exec", "short", "--", "true"],
    ],
)
def test_a_min_ttl_longer_than_the_session_is_refused_by_every_command(
    tmp_path: Path, recorder: RecordingProxy, argv: list[str]
) -> None:
    config = short_role_config(tmp_path, recorder.url)
    refused = cli(*argv[:2], "--min-ttl", "1000", "-c", str(config), *argv[2:])
    assert refused.exit_code == 2, refused.stderr
    assert_error_line(refused, contains="1000 s left cannot be met by sessions of 900 s")
    assert recorder.signers("AssumeRole") == []


# -- single flight across processes ----------------------------------------------------


def age_session(name: str, *, seconds_left: float) -> None:
    """Make the stored session of ``name`` look older: ``seconds_left`` before expiry."""
    expires = datetime.now(timezone.utc) + timedelta(seconds=seconds_left)
    keyring = EncryptedFileKeyring()
    stored = keyring.get_password("sessman", f"{name}:session")
    assert stored is not None
    document = json.loads(stored)
    document["Expiration"] = expires.isoformat()
    keyring.set_password("sessman", f"{name}:session", json.dumps(document))
    state = StateFile(Path(os.environ["SESSMAN_STATE_DIR"]), "sessman")
    record = state.get(name)
    assert record is not None
    state.put(dataclasses.replace(record, expires=expires))


def start_together(argv: list[str], count: int) -> list[subprocess.Popen[str]]:
    """``count`` processes of ``argv``, released at the same moment by a shared pipe."""
    read_end, write_end = os.pipe()
    gate = (
        "import os, runpy, sys; os.read(int(sys.argv[1]), 1);"
        " sys.argv = sys.argv[2:]; runpy.run_module('sessman', run_name='__main__')"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", gate, str(read_end), "sessman", *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            pass_fds=(read_end,),
        )
        for _ in range(count)
    ]
    time.sleep(1.0)  # every interpreter is up and blocked on the gate
    os.write(write_end, b"x" * count)
    os.close(read_end)
    os.close(write_end)
    return procs


def session_of(document: dict[str, Any]) -> tuple[str, str, str]:
    """What tells two sessions apart (moto's GetSessionToken always returns one key id)."""
    return document["AccessKeyId"], document["SessionToken"], document["Expiration"]


def finish(procs: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    documents = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert FAKE_SECRET not in out + err
        documents.append(json.loads(out))
    return documents


@pytest.mark.slow
@pytest.mark.parametrize(("name", "action"), [("src", "GetSessionToken"), ("short", "AssumeRole")])
def test_eight_credential_processes_at_once_make_one_session(
    tmp_path: Path, recorder: RecordingProxy, name: str, action: str
) -> None:
    config = short_role_config(tmp_path, recorder.url)
    procs = start_together(["credential-process", name, "--config", str(config)], 8)
    documents = finish(procs)
    assert len(recorder.signers(action)) == 1
    assert len({session_of(d) for d in documents}) == 1
    # Renewing at once is single-flight too: with 100 s left, each wants more.
    age_session(name, seconds_left=100)
    procs = start_together(["credential-process", name, "--config", str(config)], 6)
    renewed = finish(procs)
    assert len(recorder.signers(action)) == 2
    assert len({session_of(d) for d in renewed}) == 1
    assert renewed[0]["Expiration"] >= documents[0]["Expiration"]


@pytest.mark.slow
def test_eight_processes_behind_one_mfa_device_use_the_code_once(
    tmp_path: Path, recorder: RecordingProxy
) -> None:
    device = f"arn:aws:iam::{ACCOUNT}:mfa/eight"
    config = write_config(
        tmp_path / "profiles.yaml",
        recorder.url,
        {
            "src": {"access_key_id": "AKIAEXAMPLEMFAEIGHT1", "mfa_serial": device},
            "role": {"source_profile": "src", "role_arn": ROLE_ARN},
        },
    )
    store_secret(config, "src")
    argv = ["credential-process", "role", "--mfa-code", "135790", "--config", str(config)]
    documents = finish(start_together(argv, 8))
    assert len({session_of(d) for d in documents}) == 1
    assert len(recorder.signers("GetSessionToken")) == 1
    assert len(recorder.signers("AssumeRole")) == 1


@contextlib.contextmanager
def lock_held(state_dir: Path, profile: str) -> Iterator[None]:
    """Another process holds ``profile``'s lock in ``state_dir`` for the block, then is killed."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from sessman.locks import profile_lock\n"
            "with profile_lock(Path(sys.argv[1]), 'sessman', sys.argv[2]):\n"
            "    print('held', flush=True); time.sleep(600)",
            str(state_dir),
            profile,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        yield
    finally:
        holder.kill()
        holder.communicate()


@pytest.mark.slow
def test_a_lock_left_by_a_killed_process_is_taken_over(
    tmp_path: Path, recorder: RecordingProxy
) -> None:
    config = short_role_config(tmp_path, recorder.url)
    state_dir = Path(os.environ["SESSMAN_STATE_DIR"])
    with lock_held(state_dir, "src"):
        assert lock_path(state_dir, "sessman", "src").exists()
        waiter = subprocess.Popen(
            sessman_argv("credential-process", "src", "-c", str(config)),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(2.0)
        assert waiter.poll() is None  # it waits while the holder lives
        assert recorder.signers("GetSessionToken") == []
    (document,) = finish([waiter])
    assert document["SessionToken"]
    assert len(recorder.signers("GetSessionToken")) == 1


# -- the lock files themselves ----------------------------------------------------------------


def test_lock_files_are_private_and_never_followed_through_a_symlink(
    tmp_path: Path, recorder: RecordingProxy
) -> None:
    config = short_role_config(tmp_path, recorder.url)
    state_dir = Path(os.environ["SESSMAN_STATE_DIR"])
    done = sessman("credential-process", "src", "--config", str(config))
    assert done.returncode == 0, done.stderr
    lock = lock_path(state_dir, "sessman", "src")
    assert (lock.parent.stat().st_mode & 0o777, lock.stat().st_mode & 0o777) == (0o700, 0o600)

    # A symlink planted where a lock file goes is never opened through.
    target = tmp_path / "elsewhere"
    target.write_text("untouched")
    planted = lock_path(state_dir, "sessman", "short")
    planted.symlink_to(target)
    refused = sessman("credential-process", "short", "--config", str(config))
    assert refused.returncode == 1
    assert_error_line(refused, contains=str(planted))
    assert target.read_text() == "untouched"
    planted.unlink()

    # A lock directory others may write to is refused, naming the fix.
    lock.parent.chmod(0o777)
    refused = sessman("credential-process", "short", "--config", str(config))
    assert refused.returncode == 1
    assert_error_line(refused, contains=str(lock.parent))
    assert f"chmod 700 {lock.parent}" in refused.stderr
    assert recorder.signers("AssumeRole") == []


@pytest.mark.slow
def test_ctrl_c_while_waiting_for_another_process_lock_is_one_line_and_130(
    tmp_path: Path, recorder: RecordingProxy
) -> None:
    config = short_role_config(tmp_path, recorder.url)
    state_dir = Path(os.environ["SESSMAN_STATE_DIR"])
    with lock_held(state_dir, "short"):
        code, err, seconds = interrupt(["credential-process", "short", "--config", str(config)])
    assert code == 130, err
    assert [line for line in err.splitlines() if line.strip()] == ["sessman: error: interrupted"]
    assert seconds < 5
    assert recorder.signers("AssumeRole") == []
