"""Open sessions: the keyring entry, the state record, the binding, and this process's copy.

A session is handed out only while its state record is bound to the profile
definition it was opened with (:mod:`sessman.binding`) and the keyring entry
is the one the record names; each is read at most once per process unless
another process may have renewed it (``fresh``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .binding import fingerprint
from .config import Config
from .credentials import Identity, TemporaryCredentials
from .secretstore import SecretStore, session_user
from .state import SessionRecord, StateFile

__all__ = ["OpenSessions"]


class OpenSessions:
    """The open sessions of one profiles file, as stored and as this process holds them."""

    def __init__(
        self, config: Config, store: Callable[[], SecretStore], state: Callable[[], StateFile]
    ) -> None:
        self.config = config
        self._store = store
        self._state = state
        self._lock = threading.Lock()
        self._copies: dict[str, TemporaryCredentials] = {}

    def get(self, name: str, *, margin: float, fresh: bool = False) -> TemporaryCredentials | None:
        """The open session's credentials if they have more than ``margin`` s left.

        ``fresh`` looks at the state file again (another process may have
        opened or renewed the session) instead of trusting this process's copy;
        so does a copy with too little time left.
        """
        with self._lock:
            cached = self._copies.get(name)
        if cached is None or fresh or cached.remaining() <= margin:
            record = self._state().get(name)
            if record is None or record.remaining() <= margin:
                return None
            if record.binding != fingerprint(self.config, name):
                return None  # stale: opened for another profile definition
            if cached is None or (cached.access_key_id, cached.expires) != (
                record.access_key_id,
                record.expires,
            ):
                cached = self._read(name, record)
            if cached is None:
                return None
            self.remember(name, cached)
        return cached if cached.remaining() > margin else None

    def _read(self, name: str, record: SessionRecord) -> TemporaryCredentials | None:
        """The stored session of ``name`` if it is the one the state file records."""
        store = self._store()
        user = session_user(name)
        for attempt in range(2):
            text = store.get(user)
            creds = TemporaryCredentials.from_json(text) if text else None
            if creds is not None and (creds.access_key_id, creds.expires) == (
                record.access_key_id,
                record.expires,
            ):
                return creds
            forget = getattr(store, "forget", None)
            if attempt or not callable(forget):
                return None
            forget(user)  # this process's copy is older than what was stored since
        return None  # pragma: no cover - the loop returns

    def save(self, name: str, creds: TemporaryCredentials, identity: Identity) -> None:
        """Store a session: the keyring entry, then the record bound to the profile.

        ``identity`` is GetCallerIdentity's answer for profile ``name``.
        """
        assert identity.name == name
        self._store().put(session_user(name), creds.to_json())
        self._state().put(SessionRecord.of(identity, creds, fingerprint(self.config, name)))
        self.remember(name, creds)

    def end(self, name: str) -> bool:
        """Delete the stored session of ``name``: its keyring entry and its record.

        Returns whether there was one. This process's copy is left to
        :meth:`forget`, which the caller has already called.
        """
        state = self._state()
        record = state.get(name)
        deleted = self._store().delete(session_user(name))
        removed = state.remove(name) if record is not None else False
        return deleted or removed

    def remember(self, name: str, creds: TemporaryCredentials) -> None:
        """Keep ``creds`` as this process's copy of ``name``'s session."""
        with self._lock:
            self._copies[name] = creds

    def forget(self, name: str) -> TemporaryCredentials | None:
        """Drop this process's copy of ``name``'s session; return what it was."""
        with self._lock:
            return self._copies.pop(name, None)

    def clear(self) -> None:
        """Drop every copy this process holds (stored sessions stay open)."""
        with self._lock:
            self._copies.clear()
