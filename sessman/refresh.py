"""When credentials renew: windows sized to the session, and the minimum-TTL rule.

botocore's own windows (15 minutes advisory, 10 mandatory) would make a
900 s role be assumed again for every request; these scale with the session.
What is handed to an SDK (credential_process, the credential server) is
renewed earlier still: :func:`renew_ahead`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from .errors import UsageError

if TYPE_CHECKING:  # annotations only: exports reads this on credential-process's path
    from .config import Profile

__all__ = [
    "LAST_MINUTE",
    "MANDATORY_MARGIN",
    "RECHECK",
    "REFRESH_MARGIN",
    "RENEW_AHEAD",
    "check_min_ttl",
    "refresh_windows",
    "renew_ahead",
]

#: A role is renewed when this much of it is left, or half of a shorter
#: session (see refresh_windows): botocore's own 15 minutes would make a
#: 900 s role be assumed again for every request.
REFRESH_MARGIN = 15 * 60
#: botocore blocks every request for new credentials this close to expiry
#: (or a quarter of a shorter session).
MANDATORY_MARGIN = 10 * 60
#: An open keys session is signed with until this many seconds before expiry.
LAST_MINUTE = 60
#: How often botocore asks again for credentials that do not expire, so a
#: session picks up a session opened later by another process.
RECHECK = timedelta(minutes=16)


#: Credentials handed to an SDK are renewed with this much left: more than
#: botocore's 15-minute advisory window, so the SDK does not ask again at once.
RENEW_AHEAD = 20 * 60


def renew_ahead(seconds: float) -> float:
    """Seconds left at which credentials of a ``seconds``-long session are renewed.

    :data:`RENEW_AHEAD`, or half of a shorter session (a 900 s session is
    renewed after 450 s, not on every request). ``credential-process``'s
    default ``--min-ttl`` and the credential server's renewal both use it.
    """
    return min(float(RENEW_AHEAD), seconds / 2)


def refresh_windows(p: Profile) -> tuple[float, float]:
    """(advisory, mandatory) seconds before expiry at which ``p``'s credentials renew.

    Sized to the session so that a renewal always yields credentials outside
    both windows: a role of 900 s renews once per 450 s, never per request.
    An open keys session is signed with until its last minute.
    """
    if p.kind == "keys":
        return float(LAST_MINUTE), LAST_MINUTE / 2
    seconds = p.session_duration
    return min(float(REFRESH_MARGIN), seconds / 2), min(float(MANDATORY_MARGIN), seconds / 4)


def check_min_ttl(min_ttl: float, seconds: int) -> None:
    """Refuse a ``min_ttl`` that no session of ``seconds`` can meet (a usage error)."""
    if min_ttl >= seconds:
        raise UsageError(
            f"a minimum of {min_ttl:g} s left cannot be met by sessions of {seconds} s",
            hint="lower --min-ttl, or raise session_duration in the profile",
        )
