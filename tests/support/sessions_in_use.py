"""What the sessions-in-real-use tests share: profiles files against a server, and Ctrl-C.

``write_config`` writes a profiles file whose defaults point at an endpoint;
``interrupt`` starts sessman in a subprocess and sends it SIGINT.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import yaml

from support.cli import running

ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/Short"


def write_config(
    path: Path, url: str, profiles: dict[str, dict[str, Any]], **defaults: Any
) -> Path:
    document = {
        "version": 1,
        "defaults": {"region": "us-east-1", "endpoint_url": url, **defaults},
        "profiles": profiles,
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def interrupt(argv: list[str], wait: float = 2.0) -> tuple[int, str, float]:
    """Start ``sessman ARGV``, send SIGINT after ``wait`` s; (exit code, stderr, seconds to exit)."""
    with running(argv) as proc:
        time.sleep(wait)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        _out, err = proc.communicate(timeout=20)
        took = time.monotonic() - sent
    return proc.returncode, err, took
