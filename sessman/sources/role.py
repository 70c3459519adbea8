"""A ``role`` profile: AssumeRole with its source profile's credentials, MFA where asked."""

from __future__ import annotations

from sessman import credentials as cr
from sessman.credentials import Credentials, TemporaryCredentials, translating

from .base import Source
from .keys import KeysSource

__all__ = ["RoleSource"]


class RoleSource(Source):
    """A role assumed from ``source_profile``; an open session of it is renewed for every process."""

    STEP = "AssumeRole"

    def current(self, margin: float) -> TemporaryCredentials:
        # A role is re-assumed when half of it (at most 15 minutes) is left.
        ctx, name = self.ctx, self.profile.name
        with ctx.flight(f"role:{name}"):
            stored = ctx.stored(name, margin=margin)
            if stored is None and ctx.state.get(name) is not None:
                # An open session is renewed for every process: stored, locked.
                ctx.renew(name, margin)
                stored = ctx.stored(name, margin=0)
            if stored is None:
                stored = self.assume(mfa_code=None, duration=self.profile.session_duration)
                ctx.remember(name, stored)
            return stored

    def open(self, seconds: int, mfa_code: str | None) -> TemporaryCredentials:
        return self.assume(mfa_code=mfa_code, duration=seconds)

    def source_credentials(self, mfa_code: str | None) -> Credentials:
        """Credentials that may assume the role: the source's, with MFA where asked.

        With an MFA device (the role's or its source's) and a keys source, this
        is an MFA session of the source (see :meth:`KeysSource.mfa_session`),
        so roles behind one device share a code.
        """
        role = self.profile
        assert role.source_profile is not None
        source = self.ctx.profile(role.source_profile)
        device = role.mfa_serial or source.mfa_serial
        if device is None or source.kind != "keys":
            return self.ctx.current(source.name)
        return KeysSource(source, self.ctx).mfa_session(device, mfa_code)

    def assume(self, *, mfa_code: str | None, duration: int) -> TemporaryCredentials:
        """AssumeRole for ``duration`` s; the code goes to AssumeRole when no MFA session took it."""
        p = self.profile
        source_creds = self.source_credentials(mfa_code)
        source = self.ctx.profile(p.source_profile or "")
        direct_mfa = None
        if p.mfa_serial is not None and source.kind != "keys":
            direct_mfa = self.ctx.mfa_code(p.mfa_serial, mfa_code)
        with translating(p):
            return cr.assume_role(
                self.ctx.sts(p, source_creds), p, duration=duration, mfa_code=direct_mfa
            )
