"""STS clients shared by many profiles, keyed by credentials and settings.

A hundred roles assumed from one source share one STS client (and its
connection pool); its pool is big enough for every thread of ``map``.
:func:`signed_client` is the one way a client signing with explicit
credentials is made (here, and for rotation and console sign-in).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._botocore import close_client, core_session
from .config import Profile
from .credentials import Credentials

if TYPE_CHECKING:
    from botocore.config import Config as BotocoreConfig

__all__ = ["SHARED_POOL", "StsPool", "signed_client"]

#: Connections of the STS clients shared by many profiles.
SHARED_POOL = 64

_Key = tuple[str, str, str | None, str]


def signed_client(
    core: Any, service: str, p: Profile, creds: Credentials, config: BotocoreConfig
) -> Any:
    """A ``service`` client of botocore session ``core``, signed with ``creds``.

    At ``p``'s region and endpoint, with ``config``: never the environment's
    credentials nor a profile's current session.
    """
    return core.create_client(
        service,
        region_name=p.region,
        endpoint_url=p.endpoint_url,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        aws_session_token=creds.session_token,
        config=config,
    )


class StsPool:
    """STS clients built on one isolated botocore session, with explicit credentials."""

    def __init__(self, config_of: Callable[[str], BotocoreConfig]) -> None:
        self._config_of = config_of
        self._lock = threading.Lock()
        self._session: Any = None
        self._clients: dict[_Key, tuple[Credentials, Any]] = {}

    def client(self, p: Profile, creds: Credentials) -> Any:
        """An STS client signing with ``creds``, at ``p``'s endpoint, with ``p``'s settings."""
        key = (
            creds.access_key_id,
            p.region,
            p.endpoint_url,
            repr((p.connect_timeout, p.read_timeout, p.retries, p.max_pool_connections)),
        )
        with self._lock:
            found = self._clients.get(key)
            if found is not None and found[0] == creds:
                return found[1]
            if self._session is None:
                self._session = core_session()
            client = signed_client(self._session, "sts", p, creds, self._shared_config(p))
            # A client of older credentials may still be in use: leave it to GC.
            self._clients[key] = (creds, client)
        return client

    def _shared_config(self, p: Profile) -> BotocoreConfig:
        from botocore.config import Config as BotocoreConfig

        pool = max(p.max_pool_connections, SHARED_POOL)
        return self._config_of(p.name).merge(BotocoreConfig(max_pool_connections=pool))

    def drop(self, creds: Credentials | None = None) -> None:
        """Close the clients that sign with ``creds`` (all of them when None)."""
        with self._lock:
            doomed = [k for k, (c, _) in self._clients.items() if creds is None or c == creds]
            clients = [self._clients.pop(k)[1] for k in doomed]
        for c in clients:
            close_client(c)
