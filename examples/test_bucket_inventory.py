"""Tests of bucket_inventory.py, written the way we recommend testing sessman scripts.

- moto's ``mock_aws`` stands in for AWS: real boto3 sessions and clients,
  real requests, answered in-process. AssumeRole into a role of another
  account gives credentials of that account, so one test sees several
  accounts.
- ``sessman_keyring`` (from sessman's pytest plugin) makes a fresh in-memory
  keyring *the* keyring for the test: the script's own
  ``SessionManager.load()`` reads its secrets from it, and nothing touches
  the real keyring or the user's sessman files.
- ``sessman_manager`` builds a manager from a dict, for the functions that
  take one; it is released after the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from bucket_inventory import Bucket, inventory, main, render
from moto import mock_aws

from sessman import SecretNotFound
from sessman.testing import ManagerFactory, MemoryKeyring

HUB, DEV, PROD = "123456789012", "111111111111", "222222222222"

PROFILES: dict[str, dict[str, Any]] = {
    "hub": {"access_key_id": "AKIAHUBEXAMPLE00000", "region": "us-east-1", "tags": ["inv"]},
    "dev": {
        "source_profile": "hub",
        "role_arn": f"arn:aws:iam::{DEV}:role/Inventory",
        "region": "eu-west-1",
        "tags": ["inv"],
    },
    "prod": {
        "source_profile": "hub",
        "role_arn": f"arn:aws:iam::{PROD}:role/Inventory",
        "region": "us-west-2",
        "tags": ["inv", "prod"],
    },
    # Long-term keys whose secret nobody stored: this profile must fail alone.
    "orphan": {"access_key_id": "AKIAORPHANEXAMPLE00", "region": "us-east-1", "tags": ["inv"]},
    "untagged": {"access_key_id": "AKIAUNTAGGEDEXAMPLE", "region": "us-east-1"},
}
SECRETS = {"hub": "hub-secret", "untagged": "untagged-secret"}

EXPECTED = [
    Bucket("dev", DEV, "dev-logs", "eu-west-1"),
    Bucket("hub", HUB, "hub-artifacts", "us-east-1"),
    Bucket("hub", HUB, "hub-tokyo", "ap-northeast-1"),
    Bucket("prod", PROD, "prod-data", "us-west-2"),
]


@pytest.fixture
def aws(sessman_manager: ManagerFactory) -> Iterator[None]:
    """moto for the whole test, with buckets in three accounts."""
    with mock_aws():
        setup = sessman_manager(PROFILES, SECRETS)
        for profile, bucket, region in [
            ("hub", "hub-artifacts", "us-east-1"),
            ("hub", "hub-tokyo", "ap-northeast-1"),
            ("dev", "dev-logs", "eu-west-1"),
            ("prod", "prod-data", "us-west-2"),
        ]:
            s3 = setup.client(profile, "s3", region=region)
            if region == "us-east-1":
                s3.create_bucket(Bucket=bucket)
            else:
                s3.create_bucket(
                    Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
                )
        yield


@pytest.fixture
def profiles_file(tmp_path: Path, sessman_keyring: MemoryKeyring) -> Path:
    """The profiles on disk, the secrets in the test's keyring: what main() will load."""
    path = tmp_path / "profiles.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "profiles": PROFILES}))
    for name, secret in SECRETS.items():
        sessman_keyring.set_password("sessman", name, secret)
    return path


def test_inventory_across_accounts(aws: None, sessman_manager: ManagerFactory) -> None:
    mgr = sessman_manager(PROFILES, SECRETS)
    rows, failed = inventory(mgr, tag="inv")
    assert rows == EXPECTED
    assert list(failed) == ["orphan"]
    assert isinstance(failed["orphan"], SecretNotFound)


def test_tag_selects_profiles(aws: None, sessman_manager: ManagerFactory) -> None:
    rows, failed = inventory(sessman_manager(PROFILES, SECRETS), tag="prod")
    assert rows == [Bucket("prod", PROD, "prod-data", "us-west-2")]
    assert failed == {}


def test_main_prints_a_table_and_reports_the_failure(
    aws: None, profiles_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--config", str(profiles_file), "--tag", "inv"])
    out, err = capsys.readouterr()
    assert code == 1
    assert out.splitlines() == render(EXPECTED).splitlines()
    assert out.splitlines()[0].split() == ["PROFILE", "ACCOUNT", "BUCKET", "REGION"]
    assert "hub-tokyo" in out and "ap-northeast-1" in out
    assert err.splitlines() == ["orphan: no secret access key stored for profile 'orphan'"]
    assert "hub-secret" not in out + err


def test_main_succeeds_when_every_profile_answers(
    aws: None, profiles_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(profiles_file), "--tag", "prod"]) == 0
    out, err = capsys.readouterr()
    assert "prod-data" in out
    assert err == ""


def test_unknown_tag_and_bad_file_are_usage_errors(
    tmp_path: Path, sessman_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "profiles.yaml"
    good.write_text(yaml.safe_dump({"version": 1, "profiles": PROFILES}))
    assert main(["--config", str(good), "--tag", "nope"]) == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "version: 1\nprofiles:\n  x: {access_key_id: AKIAIOSFODNN7EXAMPLE, region: mars}\n"
    )
    assert main(["--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "no profile is tagged 'nope'" in err
    assert "'region'" in err
