"""Where secrets live: a small store interface over ``keyring``.

Layout: service ``keyring_service``; user name ``<profile>``
for a long-term secret access key, ``<profile>:session`` for the JSON of an
open session's temporary credentials.

:class:`KeyringStore` reads each item at most once per process and keeps it
in memory only, so a locked keyring prompts once. Every keyring error becomes
one :class:`~sessman.errors.KeyringUnavailable` that names the backend.
Which backend: the one ``keyring`` resolves, or the one the profiles file
pins; where keyring finds none, sessman's own encrypted file keyring.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from . import trust
from ._log import get_logger
from .errors import ConfigError, KeyringUnavailable, UnsafePath

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

__all__ = [
    "KeyringStore",
    "SecretStore",
    "isolated_backend",
    "log_note",
    "open_store",
    "process_local",
    "resolve_backend",
    "session_user",
]

logger = get_logger(__name__)

FILE_KEYRING = "sessman.filekeyring.EncryptedFileKeyring"
_CACHE_NAME = "keyring-backend.json"
#: Backends a test harness put in place of every other, the innermost last
#: (see :func:`isolated_backend`); empty outside tests.
_ISOLATED: list[KeyringBackend] = []


@contextmanager
def isolated_backend(backend: KeyringBackend) -> Iterator[KeyringBackend]:
    """Make :func:`resolve_backend` return ``backend`` until the block ends.

    A pinned ``keyring_backend:`` and ``PYTHON_KEYRING_BACKEND`` are ignored
    meanwhile: the test harness (:func:`sessman.testing.isolated_keyring`)
    passes its backend in, so that tests never reach a real keyring.
    """
    _ISOLATED.append(backend)
    try:
        yield backend
    finally:
        _ISOLATED.remove(backend)


def process_local(backend: KeyringBackend) -> bool:
    """Whether ``backend`` keeps its secrets in this process's memory only.

    Such a backend is one a test harness isolated, or one whose class says
    ``process_local = True``; no other process (a sessman agent) may hold
    its secrets.
    """
    isolated = any(b is backend for b in _ISOLATED)
    return isolated or getattr(type(backend), "process_local", False) is True


def session_user(profile: str) -> str:
    """Keyring user name of a profile's open-session credentials."""
    return f"{profile}:session"


class SecretStore(Protocol):
    """What sessman needs from a place that keeps secrets."""

    @property
    def backend_name(self) -> str:
        """Human name of the backend, for messages."""
        ...

    def get(self, user: str) -> str | None:
        """The secret stored for ``user``, or ``None``."""
        ...

    def put(self, user: str, secret: str) -> None:
        """Store ``secret`` for ``user``, replacing any old one."""
        ...

    def delete(self, user: str) -> bool:
        """Forget ``user``'s secret; ``True`` when there was one."""
        ...

    def present(self, users: Iterable[str]) -> set[str]:
        """Which of ``users`` have a stored secret, in O(1) round trips where possible."""
        ...


def backend_label(backend: KeyringBackend) -> str:
    """``module.Class`` of a backend: what users write in keyring_backend."""
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


class KeyringStore:
    """A :class:`SecretStore` over one ``keyring`` backend and one service name."""

    def __init__(self, service: str, backend: KeyringBackend) -> None:
        self.service = service
        self.backend = backend
        self._cache: dict[str, str | None] = {}
        self._flights: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"KeyringStore(service={self.service!r}, backend={self.backend_name!r})"

    @property
    def backend_name(self) -> str:
        return backend_label(self.backend)

    @contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        """Turn whatever the backend raises into one clear KeyringUnavailable."""
        try:
            yield
        except KeyringUnavailable:
            raise
        # keyring raises KeyringError; D-Bus, Secret Service and other
        # backends raise trees of their own: all mean "the keyring failed".
        except Exception as exc:
            raise unavailable(self.backend_name, action, exc) from exc

    def get(self, user: str) -> str | None:
        with self._lock:
            if user in self._cache:
                return self._cache[user]
            flight = self._flights.setdefault(user, threading.Lock())
        # Threads asking for the same item at once make one keyring call.
        with flight:
            with self._lock:
                if user in self._cache:
                    return self._cache[user]
            value = self._recall(user)
            if value is None:
                with self._translated(f"read the secret of {user!r}"):
                    value = self.backend.get_password(self.service, user)
                self._remember(user, value)
            with self._lock:
                self._cache[user] = value
            return value

    def forget(self, user: str) -> None:
        """Drop the in-memory copy of ``user``: another process changed it."""
        with self._lock:
            self._cache.pop(user, None)

    def put(self, user: str, secret: str) -> None:
        if cannot_keep_secrets(self.backend):
            raise KeyringUnavailable(
                f"keyring backend {self.backend_name} cannot keep secrets;"
                f" nothing was stored for {user!r}",
                hint="name a real keyring in PYTHON_KEYRING_BACKEND or keyring_backend:"
                " (or unset it: sessman then uses its encrypted file keyring)",
            )
        with self._translated(f"store the secret of {user!r}"):
            self.backend.set_password(self.service, user, secret)
        self._remember(user, secret)
        with self._lock:
            self._cache[user] = secret

    def delete(self, user: str) -> bool:
        from keyring.errors import PasswordDeleteError

        existed = True
        with self._translated(f"delete the secret of {user!r}"):
            try:
                self.backend.delete_password(self.service, user)
            except PasswordDeleteError:
                existed = False
        self._remember(user, None)
        with self._lock:
            self._cache[user] = None
        return existed

    def _recall(self, user: str) -> str | None:
        """What a running sessman agent holds for ``user`` of this backend (other backends)."""
        from .agent.client import backend_id, recall

        if process_local(self.backend):
            return None
        backend = backend_id(self.backend_name)
        return None if backend is None else recall(backend, self.service, user)

    def _remember(self, user: str, value: str | None) -> None:
        """Let a running agent hold ``value`` for the time to live (``None``: forget it)."""
        from .agent.client import backend_id, remember

        if process_local(self.backend):
            return
        backend = backend_id(self.backend_name)
        if backend is not None:
            remember(backend, self.service, user, value)

    def present(self, users: Iterable[str]) -> set[str]:
        wanted = set(users)
        with self._translated("list stored secrets"):
            stored = self._stored_users()
        if stored is None:  # a backend that cannot list: one lookup per item
            return {u for u in wanted if self.get(u) is not None}
        return wanted & stored

    def _stored_users(self) -> set[str] | None:
        """All user names of this service in one round trip, or None if unsupported."""
        lister = getattr(self.backend, "usernames", None)
        if callable(lister):
            return set(lister(self.service))
        if _is_secret_service(self.backend):
            from contextlib import closing

            from ._keyring import secret_service_query

            query, username = secret_service_query(self.backend, self.service)
            collection: Any = self.backend.get_preferred_collection()  # type: ignore[attr-defined]
            with closing(collection.connection):
                items = collection.search_items(query)
                return {item.get_attributes().get(username, "") for item in items}
        return None


def _is_secret_service(backend: KeyringBackend) -> bool:
    try:
        from keyring.backends.SecretService import Keyring as SecretService
    except ImportError:  # pragma: no cover - keyring always ships it
        return False
    return isinstance(backend, SecretService)


def unavailable(backend: str, action: str, exc: BaseException) -> KeyringUnavailable:
    """The one error for a keyring that would not do what was asked."""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    hint = (
        "unlock the keyring, or pin another backend with keyring_backend: in the"
        " profiles file (run `sessman doctor` for details)"
    )
    if "passphrase" in detail.lower():  # the file keyring's message says what to do
        from .agent.client import fallback_hint

        hint = fallback_hint() or (
            "set SESSMAN_KEYRING_PASSPHRASE to the keyring file's passphrase, or run on a terminal"
        )
    if isinstance(exc.__cause__, UnsafePath):  # the keyring file or its directory is not private
        hint = exc.__cause__.fix
    return KeyringUnavailable(f"keyring {backend} could not {action}: {detail}", hint=hint)


def resolve_backend(
    pinned: str | None = None,
    *,
    state_dir: Path | None = None,
    note: Callable[[str], None] | None = None,
) -> KeyringBackend:
    """Return the keyring backend sessman uses.

    ``pinned`` (``keyring_backend:`` in the profiles file) wins, except over a
    process-local backend named by ``PYTHON_KEYRING_BACKEND`` (a test
    harness's, see :func:`process_local`). Otherwise the
    one ``keyring`` resolves (``PYTHON_KEYRING_BACKEND``, keyringrc.cfg, the
    system keyring); where that is keyring's "fail" backend, sessman's
    encrypted file keyring, announced once through ``note``.

    Resolving probes every installed backend (about 130 ms here), so the
    answer is remembered in ``state_dir`` for as long as the environment that
    decides it (the variables and keyringrc.cfg) does not change.
    """
    import keyring.core

    if _ISOLATED:
        return _ISOLATED[-1]
    from_env = os.environ.get("PYTHON_KEYRING_BACKEND")
    if pinned:
        # A process-local backend in the environment is a test harness's,
        # handed down to the processes a test starts: it wins over a pin, so
        # that no process of a test ever reaches a real keyring.
        if from_env and _names_process_local(from_env):
            return _load(from_env, pinned=False)
        return _load(pinned, pinned=True)
    if from_env:
        return _load(from_env, pinned=False)
    fingerprint = _fingerprint()
    cache = state_dir / _CACHE_NAME if state_dir is not None else None
    if cache is not None:
        remembered = _read_cache(cache, fingerprint)
        if remembered is not None:
            try:
                return _load(remembered, pinned=False)
            except (KeyringUnavailable, ConfigError):
                pass
    backend = keyring.get_keyring()
    if _is_failing(backend):
        from .filekeyring import EncryptedFileKeyring

        backend = EncryptedFileKeyring()
    label = backend_label(backend)
    if label == FILE_KEYRING and note is not None:
        note(
            "no system keyring found; using sessman's encrypted file keyring"
            f" ({getattr(backend, 'path', '?')})"
        )
    if cache is not None:
        _write_cache(cache, fingerprint, label)
    return backend


def open_store(
    service: str,
    pinned: str | None = None,
    *,
    state_dir: Path | None = None,
    note: Callable[[str], None] | None = None,
) -> KeyringStore:
    """A :class:`KeyringStore` for ``service`` on the resolved backend."""
    return KeyringStore(service, resolve_backend(pinned, state_dir=state_dir, note=note))


def log_note(message: str) -> None:
    """The default ``note=`` of :class:`~sessman.manager.SessionManager`: a WARNING logged.

    Notes (the file keyring used for want of a system keyring, a damaged
    state file reset) are logged on this module's logger, never printed: a
    program sees them only when it configures logging; the command line
    prints them as ``sessman: note: ...``.
    """
    logger.warning("%s", message)


#: Modules of backends that accept a secret and keep nothing (or always fail).
_NO_SECRETS_MODULES = frozenset({"keyring.backends.null", "keyring.backends.fail"})


def cannot_keep_secrets(backend: KeyringBackend) -> bool:
    """Whether ``backend`` throws secrets away or refuses them (null, fail, empty chain)."""
    return type(backend).__module__ in _NO_SECRETS_MODULES or _is_failing(backend)


def _is_failing(backend: KeyringBackend) -> bool:
    from keyring.backends import chainer, fail

    if isinstance(backend, fail.Keyring):
        return True
    return isinstance(backend, chainer.ChainerBackend) and not backend.backends


def _names_process_local(name: str) -> bool:
    """Whether ``name`` (module.Class) is a backend class that says ``process_local``.

    The class is not instantiated; a name that does not import is not one.
    """
    import importlib

    module, _, attr = name.rpartition(".")
    try:
        loaded = importlib.import_module(module)
    except Exception:
        return False
    return getattr(getattr(loaded, attr, None), "process_local", False) is True


def _load(name: str, *, pinned: bool) -> KeyringBackend:
    import keyring.core

    if name == FILE_KEYRING:  # named by the user: viable even before its file exists
        from .filekeyring import EncryptedFileKeyring

        return EncryptedFileKeyring()
    try:
        return keyring.core.load_keyring(name)
    except (ImportError, AttributeError, ValueError, TypeError) as exc:
        message = f"cannot load keyring backend {name!r}: {exc}"
        if pinned:
            raise ConfigError(message, key="keyring_backend") from exc
        raise KeyringUnavailable(message) from exc
    except Exception as exc:  # the backend's own "not usable here" (RuntimeError, D-Bus)
        raise unavailable(name, "start", exc) from exc


def _fingerprint() -> str:
    from keyring.util import platform_

    rc = Path(platform_.config_root()) / "keyringrc.cfg"
    try:
        rc_stamp = str(rc.stat().st_mtime_ns)
    except OSError:
        rc_stamp = "-"
    parts = [
        sys.executable,
        os.environ.get("DBUS_SESSION_BUS_ADDRESS", ""),
        os.environ.get("XDG_CURRENT_DESKTOP", ""),
        os.environ.get("KEYRING_PROPERTY_PATH", ""),
        str(rc),
        rc_stamp,
    ]
    return "\x1f".join(parts)


def _read_cache(path: Path, fingerprint: str) -> str | None:
    try:
        raw = trust.read_private(path)
        data = json.loads(raw) if raw is not None else None
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("fingerprint") != fingerprint:
        return None
    backend = data.get("backend")
    return backend if isinstance(backend, str) and _installed_backend(backend) else None


def _installed_backend(name: str) -> bool:
    """Whether ``name`` is a class path of an installed backend that keeps secrets.

    A cached name is never imported blindly (importing a module runs it):
    only modules of ``keyring.backends``, of an installed ``keyring.backends``
    entry point, or sessman's own file keyring qualify, and the class must be
    a :class:`keyring.backend.KeyringBackend` subclass that can keep secrets.
    """
    import importlib
    from importlib.metadata import entry_points

    from keyring.backend import KeyringBackend

    module, _, cls_name = name.rpartition(".")
    if not module or not cls_name.isidentifier():
        return False
    allowed = module == FILE_KEYRING.rpartition(".")[0] or module.startswith("keyring.backends.")
    if not allowed:
        allowed = any(
            module == ep.module or module.startswith(ep.module + ".")
            for ep in entry_points(group="keyring.backends")
        )
    if not allowed or module in _NO_SECRETS_MODULES:
        return False
    try:
        cls = getattr(importlib.import_module(module), cls_name, None)
    except ImportError:
        return False
    return isinstance(cls, type) and issubclass(cls, KeyringBackend)


def _write_cache(path: Path, fingerprint: str, backend: str) -> None:
    payload = json.dumps({"fingerprint": fingerprint, "backend": backend}).encode()
    with suppress(OSError):  # only a cache: the next run resolves again
        trust.write_private(path, payload)
