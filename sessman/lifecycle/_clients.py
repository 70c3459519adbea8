"""botocore clients signed with credentials the caller chooses.

Rotation signs with the old key, then the new one; console sign-in calls
GetFederationToken with the long-term key even while a session is open. The
manager's sessions always sign with the profile's current credentials, so
these clients are built here, with the profile's endpoint and Config.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sessman._botocore import core_session

if TYPE_CHECKING:
    from sessman.credentials import Credentials
    from sessman.manager import SessionManager

__all__ = ["client_with"]


def client_with(manager: SessionManager, name: str, service: str, creds: Credentials) -> Any:
    """A ``service`` client of profile ``name``'s endpoint and Config, signed with ``creds``."""
    p = manager.profile(name)
    return core_session().create_client(
        service,
        region_name=p.region,
        endpoint_url=p.endpoint_url,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        aws_session_token=creds.session_token,
        config=manager.botocore_config(name),
    )
