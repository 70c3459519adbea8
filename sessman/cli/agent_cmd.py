"""``sessman agent start|stop|status|lock``: unlock the file keyring once per time to live.

The commands only talk to the agent (:mod:`sessman.agent`) and print what
it said; errors are :class:`~sessman.errors.SessmanError` for the one error
boundary in :mod:`.app`.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from sessman.errors import KeyringUnavailable, SessmanError, UsageError

from . import render
from .boundary import Reported
from .options import JsonOption
from .render import emit_text

agent_app = typer.Typer(
    help="An agent that holds the unlocked file keyring, so the passphrase is typed once.",
    no_args_is_help=True,
)

#: How long ``agent stop`` waits for the agent to remove its socket.
STOP_TIMEOUT = 10.0
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_ttl(text: str) -> float:
    """``8h``, ``30m``, ``90s``, ``1d`` or plain seconds; a usage error otherwise."""
    match = _DURATION.match(text)
    seconds = float(match.group(1)) * _UNITS[match.group(2)] if match else 0.0
    if not seconds > 0:
        raise UsageError(
            f"--ttl {text!r} is not a duration", hint="use seconds, or a number with s, m, h or d"
        )
    return seconds


#: How long ``agent status`` and ``agent start`` wait for an answer (an
#: agent whose file was replaced derives a key once to say so).
ASK_TIMEOUT = 5.0
#: How long ``agent start`` waits for an unlock (the agent derives the key).
UNLOCK_TIMEOUT = 30.0


def _call(
    request: dict[str, Any], path: str, timeout: float = ASK_TIMEOUT
) -> dict[str, Any] | None:
    """The agent's answer, ``None`` without an agent; errors for an unsafe or hung one."""
    from sessman.agent import client, protocol

    try:
        return client.ask(request, path=path, timeout=timeout)
    except protocol.UnsafeSocket as exc:
        raise SessmanError(str(exc), hint="only a socket of yours, mode 0600, is used") from exc
    except client.NotAnswering as exc:
        raise _not_answering(path) from exc


class NotAnswering(SessmanError):
    """An agent holds the socket but does not answer (stopped or hung)."""


def _not_answering(path: str) -> NotAnswering:
    return NotAnswering(
        f"the sessman agent is not answering (socket {path})",
        hint="it may be stopped or hung: `kill -CONT` it, or end it and run `sessman agent start`",
    )


def _file_keyring_chosen() -> bool:
    """Whether the file keyring is chosen although its file does not exist yet.

    As the file keyring's own priority decides: ``SESSMAN_KEYRING_FILE`` is
    set or ``PYTHON_KEYRING_BACKEND`` names it. Otherwise a system keyring
    is in use, and ``agent start`` asks for nothing.
    """
    named = os.environ.get("PYTHON_KEYRING_BACKEND") == "sessman.filekeyring.EncryptedFileKeyring"
    return named or bool(os.environ.get("SESSMAN_KEYRING_FILE"))


def _on_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):  # replaced or closed stdin
        return False


def _passphrase(file: Path, *, ask: bool) -> str | None:
    """The keyring passphrase: the variable, else (``ask``) a hidden prompt on a terminal.

    ``None`` when neither gives one. Asked twice when the file does not
    exist yet (it will be created with it), as the file keyring does.
    """
    value = os.environ.get("SESSMAN_KEYRING_PASSPHRASE")
    if value:
        return value
    if not ask:
        return None
    if not _on_terminal():
        return None
    from sessman.prompts import PassphrasesDiffer, ask_passphrase

    creating = not file.exists()
    action = "New passphrase for" if creating else "Passphrase of"
    try:
        typed = ask_passphrase(f"{action} the sessman keyring {file}: ", new=creating)
    except PassphrasesDiffer:
        raise KeyringUnavailable(
            f"{file}: the two passphrases typed differ; the agent was not started or"
            " unlocked. Try again."
        ) from None
    except EOFError as exc:
        raise KeyringUnavailable(
            f"{file}: no passphrase could be read from the terminal; the agent was not started"
            " or unlocked",
            hint="set SESSMAN_KEYRING_PASSPHRASE for `sessman agent start`",
        ) from exc
    if not typed:
        raise KeyringUnavailable(
            f"{file}: no passphrase typed; the agent was not started or unlocked"
        )
    return typed


def _no_passphrase(file: Path) -> KeyringUnavailable:
    return KeyringUnavailable(
        f"{file}: the agent needs the keyring passphrase and there is no terminal to ask for it",
        hint="run `sessman agent start` on a terminal, or set SESSMAN_KEYRING_PASSPHRASE for it",
    )


def start(
    ttl: Annotated[
        str,
        typer.Option(
            "--ttl", metavar="DURATION", help="Lock after this long: seconds, or 30m, 8h, 1d."
        ),
    ] = "8h",
    foreground: Annotated[
        bool, typer.Option("--foreground", help="Stay in the foreground (for service managers).")
    ] = False,
) -> None:
    """Start the agent (or unlock a locked one) with the keyring passphrase."""
    from sessman.agent import protocol
    from sessman.agent.listen import AgentRunning, StartError
    from sessman.locations import keyring_file

    seconds = parse_ttl(ttl)
    path = protocol.socket_path()
    file = keyring_file()
    running = None if foreground else _call({"op": "status"}, path)
    if running is not None and _needs_nothing(running, file, path):
        return
    # Without a keyring file and no passphrase to hand, the agent holds only
    # secrets of other backends (a passphrase given opens the file once created).
    passphrase = _passphrase(file, ask=file.exists() or _file_keyring_chosen())
    if passphrase is None and file.exists() and not foreground:
        raise _no_passphrase(file)
    try:
        if running is None and not foreground:
            from sessman.agent.daemon import start_detached

            try:
                pid = start_detached(path, file, seconds, passphrase)
            except AgentRunning:  # started at the same moment by another `agent start`
                running = _call({"op": "status"}, path)
                if running is None:
                    raise
                if _needs_nothing(running, file, path):
                    return
            else:
                emit_text(f"sessman agent started (pid {pid}), listening on {path}")
                return
        if running is not None:
            _unlock(running, path, passphrase, seconds)
            return
        from sessman.agent.daemon import run_foreground

        run_foreground(path, file, seconds, passphrase)
    except StartError as exc:
        raise _start_failed(str(exc)) from exc
    except Exception as exc:  # the keyring's own errors (foreground unlock)
        from keyring.errors import KeyringError

        if not isinstance(exc, KeyringError):
            raise
        raise _start_failed(str(exc)) from exc


def _needs_nothing(running: dict[str, Any], file: Path, path: str) -> bool:
    """Whether the running agent already holds what ``start`` would give it (then said so).

    Raises when it serves another keyring file.
    """
    if running.get("file") != str(os.path.abspath(file)):
        raise SessmanError(
            f"an agent for another keyring file ({running.get('file')}) already answers on {path}",
            hint="stop it first (sessman agent stop), or start this one with another XDG_RUNTIME_DIR",
        )
    state = running.get("file_state")
    if running.get("locked") or state == "wrong-passphrase":
        return False
    if state == "no-passphrase" and (
        file.exists()
        or os.environ.get("SESSMAN_KEYRING_PASSPHRASE")
        or (_file_keyring_chosen() and _on_terminal())
    ):
        return False  # a passphrase to give it
    pid = running.get("pid")
    if state in _FILE_STATES:  # running, but without the file's key: say what it holds
        what = _FILE_STATES[str(state)].format(file=running.get("file"))
        emit_text(f"sessman agent already running (pid {pid}), {what}")
    else:
        emit_text(f"sessman agent already running and unlocked (pid {pid})")
    return True


def _unlock(running: dict[str, Any], path: str, passphrase: str | None, seconds: float) -> None:
    """Unlock the running agent ``running`` with ``passphrase``; it stays locked on failure."""
    request = {"op": "unlock", "passphrase": passphrase, "ttl": seconds}
    answer = _call(request, path, timeout=UNLOCK_TIMEOUT)
    if answer is None or not answer.get("ok"):
        message = "it stopped answering" if answer is None else str(answer.get("message"))
        hint = None
        if "wrong passphrase" in message:
            message = message.replace(" (check the passphrase passed in)", "")
            hint = "check SESSMAN_KEYRING_PASSPHRASE, or type the passphrase again"
        was = "locked" if running.get("locked") else "as it was"
        raise KeyringUnavailable(
            f"the agent did not unlock: {message.rstrip('.')}; it still runs, {was}"
            f" (pid {running.get('pid')})",
            hint=hint,
        )
    emit_text(f"sessman agent unlocked (pid {running.get('pid')})")


def _start_failed(message: str) -> SessmanError:
    hint = None
    if "wrong passphrase" in message:
        message = message.replace(" (check the passphrase passed in)", "")
        hint = "check SESSMAN_KEYRING_PASSPHRASE, or type the passphrase again"
    return KeyringUnavailable(f"the agent did not start: {message}", hint=hint)


#: What ``agent status`` says of the keyring file, by the agent's ``file_state``.
_FILE_STATES = {
    "absent": "{file} does not exist yet: the passphrase held opens it once created",
    "no-passphrase": "no passphrase for {file}: other backends only",
    "wrong-passphrase": "the passphrase held does not open {file} (replaced?):"
    " run `sessman agent start` to unlock it",
}


def status(json_: JsonOption = False) -> None:
    """Whether the agent runs, whether it is locked, and how long until it locks."""
    from sessman.agent import protocol

    path = protocol.socket_path()
    try:
        answer, answering = _call({"op": "status"}, path), True
    except NotAnswering:
        if not json_:
            raise
        answer, answering = None, False
    running = answer is not None and bool(answer.get("ok"))
    data = {
        "running": running if answering else None,
        "answering": answering,
        "locked": bool(answer.get("locked")) if answer and running else None,
        "ttl": answer.get("ttl") if answer and running else None,
        "pid": answer.get("pid") if answer and running else None,
        "file": answer.get("file") if answer and running else None,
        "file_unlocked": bool(answer.get("file_unlocked")) if answer and running else None,
        "file_state": answer.get("file_state") if answer and running else None,
        "socket": path,
    }
    render.lines(data, _said(data), json=json_)
    if not answering:  # the JSON said so; the exit status too
        raise Reported(NotAnswering)


def _said(data: dict[str, Any]) -> list[str]:
    """``agent status`` for people: one line."""
    path = data["socket"]
    if not data["running"]:
        return [f"sessman agent: not running ({path})"]
    if data["locked"]:
        return [f"sessman agent: running, locked (pid {data['pid']}, {path})"]
    ttl = int(data["ttl"] or 0)
    left = f"{ttl // 3600}h{ttl % 3600 // 60:02d}m"
    if data["file_unlocked"]:
        return [
            f"sessman agent: running, unlocked for {left} more (pid {data['pid']}, {data['file']})"
        ]
    what = _FILE_STATES.get(str(data["file_state"]), "{file} is not unlocked")
    what = what.format(file=data["file"])
    return [f"sessman agent: running for {left} more, {what} (pid {data['pid']})"]


def lock() -> None:
    """Make the agent forget the keyring key and every secret it holds."""
    _simple("lock", "locked")


def stop() -> None:
    """Stop the agent (it forgets everything; the keyring file is unchanged)."""
    _simple("stop", "stopped")


def _simple(op: str, done: str) -> None:
    from sessman.agent import protocol

    path = protocol.socket_path()
    answer = _call({"op": op}, path)
    if answer is None:
        emit_text(f"sessman agent: not running ({path})")
        return
    if not answer.get("ok"):
        raise SessmanError(f"the agent refused to {op}: {answer.get('message')}")
    if op == "stop":  # return once it is gone, so a `start` right after finds no socket
        import time

        deadline = time.monotonic() + STOP_TIMEOUT
        while os.path.lexists(path) and time.monotonic() < deadline:
            time.sleep(0.05)
    emit_text(f"sessman agent {done}")


def register(app: typer.Typer) -> None:
    """Add the ``agent`` commands to ``app``."""
    agent_app.command("start")(start)
    agent_app.command("status")(status)
    agent_app.command("lock")(lock)
    agent_app.command("stop")(stop)
    app.add_typer(agent_app, name="agent")
