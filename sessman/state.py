"""Metadata of open sessions: which are open, as whom, until when. No secrets.

One JSON file per keyring service in the state directory, so two profiles
files never collide. Every change is a read-modify-write under a file lock
with an atomic replace, so concurrent sessman processes never corrupt it; a
damaged file reads as "nothing open" (reported once) and is rewritten whole
by the next change.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from . import trust

if TYPE_CHECKING:
    from .credentials import Identity, TemporaryCredentials

__all__ = ["SessionRecord", "StateFile"]

_FORMAT = "sessman-sessions"


@dataclass(frozen=True)
class SessionRecord:
    """What is known about an open session, none of it secret."""

    profile: str
    access_key_id: str
    account: str
    arn: str
    user_id: str
    expires: datetime
    #: Fingerprint of the profile definition the session was opened with
    #: (:mod:`sessman.binding`); "" in records written before it existed.
    binding: str = ""

    @classmethod
    def of(cls, identity: Identity, creds: TemporaryCredentials, binding: str) -> SessionRecord:
        """The record of a session of ``creds``, verified as ``identity``, bound to ``binding``."""
        return cls(
            profile=identity.name,
            access_key_id=creds.access_key_id,
            account=identity.account,
            arn=identity.arn,
            user_id=identity.user_id,
            expires=creds.expires,
            binding=binding,
        )

    def identity(self) -> Identity:
        """Who the session is, as GetCallerIdentity said when it was opened."""
        from .credentials import Identity

        return Identity(self.profile, self.account, self.arn, self.user_id)

    def remaining(self, now: datetime | None = None) -> float:
        """Seconds left before the credentials expire (negative once expired)."""
        now = now or datetime.now(timezone.utc)
        return (self.expires - now).total_seconds()

    def to_json(self) -> dict[str, str]:
        data = asdict(self)
        data["expires"] = self.expires.isoformat()
        return data

    @classmethod
    def from_json(cls, data: Any) -> SessionRecord | None:
        """Parse one entry; ``None`` when it is not a well-formed record."""
        try:
            fields = {k: data[k] for k in ("profile", "access_key_id", "account", "arn", "user_id")}
            if not all(isinstance(v, str) for v in fields.values()):
                return None
            expires = datetime.fromisoformat(data["expires"])
            binding = data.get("binding", "")
        except (KeyError, TypeError, ValueError, AttributeError):
            return None
        if not isinstance(binding, str):
            return None
        if expires.tzinfo is None:
            return None
        try:  # in UTC, as written; an offset past year 1 or 9999 cannot be shown
            expires = expires.astimezone(timezone.utc)
        except OverflowError:
            return None
        return cls(expires=expires, binding=binding, **fields)


class StateFile:
    """The open sessions of one keyring service, kept in ``directory``."""

    def __init__(
        self, directory: Path, service: str, *, warn: Callable[[str], None] | None = None
    ) -> None:
        self.path = directory / f"sessions-{quote(service, safe='')}.json"
        self._warn = warn
        self._warned = False

    def __repr__(self) -> str:
        return f"StateFile({str(self.path)!r})"

    def read(self) -> dict[str, SessionRecord]:
        """All recorded sessions by profile; a missing or damaged file reads as empty."""
        try:
            raw = trust.read_private(self.path)
        except OSError as exc:
            self._report(f"cannot read session state {self.path}: {exc.strerror}")
            return {}
        return {} if raw is None else self._parse(raw)

    def _parse(self, raw: bytes) -> dict[str, SessionRecord]:
        try:
            data = json.loads(raw)
            if data.get("format") != _FORMAT or not isinstance(data.get("sessions"), dict):
                raise ValueError
        except (ValueError, AttributeError, RecursionError):
            self._report(
                f"session state {self.path} is damaged; treating every session as closed"
                " (it is rewritten by the next open or close)"
            )
            return {}
        records: dict[str, SessionRecord] = {}
        for name, entry in data["sessions"].items():
            record = SessionRecord.from_json(entry)
            if record is not None and record.profile == name:
                records[name] = record
        return records

    def get(self, profile: str) -> SessionRecord | None:
        return self.read().get(profile)

    def put(self, record: SessionRecord) -> None:
        with self._editing() as sessions:
            sessions[record.profile] = record

    def remove(self, profile: str) -> bool:
        with self._editing() as sessions:
            return sessions.pop(profile, None) is not None

    @contextmanager
    def _editing(self) -> Iterator[dict[str, SessionRecord]]:
        lock_path = self.path.with_name(self.path.name + ".lock")
        with trust.locked(lock_path):
            sessions = self.read()
            yield sessions
            payload = {
                "format": _FORMAT,
                "version": 1,
                "sessions": {name: r.to_json() for name, r in sorted(sessions.items())},
            }
            trust.write_private(self.path, json.dumps(payload, indent=1).encode() + b"\n")

    def _report(self, message: str) -> None:
        if self._warn is not None and not self._warned:
            self._warned = True
            self._warn(message)
