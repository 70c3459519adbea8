"""``sessman agent start|stop|status|lock``: unlock the file keyring once per time to live.

The commands only talk to the agent (:mod:`sessman.agent`) and print what
it said; errors are :class:`~sessman.errors.SessmanError` for the one error
boundary in :mod:`.app`.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Annotated, Any

import typer

from sessman.errors import KeyringUnavailable, SessmanError, UsageError

from .app import JsonOption
from .render import emit_json, emit_text

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


def _call(request: dict[str, Any], path: str) -> dict[str, Any] | None:
    from sessman.agent import client, protocol

    try:
        return client.call(request, path=path)
    except protocol.UnsafeSocket as exc:
        raise SessmanError(str(exc), hint="only a socket of yours, mode 0600, is used") from exc


def _passphrase(file: str) -> str | None:
    """The keyring passphrase: the variable, else a hidden prompt on a terminal, else None."""
    value = os.environ.get("SESSMAN_KEYRING_PASSPHRASE")
    if value:
        return value
    if sys.stdin is None or not sys.stdin.isatty():
        return None
    import getpass

    try:
        typed = getpass.getpass(f"Passphrase of the sessman keyring {file}: ")
    except EOFError:
        return None
    return typed or None


def _no_passphrase(file: str) -> KeyringUnavailable:
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
    from sessman.agent.listen import StartError
    from sessman.locations import keyring_file

    seconds = parse_ttl(ttl)
    path = protocol.socket_path()
    file = keyring_file()
    running = None if foreground else _call({"op": "status"}, path)
    if running is not None and running.get("file") != str(os.path.abspath(file)):
        raise SessmanError(
            f"an agent for another keyring file ({running.get('file')}) already answers on {path}",
            hint="stop it first (sessman agent stop), or start this one with another XDG_RUNTIME_DIR",
        )
    if running is not None and not running.get("locked"):
        emit_text(f"sessman agent already running and unlocked (pid {running.get('pid')})")
        return
    # Without a keyring file the agent holds only secrets of other backends.
    passphrase = _passphrase(str(file)) if file.exists() else None
    if passphrase is None and file.exists() and not foreground:
        raise _no_passphrase(str(file))
    try:
        if running is not None:
            answer = _call({"op": "unlock", "passphrase": passphrase, "ttl": seconds}, path)
            if answer is None or not answer.get("ok"):
                message = "the agent did not answer" if answer is None else answer.get("message")
                raise StartError(str(message))
            emit_text(f"sessman agent unlocked (pid {running.get('pid')})")
            return
        if foreground:
            from sessman.agent.daemon import run_foreground

            run_foreground(path, file, seconds, passphrase)
            return
        from sessman.agent.daemon import start_detached

        pid = start_detached(path, file, seconds, passphrase)
    except StartError as exc:
        raise _start_failed(str(exc)) from exc
    except Exception as exc:  # the keyring's own errors (foreground unlock)
        from keyring.errors import KeyringError

        if not isinstance(exc, KeyringError):
            raise
        raise _start_failed(str(exc)) from exc
    emit_text(f"sessman agent started (pid {pid}), listening on {path}")


def _start_failed(message: str) -> SessmanError:
    hint = None
    if "wrong passphrase" in message:
        message = message.replace(" (check the passphrase passed in)", "")
        hint = "check SESSMAN_KEYRING_PASSPHRASE, or type the passphrase again"
    return KeyringUnavailable(f"the agent did not start: {message}", hint=hint)


def status(json_: JsonOption = False) -> None:
    """Whether the agent runs, whether it is locked, and how long until it locks."""
    from sessman.agent import protocol

    path = protocol.socket_path()
    answer = _call({"op": "status"}, path)
    running = answer is not None and bool(answer.get("ok"))
    data = {
        "running": running,
        "locked": bool(answer.get("locked")) if answer and running else None,
        "ttl": answer.get("ttl") if answer and running else None,
        "pid": answer.get("pid") if answer and running else None,
        "file": answer.get("file") if answer and running else None,
        "file_unlocked": bool(answer.get("file_unlocked")) if answer and running else None,
        "socket": path,
    }
    if json_:
        emit_json(data)
        return
    if not running:
        emit_text(f"sessman agent: not running ({path})")
    elif data["locked"]:
        emit_text(f"sessman agent: running, locked (pid {data['pid']}, {path})")
    else:
        ttl = int(data["ttl"] or 0)
        left = f"{ttl // 3600}h{ttl % 3600 // 60:02d}m"
        what = data["file"] if data["file_unlocked"] else "no keyring file: other backends only"
        emit_text(f"sessman agent: running, unlocked for {left} more (pid {data['pid']}, {what})")


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
