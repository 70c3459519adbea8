"""What other programs are handed: environment variables and credential_process JSON.

Shared by ``exec``, ``env`` and ``credential-process``; pure functions of a
profile and its temporary credentials, so the lean credential-process path
can use them without the rest of the command line.
"""

from __future__ import annotations

import json
from datetime import timezone

from .config import Profile
from .credentials import TemporaryCredentials

__all__ = [
    "CREDENTIAL_PROCESS_MIN_TTL",
    "STRIPPED",
    "process_json",
    "process_min_ttl",
    "variables",
]

#: credential_process default: botocore runs the helper again on every
#: request once expiry is under 15 minutes away, so hand over 20 at least.
CREDENTIAL_PROCESS_MIN_TTL = 20 * 60

#: Variables of the parent that could make a child use other credentials.
STRIPPED = frozenset(
    {
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_ACCESS_KEY",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SECRET_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_CREDENTIAL_EXPIRATION",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ROLE_ARN",
        "AWS_ROLE_SESSION_NAME",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        # The child gets temporary credentials, never the key to the long-term ones.
        "SESSMAN_KEYRING_PASSPHRASE",
    }
)


def process_min_ttl(profile: Profile) -> float:
    """credential-process's default --min-ttl: 20 minutes, or half of a shorter session."""
    return min(CREDENTIAL_PROCESS_MIN_TTL, profile.session_duration / 2)


def _iso(creds: TemporaryCredentials) -> str:
    return creds.expires.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def variables(profile: Profile, creds: TemporaryCredentials) -> dict[str, str]:
    """The environment a program needs to act as ``profile``."""
    env = {
        "AWS_ACCESS_KEY_ID": creds.access_key_id,
        "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
        "AWS_SESSION_TOKEN": creds.session_token,
        "AWS_CREDENTIAL_EXPIRATION": _iso(creds),
        "AWS_REGION": profile.region,
        "AWS_DEFAULT_REGION": profile.region,
    }
    if profile.endpoint_url:
        env["AWS_ENDPOINT_URL"] = profile.endpoint_url
    env["SESSMAN_PROFILE"] = profile.name
    return env


def process_json(creds: TemporaryCredentials) -> str:
    """The ``credential_process`` document (``Version`` is the integer 1)."""
    return json.dumps(
        {
            "Version": 1,
            "AccessKeyId": creds.access_key_id,
            "SecretAccessKey": creds.secret_access_key,
            "SessionToken": creds.session_token,
            "Expiration": _iso(creds),
        }
    )
