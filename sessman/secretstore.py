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

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .backends import (
    backend_label,
    cannot_keep_secrets,
    process_local,
    resolve_backend,
    unavailable,
)
from .errors import KeyringUnavailable

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

__all__ = [
    "KeyringStore",
    "SecretStore",
    "open_store",
    "session_user",
]


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


def open_store(
    service: str,
    pinned: str | None = None,
    *,
    state_dir: Path | None = None,
    note: Callable[[str], None] | None = None,
) -> KeyringStore:
    """A :class:`KeyringStore` for ``service`` on the resolved backend."""
    return KeyringStore(service, resolve_backend(pinned, state_dir=state_dir, note=note))
