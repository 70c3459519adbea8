"""Small helpers to drive the command line in tests: in-process and as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from sessman.cli.app import app

_runner = CliRunner()


def cli(*args: str, input: str | None = None) -> Any:
    """Run ``sessman ARGS`` in-process; returns typer's Result (stdout, stderr, exit_code)."""
    return _runner.invoke(app, list(args), input=input)


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
        [sys.executable, "-m", "sessman", *args],
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=dict(os.environ if env is None else env),
        timeout=timeout,
        check=False,
        start_new_session=True,  # no controlling terminal: nothing asks on /dev/tty
    )


def assert_one_error(stderr: str, *needles: str) -> str:
    """stderr is one ``sessman: error:`` line (plus maybe a ``hint:``), holding ``needles``."""
    lines = stderr.strip().splitlines()
    assert lines, "no error printed"
    assert "Traceback" not in stderr
    notes = [line for line in lines if line.startswith("sessman: note:")]
    rest = [line for line in lines if line not in notes]
    assert rest[0].startswith("sessman: error: "), stderr
    assert len(rest) == 1 or (len(rest) == 2 and rest[1].startswith("hint: ")), stderr
    for needle in needles:
        assert needle in rest[0], f"{needle!r} not in {rest[0]!r}"
    return rest[0]


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
