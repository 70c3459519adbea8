"""The credential sources and the records' conversions, as values (no STS)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import get_args

from sessman.credentials import Identity, TemporaryCredentials
from sessman.model import Kind
from sessman.results import SessionInfo
from sessman.sources import SOURCES, Source
from sessman.state import SessionRecord

WHO = Identity("dev", "123456789012", "arn:aws:iam::123456789012:user/dev", "AIDAEXAMPLE")
UNTIL = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_every_kind_of_profile_has_one_source() -> None:
    assert set(SOURCES) == set(get_args(Kind))
    assert all(issubclass(cls, Source) for cls in SOURCES.values())
    assert len(set(SOURCES.values())) == len(SOURCES)


def test_a_session_info_is_made_of_an_identity_and_an_expiry() -> None:
    assert SessionInfo.of(WHO, UNTIL) == SessionInfo(
        "dev", "123456789012", "arn:aws:iam::123456789012:user/dev", "AIDAEXAMPLE", UNTIL
    )


def test_a_record_keeps_the_identity_it_was_made_of() -> None:
    creds = TemporaryCredentials("ASIAEXAMPLE", "secret", "token", UNTIL)
    record = SessionRecord.of(WHO, creds, "f" * 64)
    assert (record.profile, record.access_key_id, record.expires, record.binding) == (
        "dev",
        "ASIAEXAMPLE",
        UNTIL,
        "f" * 64,
    )
    assert record.identity() == WHO
    assert SessionRecord.from_json(record.to_json()) == record
    assert "secret" not in repr(record) and "token" not in repr(record)
    assert SessionInfo.of(record.identity(), record.expires) == SessionInfo.of(WHO, UNTIL)
