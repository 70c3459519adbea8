"""One boto3 Session per profile, and the clients and resources made from it, cached.

A session asks sessman for its credentials through botocore's own extension
point (:func:`sessman._botocore.manager_credentials`): on first use and
whenever they near expiry, within windows sized to the profile's sessions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from ._botocore import LOCK, core_session, manager_credentials, profile_session, shared_loader
from .config import Profile
from .refresh import refresh_windows

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config as BotocoreConfig

__all__ = ["BotoSessions", "botocore_config"]

_Key = tuple[str, str, str, str | None, str]


def botocore_config(p: Profile) -> BotocoreConfig:
    """The ``botocore.config.Config`` made from the profile's settings."""
    from botocore.config import Config as BotocoreConfig

    from ._version import __version__

    return BotocoreConfig(
        region_name=p.region,
        connect_timeout=p.connect_timeout,
        read_timeout=p.read_timeout,
        retries={"mode": p.retries.mode, "total_max_attempts": p.retries.max_attempts},
        max_pool_connections=p.max_pool_connections,
        user_agent_extra=f"sessman/{__version__}",
    )


class BotoSessions:
    """The sessions and clients of one manager, built once each under its locks."""

    def __init__(
        self,
        profile: Callable[[str], Profile],
        metadata: Callable[[str], dict[str, str | None]],
        flight: Callable[[str], AbstractContextManager[Any]],
        lock: threading.RLock,
    ) -> None:
        self._profile = profile
        self._metadata = metadata
        self._flight = flight
        self._lock = lock
        self._sessions: dict[str, boto3.Session] = {}
        self._clients: dict[_Key, Any] = {}

    def session(self, name: str) -> boto3.Session:
        """The one ``boto3.Session`` of profile ``name``, built on first use."""
        with self._lock:
            existing = self._sessions.get(name)
            if existing is not None:
                return existing
        with self._flight(f"session:{name}"):
            with self._lock:
                existing = self._sessions.get(name)
            if existing is None:
                existing = self._build(self._profile(name))
                with self._lock:
                    self._sessions[name] = existing
            return existing

    def cached(self, name: str, service: str, region: str | None, kind: str) -> Any:
        """A client (or, with ``kind`` "resource", a resource) of ``service``, built once."""
        p = self._profile(name)
        key = (name, service, region or p.region, p.endpoint_url, kind)
        with self._lock:
            found = self._clients.get(key)
            if found is not None:
                return found
        session = self.session(name)
        # boto3 Sessions are not thread-safe: build a profile's clients one at a time.
        with self._flight(f"session:{name}"):
            with self._lock:
                found = self._clients.get(key)
            if found is None:
                factory = session.client if kind == "client" else session.resource
                found = factory(service, region_name=key[2], endpoint_url=p.endpoint_url)
                with self._lock:
                    self._clients[key] = found
            return found

    def _build(self, p: Profile) -> boto3.Session:
        from botocore.credentials import CredentialResolver

        core = core_session()
        loader = shared_loader()
        core.set_default_client_config(botocore_config(p))
        provider = manager_credentials(self._metadata, p.name, refresh_windows(p))
        core.register_component("credential_provider", CredentialResolver([provider]))
        with LOCK:
            before = len(loader.search_paths)
            session = profile_session(core, p.region, p.endpoint_url)
            # boto3 appends its data path to the loader on every Session.
            del loader.search_paths[before:]
        return session

    def drop(self, name: str | None = None) -> list[Any]:
        """Forget ``name``'s session and clients (everyone's when None); return the clients to close."""
        with self._lock:
            if name is None:
                clients = list(self._clients.values())
                self._clients.clear()
                self._sessions.clear()
                return clients
            self._sessions.pop(name, None)
            doomed = [k for k in self._clients if k[0] == name]
            return [self._clients.pop(k) for k in doomed]
