"""pytest fixtures for code that uses sessman (plugin ``sessman``, loaded automatically).

``sessman_keyring`` and ``sessman_manager`` are documented in
:mod:`sessman.testing`. This module is imported by every pytest run of
everyone who installs sessman, so it imports nothing heavy: the helpers are
imported when a test asks for a fixture.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .testing import ManagerFactory, MemoryKeyring

__all__ = ["sessman_keyring", "sessman_manager"]


@pytest.fixture
def sessman_keyring() -> Iterator[MemoryKeyring]:
    """A fresh in-memory keyring installed as keyring's backend for this test.

    ``SessionManager.load()`` and ``keyring.get_password`` see it; sessman's
    state goes to a temporary directory. The previous backend and
    environment come back after the test.
    """
    from .testing import isolated_keyring

    with isolated_keyring() as backend:
        yield backend


@pytest.fixture
def sessman_manager(sessman_keyring: MemoryKeyring) -> Iterator[ManagerFactory]:
    """``make_manager`` for this test: secrets in ``sessman_keyring``, released after."""
    from .testing import _managed

    with _managed(sessman_keyring, Path(os.environ["SESSMAN_STATE_DIR"])) as factory:
        yield factory
