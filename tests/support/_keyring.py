"""The private name of keyring that tests read and reset, in one room, failing loudly.

``keyring.core._keyring_backend`` is the backend keyring chose for the
process (``None`` until it chooses); the tests check that sessman's harness
never makes that choice behind a user's back.
"""

from __future__ import annotations

from typing import Any

import keyring.core
import pytest

__all__ = ["chosen_backend", "forget_chosen_backend"]

_NAME = "_keyring_backend"


def _check() -> None:
    if not hasattr(keyring.core, _NAME):
        raise AssertionError(
            f"keyring.core has no {_NAME} any more: update tests/support/_keyring.py"
        )


def chosen_backend() -> Any:
    """The backend keyring has chosen for this process, or ``None``."""
    _check()
    return keyring.core._keyring_backend


def forget_chosen_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make keyring forget its choice until the test ends."""
    _check()
    monkeypatch.setattr(keyring.core, _NAME, None)
