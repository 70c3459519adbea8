"""`sessman rotate`: a new key made, waited for, stored and written; the old one gone.

Against moto_server with signature checking, through a FaultProxy that can
delay the new key (as real IAM does for 10-15 s) or fail any step. Each test
has its own IAM user, made with the fixture user's admin key. The whole
rotation, the waits for the new key, and failures before and after the switch.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from support.cli import all_bytes_under, edit_while_locked
from support.proxies import FaultProxy, Reject
from support.rotation import (
    DENIED,
    REJECT_KEY,
    Setup,
    iam_fixture,  # noqa: F401
    keys_of,
    setup_fixture,  # noqa: F401
)

from sessman.lifecycle.rotate import RotationFailed, delete_other, rotate

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
