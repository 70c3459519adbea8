"""An ``sso`` profile: GetRoleCredentials from the IAM Identity Center portal."""

from __future__ import annotations

from sessman.credentials import TemporaryCredentials
from sessman.refresh import REFRESH_MARGIN

from .base import Source, session_token

__all__ = ["SsoSource"]


class SsoSource(Source):
    """The role credentials of the profile's account and role (see :mod:`sessman.sso.portal`)."""

    def base(self) -> TemporaryCredentials:
        from sessman.sso.portal import role_credentials

        return role_credentials(self.ctx.config, self.profile, self.ctx.store)

    def current(self, margin: float) -> TemporaryCredentials:
        ctx, name = self.ctx, self.profile.name
        with ctx.flight(f"sso:{name}"):
            stored = ctx.stored(name, margin=REFRESH_MARGIN)
            if stored is None:
                stored = self.base()
                ctx.remember(name, stored)
            return stored

    def open(self, seconds: int, mfa_code: str | None) -> TemporaryCredentials:
        return session_token(self.ctx, self.profile, self.base(), seconds, mfa_code)
