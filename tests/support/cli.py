"""Driving the command line in tests: in-process, as a real process, and its one error format.

- ``cli``: ``sessman ARGS`` in-process (typer's CliRunner, stdout and stderr
  apart); fast, and what most tests use. ``store_secret``: a secret set that way.
- ``sessman``: ``python -m sessman ARGS`` as a real process, run to its end;
  ``running``: the same started in the background, for tests that signal,
  time or talk to it; ``sessman_argv``: the argv for anything else (a terminal);
  ``edit_while_locked``: a command that must wait for another process's edit;
  ``python``: a ``python -c`` script as a real process (a fresh interpreter).
- ``assert_error_line``: a failed run printed the one error format, a
  ``sessman: error: ...`` line and maybe a ``hint: ...`` line; ``hint_line``
  is that hint.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Union

from typer.testing import CliRunner, Result

from sessman.cli.app import app
from support.fakes import FAKE_SECRET

#: A finished run: in-process, a real process, or just what it wrote to stderr.
Run = Union[Result, "subprocess.CompletedProcess[str]", str]

ERROR_PREFIX = "sessman: error: "
HINT_PREFIX = "hint: "
NOTE_PREFIX = "sessman: note:"

_runner = CliRunner()


def cli(
    *args: str,
    input: str | None = None,
    config: Path | str | None = None,
    never: Iterable[str] = (),
    checked: bool = False,
) -> Result:
    """Run ``sessman ARGS`` in-process; typer's Result (stdout, stderr, exit_code apart).

    With ``config``, ``--config FILE`` goes before ``ARGS``. None of the
    strings in ``never`` (secrets) may show in the output. ``checked``: the
    run may not print a traceback nor end in an exception other than its
    exit (off by default, so tests of ``SESSMAN_DEBUG`` and of crashes can
    look at ``result.exception`` themselves).
    """
    argv = [*(["--config", str(config)] if config is not None else []), *args]
    result = _runner.invoke(app, argv, input=input)
    both = result.stdout + result.stderr
    for secret in never:
        assert secret not in both
    if checked:
        assert "Traceback" not in both, both
        if result.exit_code != 0:
            assert isinstance(result.exception, SystemExit), result.exception
    return result


def store_secret(config: Path, name: str = "dev", secret: str = FAKE_SECRET) -> None:
    """``sessman secret set NAME --stdin`` for the profiles file ``config``; it must succeed."""
    stored = cli("secret", "set", name, "--stdin", "-c", str(config), input=secret)
    assert stored.exit_code == 0, stored.stderr


def sessman_argv(*args: str) -> list[str]:
    """The argv of ``python -m sessman ARGS`` with the tests' Python."""
    return [sys.executable, "-m", "sessman", *args]


def sessman(
    *args: str,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m sessman ARGS`` as a separate process, stdin closed unless given.

    In a session of its own, without the controlling terminal of whoever runs
    the tests, so a prompt is never waiting there.
    """
    return subprocess.run(
        sessman_argv(*args),
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=dict(os.environ if env is None else env),
        timeout=timeout,
        check=False,
        start_new_session=True,  # no controlling terminal: nothing asks on /dev/tty
    )


def python(
    code: str,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -c CODE ARGS`` with the tests' Python, output captured; never raises on failure."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=dict(os.environ if env is None else env),
        timeout=timeout,
        check=False,
        cwd=cwd,
    )


@contextlib.contextmanager
def running(argv: Sequence[str], **extra: Any) -> Iterator[subprocess.Popen[str]]:
    """``sessman ARGV`` as a process with pipes; stopped (SIGTERM, then SIGKILL) if still alive."""
    proc = subprocess.Popen(
        sessman_argv(*argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **extra,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def _streams(run: Run) -> tuple[int | None, str | None, str]:
    """(exit code, stdout, stderr) of ``run``; no exit code or stdout for a bare stderr."""
    if isinstance(run, str):
        return None, None, run
    if isinstance(run, subprocess.CompletedProcess):
        return run.returncode, run.stdout, run.stderr or ""
    return run.exit_code, run.stdout, run.stderr


def assert_error_line(
    run: Run,
    exit_code: int | None = None,
    *,
    contains: str | Sequence[str] = (),
    stdout: str | None = None,
    notes: bool = True,
) -> str:
    """``run`` printed one ``sessman: error:`` line, maybe one ``hint:`` after it; that line.

    ``exit_code``: what the run must have exited with. ``contains``: what the
    error line must hold. ``stdout``: what stdout must be exactly (``""``:
    nothing). ``notes``: whether ``sessman: note:`` lines may stand beside
    the error (False: stderr is the error and its hint, nothing else). A
    traceback is never allowed.
    """
    code, out, err = _streams(run)
    if exit_code is not None:
        assert code == exit_code, (code, out, err)
    if stdout is not None:
        assert out == stdout, (out, err)
    assert "Traceback" not in err, err
    lines = err.strip().splitlines() if notes else err.splitlines()
    if notes:
        lines = [line for line in lines if not line.startswith(NOTE_PREFIX)]
    assert lines, "no error printed"
    assert lines[0].startswith(ERROR_PREFIX), err
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith(HINT_PREFIX)), err
    for needle in (contains,) if isinstance(contains, str) else contains:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]


def hint_line(run: Run) -> str:
    """The ``hint:`` line under the error line, the second and last line on stderr."""
    _, _, err = _streams(run)
    lines = err.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith(ERROR_PREFIX), err
    assert lines[1].startswith(HINT_PREFIX), err
    return lines[1]


def all_bytes_under(*roots: Path) -> bytes:
    """Every file's content below ``roots``, concatenated (for leak scans)."""
    chunks = []
    for root in roots:
        if root.is_file():
            chunks.append(root.read_bytes())
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file():
                chunks.append(path.read_bytes())
    return b"\n".join(chunks)


#: Holds the profiles file's edit lock (the documented ``.<name>.lock``
#: beside it), reads the file, waits for a line on stdin, then appends to what
#: it read: an edit that ignored the lock meanwhile would be lost.
_HOLDER = """\
import sys
from pathlib import Path
from filelock import FileLock
path = Path(sys.argv[1])
with FileLock(str(path.parent / f".{path.name}.lock")):
    text = path.read_text()
    print("locked", flush=True)
    sys.stdin.readline()
    path.write_text(text + sys.argv[2])
"""


def edit_while_locked(path: Path, addition: str, command: Sequence[str]) -> None:
    """Run ``sessman COMMAND`` while another process edits ``path`` under the lock.

    The holder writes only after the command finished or had 5 s to try, so
    without the lock the command's edit would be overwritten; with it, the
    command waits, reads the holder's edit and adds its own.
    """
    with subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path), addition],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdin is not None and holder.stdout is not None
        try:
            assert holder.stdout.readline() == "locked\n"
            with subprocess.Popen(
                sessman_argv("--config", str(path), *command),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ) as editor:
                try:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        editor.wait(timeout=5)
                    holder.stdin.write("go\n")
                    holder.stdin.close()
                    assert holder.wait(timeout=60) == 0
                    _, err = editor.communicate(timeout=120)
                    assert editor.returncode == 0, err
                finally:
                    editor.kill()
        finally:
            holder.kill()
