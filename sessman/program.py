"""The program a command line names, found on ``PATH`` as a shell finds it.

``exec`` (with or without ``--server``) runs a program the user named; when
that fails it exits as a shell would, so scripts can tell the cases apart:
127 when there is no such program, 126 when there is one that cannot be
run (not executable, a directory).
"""

from __future__ import annotations

import os
import shutil

from .errors import SessmanError

__all__ = ["cannot_run", "find_program"]


def _cannot(message: str, exit_code: int) -> SessmanError:
    error = SessmanError(message)
    error.exit_code = exit_code
    return error


def find_program(name: str) -> str:
    """The path of the executable ``name`` names; a :class:`SessmanError` with 126 or 127.

    A name with a slash is that file; any other is looked up on ``PATH``,
    where a file that is found but not executable is 126, as in bash.
    """
    program = shutil.which(name)
    if program is not None:
        return program
    if os.sep in name:
        if os.path.isdir(name):
            raise _cannot(f"cannot run {name}: it is a directory", 126)
        candidates = [name]
    else:
        path = os.environ.get("PATH", os.defpath).split(os.pathsep)
        candidates = [os.path.join(d or os.curdir, name) for d in path]
    if any(os.path.isfile(c) for c in candidates):
        raise _cannot(f"cannot run {name}: permission denied (not executable)", 126)
    raise _cannot(f"command not found: {name}", 127)


def cannot_run(name: str, exc: OSError) -> SessmanError:
    """The error for a program found but refused by the system (a bad format, a noexec mount).

    127 if it vanished since it was found, else 126, as a shell exits.
    """
    reason = exc.strerror or type(exc).__name__
    return _cannot(
        f"cannot run {name}: {reason}", 127 if isinstance(exc, FileNotFoundError) else 126
    )
