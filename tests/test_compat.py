"""The private names of botocore and keyring that sessman reads, checked on this release.

Each accessor in ``sessman/_botocore.py`` and ``sessman/_keyring.py`` must work
on the locked versions and fail loudly (not answer wrongly) when a release
renames what it reads; ``make check-latest`` runs these on the newest releases.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from botocore.credentials import Credentials, RefreshableCredentials

from sessman._botocore import expiry_of
from sessman._keyring import (
    KeyringChanged,
    chosen_backend,
    forget_chosen_backend,
    secret_service_query,
)


def test_expiry_of_refreshable_credentials_is_their_expiry() -> None:
    when = datetime.now(timezone.utc) + timedelta(hours=1)
    creds = RefreshableCredentials.create_from_metadata(
        {
            "access_key": "ASIAEXAMPLEEXPIRY001",
            "secret_key": "not-a-real-secret",
            "token": "token",
            "expiry_time": when.isoformat(),
        },
        refresh_using=lambda: {},
        method="test",
    )
    assert expiry_of(creds) == when


def test_static_credentials_have_no_expiry() -> None:
    assert expiry_of(Credentials("AKIAEXAMPLESTATIC001", "not-a-real-secret")) is None


def test_a_renamed_expiry_field_fails_loudly() -> None:
    # What a release that renames the field looks like: an instance without it.
    renamed = RefreshableCredentials.__new__(RefreshableCredentials)
    with pytest.raises(RuntimeError, match="_expiry_time"):
        expiry_of(renamed)


def test_the_secret_service_query_follows_the_backends_scheme() -> None:
    from keyring.backends.SecretService import Keyring

    backend = Keyring()
    query, username = secret_service_query(backend, "svc")
    assert username == "username" and query == {"service": "svc"}
    backend.scheme = "KeePassXC"  # keyring's other scheme: other attribute names
    query, username = secret_service_query(backend, "svc")
    assert username == "UserName" and query == {"Title": "svc"}


def test_a_changed_secret_service_backend_fails_loudly() -> None:
    with pytest.raises(KeyringChanged, match="_query"):
        secret_service_query(SimpleNamespace(schemes={}, scheme="default"), "svc")


def test_keyrings_chosen_backend_can_be_read_and_forgotten() -> None:
    import keyring
    from keyring.backends import null

    before = chosen_backend()
    try:
        keyring.set_keyring(null.Keyring())
        assert isinstance(chosen_backend(), null.Keyring)
        forget_chosen_backend()
        assert chosen_backend() is None
    finally:
        if before is not None:
            keyring.set_keyring(before)
        else:
            forget_chosen_backend()
