"""`sessman rotate`: a new key made, waited for, stored and written; the old one gone.

Against moto_server with signature checking, through a FaultProxy that can
delay the new key (as real IAM does for 10-15 s) or fail any step. Each test
has its own IAM user, made with the fixture user's admin key.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from support.cli import all_bytes_under, assert_error_line, cli, edit_while_locked
from support.infra import MotoAuthServer, MotoServer
from support.proxies import FaultProxy, Reject, proxying

from sessman.lifecycle.rotate import RotationFailed, delete_other, rotate
from sessman.manager import SessionManager

_USERS = itertools.count(1)
_ADMIN = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'
)
REJECT_KEY = Reject(
    "InvalidClientTokenId", "The security token included in the request is invalid."
)
DENIED = Reject("AccessDenied", "injected by the test")

PROFILES = """\
# my profiles: this comment must survive
version: 1
defaults:
  region: us-east-1   # the region comment too
  endpoint_url: {url}
profiles:
  dev:                # the dev account
    description: Developer   # kept
    access_key_id: {key}   # rotated by sessman
    tags: [sandbox]
  # a trailing comment
"""


@dataclass(frozen=True)
class User:
    """An IAM user of its own for one test, and its first key."""

    name: str
    arn: str
    key_id: str
    secret: str = field(repr=False)


def admin_iam(server: MotoAuthServer) -> Any:
    return boto3.client(
        "iam",
        region_name="us-east-1",
        endpoint_url=server.url,
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


def sts_with(url: str, key_id: str, secret: str) -> Any:
    return boto3.client(
        "sts",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


def make_user(iam: Any) -> User:
    name = f"rotate-{next(_USERS)}"
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    iam.put_user_policy(UserName=name, PolicyName="admin", PolicyDocument=_ADMIN)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return User(name, arn, key["AccessKeyId"], key["SecretAccessKey"])


def keys_of(iam: Any, user: str) -> dict[str, str]:
    """``{access key id: status}`` of the user, as IAM says."""
    listed = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    return {k["AccessKeyId"]: k["Status"] for k in listed}


class Setup:
    """A profiles file for one user behind a proxy, its secret stored, and a CLI runner."""

    def __init__(self, tmp_path: Path, upstream: str, proxy: FaultProxy, user: User) -> None:
        self.proxy = proxy
        self.user = user
        self.path = tmp_path / "profiles.yaml"
        self.path.write_text(PROFILES.format(url=proxy.url, key=user.key_id))
        self.upstream = upstream
        stored = self.cli("secret", "set", "dev", "--stdin", input=user.secret + "\n")
        assert stored.exit_code == 0, stored.stderr

    def cli(self, *args: str, input: str | None = None) -> Any:
        return cli(*args, input=input, config=self.path, never=[self.user.secret], checked=True)

    def manager(self) -> SessionManager:
        return SessionManager.load(self.path)

    def stored(self) -> tuple[str, str]:
        """The access key id in the file and the secret in the keyring for ``dev``."""
        manager = self.manager()
        secret = manager.store.get("dev")
        assert secret is not None
        return manager.profile("dev").access_key_id or "", secret

    def works(self, key_id: str, secret: str) -> bool:
        """Whether moto (not the proxy) accepts the key pair."""
        try:
            sts_with(self.upstream, key_id, secret).get_caller_identity()
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "InvalidClientTokenId", exc.response
            return False
        return True


@pytest.fixture
def iam(moto_auth_server: MotoAuthServer) -> Iterator[Any]:
    client = admin_iam(moto_auth_server)
    with contextlib.closing(client):
        yield client


@pytest.fixture
def setup(tmp_path: Path, moto_auth_server: MotoAuthServer, iam: Any) -> Iterator[Setup]:
    user = make_user(iam)
    with proxying(moto_auth_server.url) as proxy:
        yield Setup(tmp_path, moto_auth_server.url, proxy, user)


# -- the whole rotation -----------------------------------------------------------------


def test_rotate_leaves_only_the_new_key_stored_written_and_working(setup: Setup, iam: Any) -> None:
    before = setup.path.read_text()
    result = setup.cli("rotate", "dev", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    new_id = data["new_access_key_id"]
    assert data["old_access_key_id"] == setup.user.key_id != new_id
    assert data["user"] == setup.user.name and data["profiles"] == ["dev"]

    # IAM: exactly one key, the new one; the old one really stops working.
    assert keys_of(iam, setup.user.name) == {new_id: "Active"}
    assert not setup.works(setup.user.key_id, setup.user.secret)
    key_id, secret = setup.stored()
    assert key_id == new_id and setup.works(key_id, secret)
    assert secret not in result.stdout + result.stderr

    # The file: only the key id changed, every comment kept.
    after = setup.path.read_text()
    assert after == before.replace(setup.user.key_id, new_id)
    # The old key was deactivated, then deleted, both signed with the new key.
    assert setup.proxy.actions(key=new_id, rejected=False)[-2:] == [
        "UpdateAccessKey",
        "DeleteAccessKey",
    ]
    # Neither secret in any file sessman wrote (the keyring file is encrypted).
    written = all_bytes_under(setup.path.parent)
    assert secret.encode() not in written and setup.user.secret.encode() not in written
    whoami = setup.cli("whoami", "dev", "--json")
    assert whoami.exit_code == 0, whoami.stderr
    assert json.loads(whoami.stdout)["arn"] == setup.user.arn
    assert secret not in whoami.stdout + whoami.stderr


def test_the_text_report_names_both_keys(setup: Setup) -> None:
    result = setup.cli("rotate", "dev")
    assert result.exit_code == 0, result.stderr
    new_id, secret = setup.stored()
    assert setup.user.key_id in result.stdout and new_id in result.stdout
    assert secret not in result.stdout + result.stderr


def test_a_user_with_two_keys_is_refused_and_nothing_changes(setup: Setup, iam: Any) -> None:
    other = iam.create_access_key(UserName=setup.user.name)["AccessKey"]["AccessKeyId"]
    before = setup.path.read_text()
    result = setup.cli("rotate", "dev")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("sessman: error: "), lines
    assert "already has two access keys" in lines[0]
    assert lines[1].endswith(f"sessman rotate dev --delete-other {other} --config {setup.path}")
    assert "CreateAccessKey" not in setup.proxy.actions()
    assert set(keys_of(iam, setup.user.name)) == {setup.user.key_id, other}
    assert setup.path.read_text() == before


@pytest.mark.slow
def test_rotate_waits_for_another_edit_of_the_file_and_keeps_it(setup: Setup, iam: Any) -> None:
    """Another edit holding the file's lock (say ``generate organization``) is not lost."""
    added = "  held:\n    access_key_id: AKIAEXAMPLEHHHHHHHHH\n"
    edit_while_locked(setup.path, added, ["rotate", "dev"])
    (new_id,) = keys_of(iam, setup.user.name)
    manager = setup.manager()
    assert manager.profile("dev").access_key_id == new_id != setup.user.key_id
    assert manager.profile("held").access_key_id == "AKIAEXAMPLEHHHHHHHHH"


# -- waiting for the new key ------------------------------------------------------------


def reject_new_keys(proxy: FaultProxy, old: str, times: int | None) -> None:
    """Reject GetCallerIdentity signed by any key but ``old``, ``times`` times (None: always)."""
    left = itertools.count()

    def rule(action: str, key: str) -> Reject | None:
        rejecting = action == "GetCallerIdentity" and key != old
        return REJECT_KEY if rejecting and (times is None or next(left) < times) else None

    proxy.rule = rule


def test_the_new_key_is_waited_for_with_backoff(setup: Setup, iam: Any) -> None:
    reject_new_keys(setup.proxy, setup.user.key_id, times=3)
    pauses: list[float] = []
    result = rotate(setup.manager(), "dev", first_delay=0.01, sleep=pauses.append)
    assert pauses == [0.01, 0.02, 0.04]  # one pause after each rejection, doubling
    rejected = setup.proxy.actions(key=result.new_access_key_id, rejected=True)
    assert rejected == ["GetCallerIdentity"] * 3
    assert keys_of(iam, setup.user.name) == {result.new_access_key_id: "Active"}
    assert setup.works(*setup.stored())


@pytest.mark.slow
def test_the_command_waits_for_the_new_key_too(setup: Setup, iam: Any) -> None:
    reject_new_keys(setup.proxy, setup.user.key_id, times=2)  # real pauses: 0.5 s, then 1 s
    result = setup.cli("rotate", "dev", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (
        setup.proxy.actions(key=data["new_access_key_id"], rejected=True)
        == ["GetCallerIdentity"] * 2
    )
    assert data["waited_seconds"] >= 1.5
    assert keys_of(iam, setup.user.name) == {data["new_access_key_id"]: "Active"}


def test_iam_calls_with_the_new_key_wait_for_iam_to_know_it(setup: Setup, iam: Any) -> None:
    """STS may accept the new key before IAM does: IAM's "unknown key" is tried again."""
    left = itertools.count()

    def rule(action: str, key: str) -> Reject | None:
        unknown = action == "UpdateAccessKey" and key != setup.user.key_id
        return REJECT_KEY if unknown and next(left) < 2 else None

    setup.proxy.rule = rule
    pauses: list[float] = []
    result = rotate(setup.manager(), "dev", first_delay=0.01, sleep=pauses.append)
    assert pauses == [0.01, 0.02]
    assert setup.proxy.actions(key=result.new_access_key_id) == [
        "GetCallerIdentity",
        *["UpdateAccessKey"] * 3,
        "DeleteAccessKey",
    ]
    assert keys_of(iam, setup.user.name) == {result.new_access_key_id: "Active"}


def test_a_new_key_that_never_works_is_deleted_again(setup: Setup, iam: Any) -> None:
    reject_new_keys(setup.proxy, setup.user.key_id, times=None)
    before = setup.path.read_text()
    with pytest.raises(RotationFailed) as caught:
        rotate(setup.manager(), "dev", wait=0.5, first_delay=0.05)
    assert caught.value.state == "unchanged"
    assert "did not accept the new key within 0.5 s" in caught.value.message
    assert caught.value.hint == "try again later: sessman rotate dev"
    assert keys_of(iam, setup.user.name) == {setup.user.key_id: "Active"}
    assert setup.path.read_text() == before
    assert setup.stored() == (setup.user.key_id, setup.user.secret)


def test_a_new_key_that_cannot_be_deleted_again_is_named(setup: Setup, iam: Any) -> None:
    old = setup.user.key_id

    def rule(action: str, key: str) -> Reject | None:
        if action == "GetCallerIdentity" and key != old:
            return REJECT_KEY
        return DENIED if action == "DeleteAccessKey" else None

    setup.proxy.rule = rule
    with pytest.raises(RotationFailed) as caught:
        rotate(setup.manager(), "dev", wait=0.2, first_delay=0.05)
    assert caught.value.state == "both keys exist"
    (new_id,) = set(keys_of(iam, setup.user.name)) - {old}
    assert f"the new key {new_id} could not be deleted again" in caught.value.message
    assert caught.value.hint is not None
    assert caught.value.hint.endswith(f"sessman rotate dev --delete-other {new_id}")
    assert setup.stored() == (old, setup.user.secret)  # the old key is still stored
    setup.proxy.rule = None
    result = delete_other(setup.manager(), "dev", new_id)
    assert result.old_access_key_id == new_id
    assert keys_of(iam, setup.user.name) == {old: "Active"}


# -- a failure after CreateAccessKey: a working key stays stored -------------------------------


def fail_action(proxy: FaultProxy, name: str) -> None:
    proxy.rule = lambda action, key: DENIED if action == name else None


@pytest.mark.parametrize(
    ("action", "state", "old_status"),
    [
        ("UpdateAccessKey", "both keys exist", "Active"),
        ("DeleteAccessKey", "old key inactive", "Inactive"),
    ],
)
def test_a_failure_after_the_switch_names_the_state_and_the_next_step(
    setup: Setup, iam: Any, action: str, state: str, old_status: str
) -> None:
    fail_action(setup.proxy, action)
    result = setup.cli("rotate", "dev")
    assert result.exit_code == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("sessman: error: "), lines
    assert f"State: {state};" in lines[0] and "AccessDenied" in lines[0]
    assert lines[1] == (
        "hint: finish with: sessman rotate dev"
        f" --delete-other {setup.user.key_id} --config {setup.path}"
    )
    new_id, secret = setup.stored()
    assert keys_of(iam, setup.user.name) == {setup.user.key_id: old_status, new_id: "Active"}
    assert setup.works(new_id, secret)  # the stored key works
    assert secret not in result.stderr
    setup.proxy.rule = None
    assert setup.cli("whoami", "dev").exit_code == 0
    # The hint's command finishes the rotation, signed with the stored (new) key.
    finished = setup.cli("rotate", "dev", "--delete-other", setup.user.key_id, "--json")
    assert finished.exit_code == 0, finished.stderr
    assert json.loads(finished.stdout)["new_access_key_id"] == new_id
    assert keys_of(iam, setup.user.name) == {new_id: "Active"}
    assert not setup.works(setup.user.key_id, setup.user.secret)
    assert setup.proxy.actions(key=new_id)[-2:] == ["UpdateAccessKey", "DeleteAccessKey"]


def test_a_failure_before_the_switch_keeps_the_old_key(setup: Setup, iam: Any) -> None:
    """The new key is created, then checking it fails: it is deleted, the old one kept."""
    setup.proxy.rule = lambda action, key: (
        Reject("Throttling", "slow down", 400)
        if action == "GetCallerIdentity" and key != setup.user.key_id
        else None
    )
    with pytest.raises(RotationFailed) as caught:
        rotate(setup.manager(), "dev", wait=0.2, first_delay=0.05)
    assert caught.value.state == "unchanged"
    assert "Throttling" in caught.value.message and "was deleted again" in caught.value.message
    assert "CreateAccessKey" in setup.proxy.actions()
    assert keys_of(iam, setup.user.name) == {setup.user.key_id: "Active"}
    assert setup.stored() == (setup.user.key_id, setup.user.secret)
    assert setup.user.secret not in str(caught.value)


# -- refusals ------------------------------------------------------------------------------


def test_refusals_are_one_line_with_the_documented_code(setup: Setup, iam: Any) -> None:
    text = setup.path.read_text().replace(
        "  # a trailing comment\n",
        "  admin:\n    role_arn: arn:aws:iam::123456789012:role/Admin\n    source_profile: dev\n",
    )
    setup.path.write_text(text)
    for args, code, needle in (
        (["rotate", "admin"], 2, "only a profile with access_key_id"),
        (["rotate", "nope"], 2, "no profile 'nope'"),
        (["rotate"], 2, "Missing argument"),
    ):
        result = setup.cli(*args)
        assert result.exit_code == code, (args, result.stderr)
        assert result.stderr.startswith("sessman: error: ") and needle in result.stderr
        assert len(result.stderr.splitlines()) <= 2
    assert setup.manager().store.delete("dev")
    missing = setup.cli("rotate", "dev")
    assert missing.exit_code == 1 and "sessman secret set dev" in missing.stderr
    assert setup.proxy.actions() == []  # nothing reached AWS


def test_a_role_on_an_aws_profile_gets_a_hint_that_works(setup: Setup) -> None:
    text = setup.path.read_text().replace(
        "  # a trailing comment\n",
        "  ext:\n    aws_profile: corp\n"
        "  via-ext:\n    role_arn: arn:aws:iam::123456789012:role/Admin\n"
        "    source_profile: ext\n"
        "  via-dev:\n    role_arn: arn:aws:iam::123456789012:role/Admin\n"
        "    source_profile: dev\n",
    )
    setup.path.write_text(text)
    for name in ("ext", "via-ext"):
        result = setup.cli("rotate", name)
        assert result.exit_code == 2, result.stderr
        lines = result.stderr.splitlines()
        assert len(lines) == 2 and lines[0].startswith("sessman: error: "), lines
        assert "is a aws" not in lines[0] and "sessman rotate" not in lines[1], lines
        assert "'corp'" in lines[1] and "AWS CLI" in lines[1]
    assert (
        setup.cli("rotate", "ext")
        .stderr.splitlines()[0]
        .endswith(
            "is an aws-profile profile: only a profile with access_key_id has a long-term key"
            " to rotate"
        )
    )
    via_dev = setup.cli("rotate", "via-dev").stderr.splitlines()
    assert via_dev[1] == (
        f"hint: rotate the key it comes from: sessman rotate dev --config {setup.path}"
    )
    assert setup.proxy.actions() == []


def test_a_key_id_from_a_variable_is_a_usage_error_even_without_a_secret(
    setup: Setup, iam: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEV_KEY", setup.user.key_id)
    setup.path.write_text(setup.path.read_text().replace(setup.user.key_id, "${DEV_KEY}"))
    assert setup.manager().store.delete("dev")
    result = setup.cli("rotate", "dev")
    assert result.exit_code == 2, result.stderr
    assert "not written literally" in result.stderr.splitlines()[0]
    assert "secret" not in result.stderr
    assert setup.proxy.actions() == []  # nothing reached AWS, not even STS


def test_delete_other_refuses_the_stored_key_and_strangers(setup: Setup, iam: Any) -> None:
    for key_id, code, needle in (
        (setup.user.key_id, 2, "is the key profile 'dev' uses"),
        ("not-a-key", 2, "is not an access key id"),
        ("AKIAEXAMPLENOTHERS00", 1, "is not an access key of IAM user"),
    ):
        result = setup.cli("rotate", "dev", "--delete-other", key_id)
        assert result.exit_code == code, (key_id, result.stderr)
        assert_error_line(result, contains=needle, notes=False)
    assert keys_of(iam, setup.user.name) == {setup.user.key_id: "Active"}
    assert "DeleteAccessKey" not in setup.proxy.actions()


def test_a_key_id_from_a_variable_is_refused_before_any_change(
    setup: Setup, iam: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEV_KEY", setup.user.key_id)
    setup.path.write_text(setup.path.read_text().replace(setup.user.key_id, "${DEV_KEY}"))
    result = setup.cli("rotate", "dev")
    assert result.exit_code == 2
    assert "access_key_id" in result.stderr and "not written literally" in result.stderr
    assert "CreateAccessKey" not in setup.proxy.actions()
    assert keys_of(iam, setup.user.name) == {setup.user.key_id: "Active"}


# -- sessions opened with the old key ----------------------------------------------------------


def test_sessions_opened_with_the_old_key_are_closed(
    tmp_path: Path, moto_server: MotoServer
) -> None:
    """On moto without auth (where sessions work): the key's and its roles' sessions close."""
    iam = boto3.client(
        "iam",
        region_name="us-east-1",
        endpoint_url=moto_server.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    user = make_user(iam)
    path = tmp_path / "profiles.yaml"
    path.write_text(
        PROFILES.format(url=moto_server.url, key=user.key_id).replace(
            "  # a trailing comment\n",
            "  admin:\n    role_arn: arn:aws:iam::123456789012:role/Admin\n"
            "    source_profile: dev\n"
            f"  twin:\n    access_key_id: {user.key_id}\n",
        )
    )

    def ok(*args: str, input: str | None = None) -> Any:
        result = cli(*args, input=input, config=path)
        assert result.exit_code == 0, result.stderr
        return result

    for name in ("dev", "twin"):
        ok("secret", "set", name, "--stdin", input=user.secret + "\n")
    ok("open", "dev", "admin")
    data = json.loads(ok("rotate", "dev", "--json").stdout)
    assert data["profiles"] == ["dev", "twin"]
    assert data["closed"] == ["dev", "admin"]
    states = {r["name"]: r["session"]["state"] for r in json.loads(ok("list", "--json").stdout)}
    assert states == {"dev": "closed", "admin": "closed", "twin": "closed"}
    manager = SessionManager.load(path)
    assert {manager.profile(n).access_key_id for n in ("dev", "twin")} == {
        data["new_access_key_id"]
    }
    assert manager.store.get("dev") == manager.store.get("twin") != user.secret
    assert keys_of(iam, user.name) == {data["new_access_key_id"]: "Active"}
