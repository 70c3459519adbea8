"""Asking the agent: what sessman processes use when an agent may be running.

Every function here answers "not handled" (``None`` or :data:`NOT_HANDLED`)
when there is no agent, when it is locked, or when it does not serve what
was asked, so the caller takes its ordinary path (variable, prompt, else a
clear error). A socket or directory that is not private to the current
user, or a server of another uid, is never talked to.

Only the standard library is imported (plus ``platformdirs`` when neither
XDG_RUNTIME_DIR nor SESSMAN_STATE_DIR is set, and :mod:`sessman.exports`,
which imports only ``json``, for the credential fields): the
``credential-process`` fast path must stay within 2x of ``python -c "import json"``.
"""

from __future__ import annotations

import os

from . import protocol

TYPE_CHECKING = False  # typing itself costs credential-process milliseconds
if TYPE_CHECKING:
    import socket
    from collections.abc import Mapping
    from typing import Any

__all__ = [
    "NOT_HANDLED",
    "AgentError",
    "NotAnswering",
    "backend_id",
    "call",
    "credential_process",
    "fallback_hint",
    "keyring_op",
    "peer_uid",
    "recall",
    "remember",
]

#: A request round trip never waits longer than this (the agent answers in ms);
#: an agent that lets it pass is given up for the rest of the process.
TIMEOUT = 3.0
#: Returned by :func:`keyring_op` when the caller must do the work itself.
NOT_HANDLED: Any = object()

_FILE_KEYRING = "sessman.filekeyring.EncryptedFileKeyring"
_LOCKED_HINT = "the sessman agent is locked: run `sessman agent start`"


class AgentError(Exception):
    """The agent refused an operation for a reason the caller must report (not "locked")."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NotAnswering(Exception):
    """An agent holds the socket but did not answer in time (stopped or hung)."""


#: For this long after an agent let :data:`TIMEOUT` pass, this process does
#: not ask it again (a long-lived process tries again later).
GIVE_UP_FOR = 60.0
#: Sockets whose agent did not answer in time, with when that was (monotonic).
_GIVEN_UP: dict[str, float] = {}
#: Why this process last took its ordinary path although an agent socket is
#: there (for the hint of a passphrase error), or ``None``.
_FELL_BACK: list[str] = []


def fallback_hint() -> str | None:
    """What to do about the agent, when this process could not use one that is there.

    The ordinary path's passphrase error then names the agent (locked,
    stopped or hung) rather than only the variable.
    """
    return _FELL_BACK[-1] if _FELL_BACK else None


def _fall_back(why: str) -> None:
    _FELL_BACK[:] = [why]


def peer_uid(sock: socket.socket) -> int:
    """The user id of the process at the other end of a Unix socket (SO_PEERCRED)."""
    import socket
    import struct

    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


def call(
    request: dict[str, Any], *, path: str | None = None, timeout: float = TIMEOUT
) -> dict[str, Any] | None:
    """Send one request; the answer, or ``None`` when no trustworthy agent answers.

    Raises :class:`protocol.UnsafeSocket` when the socket or its directory
    is not private (callers that only want a fast path treat that as "no
    agent"; ``agent status`` reports it). An agent that does not answer
    within ``timeout`` is given up at once: this process does not wait for
    it again for :data:`GIVE_UP_FOR` seconds (:func:`ask` reports it).
    """
    try:
        return ask(request, path=path, timeout=timeout)
    except NotAnswering:
        return None


def ask(
    request: dict[str, Any], *, path: str | None = None, timeout: float = TIMEOUT
) -> dict[str, Any] | None:
    """:func:`call`, but raising :class:`NotAnswering` for an agent that does not answer."""
    path = protocol.socket_path() if path is None else path
    import time

    if path in _GIVEN_UP and time.monotonic() - _GIVEN_UP[path] < GIVE_UP_FOR:
        raise NotAnswering(path)
    if protocol.check_private(os.path.dirname(path), kind="directory") is None:
        return None
    if protocol.check_private(path, kind="socket") is None:
        return None
    import socket  # here: without an agent, credential-process does not pay for it

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except FileNotFoundError:
            return None  # no agent
        except ConnectionRefusedError:  # the socket a killed agent left behind
            _fall_back("the sessman agent is not running: run `sessman agent start`")
            return None
        if peer_uid(sock) != os.geteuid():
            raise protocol.UnsafeSocket(f"{path}: the process serving it is not yours")
        sock.sendall(protocol.encode(request))
        return protocol.decode(protocol.read_line(sock))
    except TimeoutError as exc:  # connected (the kernel queues it) but nobody reads
        _GIVEN_UP[path] = time.monotonic()
        _fall_back(f"the sessman agent does not answer (socket {path}): see `sessman agent status`")
        raise NotAnswering(path) from exc
    except (OSError, protocol.ProtocolError):
        return None  # an agent that died or hung up mid-answer: the ordinary path
    finally:
        sock.close()


def _quiet_call(request: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return call(request)
    except protocol.UnsafeSocket:
        return None


def keyring_op(op: str, file: str, service: str, user: str, value: str | None = None) -> Any:
    """``get``, ``put`` or ``delete`` an entry of the file keyring ``file`` through the agent.

    Returns the value (``get``), ``True`` (``put``, ``delete``) or
    :data:`NOT_HANDLED`; raises :class:`AgentError` when the agent tried and
    failed (code ``"absent"`` for a delete of nothing, ``"keyring"`` else).
    """
    request: dict[str, Any] = {"op": op, "file": file, "service": service, "user": user}
    if value is not None:
        request["value"] = value
    answer = _quiet_call(request)
    if answer is None:
        return NOT_HANDLED
    if answer.get("ok") is True:
        return answer.get("value") if op == "get" else True
    code = str(answer.get("error", "failed"))
    if code == "locked":
        _fall_back(_LOCKED_HINT)
    if code in ("locked", "other-file", "unknown-op", "internal"):
        return NOT_HANDLED
    raise AgentError(code, str(answer.get("message", "the sessman agent failed")))


#: Backends the agent never holds secrets of: its own file keyring (the agent
#: opens the file itself) and keyrings that hold nothing. Keyrings in one
#: process's memory never reach it (:func:`sessman.backends.process_local`).
_NOT_REMEMBERED = frozenset(
    {
        _FILE_KEYRING,
        "keyring.backends.null.Keyring",
        "keyring.backends.fail.Keyring",
    }
)


def backend_id(label: str, env: Mapping[str, str] | None = None) -> str | None:
    """How the agent names a keyring backend of this process; ``None``: never remembered.

    The D-Bus session is part of it: a Secret Service on another bus is
    another keyring.
    """
    if label in _NOT_REMEMBERED:
        return None
    env = os.environ if env is None else env
    return f"{label} {env.get('DBUS_SESSION_BUS_ADDRESS', '')}"


def recall(backend: str, service: str, user: str) -> str | None:
    """The secret the agent holds for ``backend``/``service``/``user``, or ``None``."""
    answer = _quiet_call({"op": "recall", "backend": backend, "service": service, "user": user})
    value = answer.get("value") if answer is not None and answer.get("ok") is True else None
    return value if isinstance(value, str) else None


def remember(backend: str, service: str, user: str, value: str | None) -> None:
    """Tell the agent what ``backend`` now holds (``None``: nothing); no agent, no effect."""
    request = {"op": "remember", "backend": backend, "service": service, "user": user}
    _quiet_call({**request, "value": value})


def credential_process(
    config: str | None, profile: str, min_ttl: float | None
) -> dict[str, str] | None:
    """The open session's credentials from the agent (the document's fields), or ``None``.

    ``None`` (take the ordinary path) when there is no unlocked agent, no
    open unexpired session with ``min_ttl`` seconds left, or anything that
    the agent could see differently from this process (another keyring
    backend, file, home or state directory). The agent finds the profiles
    file as this process would (it gets the working directory and the
    variables that decide it) and asks again for the values of variables
    the file references.
    """
    env = os.environ
    path = protocol.socket_path()
    if not os.path.exists(path):
        return None
    request: dict[str, Any] = {
        "op": "credential_process",
        "config": os.path.abspath(os.path.expanduser(config)) if config else None,
        "cwd": os.getcwd(),
        "env": {name: env[name] for name in protocol.CONTEXT_VARIABLES if name in env},
        "profile": profile,
        "min_ttl": min_ttl,
    }
    answer = _quiet_call(request)
    if answer is not None and answer.get("error") == "need-env":
        names = answer.get("names")
        if not isinstance(names, list):
            return None
        from sessman.secretvars import is_secret_variable

        wanted = [n for n in names if isinstance(n, str) and n in env]
        request["env"].update({n: env[n] for n in wanted if not is_secret_variable(n)})
        request["env_complete"] = True
        answer = _quiet_call(request)
    if answer is not None and answer.get("error") == "locked":
        _fall_back(_LOCKED_HINT)
    if answer is None or answer.get("ok") is not True:
        return None
    from sessman.exports import PROCESS_FIELDS  # only json: no yaml, no keyring

    fields = answer.get("credentials")
    if not isinstance(fields, dict) or sorted(fields) != sorted(PROCESS_FIELDS):
        return None  # an agent of another version: the ordinary path
    if not all(
        isinstance(value, str) and value and value.isprintable() for value in fields.values()
    ):
        return None  # not one printable line each: not what an agent of ours sends
    return {name: fields[name] for name in PROCESS_FIELDS}
