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


def _attribute(obj: Any, name: str, what: str) -> Any:
    if not hasattr(obj, name):
        raise AssertionError(f"{what} has no {name} any more: update tests/support/_botocore.py")
    return getattr(obj, name)


def core_of(session: Any) -> Any:
    """The botocore session a ``boto3.Session`` wraps (boto3's ``Session._session``)."""
    return _attribute(session, "_session", "boto3.Session")


def pool_count(client: Any) -> int:
    """Connection pools alive in a client's urllib3 PoolManager."""
    endpoint = _attribute(client, "_endpoint", "a botocore client")
    http = _attribute(endpoint, "http_session", "a botocore endpoint")
    manager = _attribute(http, "_manager", "botocore's URLLib3Session")
    return len(manager.pools)
