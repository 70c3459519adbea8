"""The private names of boto3 and botocore that tests read, in one room, failing loudly.

Tests observe (never change) two things no public API shows: the botocore
session under a ``boto3.Session`` (its components: the credential resolver,
the data loader) and the connection pools of a client. When a release
renames either, these fail with a message that says so, not with a test
that silently checks nothing.
"""

from __future__ import annotations

from typing import Any

__all__ = ["core_of", "pool_count"]


def _missing(what: str, name: str) -> AssertionError:
    return AssertionError(f"{what} has no {name} any more: update tests/support/_botocore.py")


def core_of(session: Any) -> Any:
    """The botocore session a ``boto3.Session`` wraps (boto3's ``Session._session``)."""
    if not hasattr(session, "_session"):
        raise _missing("boto3.Session", "_session")
    return session._session


def pool_count(client: Any) -> int:
    """Connection pools alive in a client's urllib3 PoolManager."""
    if not hasattr(client, "_endpoint"):
        raise _missing("a botocore client", "_endpoint")
    http = client._endpoint.http_session
    if not hasattr(http, "_manager"):
        raise _missing("botocore's URLLib3Session", "_manager")
    return len(http._manager.pools)
