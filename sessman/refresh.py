"""When credentials renew: windows sized to the session, and the minimum-TTL rule.

botocore's own windows (15 minutes advisory, 10 mandatory) would make a
900 s role be assumed again for every request; these scale with the session.
"""

from __future__ import annotations

from datetime import timedelta

from .config import Profile
from .errors import UsageError

__all__ = [
    "LAST_MINUTE",
    "MANDATORY_MARGIN",
    "RECHECK",
    "REFRESH_MARGIN",
    "check_min_ttl",
    "refresh_windows",
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
