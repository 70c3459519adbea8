"""What every credential source shares: the context it works in, and GetSessionToken.

A source is one kind of profile (keys, role, sso, aws-profile) seen as
"where do this profile's credentials come from". It keeps nothing of its
own: open sessions, locks, STS clients and the MFA prompt come from its
:class:`Context` (the :class:`~sessman.sources.broker.Broker`), so two
sources of one profile are the same source.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from sessman import credentials as cr
from sessman.config import Config, Profile
from sessman.credentials import Credentials, Identity, TemporaryCredentials, translating

if TYPE_CHECKING:
    from botocore.client import BaseClient

    from sessman.secretstore import SecretStore
    from sessman.state import StateFile

__all__ = ["Context", "Source", "session_token"]


class Context(Protocol):
    """What a source may use: the stores, the locks, STS clients, the prompt and the chain."""

    config: Config
    #: botocore's (refreshable) credentials of ``aws-profile`` profiles, per profile.
    aws_profiles: dict[str, Any]

    @property
    def store(self) -> SecretStore: ...

    @property
    def state(self) -> StateFile: ...

    def profile(self, name: str) -> Profile: ...

    def stored(
        self, name: str, *, margin: float, fresh: bool = False
    ) -> TemporaryCredentials | None: ...

    def remember(self, name: str, creds: TemporaryCredentials) -> None: ...

    def save(self, p: Profile, creds: TemporaryCredentials, identity: Identity) -> None: ...

    def flight(self, key: str) -> AbstractContextManager[Any]: ...

    def profile_lock(self, name: str) -> AbstractContextManager[None]: ...

    def sts(self, p: Profile, creds: Credentials) -> BaseClient: ...

    def mfa_code(self, device: str, given: str | None) -> str: ...

    def current(self, name: str) -> Credentials: ...

    def renew(self, name: str, min_ttl: float) -> None: ...


class Source:
    """Where one profile's credentials come from; one subclass per kind."""

    #: The STS call whose credentials a new session holds (named when verifying them fails).
    STEP: ClassVar[str] = "GetSessionToken"

    def __init__(self, profile: Profile, ctx: Context) -> None:
        self.profile = profile
        self.ctx = ctx

    def current(self, margin: float) -> Credentials:
        """What a session signs with when no open session has ``margin`` s left."""
        raise NotImplementedError

    def open(self, seconds: int, mfa_code: str | None) -> TemporaryCredentials:
        """New temporary credentials for a session of ``seconds`` (neither verified nor stored)."""
        raise NotImplementedError


def session_token(
    ctx: Context, p: Profile, base: Credentials, seconds: int, mfa_code: str | None
) -> TemporaryCredentials:
    """A session of ``seconds`` made from ``base``, the credentials of profile ``p``.

    Credentials that are already temporary (SSO, a credential_process) are
    used as they are, for at most ``seconds``; long-term ones go through
    GetSessionToken, with the profile's MFA device if it has one.
    """
    if base.session_token is not None:  # already temporary (SSO, credential_process)
        expires = datetime.now(timezone.utc) + timedelta(seconds=seconds)
        if base.expires is not None:  # they cannot outlive their own expiry
            expires = min(expires, base.expires)
        return TemporaryCredentials(
            base.access_key_id, base.secret_access_key, base.session_token, expires
        )
    code = ctx.mfa_code(p.mfa_serial, mfa_code) if p.mfa_serial else None
    with translating(p):
        return cr.get_session_token(
            ctx.sts(p, base), duration=seconds, mfa_serial=p.mfa_serial, mfa_code=code
        )
