"""SessionManager: one boto3 Session per profile, built, cached, opened and closed.

The manager wires the rooms that do the work and caches sessions and
clients: where credentials come from and how sessions are opened is
:mod:`sessman.sources`, what is open is :mod:`sessman.opensessions`, the
shared STS clients are :mod:`sessman.stspool`, ``map``'s threads are
:mod:`sessman.fanout`. boto3 and botocore are imported only when a session
is first built, so listing, showing and handing over stored credentials
never pay for them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ._botocore import close_client
from ._log import log_note
from .botosessions import BotoSessions, botocore_config
from .config import Config, Profile
from .credentials import Identity, TemporaryCredentials
from .fanout import map_profiles
from .locations import state_dir as default_state_dir
from .locks import profile_lock
from .opensessions import OpenSessions
from .results import Outcome, ProfileStatus, SessionInfo
from .secretstore import SecretStore, open_store
from .sources import Broker
from .state import StateFile
from .stspool import StsPool

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config as BotocoreConfig

__all__ = ["Outcome", "ProfileStatus", "SessionInfo", "SessionManager"]

T = TypeVar("T")


class SessionManager:
    """Sessions, clients and credentials for the profiles of one profiles file.

    Thread-safe: many threads may ask for the same session, client or
    credentials at once; each is built or fetched once.
    """

    def __init__(
        self,
        config: Config,
        *,
        store: SecretStore | None = None,
        state_dir: Path | None = None,
        mfa_prompt: Callable[[str], str] | Literal[False] | None = None,
        note: Callable[[str], None] | None = log_note,
    ) -> None:
        self.config = config
        self._store = store
        self._state_dir = state_dir
        self._state: StateFile | None = None
        self._note = note
        self._lock = threading.RLock()
        self._open = OpenSessions(config, lambda: self.store, lambda: self.state)
        self._sts_pool = StsPool(self.botocore_config)
        self._broker = Broker(
            config,
            store=lambda: self.store,
            state=lambda: self.state,
            sessions=self._open,
            sts=self._sts_pool,
            profile_lock=self._profile_lock,
            mfa_prompt=mfa_prompt,
            lock=self._lock,
        )
        self._boto = BotoSessions(
            self.profile, self._broker.metadata, self._broker.flight, self._lock
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None, **options: Any) -> SessionManager:
        """A manager for the profiles file at ``path`` (default: the one discovered)."""
        from .config_cache import load_cached

        state = options.get("state_dir") or default_state_dir()
        return cls(load_cached(path, state), **options)

    def __repr__(self) -> str:
        return f"SessionManager({str(self.config.path)!r}, profiles={len(self.config.profiles)})"

    def __enter__(self) -> SessionManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # -- profiles ---------------------------------------------------------

    def names(self, tag: str | None = None) -> list[str]:
        """Profile names in file order (only those tagged ``tag`` when given)."""
        return self.config.names(tag)

    def profile(self, name: str) -> Profile:
        """The validated profile ``name`` (:class:`~sessman.errors.ProfileNotFound` if none)."""
        return self.config.profile(name)

    @property
    def store(self) -> SecretStore:
        """Where secrets live: resolved on first use (see :mod:`sessman.secretstore`)."""
        with self._lock:
            if self._store is None:
                self._store = open_store(
                    self.config.keyring_service,
                    self.config.keyring_backend,
                    state_dir=self.state_dir,
                    note=self._note,
                )
            return self._store

    @property
    def state_dir(self) -> Path:
        return self._state_dir if self._state_dir is not None else default_state_dir()

    @property
    def state(self) -> StateFile:
        """The open sessions' metadata for this file's keyring service."""
        with self._lock:
            if self._state is None:
                self._state = StateFile(
                    self.state_dir, self.config.keyring_service, warn=self._note
                )
            return self._state

    def status(self, names: Iterable[str] | None = None) -> dict[str, ProfileStatus]:
        """Secret and session state of profiles, in O(1) keyring round trips."""
        from .listing import statuses

        wanted = [self.profile(n) for n in (self.names() if names is None else names)]
        return statuses(self.config, wanted, self.state.read(), self.store)

    # -- sessions and clients -----------------------------------------------

    def botocore_config(self, name: str) -> BotocoreConfig:
        """The ``botocore.config.Config`` made from the profile's settings."""
        return botocore_config(self.profile(name))

    def session(self, name: str) -> boto3.Session:
        """The one ``boto3.Session`` of profile ``name``, built on first use."""
        return self._boto.session(name)

    def client(self, name: str, service: str, *, region: str | None = None) -> Any:
        """A cached client of ``service`` with the profile's Config and endpoint_url."""
        return self._boto.cached(name, service, region, "client")

    def resource(self, name: str, service: str, *, region: str | None = None) -> Any:
        """A cached boto3 resource of ``service``, like :meth:`client`."""
        return self._boto.cached(name, service, region, "resource")

    # -- credentials ------------------------------------------------------

    def credentials(
        self,
        name: str,
        *,
        min_ttl: float = 0,
        duration: int | None = None,
        mfa_code: str | None = None,
    ) -> TemporaryCredentials:
        """Temporary credentials of an open session with at least ``min_ttl`` s left.

        Opens (or renews) the session first when needed, so the long-term key
        is never handed out. With a valid stored session this imports neither
        boto3 nor botocore.
        """
        return self._broker.credentials(name, min_ttl=min_ttl, duration=duration, mfa_code=mfa_code)

    def stored_credentials(self, name: str, *, min_ttl: float = 0) -> TemporaryCredentials | None:
        """The open session's credentials if more than ``min_ttl`` s are left; never opens one."""
        self.profile(name)
        return self._open.get(name, margin=min_ttl)

    # -- open, whoami, close ----------------------------------------------

    def open(
        self,
        name: str,
        *,
        duration: int | None = None,
        mfa_code: str | None = None,
        min_ttl: float | None = None,
    ) -> SessionInfo:
        """Get temporary credentials from STS, verify and store them.

        With ``min_ttl``, a session already open with more than that many
        seconds left is kept and returned instead.
        """
        return self._broker.open(name, duration=duration, mfa_code=mfa_code, min_ttl=min_ttl)

    def _profile_lock(self, name: str) -> AbstractContextManager[None]:
        """The cross-process lock of profile ``name`` (see :mod:`sessman.locks`)."""
        return profile_lock(self.state_dir, self.config.keyring_service, name)

    def whoami(self, name: str) -> Identity:
        """GetCallerIdentity with the profile's current credentials."""
        return self._broker.whoami(name)

    def close(self, name: str) -> bool:
        """End a session: close its clients, forget it and its stored credentials.

        Returns whether a session was open. Closing what is closed is fine.
        """
        self.profile(name)
        self._drop(name)
        return self._open.end(name)

    def open_names(self) -> list[str]:
        """Profiles of this file with a recorded session (open or expired)."""
        records = self.state.read()
        return [n for n in self.names() if n in records]

    def _drop(self, name: str) -> None:
        with self._lock:
            clients = self._boto.drop(name)
            creds = self._open.forget(name)
            self._broker.forget(name)
        if creds is not None:  # STS clients that signed with this session's credentials go too
            self._sts_pool.drop(creds)
        for c in clients:
            close_client(c)

    def release(self) -> None:
        """Free in-process resources (clients, caches); stored sessions stay open."""
        with self._lock:
            clients = self._boto.drop()
            self._open.clear()
            self._broker.forget()
        self._sts_pool.drop()
        for c in clients:
            close_client(c)

    # -- many accounts ----------------------------------------------------

    def map(
        self,
        fn: Callable[[str, boto3.Session], T],
        names: Iterable[str] | None = None,
        *,
        tag: str | None = None,
        max_workers: int = 16,
        progress: Callable[[Outcome[T]], None] | None = None,
    ) -> dict[str, Outcome[T]]:
        """Run ``fn(name, session)`` for many profiles in threads.

        Returns ``{name: Outcome}`` in the order of ``names``; one profile's
        failure is its own outcome and never stops the others. ``progress``
        is called with each outcome as it completes.
        """
        return map_profiles(
            self,
            self._broker.current,
            fn,
            names,
            tag=tag,
            max_workers=max_workers,
            progress=progress,
        )
