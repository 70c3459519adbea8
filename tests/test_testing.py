"""sessman.testing and the pytest plugin: the keyring contract, isolation, moto, a user's run.

The helpers are tested the way users use them: keyring's own contract suite
for the backend, real managers under moto's ``mock_aws``, and a user's test
file run by pytest in a subprocess with no configuration at all.
"""

from __future__ import annotations

import gc
import inspect
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import keyring.core
import pytest
from keyring.backends import null
from keyring.testing.backend import BackendBasicTests
from moto import mock_aws

import sessman.testing
from sessman.errors import ConfigError, ProfileNotFound, SecretNotFound
from sessman.manager import SessionManager
from sessman.secretstore import KeyringStore
from sessman.testing import ManagerFactory, MemoryKeyring, isolated_keyring, make_manager

pytest_plugins = ["pytester"]

FAKE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSESSMANFAKE"
KEYS = {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "region": "us-east-1"}
OTHER = "arn:aws:iam::111111111111:role/Reader"


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where tempfile puts things during the test (so we can see what is left)."""
    where = tmp_path / "tmp"
    where.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(where))
    return where


@pytest.fixture
def untouched(clean_env: Path, tmp_path: Path) -> Iterator[None]:
    """Fail the test if anything appears in HOME, the state dir or the keyring file."""
    state = Path(os.environ["SESSMAN_STATE_DIR"])
    keyfile = Path(os.environ["SESSMAN_KEYRING_FILE"])
    before = sorted(clean_env.rglob("*"))
    yield
    assert sorted(clean_env.rglob("*")) == before
    assert not state.exists()
    assert not keyfile.exists()


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


# -- isolated_keyring and the fixtures -------------------------------------------


def test_isolated_keyring_installs_and_restores(monkeypatch: pytest.MonkeyPatch) -> None:
    before = null.Keyring()
    keyring.set_keyring(before)
    env_before = {k: os.environ.get(k) for k in ("PYTHON_KEYRING_BACKEND", "SESSMAN_STATE_DIR")}
    with isolated_keyring() as backend:
        assert keyring.get_keyring() is backend
        keyring.set_password("svc", "u", "p")
        assert backend.get_password("svc", "u") == "p"
        assert os.environ["PYTHON_KEYRING_BACKEND"] == "sessman.testing.MemoryKeyring"
        tmp = Path(os.environ["SESSMAN_STATE_DIR"]).parent
        assert tmp.is_dir()
    assert keyring.get_keyring() is before
    assert {k: os.environ.get(k) for k in env_before} == env_before
    assert not tmp.exists()

    # keyring had chosen nothing yet: after the block, it still has not.
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    with isolated_keyring():
        pass
    assert keyring.core._keyring_backend is None


def test_isolated_keyring_is_what_sessman_resolves(tmp_path: Path, untouched: None) -> None:
    path = tmp_path / "profiles.yaml"
    path.write_text(
        "version: 1\nprofiles:\n  a: {access_key_id: AKIAIOSFODNN7EXAMPLE, region: us-east-1}\n"
    )
    with isolated_keyring() as backend:
        backend.set_password("sessman", "a", FAKE_SECRET)
        with SessionManager.load(path) as mgr:
            assert mgr.status()["a"].secret == "stored"
            assert isinstance(mgr.store, KeyringStore)
            assert mgr.store.backend is backend


def test_fixtures_share_the_test_keyring(
    sessman_manager: ManagerFactory, sessman_keyring: MemoryKeyring
) -> None:
    assert keyring.get_keyring() is sessman_keyring
    assert inspect.signature(sessman_manager) == inspect.signature(make_manager)
    mgr = sessman_manager({"a": KEYS}, {"a": FAKE_SECRET})
    assert sessman_keyring.get_password("sessman", "a") == FAKE_SECRET
    assert mgr.state_dir == Path(os.environ["SESSMAN_STATE_DIR"])


def test_importing_the_plugin_is_cheap() -> None:
    code = (
        "import sys, sessman.pytest_plugin\n"
        "heavy = ('boto3', 'botocore', 'keyring', 'moto', 'yaml', 'sessman.testing')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


USER_TEST = """
import keyring
import pytest
from keyring.backends.null import Keyring as Null
from moto import mock_aws

from sessman import SessionManager
import sessman.testing
from sessman.errors import SecretNotFound
from sessman.testing import make_manager

BEFORE = Null()
keyring.set_keyring(BEFORE)

PROFILES = {
    "hub": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "region": "us-east-1"},
    "dev": {
        "source_profile": "hub",
        "role_arn": "arn:aws:iam::111111111111:role/Admin",
        "region": "eu-west-1",
        "tags": ["team"],
    },
    "orphan": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "region": "us-east-1"},
}


def test_make_manager_two_accounts():
    with mock_aws():
        mgr = make_manager(PROFILES, {"hub": "s3cret"})
        mgr.client("dev", "s3").create_bucket(
            Bucket="dev-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        found = mgr.map(lambda name, s: [b["Name"] for b in s.client("s3").list_buckets()["Buckets"]])
        assert found["hub"].value == []
        assert found["dev"].value == ["dev-bucket"]
        assert isinstance(found["orphan"].error, SecretNotFound)


def test_factory(sessman_manager):
    with mock_aws():
        mgr = sessman_manager(PROFILES, {"hub": "s3cret"})
        assert mgr.names(tag="team") == ["dev"]
        assert mgr.whoami("dev").account == "111111111111"


def test_keyring(sessman_keyring, tmp_path):
    assert keyring.get_keyring() is sessman_keyring
    sessman_keyring.set_password("sessman", "hub", "s3cret")
    path = tmp_path / "profiles.yaml"
    path.write_text(
        "version: 1\\nprofiles:\\n  hub: {access_key_id: AKIAIOSFODNN7EXAMPLE, region: us-east-1}\\n"
    )
    with mock_aws(), SessionManager.load(path) as mgr:
        assert mgr.open("hub").account == "123456789012"
        assert mgr.status()["hub"].session == "open"


def test_after_the_fixture_the_old_backend_is_back():
    assert keyring.get_keyring() is BEFORE
"""


def _guide_example() -> str:
    """The example in sessman.testing's docstring (the user's guide), as a test file."""
    doc = sessman.testing.__doc__ or ""
    start = doc.index("::\n") + 3
    end = doc.index("What each piece does:")
    return textwrap.dedent(doc[start:end])


@pytest.mark.slow  # real processes: left out of make unit
def test_a_users_test_file_runs_with_no_configuration(
    pytester: pytest.Pytester, untouched: None
) -> None:
    pytester.makepyfile(test_user=USER_TEST, test_guide=_guide_example())
    result = pytester.runpytest_subprocess("-v")
    result.assert_outcomes(passed=7)
    assert "warning" not in result.stdout.str().lower()


def test_a_pinned_backend_is_not_reached_under_the_fixture(
    sessman_keyring: Any, tmp_path: Path
) -> None:
    from sessman import SessionManager

    path = tmp_path / "pinned.yaml"
    path.write_text(
        "keyring_backend: keyring.backends.SecretService.Keyring\n"
        "profiles:\n  a: {access_key_id: AKIAIOSFODNN7EXAMPLE, region: us-east-1}\n"
    )
    sessman_keyring.set_password("sessman", "a", "the-secret-value")
    store = SessionManager.load(path).store
    assert store.get("a") == "the-secret-value"
    assert "MemoryKeyring" in store.backend_name


def test_production_code_never_names_the_test_backend() -> None:
    """The harness passes its backend in; the package does not look for it by name."""
    package = Path(sessman.testing.__file__).parent
    harness = {package / "testing.py", package / "pytest_plugin.py"}
    naming = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path not in harness
        and (
            "MemoryKeyring" in (text := path.read_text(encoding="utf-8"))
            or '"sessman.testing' in text
        )
    ]
    assert naming == []


def test_a_process_local_backend_never_reaches_the_agent(
    sessman_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sessman.agent import client
    from sessman.backends import isolated_backend, process_local

    def no_agent(*args: object, **kwargs: object) -> None:
        raise AssertionError("an in-memory keyring's secret went to the agent")

    monkeypatch.setattr(client, "backend_id", no_agent)
    assert process_local(sessman_keyring)
    assert process_local(MemoryKeyring())  # its class says so, isolated or not
    store = KeyringStore("sessman", MemoryKeyring())
    store.put("a", "the-secret-value")
    assert KeyringStore("sessman", store.backend).get("a") == "the-secret-value"
    other = null.Keyring()
    assert not process_local(other)
    with isolated_backend(other):
        assert process_local(other)
    assert not process_local(other)


def test_a_process_a_test_starts_gets_no_pinned_backend(
    sessman_keyring: Any, tmp_path: Path
) -> None:
    """The harness's backend, named in the environment, wins over a pin in a child too."""
    path = tmp_path / "pinned.yaml"
    path.write_text(
        "keyring_backend: keyring.backends.SecretService.Keyring\n"
        "profiles:\n  a: {access_key_id: AKIAIOSFODNN7EXAMPLE, region: us-east-1}\n"
    )
    code = (
        "import sys; from sessman import SessionManager;"
        " print(SessionManager.load(sys.argv[1]).store.backend_name)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("MemoryKeyring")
