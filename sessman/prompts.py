"""Questions to the person at the terminal: one at a time, hidden, never under a progress bar.

Secrets, passphrases and MFA codes are asked and read on the controlling
terminal (``/dev/tty``, echo off) by :func:`hidden_input` and
:func:`ask_passphrase`, never on stdin or stdout, so a prompt works when
stdin is a pipe or ``/dev/null`` and stdout is taken, as under
``credential_process``; nothing typed is echoed. Without a controlling
terminal (``setsid``, CI) nothing is asked. The one exception is the yes/no
question of :func:`confirm`: its callers ask it only when stdin is a
terminal, and it reads the answer there (the question goes to stderr). :data:`LOCK` serialises
every prompt of the process, so threads that need the same answer ask once
(the caller re-checks what the first thread got after taking it). While a
prompt is shown, live displays registered with :func:`quiet_while_asking`
(the progress bar of ``check``) are stopped, so the prompt gets a line of
its own.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "LOCK",
    "PassphrasesDiffer",
    "ask_mfa_code",
    "ask_passphrase",
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
#: Guards :data:`_DISPLAYS` apart from :data:`LOCK`, which a prompt holds while it waits.
_DISPLAYS_LOCK = threading.Lock()
#: How deep :func:`asking` is nested in the thread holding :data:`LOCK` (guarded by it).
_NESTED = [0]
#: The hidden prompt on screen, if any: its terminal's fd and settings to restore.
_ECHO_OFF: list[tuple[int, list[Any]]] = []


def _open_terminal() -> int | None:
    """A read-write fd on the controlling terminal, or ``None`` when there is none."""
    try:
        return os.open("/dev/tty", os.O_RDWR | getattr(os, "O_NOCTTY", 0))
    except OSError:
        return None


def has_terminal() -> bool:
    """Whether a person can be asked: the process has a controlling terminal.

    Stdin does not matter: under ``script``, ``aws`` or a pipe it may be
    anything while the person is still at ``/dev/tty``.
    """
    fd = _open_terminal()
    if fd is None:
        return False
    os.close(fd)
    return True


@contextmanager
def quiet_while_asking(stop: Callable[[], None], start: Callable[[], None]) -> Iterator[None]:
    """Stop a live display (``stop``) for each prompt, and restart it (``start``) after."""
    entry = (stop, start)
    with _DISPLAYS_LOCK:
        _DISPLAYS.append(entry)
    try:
        yield
    finally:
        # Not under LOCK: on Ctrl-C a worker thread holds it, waiting for a line.
        with _DISPLAYS_LOCK:
            _DISPLAYS.remove(entry)
        _restore_terminal()


@contextmanager
def asking() -> Iterator[None]:
    """Hold the prompt lock with every live display stopped.

    Nested (a caller that asks once per process, around a prompt that takes
    it too), only the outermost stops and restarts the displays.
    """
    with LOCK:
        displays: list[tuple[Callable[[], None], Callable[[], None]]] = []
        if not _NESTED[0]:
            with _DISPLAYS_LOCK:
                displays = list(_DISPLAYS)
            for stop, _ in displays:
                stop()
        _NESTED[0] += 1
        try:
            yield
        finally:
            _NESTED[0] -= 1
            for _, start in reversed(displays):
                start()


def hidden_input(prompt: str) -> str:
    """Read one line from the terminal without echo (EOFError when there is none).

    The one way sessman reads a secret someone types.
    """
    with asking():
        return read_hidden(prompt)


class PassphrasesDiffer(ValueError):
    """The new passphrase and its repetition were not the same."""


def ask_passphrase(prompt: str, *, new: bool = False) -> str:
    """A passphrase typed hidden on the terminal; a ``new`` one is asked twice.

    An empty answer is returned as it is (and not asked again): what nothing
    typed means is the caller's to say. :class:`PassphrasesDiffer` when the
    repetition differs; EOFError when there is no terminal.
    """
    with asking():
        first = read_hidden(prompt)
        if first and new and read_hidden("Repeat the passphrase: ") != first:
            raise PassphrasesDiffer("the two passphrases typed differ")
    return first


def read_hidden(prompt: str) -> str:
    """Show ``prompt`` on ``/dev/tty`` and read a line there, echo off (as :mod:`getpass`).

    The terminal itself, under :func:`hidden_input` and :func:`ask_passphrase`
    (which hold :func:`asking`); EOFError when there is no terminal.

    Unlike :func:`getpass.getpass`, never falls back to stdin, and records
    the terminal's settings in :data:`_ECHO_OFF` so that a thread other
    than the one waiting here (Ctrl-C in the main thread of ``check``) can
    turn echo back on before the process ends.
    """
    import io
    import termios

    fd = _open_terminal()
    if fd is None:
        raise EOFError("no terminal")
    with io.FileIO(fd, "r+") as raw, io.TextIOWrapper(raw) as tty:
        try:
            before = termios.tcgetattr(fd)
        except termios.error as exc:
            raise EOFError("not a terminal") from exc
        hidden = list(before)
        hidden[3] &= ~termios.ECHO
        entry = (fd, before)
        termios.tcsetattr(fd, termios.TCSAFLUSH, hidden)  # before the prompt: keeps a reply
        _ECHO_OFF.append(entry)
        try:
            tty.write(prompt)
            tty.flush()
            line = tty.readline()
        finally:
            try:
                _ECHO_OFF.remove(entry)
            except ValueError:
                pass  # already restored by _restore_terminal
            else:
                termios.tcsetattr(fd, termios.TCSAFLUSH, before)
                tty.write("\n")
                tty.flush()
    if not line:
        raise EOFError("end of input at the terminal")
    return line.rstrip("\r\n")


def _restore_terminal() -> None:
    """Turn echo back on for a prompt left waiting in another thread, ending its line."""
    import termios

    while _ECHO_OFF:
        try:
            fd, before = _ECHO_OFF.pop()
        except IndexError:
            return  # the prompt ended meanwhile
        try:
            termios.tcsetattr(fd, termios.TCSANOW, before)
            os.write(fd, b"\n")
        except (OSError, termios.error):
            pass  # the prompt ended meanwhile and closed its terminal


def confirm(question: str) -> bool:
    """Ask ``question`` (yes or no, no by default) on stderr; read the answer from stdin.

    For callers that ask only when stdin is a terminal (``secret delete``
    without ``--yes``), so the answer comes from the person there, even
    without a controlling terminal. The question and everything around it
    go to stderr, never stdout, so ``--json`` output stays exactly the
    document (click's prompt writes a space to stdout). End of input counts
    as no.
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
