"""A ``keys`` profile: a long-term access key pair, and the MFA session made from it."""

from __future__ import annotations

from sessman import credentials as cr
from sessman.credentials import Credentials, Keys, TemporaryCredentials, translating
from sessman.errors import SecretNotFound
from sessman.refresh import REFRESH_MARGIN

from .base import Source, session_token

__all__ = ["KeysSource"]


class KeysSource(Source):
    """The access key id from the profile, its secret from the store."""

    def base(self) -> Keys:
        """The long-term key pair (:class:`~sessman.errors.SecretNotFound` without a secret)."""
        p = self.profile
        assert p.access_key_id is not None
        secret = self.ctx.store.get(p.name)
        if not secret:
            raise SecretNotFound(
                f"no secret access key stored for profile {p.name!r}",
                hint=f"store one with: sessman secret set {p.name}",
            )
        return Keys(p.access_key_id, secret)

    def current(self, margin: float) -> Credentials:
        # An open keys session (maybe an MFA session) is used to its last minute,
        # then the long-term key.
        return self.base()

    def open(self, seconds: int, mfa_code: str | None) -> TemporaryCredentials:
        return session_token(self.ctx, self.profile, self.base(), seconds, mfa_code)

    def mfa_session(self, device: str, mfa_code: str | None) -> Credentials:
        """An MFA session of this key (GetSessionToken once per device), kept as its open session.

        Roles behind one device share it, so they share one code; another
        process that opened it meanwhile is seen under the profile's lock.
        """
        ctx, source = self.ctx, self.profile
        margin = min(float(REFRESH_MARGIN), source.session_duration / 2)
        with ctx.flight(f"mfa:{device}"), ctx.profile_lock(source.name):
            stored = ctx.stored(source.name, margin=margin, fresh=True)
            if stored is not None:
                return stored
            keys = self.base()
            code = ctx.mfa_code(device, mfa_code)
            with translating(source):
                creds = cr.get_session_token(
                    ctx.sts(source, keys),
                    duration=source.session_duration,
                    mfa_serial=device,
                    mfa_code=code,
                )
            with translating(source, after="GetSessionToken"):
                identity = cr.caller_identity(ctx.sts(source, creds), source.name)
            ctx.save(source, creds, identity)
            return creds
