"""An ``aws-profile`` profile: botocore's own resolution of an AWS CLI profile.

The only kind whose resolution may read ``~/.aws/config`` and the
environment; a ``credential_process`` that runs sessman for the same
profile again is refused as a loop (:mod:`sessman.loops`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sessman._botocore import core_session, expiry_of
from sessman.config import Config, Profile
from sessman.credentials import Credentials, Keys, TemporaryCredentials, translating
from sessman.loops import resolving

from .base import Source, session_token

__all__ = ["AwsProfileSource", "credentials_of"]


class AwsProfileSource(Source):
    """What botocore resolves for ``aws_profile``, kept refreshable per profile."""

    def base(self) -> Credentials:
        with self.ctx.flight(f"aws-profile:{self.profile.name}"):
            return credentials_of(self.ctx.config, self.profile, self.ctx.aws_profiles)

    def current(self, margin: float) -> Credentials:
        return self.base()

    def open(self, seconds: int, mfa_code: str | None) -> TemporaryCredentials:
        return session_token(self.ctx, self.profile, self.base(), seconds, mfa_code)


def credentials_of(config: Config, p: Profile, found_before: dict[str, Any]) -> Credentials:
    """``p``'s current credentials; ``found_before`` keeps botocore's (refreshable) ones per profile."""
    assert p.aws_profile is not None
    with resolving(str(config.path), p.name, p.aws_profile), translating(p):
        found = found_before.get(p.name)
        if found is None:
            found = core_session(p.aws_profile).get_credentials()
            if found is None:
                import botocore.exceptions

                raise botocore.exceptions.NoCredentialsError()
            found_before[p.name] = found
        frozen = found.get_frozen_credentials()
        expiry = expiry_of(found)
    if frozen.token and isinstance(expiry, datetime):
        return TemporaryCredentials(
            frozen.access_key, frozen.secret_key, frozen.token, expiry.astimezone(timezone.utc)
        )
    return Keys(frozen.access_key, frozen.secret_key, frozen.token)
