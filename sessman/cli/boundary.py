"""The one place a failure becomes an error line and an exit code.

Both front doors run their command through :func:`run`: the typer
application (``app.py``) and the typer-free ``credential-process`` path
(``fast.py``), so the same bad input gives the same line and the same exit
code whichever door it came through. A :class:`~sessman.errors.SessmanError`
is printed as ``sessman: error: ...`` (plus ``hint: ...``) with its exit
code; Ctrl-C is ``interrupted`` and 130; anything unforeseen is named by its
kind only, never its text (it might quote a credential), and exit 1.
``SESSMAN_DEBUG=1`` lets errors through with their traceback instead.

Only the standard library is imported here: the credential-process fast
path pays for every module.
"""

from __future__ import annotations

import os

from sessman.errors import Interrupted, SessmanError

from .render import emit_error, hint_with_config

TYPE_CHECKING = False  # typing itself costs the credential-process fast path
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

__all__ = ["UNEXPECTED_HINT", "Reported", "fail_after", "interrupted_means", "run"]

#: The hint of an exception nobody foresaw.
UNEXPECTED_HINT = "run again with SESSMAN_DEBUG=1 for the traceback, and report it"


def run(
    body: Callable[[], int | None],
    *,
    config: Path | Callable[[], Path | None] | None = None,
) -> int:
    """Run ``body`` and return its exit code (``None`` is 0), every failure reported once.

    ``config`` is the profiles file named on the command line, if any, or
    how to find it once ``body`` has failed (the typer application learns
    it while the command runs): a hint that ends with a sessman command
    gets ``--config`` added, so it works when copied. This is the one place
    that adds it.
    """
    debug = os.environ.get("SESSMAN_DEBUG") == "1"
    try:
        code = body()
    except _Several as exc:
        where = config() if callable(config) else config
        for message, hint in dict.fromkeys((e.message, e.hint) for e in exc.errors):
            emit_error(message, hint_with_config(hint, where))
        return exc.exit_code
    except Reported as exc:
        return exc.exit_code
    except SessmanError as exc:
        if debug:
            raise
        where = config() if callable(config) else config
        emit_error(exc.message, hint_with_config(exc.hint, where))
        return exc.exit_code
    except KeyboardInterrupt:
        emit_error("interrupted")
        return 130
    except Exception as exc:
        if debug:
            raise
        emit_error(f"unexpected {type(exc).__module__}.{type(exc).__name__}", UNEXPECTED_HINT)
        return 1
    return 0 if code is None else code


class interrupted_means:
    """Ctrl-C in the block is reported as ``message`` (exit 130), not a bare ``interrupted``.

    For a command whose interruption leaves something worth naming ("sso
    session 'corp' is not signed in"); the boundary prints it as any error.
    A class, not ``contextlib``: this module is on the fast path.
    """

    def __init__(self, message: str) -> None:
        self.message = message

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is not None and issubclass(kind, KeyboardInterrupt):
            raise Interrupted(self.message) from None


class Reported(SessmanError):
    """A failure the command's output shows already: only its exit code is left.

    The exit code is that of ``like``, an error class or error (a doctor
    report with a wrong profiles file exits as
    :class:`~sessman.errors.ConfigError` does), so no command names an exit
    code of its own; nothing more is printed.
    """

    def __init__(self, like: type[SessmanError] | SessmanError = SessmanError) -> None:
        super().__init__("reported above")
        self.exit_code = like.exit_code


def fail_after(errors: Sequence[SessmanError]) -> None:
    """Report the errors of some profiles after the others succeeded, each once.

    For commands over many profiles (``open a b c``): the results of those
    that worked are printed first, then (by :func:`run`) each distinct
    error, and the command exits with the highest of their exit codes.
    """
    if not errors:
        return
    if os.environ.get("SESSMAN_DEBUG") == "1":
        raise errors[0]
    raise _Several(errors)


class _Several(Reported):
    """The errors of :func:`fail_after`, for :func:`run` to print, each once."""

    def __init__(self, errors: Sequence[SessmanError]) -> None:
        super().__init__(max(errors, key=lambda e: e.exit_code))
        self.errors = list(errors)
