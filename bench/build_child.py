"""Child process of benchmarks 3 and 5: build sessions (and sts clients), report JSON.

Run by file path, one process per measurement, so that peak memory
(``ru_maxrss``) belongs to one side only::

    python bench/build_child.py boto3 COUNT ENDPOINT_URL
    python bench/build_child.py sessman PROFILES_FILE [--sessions-only]

Prints one JSON line: ``import_s`` (the library imports, boto3 included on
both sides), ``build_s`` (loading the profiles and building every session and
client), ``rss_mb`` (peak resident set of this process), then
leaves with ``os._exit`` so that freeing gigabytes of objects (seconds with
plain boto3) is not counted: the measure is creating them.
"""

from __future__ import annotations

import time

_START = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes vs KiB


def plain_boto3(count: int, endpoint_url: str) -> tuple[float, list[Any]]:
    """What a careful boto3 user writes: explicit keys, the same Config as sessman's."""
    import boto3
    from botocore.config import Config

    imported = time.perf_counter()
    keep = []
    for i in range(count):
        session = boto3.Session(
            aws_access_key_id=f"AKIA{i:016d}",
            aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYBENCHKEY00",
            region_name="us-east-1",
        )
        config = Config(
            region_name="us-east-1",
            connect_timeout=10,
            read_timeout=60,
            retries={"mode": "standard", "total_max_attempts": 3},
            max_pool_connections=10,
        )
        keep.append((session, session.client("sts", endpoint_url=endpoint_url, config=config)))
    return imported, keep


def with_sessman(path: str, sessions_only: bool) -> tuple[float, list[Any]]:
    # sessman imports these on the first session; import them before the
    # clock so that ``build_s`` is building alone, as with plain boto3.
    import boto3  # noqa: F401
    import botocore.session  # noqa: F401

    from sessman.manager import SessionManager

    imported = time.perf_counter()
    manager = SessionManager.load(path)
    keep: list[Any] = []
    for name in manager.names():
        if sessions_only:
            keep.append(manager.session(name))
        else:
            keep.append((manager.session(name), manager.client(name, "sts")))
    return imported, keep


def main(argv: list[str]) -> None:
    if argv[0] == "boto3":
        imported, keep = plain_boto3(int(argv[1]), argv[2])
    elif argv[0] == "sessman":
        imported, keep = with_sessman(argv[1], "--sessions-only" in argv)
    else:
        raise SystemExit(f"unknown mode {argv[0]!r}")
    done = time.perf_counter()
    result = {
        "n": len(keep),
        "import_s": imported - _START,
        "build_s": done - imported,
        "rss_mb": peak_rss_mb(),
    }
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
