"""sessman: AWS sessions from a profiles file, secrets in the OS keyring.

The public API, in one screen::

    from sessman import SessionManager
    with SessionManager.load("profiles.yaml") as mgr:
        mgr.client("dev", "s3").list_buckets()

Names are imported on first use (PEP 562), so ``import sessman`` and the
pytest plugin cost almost nothing; boto3 is imported by the first session
built, never before.
"""

from __future__ import annotations

import importlib

from ._version import __version__

TYPE_CHECKING = False  # importing typing costs the credential-process fast path
if TYPE_CHECKING:
    from typing import Any

    from .config import Config, Profile, Retries, load_config
    from .credentials import Identity
    from .errors import (
        AuthenticationFailed,
        ConfigError,
        EndpointUnreachable,
        KeyringUnavailable,
        ProfileNotFound,
        SecretNotFound,
        SessmanError,
        UsageError,
    )
    from .manager import Outcome, ProfileStatus, SessionInfo, SessionManager

_WHERE = {
    "AuthenticationFailed": "errors",
    "Config": "config",
    "ConfigError": "errors",
    "EndpointUnreachable": "errors",
    "Identity": "credentials",
    "KeyringUnavailable": "errors",
    "Outcome": "manager",
    "Profile": "config",
    "ProfileNotFound": "errors",
    "ProfileStatus": "manager",
    "Retries": "config",
    "SecretNotFound": "errors",
    "SessionInfo": "manager",
    "SessionManager": "manager",
    "SessmanError": "errors",
    "UsageError": "errors",
    "load_config": "config",
}

__all__ = [
    "AuthenticationFailed",
    "Config",
    "ConfigError",
    "EndpointUnreachable",
    "Identity",
    "KeyringUnavailable",
    "Outcome",
    "Profile",
    "ProfileNotFound",
    "ProfileStatus",
    "Retries",
    "SecretNotFound",
    "SessionInfo",
    "SessionManager",
    "SessmanError",
    "UsageError",
    "__version__",
    "load_config",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'sessman' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
