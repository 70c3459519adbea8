"""The agent's listening socket: 0600 in a 0700 directory, a stale one replaced.

Also :func:`harden`, which closes the agent's memory to other processes of
the same user.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from pathlib import Path

from sessman.trust import make_dirs

from . import protocol

__all__ = ["AgentRunning", "StartError", "bind", "harden"]


class StartError(Exception):
    """The agent cannot start (the message is one line for people)."""


class AgentRunning(StartError):
    """Another agent already answers on the socket."""


def bind(path: str) -> socket.socket:
    """A listening socket at ``path``: 0600 in a 0700 directory, replacing a stale one.

    Raises :class:`AgentRunning` when an agent answers there, and
    :class:`StartError` when the directory or socket is someone else's or
    open to others.
    """
    protocol.check_length(path)
    directory = os.path.dirname(path)
    try:
        make_dirs(Path(directory))  # it and every missing parent 0700, whatever the umask
        protocol.check_private(directory, kind="directory")
        guard = os.open(path + ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except protocol.UnsafeSocket as exc:
        raise StartError(str(exc)) from exc
    except OSError as exc:
        raise StartError(
            f"{path}: cannot prepare the agent socket ({exc.strerror or exc})"
        ) from exc
    try:
        # Agents started at the same moment take turns: the first binds, the
        # others find it answering (and never remove each other's socket).
        import fcntl

        fcntl.flock(guard, fcntl.LOCK_EX)
        return _bind(path)
    finally:
        os.close(guard)


def _bind(path: str) -> socket.socket:
    """:func:`bind`, its directory ready and its lock held."""
    try:
        if protocol.check_private(path, kind="socket") is not None:
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            probe.settimeout(2.0)
            try:
                probe.connect(path)
            except OSError as exc:
                if exc.errno not in (errno.ECONNREFUSED, errno.ENOENT):
                    raise
                os.unlink(path)  # left behind by an agent that was killed
            else:
                raise AgentRunning(f"a sessman agent already answers on {path}")
            finally:
                probe.close()
    except protocol.UnsafeSocket as exc:
        raise StartError(str(exc)) from exc
    except OSError as exc:
        raise StartError(
            f"{path}: cannot prepare the agent socket ({exc.strerror or exc})"
        ) from exc
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)  # created 0600: never a moment open to others
    try:
        sock.bind(path)
    except OSError as exc:
        sock.close()
        raise StartError(f"{path}: cannot listen ({exc.strerror or exc})") from exc
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(64)
    return sock


def harden() -> None:
    """Keep other processes of the same user from reading the agent's memory (Linux)."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_dumpable = 4
        libc.prctl(pr_set_dumpable, 0, 0, 0, 0)
