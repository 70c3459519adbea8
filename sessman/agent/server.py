"""The agent process: the unlocked file keyring, in memory, behind a private socket.

:class:`Agent` holds an :class:`~sessman.filekeyring.EncryptedFileKeyring`
opened with the passphrase (so the keyring code does all the cryptography,
and every write still goes to the keyring file under its lock, atomically),
until its time to live runs out or ``agent lock``; then it forgets the
passphrase, every derived key and what it held of other keyring backends.
:func:`serve` answers the protocol of
:mod:`.protocol` on a Unix socket that only the current user can reach:
mode 0600 in a 0700 directory (:mod:`.listen`), and every connection's peer
uid checked with ``SO_PEERCRED``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import protocol
from .client import peer_uid

if TYPE_CHECKING:
    from sessman.filekeyring import EncryptedFileKeyring

__all__ = ["Agent", "serve"]

#: Secrets of other backends the agent holds at most (a bound, not a cache policy).
MAX_REMEMBERED = 4096
#: A client has this long to send its request before the agent hangs up.
REQUEST_TIMEOUT = 5.0


def _now() -> float:
    """Seconds on a clock that keeps counting while the machine sleeps (Linux: BOOTTIME).

    A laptop suspended for the night must wake up with a locked agent.
    """
    clock = getattr(time, "CLOCK_BOOTTIME", None)
    return time.clock_gettime(clock) if clock is not None else time.monotonic()


class Agent:
    """What the agent knows: the keyring file, and (while unlocked) how to open it."""

    def __init__(self, file: Path) -> None:
        self.file = Path(os.path.abspath(file))
        # Made with the passphrase even before the file exists: opened once it appears.
        self._keyring: EncryptedFileKeyring | None = None
        # The file (inode, mtime, size) the held passphrase was found not to open.
        self._refused: tuple[int, int, int] | None = None
        self._unlocked = False
        # Secrets clients read from other keyring backends, by (backend, service, user).
        self._memory: dict[tuple[str, str, str], str] = {}
        self._deadline = 0.0
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)

    def __repr__(self) -> str:
        return f"<Agent {self.file} {'locked' if self.locked else 'unlocked'}>"

    @property
    def locked(self) -> bool:
        with self._lock:
            if self._unlocked and _now() >= self._deadline:
                self.lock()
            return not self._unlocked

    def ttl_left(self) -> float | None:
        with self._lock:
            return None if self.locked else max(0.0, self._deadline - _now())

    def unlock(self, passphrase: str | None, ttl: float) -> None:
        """Hold ``passphrase`` for the keyring file (verified now if it exists) for ``ttl`` s.

        Without a keyring file yet, the passphrase is kept and opens the
        file once it appears (``None``: the agent holds only what clients
        read from other backends). Raises the file keyring's own errors: no
        or a wrong passphrase, a damaged file.
        """
        from sessman.filekeyring import EncryptedFileKeyring, PassphraseRequired

        keyring = EncryptedFileKeyring(self.file, passphrase) if passphrase else None
        if self.file.exists():
            if keyring is None:
                raise PassphraseRequired(
                    f"{self.file}: the agent needs the passphrase of this keyring file",
                    path=self.file,
                )
            keyring.verify()
        with self._lock:
            self._keyring = keyring
            self._refused = None
            self._unlocked = True
            self._deadline = _now() + ttl
            self._wake.notify_all()

    def file_state(self) -> str:
        """What the agent can do with the keyring file (the agent must be unlocked).

        ``open`` (the held passphrase opens it), ``absent`` (it opens the file
        once it is created), ``no-passphrase`` (none held), ``wrong-passphrase``
        (the file was replaced by one it does not open).
        """
        from keyring.errors import KeyringError

        with self._lock:
            keyring = self._keyring
            if keyring is None:
                return "no-passphrase"
            try:
                info = os.stat(self.file)
            except FileNotFoundError:
                return "absent"
            except OSError:
                return "wrong-passphrase"
            signature = (info.st_ino, info.st_mtime_ns, info.st_size)
            if signature == self._refused:  # known not to open: no key derivation again
                return "wrong-passphrase"
            try:
                keyring.verify()  # the key of a file it opened before is cached: cheap
            except KeyringError:
                self._refused = signature
                return "wrong-passphrase"
            return "open"

    def lock(self) -> None:
        """Forget the passphrase and every derived key."""
        from sessman.filekeyring import forget_keys

        with self._lock:
            self._keyring = None
            self._refused = None
            self._unlocked = False
            self._memory.clear()
            self._deadline = 0.0
            forget_keys()
            self._wake.notify_all()

    def watch(self, stop: threading.Event) -> None:
        """Lock when the time to live is over (runs in its own thread until ``stop``)."""
        with self._lock:
            while not stop.is_set():
                left = self._deadline - _now() if self._unlocked else None
                if left is not None and left <= 0:
                    self.lock()
                    continue
                self._wake.wait(timeout=1.0 if left is None else min(left, 60.0))

    def status(self) -> dict[str, Any]:
        with self._lock:
            ttl = self.ttl_left()
            state = None if ttl is None else self.file_state()
        return {
            "ok": True,
            "pid": os.getpid(),
            "locked": ttl is None,
            "ttl": None if ttl is None else round(ttl),
            "file": str(self.file),
            "file_unlocked": state == "open",
            "file_state": state,
        }

    # -- keyring entries ----------------------------------------------------

    def keyring_op(self, request: dict[str, Any]) -> dict[str, Any]:
        """``get``, ``put`` or ``delete`` one entry of the keyring file."""
        from keyring.errors import KeyringError, PasswordDeleteError

        from sessman.filekeyring import PassphraseError

        op = request["op"]
        file, service, user, value = (request.get(k) for k in ("file", "service", "user", "value"))
        if not (isinstance(file, str) and isinstance(service, str) and isinstance(user, str)):
            return _refusal("bad-request", "file, service and user must be strings")
        if op == "put" and not isinstance(value, str):
            return _refusal("bad-request", "put needs a string value")
        with self._lock:
            if self.locked:
                return _refusal("locked", "the sessman agent is locked")
            keyring = self._keyring
            if Path(os.path.abspath(file)) != self.file:
                return _refusal("other-file", f"the sessman agent serves {self.file} only")
            if keyring is None:  # started before the file existed, without a passphrase
                return _refusal("locked", f"the sessman agent has no passphrase for {self.file}")
            try:
                if op == "get":
                    return {"ok": True, "value": keyring.get_password(service, user)}
                if op == "put":
                    keyring.set_password(service, user, str(value))
                    return {"ok": True}
                keyring.delete_password(service, user)
                return {"ok": True}
            except PasswordDeleteError as exc:
                return _refusal("absent", _line(exc))
            except PassphraseError as exc:  # the file was replaced: the client asks itself
                return _refusal("locked", _line(exc))
            except KeyringError as exc:
                return _refusal("keyring", _line(exc))

    def credential_process(self, request: dict[str, Any]) -> dict[str, Any]:
        """The open session's ``credential_process`` JSON (see :mod:`.lookup`), or a miss."""
        from .lookup import credential_process

        with self._lock:
            if self.locked:
                return _refusal("locked", "the sessman agent is locked")
            keyring = self._keyring
        return credential_process(keyring, self.recall, request)

    # -- secrets of other backends ----------------------------------------------

    def recall(self, backend: str, service: str, user: str) -> str | None:
        """What a client read from ``backend`` for ``service``/``user``, if anything."""
        with self._lock:
            return None if self.locked else self._memory.get((backend, service, user))

    def memory_op(self, request: dict[str, Any]) -> dict[str, Any]:
        """``recall`` or ``remember`` (``value`` null: forget) a secret of another backend."""
        backend, service, user, value = (
            request.get(k) for k in ("backend", "service", "user", "value")
        )
        if not (isinstance(backend, str) and isinstance(service, str) and isinstance(user, str)):
            return _refusal("bad-request", "backend, service and user must be strings")
        if value is not None and not isinstance(value, str):
            return _refusal("bad-request", "value must be a string or null")
        key = (backend, service, user)
        with self._lock:
            if self.locked:
                return _refusal("locked", "the sessman agent is locked")
            if request["op"] == "recall":
                return {"ok": True, "value": self._memory.get(key)}
            if value is None:
                self._memory.pop(key, None)
            elif key in self._memory or len(self._memory) < MAX_REMEMBERED:
                self._memory[key] = value
            return {"ok": True}


def _line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _refusal(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": code, "message": message}


# -- serving ------------------------------------------------------------------


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, path: str, agent: Agent, on_stop: Callable[[], None]) -> None:
        self.agent = agent
        self.on_stop = on_stop
        super().__init__(path, _Handler, bind_and_activate=False)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        """Only the agent's own user may talk to it (checked per connection)."""
        try:
            return peer_uid(request) == os.geteuid()
        except OSError:
            return False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that misbehaves or vanishes costs its own connection, nothing else."""


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(REQUEST_TIMEOUT)
        request: dict[str, Any] = {}
        try:
            request = protocol.decode(protocol.read_line(sock))
            answer = self._answer(request)
        except protocol.ProtocolError as exc:
            answer = _refusal("bad-request", str(exc))
        except (OSError, TimeoutError):
            return  # the client went away or never finished: nothing to answer
        except Exception as exc:  # a bug: the client takes its ordinary path
            # The type only: an exception's text might quote a secret.
            answer = _refusal("internal", f"the agent failed: {type(exc).__name__}")
        with contextlib.suppress(OSError):
            sock.sendall(protocol.encode(answer))
        if request.get("op") == "stop" and answer.get("ok"):
            self.server.on_stop()

    def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        agent = self.server.agent
        op = request.get("op")
        if op == "status":
            return agent.status()
        if op == "lock":
            agent.lock()
            return {"ok": True}
        if op == "stop":
            agent.lock()
            return {"ok": True}
        if op == "unlock":
            return self._unlock(request)
        if op in ("get", "put", "delete"):
            return agent.keyring_op(request)
        if op in ("recall", "remember"):
            return agent.memory_op(request)
        if op == "credential_process":
            return agent.credential_process(request)
        return _refusal("unknown-op", f"unknown operation {op!r}")

    def _unlock(self, request: dict[str, Any]) -> dict[str, Any]:
        from keyring.errors import KeyringError

        passphrase, ttl = request.get("passphrase"), request.get("ttl")
        if passphrase is not None and not isinstance(passphrase, str):
            return _refusal("bad-request", "the passphrase must be a string")
        if not isinstance(ttl, int | float) or not ttl > 0:
            return _refusal("bad-request", "unlock needs a ttl > 0")
        try:
            self.server.agent.unlock(passphrase, float(ttl))
        except KeyringError as exc:
            return _refusal("passphrase", _line(exc))
        return {"ok": True}


def serve(sock: socket.socket, path: str, agent: Agent) -> None:
    """Answer requests on ``sock`` until ``stop``, SIGTERM/SIGINT, or its socket is gone.

    An agent whose socket was removed (logind removes ``$XDG_RUNTIME_DIR`` at
    logout) can no longer be reached, and exits: it dies with the session.
    """
    stopping = threading.Event()
    server = _Server(path, agent, on_stop=stopping.set)
    server.socket.close()
    server.socket = sock
    inode = os.lstat(path).st_ino
    watcher = threading.Thread(target=agent.watch, args=(stopping,), daemon=True)
    watcher.start()
    from .lookup import warm_up

    threading.Thread(target=warm_up, daemon=True).start()

    def stop(*_: object) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    loop = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2})
    loop.start()
    try:
        while not stopping.wait(0.5):
            if not _still_ours(path, inode):
                break  # the runtime dir went with the login session, or someone took the path
    finally:
        server.shutdown()
        loop.join()
        agent.lock()
        with contextlib.suppress(OSError):
            if os.lstat(path).st_ino == inode:  # ours, not a successor's
                os.unlink(path)
        server.server_close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _still_ours(path: str, inode: int) -> bool:
    """Whether ``path`` is still this agent's socket (clients can only reach it there)."""
    try:
        return os.lstat(path).st_ino == inode
    except OSError:
        return False
