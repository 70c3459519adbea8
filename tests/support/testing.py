"""What the tests of sessman.testing share: the profile keys and a guard that nothing is written.

``untouched`` is a fixture, shared through conftest.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

KEYS = {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "region": "us-east-1"}


@pytest.fixture
def untouched(clean_env: Path, tmp_path: Path) -> Iterator[None]:
    """Fail the test if anything appears in HOME, the state dir or the keyring file."""
    state = Path(os.environ["SESSMAN_STATE_DIR"])
    keyfile = Path(os.environ["SESSMAN_KEYRING_FILE"])
    before = sorted(clean_env.rglob("*"))
    yield
    assert sorted(clean_env.rglob("*")) == before
    assert not state.exists()
    assert not keyfile.exists()
