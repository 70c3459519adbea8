"""Questions to the person at the terminal: one at a time, hidden, never under a progress bar.

Secrets and MFA codes are read from the controlling terminal (``/dev/tty``,
through :mod:`getpass`), so a prompt works when stdout is taken, as under
``credential_process``; nothing typed is echoed. :data:`LOCK` serialises
every prompt of the process, so threads that need the same answer ask once
(the caller re-checks what the first thread got after taking it). While a
prompt is shown, live displays registered with :func:`quiet_while_asking`
(the progress bar of ``check``) are stopped, so the prompt gets a line of
its own.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = [
    "LOCK",
    "ask_mfa_code",
    "asking",
    "confirm",
    "has_terminal",
    "hidden_input",
    "mfa_source",
    "quiet_while_asking",
]

#: Held while any prompt is on screen; re-entrant so a prompt may nest a check.
LOCK = threading.RLock()
_DISPLAYS: list[tuple[Callable[[], None], Callable[[], None]]] = []


def has_terminal() -> bool:
    """Whether a person can be asked: stdin is a terminal (as under ``aws``, too)."""
    stdin = sys.stdin
    try:
        return stdin is not None and stdin.isatty()
    except (AttributeError, ValueError):  # replaced or closed stdin
        return False


@contextmanager
def quiet_while_asking(stop: Callable[[], None], start: Callable[[], None]) -> Iterator[None]:
    """Stop a live display (``stop``) for each prompt, and restart it (``start``) after."""
    entry = (stop, start)
    with LOCK:
        _DISPLAYS.append(entry)
    try:
        yield
    finally:
        with LOCK:
            _DISPLAYS.remove(entry)


@contextmanager
def asking() -> Iterator[None]:
    """Hold the prompt lock with every live display stopped."""
    with LOCK:
        displays = list(_DISPLAYS)
        for stop, _ in displays:
            stop()
        try:
            yield
        finally:
            for _, start in reversed(displays):
                start()


def hidden_input(prompt: str) -> str:
    """Read one line from the terminal without echo (EOFError when there is none)."""
    import getpass

    with asking():
        return getpass.getpass(prompt)


def confirm(question: str) -> bool:
    """Ask ``question`` (yes or no, no by default) on stderr; read the answer from stdin.

    The question and everything around it go to stderr, never stdout, so
    ``--json`` output stays exactly the document (click's prompt writes a
    space to stdout). End of input counts as no.
    """
    with asking():
        sys.stderr.write(f"{question} [y/N]: ")
        sys.stderr.flush()
        answer = sys.stdin.readline()
    if not answer.endswith("\n"):
        sys.stderr.write("\n")
    return answer.strip().lower() in ("y", "yes")


def mfa_source(code: str | None) -> Callable[[str], str] | None:
    """Where the MFA code comes from: ``code`` (checked now), a hidden prompt, or nowhere.

    A code of the wrong shape is a usage error before any AWS call; without a
    code and without a terminal, the manager says which option to pass.
    """
    if code is not None:
        from .credentials import check_mfa_code

        checked = check_mfa_code(code)
        return lambda _device: checked
    return ask_mfa_code if has_terminal() else None


def ask_mfa_code(device: str) -> str:
    """Ask for the current code of MFA device ``device``, hidden, on the terminal."""
    from .errors import UsageError

    try:
        return hidden_input(f"MFA code for {device}: ").strip()
    except EOFError as exc:
        raise UsageError(
            f"no MFA code for {device} could be read from the terminal",
            hint="pass --mfa-code CODE",
        ) from exc
