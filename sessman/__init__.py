"""sessman: AWS sessions from a profiles file, secrets in the OS keyring.

The public API, in one screen::

    from sessman import SessionManager
    with SessionManager.load("profiles.yaml") as mgr:
        mgr.client("dev", "s3").list_buckets()

Importing sessman does not import boto3; the first session built does.
"""

from __future__ import annotations

__version__ = "0.1.0"

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
