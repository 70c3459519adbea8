"""botocore clients signed with credentials the caller chooses.

Rotation signs with the old key, then the new one; console sign-in calls
GetFederationToken with the long-term key even while a session is open. The
manager's sessions always sign with the profile's current credentials, so
these clients are built here, with the profile's endpoint and Config.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sessman._botocore import core_session
from sessman.stspool import signed_client

if TYPE_CHECKING:
    from sessman.credentials import Credentials
    from sessman.manager import SessionManager

__all__ = ["client_with"]


def client_with(manager: SessionManager, name: str, service: str, creds: Credentials) -> Any:
    """A ``service`` client of profile ``name``'s endpoint and Config, signed with ``creds``."""
    config = manager.botocore_config(name)
    return signed_client(core_session(), service, manager.profile(name), creds, config)
