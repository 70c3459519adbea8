"""Which profile definition an open session belongs to.

An open session is bound to everything that decided whose credentials it
holds and where they may be sent: the profile's kind, access key id,
role_arn, external_id, mfa_serial, aws_profile, sso fields and endpoint_url,
the same for every profile of its source chain, the profiles file's
``keyring_service`` and the file's absolute path. The fingerprint of those is stored in the session's
state record; when the profile changes (another role, another endpoint, or
another profiles file that shares the keyring service), the stored session
no longer matches and is ``stale``: never handed over, reopened when needed.
"""

from __future__ import annotations

import hashlib
import json

from .config import Config, Profile

__all__ = ["fingerprint"]

#: The fields of a profile that decide whose credentials and where they go.
BOUND_FIELDS = (
    "kind",
    "access_key_id",
    "role_arn",
    "external_id",
    "mfa_serial",
    "aws_profile",
    "endpoint_url",
    "sso_session",
    "sso_account_id",
    "sso_role_name",
    "source_profile",
)


def _identity(p: Profile) -> list[object]:
    return [getattr(p, f, None) for f in BOUND_FIELDS]


def fingerprint(config: Config, name: str) -> str:
    """The binding of profile ``name`` of ``config``: a hex SHA-256, not secret."""
    chain: list[list[object]] = []
    seen: set[str] = set()
    current: str | None = name
    while current is not None and current not in seen:  # cycles are refused at load
        seen.add(current)
        p = config.profile(current)
        chain.append(_identity(p))
        current = p.source_profile
    text = json.dumps(
        ["sessman-binding", 1, config.keyring_service, str(config.path), chain], sort_keys=True
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
