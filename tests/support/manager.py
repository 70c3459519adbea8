"""What the SessionManager tests share: managers built from profiles files, and what they stored.

``make`` is a fixture, registered under that name (the modules that use it
import ``make_fixture``): it builds managers from a profiles file and
releases them after the test. The other helpers read what a manager left in
the keyring, observe its connection pools, or build a keys profile with roles.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from sessman.filekeyring import EncryptedFileKeyring
from sessman.manager import SessionManager
from support.fakes import FAKE_SECRET
from support.infra import MotoServer

ACCOUNT = "123456789012"
MOTO_USER_ARN = f"arn:aws:sts::{ACCOUNT}:user/moto"
REAL_LOOKING_SECRET = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd"
Factory = Callable[..., SessionManager]


def write_profiles(
    path: Path, profiles: dict[str, dict[str, Any]], defaults: dict[str, Any] | None = None
) -> Path:
    document = {"version": 1, "defaults": {"region": "us-east-1", **(defaults or {})}}
    document["profiles"] = profiles
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@pytest.fixture(name="make")
def make_fixture(tmp_path: Path) -> Iterator[Factory]:
    """Build managers from a profiles file written to tmp_path; release them after."""
    made: list[SessionManager] = []

    def factory(
        profiles: dict[str, dict[str, Any]], defaults: dict[str, Any] | None = None
    ) -> SessionManager:
        path = write_profiles(tmp_path / f"profiles-{len(made)}.yaml", profiles, defaults)
        manager = SessionManager.load(path)
        made.append(manager)
        return manager

    yield factory
    for manager in made:
        manager.release()


def again(manager: SessionManager) -> SessionManager:
    """A second manager on the same file: what another process would see."""
    return SessionManager.load(manager.config.path)


def stored_session(manager: SessionManager, name: str) -> str | None:
    """The keyring entry of an open session, read straight from the keyring file."""
    return EncryptedFileKeyring().get_password(manager.config.keyring_service, f"{name}:session")


def stored_token(manager: SessionManager, name: str) -> str:
    """The SessionToken of a profile's open session, from the keyring."""
    text = stored_session(manager, name)
    assert text is not None, f"no open session for {name}"
    return str(json.loads(text)["SessionToken"])


FAST_FAIL = {"read_timeout": 1, "connect_timeout": 1, "retries": {"max_attempts": 1}}


def keys_and_role(make: Factory, server: MotoServer, role: str) -> SessionManager:
    manager = make(
        {
            "dev": {"access_key_id": "AKIAEXAMPLEOPEN00001"},
            "admin": {
                "source_profile": "dev",
                "role_arn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
                "role_session_name": "alice",
            },
            "plain-role": {
                "source_profile": "dev",
                "role_arn": f"arn:aws:iam::{ACCOUNT}:role/{role}Plain",
                "session_duration": 900,
            },
        },
        {"endpoint_url": server.url},
    )
    manager.store.put("dev", FAKE_SECRET)
    return manager


def assert_expires_in(expires: datetime, seconds: int) -> None:
    assert expires.tzinfo is not None
    expected = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    assert abs((expires - expected).total_seconds()) < 60, (expires, expected)
