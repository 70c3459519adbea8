"""What the manager hands back: frozen values that never hold a secret."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Generic, Literal, TypeVar

if TYPE_CHECKING:
    from .credentials import Identity

__all__ = ["Outcome", "ProfileStatus", "SessionInfo"]

T = TypeVar("T")


@dataclass(frozen=True)
class SessionInfo:
    """An open session: whose it is and until when (no secrets)."""

    name: str
    account: str
    arn: str
    user_id: str
    expires: datetime

    @classmethod
    def of(cls, identity: Identity, expires: datetime) -> SessionInfo:
        """The session of ``identity`` (GetCallerIdentity's answer or a stored record's) until ``expires``."""
        return cls(identity.name, identity.account, identity.arn, identity.user_id, expires)


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """The result of one profile's work in :meth:`SessionManager.map`."""

    name: str
    ok: bool
    value: T | None = None
    error: BaseException | None = None


@dataclass(frozen=True)
class ProfileStatus:
    """What ``sessman list`` shows about a profile besides its settings."""

    name: str
    secret: Literal["stored", "missing"] | None
    session: Literal["open", "expired", "stale", "closed"]
    expires: datetime | None
