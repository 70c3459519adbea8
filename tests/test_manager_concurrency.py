"""SessionManager across profiles and threads: map, single flight, min_ttl, stale and shared state.

Secrets go through the real store (the encrypted file keyring the conftest
environment pins); AWS is a real ``moto.server`` process. A recording
proxy in front of moto shows which STS calls were made and with which
credentials.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest
from support.fakes import FAKE_SECRET
from support.infra import MotoServer, refused_url
from support.manager import (
    ACCOUNT,
    FAST_FAIL,
    REAL_LOOKING_SECRET,
    Factory,
    again,
    assert_expires_in,
    keys_and_role,
    make_fixture,  # noqa: F401
    stored_session,
    stored_token,
)
from support.proxies import RecordingProxy

from sessman.errors import (
    ProfileNotFound,
    SecretNotFound,
    UsageError,
)
from sessman.filekeyring import EncryptedFileKeyring
from sessman.state import SessionRecord, StateFile

T = TypeVar("T")


# -- map ---------------------------------------------------------------------------


def test_map_isolates_a_failing_profile(make: Factory, moto_server: MotoServer) -> None:
    dead = refused_url()
    manager = make(
        {
            "good1": {"access_key_id": "AKIAEXAMPLEMAPGOOD01", "tags": ["t"]},
            "nosecret": {"access_key_id": "AKIAEXAMPLEMAPNOSEC1", "tags": ["t"]},
            "good2": {"access_key_id": "AKIAEXAMPLEMAPGOOD02"},
            "dead": {"access_key_id": "AKIAEXAMPLEMAPDEAD01", "endpoint_url": dead, **FAST_FAIL},
        },
        {"endpoint_url": moto_server.url},
    )
    for name in ("good1", "good2", "dead"):
        manager.store.put(name, FAKE_SECRET)

    def account(name: str, _session: object) -> str:
        return str(manager.client(name, "sts").get_caller_identity()["Account"])

    outcomes = manager.map(account, max_workers=4)
    assert list(outcomes) == ["good1", "nosecret", "good2", "dead"]
    for name in ("good1", "good2"):
        assert outcomes[name].ok and outcomes[name].value == ACCOUNT
        assert outcomes[name].error is None and outcomes[name].name == name
    assert not outcomes["nosecret"].ok and outcomes["nosecret"].value is None
    assert isinstance(outcomes["nosecret"].error, SecretNotFound)
    assert not outcomes["dead"].ok
    # What the user's own client call raised is returned as it was raised.
    from botocore.exceptions import EndpointConnectionError

    assert isinstance(outcomes["dead"].error, EndpointConnectionError)
    assert dead in str(outcomes["dead"].error)


def test_map_keeps_order_filters_by_tag_and_passes_each_session(make: Factory) -> None:
    manager = make(
        {
            "a": {"access_key_id": "AKIAEXAMPLEORDERA001", "tags": ["blue"]},
            "b": {"access_key_id": "AKIAEXAMPLEORDERB001"},
            "c": {"access_key_id": "AKIAEXAMPLEORDERC001", "tags": ["blue"]},
            "d": {"access_key_id": "AKIAEXAMPLEORDERD001", "tags": ["blue"]},
        }
    )
    for name in "abcd":
        manager.store.put(name, FAKE_SECRET)

    def which(name: str, session: Any) -> str:
        assert session is manager.session(name)
        time.sleep("abcd".index(name) * 0.03)  # finish in another order than asked
        if name == "d":
            raise ValueError("not a sessman error")
        return name.upper()

    reverse = manager.map(which, ["d", "c", "b", "a"])
    assert list(reverse) == ["d", "c", "b", "a"]
    assert [o.value for o in reverse.values()] == [None, "C", "B", "A"]
    assert all(o.ok for n, o in reverse.items() if n != "d")
    assert isinstance(reverse["d"].error, ValueError)
    assert list(manager.map(which, tag="blue")) == ["a", "c", "d"]
    assert list(manager.map(which, ["c", "b", "a"], tag="blue")) == ["c", "a"]
    assert manager.map(which, []) == {}
    with pytest.raises(ProfileNotFound):
        manager.map(which, ["a", "nope"])


# -- single flight, min_ttl, stale state -------------------------------------------------


def run_together(count: int, work: Callable[[int], T]) -> list[T]:
    """Run ``work(i)`` on ``count`` threads released at once; re-raise the first error."""
    start = threading.Barrier(count)
    results: dict[int, T] = {}
    errors: list[BaseException] = []

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [results[i] for i in range(count)]


def test_concurrent_uses_of_a_role_assume_it_once(make: Factory, recorder: RecordingProxy) -> None:
    manager = make(
        {
            "src": {"access_key_id": "AKIAEXAMPLEFLIGHT001"},
            "role": {"source_profile": "src", "role_arn": f"arn:aws:iam::{ACCOUNT}:role/Flight"},
        },
        {"endpoint_url": recorder.url},
    )
    manager.store.put("src", FAKE_SECRET)
    arns = run_together(16, lambda _: manager.whoami("role").arn)
    assert set(arns) == {f"arn:aws:sts::{ACCOUNT}:assumed-role/Flight/sessman-role"}
    assert recorder.signers("AssumeRole") == ["AKIAEXAMPLEFLIGHT001"]
    assert len(recorder.signers("GetCallerIdentity")) == 16


def test_concurrent_opens_behind_one_mfa_device_get_one_session_token(
    make: Factory, recorder: RecordingProxy
) -> None:
    device = f"arn:aws:iam::{ACCOUNT}:mfa/flight"
    manager = make(
        {
            "src": {"access_key_id": "AKIAEXAMPLEMFAFLIGHT", "mfa_serial": device},
            "ra": {"source_profile": "src", "role_arn": f"arn:aws:iam::{ACCOUNT}:role/MfaFlightA"},
            "rb": {"source_profile": "src", "role_arn": f"arn:aws:iam::{ACCOUNT}:role/MfaFlightB"},
        },
        {"endpoint_url": recorder.url},
    )
    manager.store.put("src", FAKE_SECRET)
    infos = run_together(8, lambda i: manager.open("ra" if i % 2 else "rb", mfa_code="654321"))
    assert {info.name for info in infos} == {"ra", "rb"}
    assert recorder.signers("GetSessionToken") == ["AKIAEXAMPLEMFAFLIGHT"]
    # Concurrent opens of one profile are single-flight: one AssumeRole per role.
    assert recorder.tokens("AssumeRole") == [stored_token(manager, "src")] * 2


def test_open_with_min_ttl_keeps_a_session_with_enough_time_left(
    make: Factory, recorder: RecordingProxy
) -> None:
    manager = make(
        {"dev": {"access_key_id": "AKIAEXAMPLEMINTTL001"}}, {"endpoint_url": recorder.url}
    )
    manager.store.put("dev", FAKE_SECRET)
    first = manager.open("dev", duration=900)
    stored = stored_session(manager, "dev")
    kept = manager.open("dev", min_ttl=600)
    assert kept == first
    assert stored_session(manager, "dev") == stored
    assert len(recorder.signers("GetSessionToken")) == 1
    renewed = manager.open("dev", min_ttl=1000)  # more than the 900 s it has
    assert len(recorder.signers("GetSessionToken")) == 2
    assert renewed.expires > first.expires
    assert stored_session(manager, "dev") != stored
    # No session of the profile's 3600 s could meet this: refused, nothing opened.
    with pytest.raises(UsageError, match="cannot be met by sessions of 3600 s"):
        manager.open("dev", min_ttl=4000)
    assert len(recorder.signers("GetSessionToken")) == 2


def test_a_session_without_its_keyring_entry_or_past_expiry_is_not_used(
    make: Factory, moto_server: MotoServer
) -> None:
    manager = keys_and_role(make, moto_server, "Stale")
    manager.open("dev")
    manager.open("admin")
    EncryptedFileKeyring().delete_password(manager.config.keyring_service, "admin:session")
    state = json.loads(manager.state.path.read_text())
    past = datetime.now(timezone.utc) - timedelta(hours=1)
    state["sessions"]["dev"]["expires"] = past.isoformat()
    manager.state.path.write_text(json.dumps(state))

    fresh = again(manager)
    try:
        status = fresh.status()
        assert (status["admin"].session, status["admin"].expires) == ("closed", None)
        assert status["dev"].session == "expired"
        assert status["dev"].expires == past
        # An expired session is not signed with: the long-term key is.
        key = fresh.session("dev").get_credentials().get_frozen_credentials().access_key
        assert key == "AKIAEXAMPLEOPEN00001"
    finally:
        fresh.release()


def test_an_aws_profile_session_keeps_the_expiry_of_its_credentials(
    make: Factory, moto_server: MotoServer, tmp_path: Path
) -> None:
    expiry = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=20)
    helper = tmp_path / "helper.py"
    document = {
        "Version": 1,
        "AccessKeyId": "ASIAEXAMPLEHELPER001",
        "SecretAccessKey": REAL_LOOKING_SECRET,
        "SessionToken": "helper-session-token",
        "Expiration": expiry.isoformat(),
    }
    helper.write_text(f"print({json.dumps(json.dumps(document))})\n")
    Path(os.environ["AWS_CONFIG_FILE"]).write_text(
        f"[profile helper]\ncredential_process = {sys.executable} {helper}\n"
    )
    manager = make({"ext": {"aws_profile": "helper"}}, {"endpoint_url": moto_server.url})
    # The helper's credentials end in 20 minutes: the session cannot last an hour.
    assert manager.open("ext").expires == expiry
    assert manager.status(["ext"])["ext"].expires == expiry
    stored = stored_session(manager, "ext")
    assert stored is not None and json.loads(stored)["AccessKeyId"] == "ASIAEXAMPLEHELPER001"
    # A shorter duration than that is still honoured.
    assert_expires_in(manager.open("ext", duration=900).expires, 900)


def test_concurrent_opens_lose_no_session(make: Factory, moto_server: MotoServer) -> None:
    names = [f"c{i:02d}" for i in range(16)]
    manager = make(
        {n: {"access_key_id": f"AKIAEXAMPLECONC{i:05d}"} for i, n in enumerate(names)},
        {"endpoint_url": moto_server.url},
    )
    for name in names:
        manager.store.put(name, FAKE_SECRET)
    outcomes = manager.map(lambda name, _session: manager.open(name), max_workers=16)
    assert [o.error for o in outcomes.values()] == [None] * 16
    fresh = again(manager)
    assert sorted(fresh.state.read()) == names
    assert {s.session for s in fresh.status().values()} == {"open"}


def test_concurrent_state_writers_lose_no_record(tmp_path: Path) -> None:
    expires = datetime.now(timezone.utc) + timedelta(hours=1)

    def write(i: int) -> None:
        state = StateFile(tmp_path / "state", "sessman")  # one per writer, as in processes
        for j in range(5):
            name = f"w{i:02d}-{j}"
            state.put(SessionRecord(name, "ASIAEXAMPLE", ACCOUNT, "arn", "uid", expires))

    run_together(16, write)
    records = StateFile(tmp_path / "state", "sessman").read()
    assert len(records) == 80
    assert all(r.expires == expires for r in records.values())
