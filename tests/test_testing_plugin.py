"""sessman.testing's isolated_keyring and the pytest plugin: isolation, a user's run, no pinned backend.

A user's test file is run by pytest in a subprocess with no configuration
at all; the test backend never reaches production code, the agent or a
process the test starts.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import keyring
import keyring.core
import pytest
from keyring.backends import null
from support._keyring import chosen_backend, forget_chosen_backend
from support.fakes import FAKE_SECRET
from support.testing import KEYS

import sessman.testing
from sessman.manager import SessionManager
from sessman.secretstore import KeyringStore
from sessman.testing import ManagerFactory, MemoryKeyring, isolated_keyring, make_manager

pytest_plugins = ["pytester"]


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
    forget_chosen_backend(monkeypatch)
    with isolated_keyring():
        pass
    assert chosen_backend() is None


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
