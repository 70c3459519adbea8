"""Sessions that hold up in real use: short roles, many processes, loops, prompts, Ctrl-C.

Everything runs against a real ``moto.server`` over HTTP, with a recording
proxy in front of it (tests/test_manager.py) that counts the STS calls made:
a 900 s role used for 20 calls, eight ``credential-process`` processes
started at the same moment, a ``credential_process`` loop set up through a
real ``~/.aws/config``, and SIGINT sent to real subprocesses waiting on an
endpoint that never answers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.cli import assert_error_line, cli, running, sessman, sessman_argv, store_secret
from support.fakes import FAKE_SECRET, PASSPHRASE
from support.infra import MotoServer
from support.proxies import RecordingProxy

from sessman.errors import AuthenticationFailed, SessmanError
from sessman.filekeyring import EncryptedFileKeyring
from sessman.locks import lock_path
from sessman.manager import SessionManager
from sessman.state import StateFile

ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/Short"


def write_config(
    path: Path, url: str, profiles: dict[str, dict[str, Any]], **defaults: Any
) -> Path:
    document = {
        "version": 1,
        "defaults": {"region": "us-east-1", "endpoint_url": url, **defaults},
        "profiles": profiles,
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


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


# -- aws_profile delegation loops --------------------------------------------------------


def test_a_credential_process_loop_ends_at_once_naming_the_chain(
    tmp_path: Path, moto_server: MotoServer, clean_env: Path
) -> None:
    config = write_config(
        tmp_path / "profiles.yaml",
        moto_server.url,
        {"looped": {"aws_profile": "via-sessman"}},
    )
    (clean_env / ".aws" / "config").write_text(
        "[profile via-sessman]\n"
        f"credential_process = {sys.executable} -m sessman credential-process looped"
        f" --config {config}\n"
    )
    started = time.monotonic()
    done = sessman("credential-process", "looped", "--config", str(config), timeout=60)
    elapsed = time.monotonic() - started
    assert done.returncode == 2, done.stderr
    line = assert_error_line(done, contains=("aws_profile loop", "'looped'", "'via-sessman'"))
    assert "custom-process" not in line  # the child's error, relayed as ours
    assert elapsed < 30  # one level of children, not processes without end

    # The same loop entered from the AWS CLI ends just as fast.
    aws = Path(sys.executable).with_name("aws")
    started = time.monotonic()
    done = subprocess.run(
        [str(aws), "sts", "get-caller-identity", "--profile", "via-sessman"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "aws_profile loop" in done.stderr and "Traceback" not in done.stderr
    assert time.monotonic() - started < 30


def test_a_three_hop_loop_names_the_aws_profile_that_closes_it(
    tmp_path: Path, moto_server: MotoServer, clean_env: Path
) -> None:
    config = write_config(
        tmp_path / "profiles.yaml",
        moto_server.url,
        {"loop3a": {"aws_profile": "hop-b"}, "loop3b": {"aws_profile": "hop-a"}},
    )
    run = f"{sys.executable} -m sessman credential-process"
    (clean_env / ".aws" / "config").write_text(
        f"[profile hop-b]\ncredential_process = {run} loop3b --config {config}\n"
        f"[profile hop-a]\ncredential_process = {run} loop3a --config {config}\n"
    )
    done = sessman("credential-process", "loop3a", "--config", str(config), timeout=90)
    assert done.returncode == 2, done.stderr
    line = assert_error_line(done, contains=("'loop3a'", "'hop-b'", "'loop3b'", "'hop-a'"))
    assert line.startswith("sessman: error: aws_profile loop: "), line  # nothing before it
    (hint,) = [h for h in done.stderr.splitlines() if h.startswith("hint: ")]
    assert "AWS profile 'hop-a' in ~/.aws/config runs sessman for profile 'loop3a'" in hint


# -- session(name) carries the profile's endpoint and Config -------------------------------


def test_session_clients_reach_the_profile_endpoint(
    tmp_path: Path, recorder: RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # never used
    config = write_config(
        tmp_path / "profiles.yaml",
        recorder.url,
        {"dev": {"access_key_id": "AKIAEXAMPLEENDPOINT1", "read_timeout": 7}},
    )
    store_secret(config, "dev")
    with SessionManager.load(config) as manager:
        session = manager.session("dev")
        sts = session.client("sts")
        assert sts.meta.endpoint_url == recorder.url
        assert sts.meta.config.read_timeout == 7
        assert sts.get_caller_identity()["Account"] == ACCOUNT
        s3 = session.resource("s3")
        assert s3.meta.client.meta.endpoint_url == recorder.url
        # An explicit endpoint still wins.
        other = session.client("sts", endpoint_url="http://127.0.0.1:10")
        assert other.meta.endpoint_url == "http://127.0.0.1:10"
    assert recorder.signers("GetCallerIdentity") == ["AKIAEXAMPLEENDPOINT1"]


def test_errors_name_the_endpoint_actually_contacted(
    tmp_path: Path, hanging_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # never contacted
    config = write_config(
        tmp_path / "profiles.yaml",
        hanging_endpoint,
        {"slow": {"access_key_id": "AKIAEXAMPLESLOWEND01"}},
        read_timeout=1,
        retries={"mode": "standard", "max_attempts": 1},
    )
    store_secret(config, "slow")
    done = sessman("whoami", "slow", "--config", str(config))
    assert done.returncode == 1
    line = assert_error_line(done, contains=hanging_endpoint)
    assert "127.0.0.1:9/" not in line and "127.0.0.1:9 " not in line


# -- map: the user's exceptions as raised ------------------------------------------------


def test_map_returns_the_users_own_exception_as_raised(
    tmp_path: Path, moto_server: MotoServer
) -> None:
    from botocore.exceptions import ClientError

    config = write_config(
        tmp_path / "profiles.yaml",
        moto_server.url,
        {
            "dev": {"access_key_id": "AKIAEXAMPLEMAPUSER01"},
            "nosecret": {"access_key_id": "AKIAEXAMPLEMAPUSER02"},
        },
    )
    store_secret(config, "dev")
    raised: list[BaseException] = []

    def head(_name: str, session: Any) -> None:
        try:
            session.client("s3").head_bucket(Bucket="no-such-bucket-sessman")
        except ClientError as exc:
            raised.append(exc)
            raise

    with SessionManager.load(config) as manager:
        outcomes = manager.map(head)
    assert outcomes["dev"].error is raised[0]
    assert isinstance(outcomes["dev"].error, ClientError)
    assert isinstance(outcomes["nosecret"].error, SessmanError)


# -- MFA codes and prompts ---------------------------------------------------------------


@pytest.mark.parametrize("command", ["open", "whoami", "env", "credential-process", "check"])
def test_a_malformed_mfa_code_is_a_usage_error_before_any_call(
    tmp_path: Path, recorder: RecordingProxy, command: str
) -> None:
    config = write_config(
        tmp_path / "profiles.yaml",
        recorder.url,
        {
            "src": {
                "access_key_id": "AKIAEXAMPLEMFASHAPE1",
                "mfa_serial": f"arn:aws:iam::{ACCOUNT}:mfa/shape",
            },
            "role": {"source_profile": "src", "role_arn": ROLE_ARN},
        },
    )
    store_secret(config, "src")
    done = sessman(command, "role", "--mfa-code", "12345", "--config", str(config))
    assert done.returncode == 2, done.stderr
    assert_error_line(done, contains="six digits")
    assert recorder.calls == []


@pytest.mark.parametrize("command", ["whoami", "env", "credential-process"])
def test_commands_that_may_open_a_session_take_mfa_code(
    tmp_path: Path, recorder: RecordingProxy, command: str
) -> None:
    device = f"arn:aws:iam::{ACCOUNT}:mfa/everywhere"
    config = write_config(
        tmp_path / "profiles.yaml",
        recorder.url,
        {
            "src": {"access_key_id": "AKIAEXAMPLEMFAEVERY1", "mfa_serial": device},
            "role": {"source_profile": "src", "role_arn": ROLE_ARN},
        },
    )
    store_secret(config, "src")
    missing = sessman(command, "role", "--config", str(config))
    assert missing.returncode == 2
    assert_error_line(missing, contains=device)
    assert "--mfa-code" in missing.stderr
    done = sessman(command, "role", "--mfa-code", "123456", "--config", str(config))
    assert done.returncode == 0, done.stderr
    (call,) = [c for c in recorder.calls if c.action == "GetSessionToken"]
    assert (call.params["SerialNumber"], call.params["TokenCode"]) == (device, "123456")


# -- hints name the step that failed --------------------------------------------------------


def test_a_failed_check_of_temporary_credentials_names_that_step(
    tmp_path: Path, moto_auth_server: Any
) -> None:
    # moto's signature-checking server issues session tokens it then rejects.
    config = write_config(
        tmp_path / "profiles.yaml",
        moto_auth_server.url,
        {"dev": {"access_key_id": moto_auth_server.access_key_id}},
    )
    stored = cli(
        "secret",
        "set",
        "dev",
        "--stdin",
        "-c",
        str(config),
        input=moto_auth_server.secret_access_key,
    )
    assert stored.exit_code == 0, stored.stderr
    with SessionManager.load(config) as manager, pytest.raises(SessmanError) as failed:
        manager.open("dev")
    assert isinstance(failed.value, AuthenticationFailed)
    assert "GetSessionToken succeeded" in str(failed.value)
    assert "GetCallerIdentity" in str(failed.value)
    assert failed.value.hint is not None and "secret set" not in failed.value.hint


# -- Ctrl-C -------------------------------------------------------------------------------


def interrupt(argv: list[str], wait: float = 2.0) -> tuple[int, str, float]:
    """Start ``sessman ARGV``, send SIGINT after ``wait`` s; (exit code, stderr, seconds to exit)."""
    with running(argv) as proc:
        time.sleep(wait)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        _out, err = proc.communicate(timeout=20)
        took = time.monotonic() - sent
    return proc.returncode, err, took


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv",
    [
        ["credential-process", "hung"],
        ["whoami", "hung"],
        ["open", "hung"],
        ["check", "hung", "hung2", "--workers", "1"],
    ],
)
def test_ctrl_c_while_the_endpoint_hangs_is_one_line_and_130(
    tmp_path: Path, hanging_endpoint: str, argv: list[str]
) -> None:
    config = write_config(
        tmp_path / "profiles.yaml",
        hanging_endpoint,
        {
            "hung": {"access_key_id": "AKIAEXAMPLEHUNG00001"},
            "hung2": {"access_key_id": "AKIAEXAMPLEHUNG00002"},
        },
        read_timeout=60,
        retries={"mode": "standard", "max_attempts": 1},
    )
    store_secret(config, "hung")
    store_secret(config, "hung2")
    code, err, seconds = interrupt([*argv, "--config", str(config)])
    assert code == 130, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == ["sessman: error: interrupted"], err
    assert seconds < 5  # about a second; generous for a loaded machine


# -- prompts on a real terminal ------------------------------------------------------------


#: Runs sessman after making its stderr (a pty) the controlling terminal, so /dev/tty works.
_ON_TERMINAL = (
    "import fcntl, runpy, sys, termios; fcntl.ioctl(2, termios.TIOCSCTTY, 0);"
    " sys.argv = ['sessman', *sys.argv[1:]]; runpy.run_module('sessman', run_name='__main__')"
)


#: An answer that is Ctrl-C typed at the prompt (sent without Enter).
CTRL_C = "\x03"


def on_terminal(
    argv: list[str],
    answers: dict[str, str],
    *,
    stdout: Any = None,
    stdin: Any = None,
    timeout: float = 45,
    program: str = _ON_TERMINAL,
    echo_after: list[bool] | None = None,
) -> tuple[int, str, dict[str, int]]:
    """Run ``sessman ARGV`` on a pseudo-terminal, answering each prompt as it appears.

    Returns the exit code, everything shown on the terminal, and how many
    times each prompt was shown. The keyring passphrase is not in the
    environment: it must be asked. ``stdin`` (default: the terminal) may be
    ``/dev/null`` or a pipe: the terminal stays the controlling one. When
    ``echo_after`` is given, whether the terminal echoes once sessman ended
    is appended to it.
    """
    import select
    import termios

    env = {k: v for k, v in os.environ.items() if k != "SESSMAN_KEYRING_PASSPHRASE"}
    env["TERM"] = "xterm"
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", program, *argv],
        stdin=stdin if stdin is not None else slave,
        stdout=stdout if stdout is not None else slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    shown = b""
    asked = dict.fromkeys(answers, 0)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            for prompt, answer in answers.items():
                seen = shown.count(prompt.encode())
                while asked[prompt] < seen:
                    asked[prompt] += 1
                    os.write(master, answer.encode() + (b"" if answer == CTRL_C else b"\n"))
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        if echo_after is not None:
            echo_after.append(bool(termios.tcgetattr(master)[3] & termios.ECHO))
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdin is not None:
            proc.stdin.close()
    return code, shown.decode(errors="replace"), asked


def test_check_asks_the_keyring_passphrase_once_hidden_and_off_the_progress_bar(
    tmp_path: Path, moto_server: MotoServer
) -> None:
    names = [f"p{i}" for i in range(8)]
    config = write_config(
        tmp_path / "profiles.yaml",
        moto_server.url,
        {n: {"access_key_id": f"AKIAEXAMPLEPROMPT{i:03d}"} for i, n in enumerate(names)},
    )
    for name in names:
        store_secret(config, name)
    prompt = "Passphrase of the sessman keyring"
    code, shown, asked = on_terminal(
        ["check", "--workers", "8", "--config", str(config)], {prompt: PASSPHRASE}
    )
    assert code == 0, shown
    assert asked == {prompt: 1}, shown
    assert PASSPHRASE not in shown  # never echoed
    assert FAKE_SECRET not in shown
    (line,) = [line for line in shown.splitlines() if prompt in line]
    assert "checking" not in line  # the progress bar was off while asking


@pytest.mark.parametrize("stdin", ["terminal", "devnull", "pipe"])
def test_credential_process_asks_for_the_mfa_code_on_the_terminal(
    tmp_path: Path, recorder: RecordingProxy, stdin: str
) -> None:
    # As `script -qec "sessman credential-process role </dev/null"` and
    # `sleep 20 | sessman credential-process role`: /dev/tty is there all the same.
    device = f"arn:aws:iam::{ACCOUNT}:mfa/terminal"
    config = write_config(
        tmp_path / "profiles.yaml",
        recorder.url,
        {
            "src": {"access_key_id": "AKIAEXAMPLEMFATTY001", "mfa_serial": device},
            "role": {"source_profile": "src", "role_arn": ROLE_ARN},
        },
    )
    store_secret(config, "src")
    out_path = tmp_path / "stdout.json"
    with out_path.open("wb") as out:  # stdout is taken, as under the AWS CLI
        code, shown, asked = on_terminal(
            ["credential-process", "role", "--config", str(config)],
            {"Passphrase of the sessman keyring": PASSPHRASE, f"MFA code for {device}": "246810"},
            stdout=out,
            stdin={"terminal": None, "devnull": subprocess.DEVNULL, "pipe": subprocess.PIPE}[stdin],
        )
    assert code == 0, shown
    assert asked == {"Passphrase of the sessman keyring": 1, f"MFA code for {device}": 1}
    assert "246810" not in shown and PASSPHRASE not in shown
    assert json.loads(out_path.read_text())["Version"] == 1
    (call,) = [c for c in recorder.calls if c.action == "GetSessionToken"]
    assert call.params["TokenCode"] == "246810"


#: A library user's script on a terminal: no mfa_prompt given, then mfa_prompt=False.
_LIBRARY_ON_TERMINAL = """
import fcntl, sys, termios
fcntl.ioctl(2, termios.TIOCSCTTY, 0)
from sessman import SessionManager
from sessman.errors import UsageError
try:
    with SessionManager.load(sys.argv[1], mfa_prompt=False) as manager:
        manager.session("role").client("sts").get_caller_identity()
except UsageError as exc:
    print("refused:", exc.message.endswith("is needed"))  # not the prompt's words
with SessionManager.load(sys.argv[1]) as manager:
    print("arn:", manager.session("role").client("sts").get_caller_identity()["Arn"])
"""


def test_the_library_asks_for_the_mfa_code_on_the_terminal_unless_told_not_to(
    tmp_path: Path, recorder: RecordingProxy
) -> None:
    device = f"arn:aws:iam::{ACCOUNT}:mfa/library"
    config = write_config(
        tmp_path / "profiles.yaml",
        recorder.url,
        {
            "src": {"access_key_id": "AKIAEXAMPLEMFALIB001", "mfa_serial": device},
            "role": {"source_profile": "src", "role_arn": ROLE_ARN},
        },
    )
    store_secret(config, "src")
    code, shown, asked = on_terminal(
        [str(config)],
        {"Passphrase of the sessman keyring": PASSPHRASE, f"MFA code for {device}": "135791"},
        stdin=subprocess.DEVNULL,
        program=_LIBRARY_ON_TERMINAL,
    )
    assert code == 0, shown
    assert "refused: True" in shown
    assert f"arn:aws:sts::{ACCOUNT}:assumed-role/Short/" in shown
    assert asked["Passphrase of the sessman keyring"] >= 1
    assert asked[f"MFA code for {device}"] == 1, shown
    assert "135791" not in shown and PASSPHRASE not in shown
    (call,) = [c for c in recorder.calls if c.action == "GetSessionToken"]
    assert call.params["TokenCode"] == "135791"


def test_ctrl_c_at_a_prompt_of_check_is_one_line_and_130(
    tmp_path: Path, moto_server: MotoServer
) -> None:
    names = ["c1", "c2"]
    config = write_config(
        tmp_path / "profiles.yaml",
        moto_server.url,
        {n: {"access_key_id": f"AKIAEXAMPLECTRLC{i:04d}"} for i, n in enumerate(names)},
    )
    for name in names:
        store_secret(config, name)
    started = time.monotonic()
    echo: list[bool] = []
    code, shown, asked = on_terminal(
        ["check", "--workers", "2", "--config", str(config)],
        {"Passphrase of the sessman keyring": CTRL_C},
        timeout=20,  # before the fix, check waited for Enter: this timed out
        echo_after=echo,
    )
    assert echo == [True]  # the prompt's thread never got to turn echo back on
    assert time.monotonic() - started < 20
    assert code == 130, shown
    assert asked == {"Passphrase of the sessman keyring": 1}, shown
    lines = [line.strip() for line in shown.splitlines() if line.strip()]
    assert lines[-1] == "sessman: error: interrupted", shown
    assert "Traceback" not in shown
    assert lines.count("sessman: error: interrupted") == 1


def test_without_a_controlling_terminal_nothing_is_asked(
    tmp_path: Path, recorder: RecordingProxy
) -> None:
    device = f"arn:aws:iam::{ACCOUNT}:mfa/noterminal"
    config = write_config(
        tmp_path / "profiles.yaml",
        recorder.url,
        {"src": {"access_key_id": "AKIAEXAMPLEMFANOTTY1", "mfa_serial": device}},
    )
    store_secret(config, "src")
    # sessman() starts a session of its own: no controlling terminal, as in CI
    done = sessman("credential-process", "src", "--config", str(config))
    assert done.returncode == 2, done.stderr
    assert_error_line(done, contains="MFA code")
    assert recorder.signers("GetSessionToken") == []


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
