"""Can this machine reach an endpoint? One TCP connect each, for ``sessman doctor``.

A connect proves the host resolves and something listens, without sending a
request or a credential; ``whoami`` and ``check`` test the rest.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

__all__ = ["PROBE_TIMEOUT", "default_endpoint", "probe"]

#: Seconds to wait for each connection.
PROBE_TIMEOUT = 2.0


def default_endpoint(region: str) -> str:
    """Where sessman's STS calls go for a profile without ``endpoint_url``."""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://sts.{region}.{suffix}"


def _connect(url: str, timeout: float) -> str | None:
    """``None`` when a TCP connection to ``url``'s host and port opens, else why not."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "not a valid URL"
    if not host:
        return "not a valid URL"
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except socket.gaierror:
        return f"cannot resolve {host}"
    except TimeoutError:
        return f"no answer from {host}:{port} within {timeout:g} s"
    except OSError as exc:
        return f"cannot connect to {host}:{port}: {exc.strerror or type(exc).__name__}"


def probe(urls: Iterable[str], timeout: float = PROBE_TIMEOUT) -> dict[str, str | None]:
    """Each distinct URL's problem (``None`` if reachable), tried at the same time."""
    distinct = list(dict.fromkeys(urls))
    if not distinct:
        return {}
    with ThreadPoolExecutor(max_workers=min(16, len(distinct))) as pool:
        results = pool.map(lambda u: _connect(u, timeout), distinct)
        return dict(zip(distinct, results, strict=True))
