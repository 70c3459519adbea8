"""sessman.testing's MemoryKeyring and make_manager: keyring's contract suite, real managers under moto.

The backend passes keyring's own contract tests; managers are built,
validated, used under moto's ``mock_aws`` and removed without touching
the user's files.
"""

from __future__ import annotations

import gc
import tempfile
import threading
from pathlib import Path

import pytest
from keyring.testing.backend import BackendBasicTests
from moto import mock_aws
from support.fakes import FAKE_SECRET
from support.testing import KEYS

from sessman.errors import ConfigError, ProfileNotFound, SecretNotFound
from sessman.manager import SessionManager
from sessman.secretstore import KeyringStore
from sessman.testing import MemoryKeyring, make_manager

OTHER = "arn:aws:iam::111111111111:role/Reader"


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where tempfile puts things during the test (so we can see what is left)."""
    where = tmp_path / "tmp"
    where.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(where))
    return where


# -- MemoryKeyring -----------------------------------------------------------


class TestMemoryKeyringContract(BackendBasicTests):
    """keyring's own contract suite, unchanged."""

    def init_keyring(self) -> MemoryKeyring:
        return MemoryKeyring()


def test_memory_keyring_lists_users_and_keeps_their_case() -> None:
    backend = MemoryKeyring()
    backend.set_password("svc", "Prod", "a")
    backend.set_password("svc", "prod", "b")
    backend.set_password("svc", "prod:session", "c")
    backend.set_password("other", "x", "d")
    assert backend.usernames("svc") == {"Prod", "prod", "prod:session"}
    assert backend.usernames("none") == set()
    assert backend.get_password("svc", "Prod") == "a"
    assert backend.get_password("svc", "PROD") is None
    backend.delete_password("other", "x")
    assert backend.usernames("other") == set()
    # KeyringStore lists through usernames(): one call, the right answer.
    assert KeyringStore("svc", backend).present(["prod", "dev", "Prod"]) == {"prod", "Prod"}


def test_memory_keyring_is_never_chosen_by_keyring_and_hides_values() -> None:
    assert MemoryKeyring.priority == -1
    assert MemoryKeyring.viable
    backend = MemoryKeyring()
    backend.set_password("svc", "user", FAKE_SECRET)
    assert FAKE_SECRET not in repr(backend) + str(backend)
    assert repr(backend) == "<MemoryKeyring: 1 entries>"


def test_memory_keyring_is_thread_safe() -> None:
    backend = MemoryKeyring()
    barrier = threading.Barrier(8)

    def work(t: int) -> None:
        barrier.wait()
        for i in range(300):
            backend.set_password("svc", f"u{t}-{i}", str(i))
            assert backend.get_password("svc", f"u{t}-{i}") == str(i)
            backend.usernames("svc")
            if i % 2:
                backend.delete_password("svc", f"u{t}-{i}")

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(backend.usernames("svc")) == 8 * 150


# -- make_manager --------------------------------------------------------------


def test_make_manager_builds_a_validated_manager(untouched: None, private_tmp: Path) -> None:
    mgr = make_manager(
        {
            "b": {**KEYS, "tags": ("x",)},
            "a": {"source_profile": "b", "role_arn": OTHER, "region": "eu-west-1"},
        },
        {"b": FAKE_SECRET},
        defaults={"read_timeout": 7, "retries": {"mode": "adaptive", "max_attempts": 4}},
        keyring_service="svc-under-test",
    )
    assert isinstance(mgr, SessionManager)
    assert mgr.names() == ["b", "a"]
    assert mgr.names(tag="x") == ["b"]
    assert mgr.profile("a").kind == "role"
    assert mgr.profile("a").read_timeout == 7
    assert mgr.profile("b").retries.max_attempts == 4
    assert mgr.config.keyring_service == "svc-under-test"
    assert {n: s.secret for n, s in mgr.status().items()} == {"b": "stored", "a": None}
    assert isinstance(mgr.store, KeyringStore)
    assert isinstance(mgr.store.backend, MemoryKeyring)
    assert mgr.store.backend.get_password("svc-under-test", "b") == FAKE_SECRET
    assert mgr.state_dir.parent == private_tmp
    assert FAKE_SECRET not in repr(mgr) + repr(mgr.store) + repr(mgr.config)


def test_make_manager_can_share_a_keyring() -> None:
    backend = MemoryKeyring()
    first = make_manager({"a": KEYS}, {"a": "one"}, keyring=backend)
    second = make_manager({"a": KEYS, "b": KEYS}, {"b": "two"}, keyring=backend)
    assert backend.usernames("sessman") == {"a", "b"}
    assert second.status()["a"].secret == "stored"
    assert first.store.get("a") == "one"


@pytest.mark.parametrize(
    ("profiles", "defaults", "expected"),
    [
        ({"a": {**KEYS, "region": "mars"}}, None, "key 'region'"),
        ({"a": {**KEYS, "regoin": "us-east-1"}}, None, "did you mean 'region'"),
        ({"a": {**KEYS, "secret_access_key": FAKE_SECRET}}, None, "key 'secret_access_key'"),
        ({"a": {"role_arn": OTHER, "source_profile": "nope", "region": "us-east-1"}}, None, "nope"),
        ({"a": {"region": "us-east-1"}}, None, "profile 'a'"),
        ({"a b": KEYS}, None, "invalid profile name"),
        ({"a": KEYS}, {"read_timeout": -1}, "key 'read_timeout'"),
        ({}, None, "'profiles:' is empty"),
        ({"a": {**KEYS, "tags": [Path("x")]}}, None, "cannot be written"),
    ],
)
def test_make_manager_validates_like_a_file(
    profiles: dict[str, dict[str, object]],
    defaults: dict[str, object] | None,
    expected: str,
    private_tmp: Path,
) -> None:
    with pytest.raises(ConfigError) as caught:
        make_manager(profiles, {}, defaults=defaults)
    assert expected in f"{caught.value} {caught.value.hint}"
    assert str(caught.value).startswith("<make_manager>")
    assert FAKE_SECRET not in str(caught.value)
    assert list(private_tmp.iterdir()) == []  # nothing left behind


def test_make_manager_rejects_secrets_of_unknown_profiles() -> None:
    with pytest.raises(ProfileNotFound) as caught:
        make_manager({"prod": KEYS}, {"prdo": "x"})
    assert caught.value.hint == "did you mean 'prod'?"


def _multi_account_run(private_tmp: Path) -> Path:
    """Two accounts and a failing profile under moto; returns the manager's state dir.

    (The failing profile's log record keeps the manager alive until the test
    ends, so the removal of the state dir is checked by another test.)
    """
    with mock_aws():
        mgr = make_manager(
            {
                "hub": KEYS,
                "other": {"source_profile": "hub", "role_arn": OTHER, "region": "eu-west-1"},
                "orphan": KEYS,
            },
            {"hub": FAKE_SECRET},
        )
        mgr.client("hub", "s3").create_bucket(Bucket="hub-bucket")
        mgr.client("other", "s3").create_bucket(
            Bucket="other-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )

        def names(name: str, session: object) -> list[str]:
            response = mgr.client(name, "s3").list_buckets()
            return [b["Name"] for b in response["Buckets"]]

        outcomes = mgr.map(names)
        assert outcomes["hub"].value == ["hub-bucket"]
        assert outcomes["other"].value == ["other-bucket"]
        assert isinstance(outcomes["orphan"].error, SecretNotFound)
        assert mgr.whoami("other").account == "111111111111"

        info = mgr.open("hub")
        assert info.account == "123456789012"
        assert mgr.status(["hub"])["hub"].session == "open"
        assert mgr.state_dir.parent == private_tmp
        assert any(mgr.state_dir.iterdir())
        assert mgr.close("hub") is True
        mgr.release()
        return mgr.state_dir


def test_make_manager_under_moto_never_touches_the_users_files(
    untouched: None, private_tmp: Path
) -> None:
    _multi_account_run(private_tmp)


def test_make_manager_state_is_removed_with_the_manager(private_tmp: Path) -> None:
    def run() -> Path:
        with mock_aws():
            mgr = make_manager({"a": KEYS}, {"a": FAKE_SECRET})
            mgr.open("a")
            assert any(mgr.state_dir.iterdir())
            mgr.release()
            return mgr.state_dir

    state_dir = run()
    gc.collect()
    assert not state_dir.exists()
    assert list(private_tmp.iterdir()) == []


def test_make_manager_passes_the_mfa_prompt() -> None:
    asked: list[str] = []

    def prompt(device: str) -> str:
        asked.append(device)
        return "123456"

    device = "arn:aws:iam::123456789012:mfa/alice"
    with mock_aws():
        mgr = make_manager({"a": {**KEYS, "mfa_serial": device}}, {"a": "s"}, mfa_prompt=prompt)
        mgr.open("a")
    assert asked == [device]
