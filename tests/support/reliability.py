"""What the reliability tests share: a profiles file, where sessman keeps its files, their bytes.

``opened`` is a fixture, registered under that name (the modules that use it
import ``opened_fixture``): a profile against moto_server with an open
session. ``snapshot`` and ``tree`` take the user's data byte for byte, to
prove that a failure changed nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.cli import cli, store_secret
from support.infra import MotoServer

ACCOUNT = "123456789012"


def profiles_file(path: Path, endpoint: str, *, service: str = "reliable", extra: str = "") -> Path:
    path.write_text(
        f"""\
version: 1
keyring_service: {service}
defaults:
  region: eu-west-1
  endpoint_url: {endpoint}
  connect_timeout: 1
  read_timeout: 1
  retries: {{mode: standard, max_attempts: 1}}
profiles:
  dev:
    access_key_id: AKIARELIABLEEXAMPLE1
  ops:
    source_profile: dev
    role_arn: arn:aws:iam::{ACCOUNT}:role/Reliable
  nosecret:
    access_key_id: AKIARELIABLEEXAMPLE2
{extra}"""
    )
    return path


def keyring_path() -> Path:
    return Path(os.environ["SESSMAN_KEYRING_FILE"])


def state_path(service: str = "reliable") -> Path:
    return Path(os.environ["SESSMAN_STATE_DIR"]) / f"sessions-{service}.json"


def snapshot(*paths: Path) -> dict[str, bytes | None]:
    """The bytes of each file (None when absent): to prove nothing changed."""
    return {str(p): p.read_bytes() if p.exists() else None for p in paths}


def tree(root: Path) -> set[str]:
    """Every path under ``root``, relative."""
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def listed(config: Path) -> dict[str, dict[str, Any]]:
    result = cli("list", "--json", "-c", str(config))
    assert result.exit_code == 0, result.stderr
    return {row["name"]: row for row in json.loads(result.stdout)}


@pytest.fixture(name="opened")
def opened_fixture(tmp_path: Path, moto_server: MotoServer) -> Iterator[Path]:
    """A profiles file whose ``dev`` has a stored secret and an open session."""
    config = profiles_file(tmp_path / "p.yaml", moto_server.url)
    store_secret(config)
    result = cli("open", "dev", "-c", str(config))
    assert result.exit_code == 0, result.stderr
    yield config
