"""The agent's wire protocol and the place of its socket.

One request per connection: the client sends one JSON object on one line
(at most :data:`MAX_REQUEST` bytes, newline included), the agent answers one
JSON object on one line and closes. Every answer has ``"ok"``; a refusal
has ``"error"`` (a short code) and ``"message"`` (one line for people)::

    {"op": "status"}            -> {"ok", "pid", "locked", "ttl", "file", "file_unlocked"}
    {"op": "unlock", "passphrase", "ttl"}          -> {"ok"} | {"error": "passphrase"}
    (the passphrase is null when there is no keyring file)
    {"op": "lock"} / {"op": "stop"}                -> {"ok"}
    {"op": "get", "file", "service", "user"}       -> {"ok", "value": str | null}
    {"op": "put", "file", "service", "user", "value"} -> {"ok"}
    {"op": "delete", "file", "service", "user"}    -> {"ok"} | {"error": "absent"}
    {"op": "recall", "backend", "service", "user"} -> {"ok", "value": str | null}
    {"op": "remember", "backend", "service", "user", "value": str | null} -> {"ok"}
    {"op": "credential_process", "config", "cwd", "env", "profile", "min_ttl",
     "env_complete"?}      -> {"ok", "credentials": {name: str}} | {"error": "miss"}
                              | {"error": "need-env", "names": [variables the file references]}

``get``/``put``/``delete`` work on the keyring file the agent was unlocked
for; ``recall``/``remember`` on what clients read from other keyring
backends (``backend`` names the backend and, for Secret Service, its bus),
held in memory only. ``"error": "locked"`` means the agent holds nothing
(never unlocked, ``agent lock``, or its time to live is over): the client
takes the ordinary path.

The socket is ``$XDG_RUNTIME_DIR/sessman/agent.sock``, else
``agent.sock`` in the state directory. This module imports only the
standard library (``platformdirs`` when no variable places the socket),
because ``credential-process`` pays for every import.
"""

from __future__ import annotations

import json
import os
import stat

TYPE_CHECKING = False  # typing itself costs credential-process milliseconds
if TYPE_CHECKING:
    import socket
    from typing import Any

__all__ = [
    "CONTEXT_VARIABLES",
    "MAX_REQUEST",
    "SHARED_VARIABLES",
    "SOCKET_NAME",
    "ProtocolError",
    "UnsafeSocket",
    "check_length",
    "check_private",
    "decode",
    "encode",
    "read_line",
    "socket_path",
]

#: Variables that decide which profiles file, state directory, keyring file and
#: keyring backend a process uses: a credential_process request carries them.
CONTEXT_VARIABLES = (
    "SESSMAN_CONFIG",
    "SESSMAN_STATE_DIR",
    "SESSMAN_KEYRING_FILE",
    "PYTHON_KEYRING_BACKEND",
    "DBUS_SESSION_BUS_ADDRESS",
    "HOME",
    "XDG_CONFIG_HOME",
    "XDG_STATE_HOME",
    "XDG_DATA_HOME",
)
#: Of those, the ones the agent must share with the client to find the same
#: files by itself (it uses the client's SESSMAN_* values).
SHARED_VARIABLES = CONTEXT_VARIABLES[3:]

#: The largest request or answer, newline included (a secret is at most a few KiB).
MAX_REQUEST = 64 * 1024
SOCKET_NAME = "agent.sock"
#: sockaddr_un.sun_path holds 108 bytes on Linux, the final NUL included.
_MAX_SOCKET_PATH = 107


class ProtocolError(Exception):
    """A message that is not one JSON object on one line within the size limit."""


class UnsafeSocket(Exception):
    """The socket or its directory is not private to the current user (the message says how)."""


def socket_path(env: dict[str, str] | None = None) -> str:
    """Where the agent listens: ``$XDG_RUNTIME_DIR/sessman/agent.sock``, else the state dir."""
    env = dict(os.environ) if env is None else env
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime):
        return os.path.join(runtime, "sessman", SOCKET_NAME)
    state = env.get("SESSMAN_STATE_DIR")
    if state:
        return os.path.join(os.path.abspath(os.path.expanduser(state)), SOCKET_NAME)
    import platformdirs

    return os.path.join(str(platformdirs.user_state_path("sessman")), SOCKET_NAME)


def check_private(path: str, *, kind: str) -> os.stat_result | None:
    """Refuse ``path`` unless it is ours and closed to group and others.

    ``kind`` is ``"directory"`` or ``"socket"``. Returns the ``lstat`` of the
    path, or ``None`` when it does not exist. Never follows a symlink.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    wanted = stat.S_ISDIR if kind == "directory" else stat.S_ISSOCK
    if not wanted(st.st_mode):
        raise UnsafeSocket(f"{path} is not a {kind}; sessman will not use it (move it away)")
    if st.st_uid != os.geteuid():
        raise UnsafeSocket(
            f"{path}: this {kind} belongs to uid {st.st_uid}, not to you (uid {os.geteuid()});"
            " sessman will not use it (move it away)"
        )
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        fix = f"chmod 700 {path}" if kind == "directory" else f"remove it: rm {path}"
        raise UnsafeSocket(
            f"{path}: this {kind} is open to other users (mode {mode:04o});"
            f" sessman will not use it (fix: {fix})"
        )
    return st


def check_length(path: str) -> None:
    """Refuse a socket path longer than a Unix socket address can hold."""
    if len(os.fsencode(path)) > _MAX_SOCKET_PATH:
        raise UnsafeSocket(
            f"{path}: too long for a Unix socket ({_MAX_SOCKET_PATH} bytes at most);"
            " set XDG_RUNTIME_DIR or SESSMAN_STATE_DIR to a shorter directory"
        )


def encode(message: dict[str, Any]) -> bytes:
    """One message as one line of JSON."""
    data = json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n"
    if len(data) > MAX_REQUEST:
        raise ProtocolError(f"message of {len(data)} bytes is over the {MAX_REQUEST}-byte limit")
    return data


def decode(line: bytes) -> dict[str, Any]:
    """Parse one line into a JSON object, or raise :class:`ProtocolError`."""
    try:
        message = json.loads(line)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError("not JSON") from exc
    if not isinstance(message, dict):
        raise ProtocolError("not a JSON object")
    return message


def read_line(sock: socket.socket, limit: int = MAX_REQUEST) -> bytes:
    """Read up to and including the first newline; at most ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = sock.recv(min(65536, limit - size + 1))
        if not chunk:
            raise ProtocolError("connection closed before the end of the line")
        chunks.append(chunk)
        size += len(chunk)
        if b"\n" in chunk:
            line = b"".join(chunks)
            end = line.index(b"\n") + 1
            if end > limit:
                raise ProtocolError(f"line over the {limit}-byte limit")
            return line[:end]
        if size > limit:
            raise ProtocolError(f"line over the {limit}-byte limit")
