"""The library never prints: its notes are logged, and the command line shows them.

Used as a library with no logging configured, sessman writes nothing on
stderr, not even its WARNING notes (Python's last-resort handler would print
those: the ``sessman`` logger has a NullHandler). With logging configured the
notes are there; the command line prints them as ``sessman: note: ...``.
Each library check runs in a fresh interpreter, as a program would.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from support.cli import python, sessman
from support.profiles import EXAMPLE

#: Opens a manager on the example file with the default ``note=``, damages
#: its state file and reads it: the manager notes that the file is damaged.
DAMAGED_STATE = """
import sys
from pathlib import Path
{setup}
from sessman.config import load_config
from sessman.manager import SessionManager

manager = SessionManager(load_config(sys.argv[1]), state_dir=Path(sys.argv[2]))
manager.state.path.write_bytes(b"not json at all")
assert manager.state.read() == {{}}
print("done")
"""


@pytest.fixture
def state(tmp_path: Path) -> Path:
    folder = tmp_path / "state-of-test"
    folder.mkdir(mode=0o700)
    return folder


def test_the_library_prints_nothing_without_logging(state: Path) -> None:
    done = python(DAMAGED_STATE.format(setup=""), str(EXAMPLE), str(state))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "done\n"
    assert done.stderr == ""


def test_the_notes_reach_a_program_that_configures_logging(state: Path) -> None:
    # Control: the note is there, as a WARNING of a sessman logger.
    setup = "import logging; logging.basicConfig(format='%(levelname)s %(name)s %(message)s')"
    done = python(DAMAGED_STATE.format(setup=setup), str(EXAMPLE), str(state))
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("WARNING sessman.notes session state ")
    assert "is damaged" in done.stderr


def test_no_library_module_prints_for_itself() -> None:
    """Only the CLI (and the prompts, on the terminal) write to stdout or stderr."""
    package = Path(__file__).resolve().parent.parent / "sessman"
    allowed = {package / "prompts.py"}  # questions asked on the terminal
    offenders = []
    for path in sorted(package.rglob("*.py")):
        if package / "cli" in path.parents or path in allowed:
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ("print(", "sys.stderr.write", "sys.stdout.write"):
            if needle in text.replace("fingerprint(", ""):
                offenders.append(f"{path.name}: {needle}")
    assert offenders == []


def test_the_command_line_prints_the_notes(tmp_path: Path) -> None:
    config = tmp_path / "profiles.yaml"
    config.write_bytes(EXAMPLE.read_bytes())
    state = Path(os.environ["SESSMAN_STATE_DIR"])
    state.mkdir(mode=0o700, exist_ok=True)
    python(DAMAGED_STATE.format(setup=""), str(config), str(state))
    done = sessman("list", "--config", str(config))
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("sessman: note: session state ") and "is damaged" in lines[0]


def test_the_cli_printer_keeps_each_line_as_it_was(capsys: pytest.CaptureFixture[str]) -> None:
    from sessman.cli.render import show_library_notes

    show_library_notes()
    show_library_notes()  # installed once: every note still printed once
    logging.getLogger("sessman.secretstore").warning("using the file keyring")
    logging.getLogger("sessman.credserver").info("credentials of profile 'x' renewed again")
    logging.getLogger("sessman._http").error(
        "the credential server failed to answer a request (%s)", "ValueError"
    )
    logging.getLogger("sessman.anything").debug("not for people")
    logging.getLogger("elsewhere").warning("not sessman's")
    assert capsys.readouterr().err == (
        "sessman: note: using the file keyring\n"
        "sessman: note: credentials of profile 'x' renewed again\n"
        "sessman: the credential server failed to answer a request (ValueError)\n"
    )
