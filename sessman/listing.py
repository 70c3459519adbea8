"""What ``sessman list`` shows of each profile besides its settings: secret and session state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Literal

from .binding import fingerprint
from .config import Config, Profile
from .results import ProfileStatus
from .secretstore import SecretStore, session_user
from .state import SessionRecord

__all__ = ["statuses"]


def statuses(
    config: Config,
    profiles: Sequence[Profile],
    records: Mapping[str, SessionRecord],
    store: SecretStore,
) -> dict[str, ProfileStatus]:
    """Secret and session state of ``profiles``, asking the keyring once for all of them."""
    users = [p.name for p in profiles if p.kind == "keys"]
    users += [session_user(p.name) for p in profiles if p.name in records]
    present = store.present(users) if users else set()
    now = datetime.now(timezone.utc)
    out: dict[str, ProfileStatus] = {}
    for p in profiles:
        record = records.get(p.name)
        session: Literal["open", "expired", "stale", "closed"] = "closed"
        expires = None
        if record is not None and session_user(p.name) in present:
            expires = record.expires
            session = "open" if record.remaining(now) > 0 else "expired"
            if session == "open" and record.binding != fingerprint(config, p.name):
                session = "stale"  # opened for another definition: never used
        secret: Literal["stored", "missing"] | None = None
        if p.kind == "keys":
            secret = "stored" if p.name in present else "missing"
        out[p.name] = ProfileStatus(p.name, secret, session, expires)
    return out
