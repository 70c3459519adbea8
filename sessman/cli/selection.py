"""Which profiles a command works on with ``--tag``, and the one error for a bad tag.

One rule for every command that takes ``--tag`` (list, open, close, check): a
tag no profile has is a usage error (exit 2), never an empty result.
"""

from __future__ import annotations

from typing import Protocol

from sessman.config import Profile
from sessman.errors import UsageError

__all__ = ["Profiles", "tagged"]


class Profiles(Protocol):
    """What a :class:`~sessman.config.Config` and a ``SessionManager`` both offer."""

    def names(self, tag: str | None = None) -> list[str]:
        """Profile names in file order, only those tagged ``tag`` when given."""
        ...

    def profile(self, name: str) -> Profile:
        """The profile called ``name``."""
        ...


def tagged(profiles: Profiles, tag: str) -> list[str]:
    """The profiles tagged ``tag``, in file order; a usage error when there are none."""
    found = profiles.names(tag)
    if found:
        return found
    known = sorted({t for n in profiles.names() for t in profiles.profile(n).tags})
    raise UsageError(
        f"no profile has the tag {tag!r}",
        hint=f"tags in the profiles file: {', '.join(known)}" if known else "no profile has tags",
    )
