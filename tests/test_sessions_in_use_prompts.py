"""Sessions that hold up in real use: prompts on a real terminal (a pty), and none without one.

sessman runs with a pseudo-terminal as its controlling terminal against a
real ``moto.server``: the keyring passphrase and the MFA code are asked once,
hidden, off the progress bar; Ctrl-C at a prompt is one line and 130.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from support.cli import assert_error_line, sessman, store_secret
from support.fakes import FAKE_SECRET, PASSPHRASE
from support.infra import MotoServer
from support.proxies import RecordingProxy
from support.sessions_in_use import ACCOUNT, ROLE_ARN, write_config

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
