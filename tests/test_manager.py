"""SessionManager over real HTTP: moto_server, a silent socket, a refused port.

Secrets go through the real store (the encrypted file keyring the conftest
environment pins); AWS is a real ``moto.server`` process. Two small local
servers stand in where moto cannot: one that answers HTTP 500 and counts the
attempts, and a recording proxy in front of moto that shows which STS calls
were made and with which credentials. Nothing in botocore is patched: the
private attributes read here (``client._endpoint.http_session``) are only
observed, to prove that connection pools really get closed.
"""

from __future__ import annotations

import json
import os
import random
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from support.fakes import FAKE_SECRET
from support.infra import MotoAuthServer, MotoServer, refused_url
from support.proxies import RecordingProxy, serving

from sessman._botocore import shared_loader
from sessman.errors import (
    AuthenticationFailed,
    EndpointUnreachable,
    ProfileNotFound,
    SecretNotFound,
    SessmanError,
    UsageError,
)
from sessman.filekeyring import EncryptedFileKeyring
from sessman.manager import SessionManager
from sessman.state import SessionRecord, StateFile

ACCOUNT = "123456789012"
MOTO_USER_ARN = f"arn:aws:sts::{ACCOUNT}:user/moto"
REAL_LOOKING_SECRET = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd"

Factory = Callable[..., SessionManager]


def write_profiles(
    path: Path, profiles: dict[str, dict[str, Any]], defaults: dict[str, Any] | None = None
) -> Path:
    document = {"version": 1, "defaults": {"region": "us-east-1", **(defaults or {})}}
    document["profiles"] = profiles
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Factory]:
    """Build managers from a profiles file written to tmp_path; release them after."""
    made: list[SessionManager] = []

    def factory(
        profiles: dict[str, dict[str, Any]], defaults: dict[str, Any] | None = None
    ) -> SessionManager:
        path = write_profiles(tmp_path / f"profiles-{len(made)}.yaml", profiles, defaults)
        manager = SessionManager.load(path)
        made.append(manager)
        return manager

    yield factory
    for manager in made:
        manager.release()


def again(manager: SessionManager) -> SessionManager:
    """A second manager on the same file: what another process would see."""
    return SessionManager.load(manager.config.path)


def pool_count(client: Any) -> int:
    """Connection pools alive in a client's urllib3 PoolManager (observed, not changed)."""
    return len(client._endpoint.http_session._manager.pools)


def stored_session(manager: SessionManager, name: str) -> str | None:
    """The keyring entry of an open session, read straight from the keyring file."""
    return EncryptedFileKeyring().get_password(manager.config.keyring_service, f"{name}:session")


def stored_token(manager: SessionManager, name: str) -> str:
    """The SessionToken of a profile's open session, from the keyring."""
    text = stored_session(manager, name)
    assert text is not None, f"no open session for {name}"
    return str(json.loads(text)["SessionToken"])


# -- authentication against a signature-checking server --------------------------


def auth_manager(make: Factory, server: MotoAuthServer, secret: str | None) -> SessionManager:
    manager = make({"dev": {"access_key_id": server.access_key_id}}, {"endpoint_url": server.url})
    if secret is not None:
        manager.store.put("dev", secret)
    return manager


def test_whoami_with_the_right_secret_is_the_iam_user(
    make: Factory, moto_auth_server: MotoAuthServer
) -> None:
    manager = auth_manager(make, moto_auth_server, moto_auth_server.secret_access_key)
    identity = manager.whoami("dev")
    assert identity.name == "dev"
    assert identity.arn == moto_auth_server.user_arn
    assert identity.account == ACCOUNT
    assert identity.user_id


def test_a_wrong_secret_is_authentication_failed_without_the_secret(
    make: Factory, moto_auth_server: MotoAuthServer
) -> None:
    manager = auth_manager(make, moto_auth_server, FAKE_SECRET)
    with pytest.raises(AuthenticationFailed) as info:
        manager.whoami("dev")
    error = info.value
    assert "'dev'" in str(error)
    assert "SignatureDoesNotMatch" in str(error)
    assert error.hint is not None and "sessman secret set dev --force" in error.hint
    assert error.exit_code == 1
    assert error.__cause__ is not None  # the botocore error is kept for debugging
    for text in (str(error), repr(error), error.hint, str(error.__cause__)):
        assert FAKE_SECRET not in text
        assert moto_auth_server.secret_access_key not in text


def test_a_missing_secret_is_secret_not_found_with_the_hint(
    make: Factory, moto_auth_server: MotoAuthServer
) -> None:
    manager = auth_manager(make, moto_auth_server, None)
    with pytest.raises(SecretNotFound) as info:
        manager.whoami("dev")
    assert "'dev'" in str(info.value)
    assert info.value.hint is not None and "sessman secret set dev" in info.value.hint
    assert info.value.exit_code == 1


def test_an_unknown_profile_is_profile_not_found(make: Factory) -> None:
    manager = make({"dev": {"access_key_id": "AKIAEXAMPLEDEV000001"}})
    for call in (manager.session, manager.whoami, manager.close, manager.botocore_config):
        with pytest.raises(ProfileNotFound) as info:
            call("deev")
        assert info.value.exit_code == 2
        assert "did you mean 'dev'" in (info.value.hint or "")


# -- endpoints that do not answer -----------------------------------------------


FAST_FAIL = {"read_timeout": 1, "connect_timeout": 1, "retries": {"max_attempts": 1}}


def test_a_silent_endpoint_times_out_in_about_the_read_timeout(
    make: Factory, hanging_endpoint: str
) -> None:
    manager = make(
        {"slow": {"access_key_id": "AKIAEXAMPLESLOW00001", **FAST_FAIL}},
        {"endpoint_url": hanging_endpoint},
    )
    manager.store.put("slow", REAL_LOOKING_SECRET)
    started = time.monotonic()
    with pytest.raises(EndpointUnreachable) as info:
        manager.whoami("slow")
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 5, elapsed
    message = str(info.value)
    assert hanging_endpoint in message
    assert "read timeout of 1 s" in message
    assert "'slow'" in message
    assert info.value.exit_code == 1


def test_a_refused_connection_is_endpoint_unreachable(make: Factory) -> None:
    url = refused_url()
    manager = make(
        {"gone": {"access_key_id": "AKIAEXAMPLEGONE00001", **FAST_FAIL}}, {"endpoint_url": url}
    )
    manager.store.put("gone", REAL_LOOKING_SECRET)
    started = time.monotonic()
    with pytest.raises(EndpointUnreachable) as info:
        manager.whoami("gone")
    assert time.monotonic() - started < 5
    assert url in str(info.value)
    assert "'gone'" in str(info.value)


# -- botocore Config -------------------------------------------------------------


TUNED = {
    "access_key_id": "AKIAEXAMPLETUNED0001",
    "region": "eu-west-1",
    "connect_timeout": 3,
    "read_timeout": 7.5,
    "retries": {"mode": "adaptive", "max_attempts": 5},
    "max_pool_connections": 17,
}


def test_botocore_config_is_made_from_the_profile(make: Factory) -> None:
    manager = make({"tuned": TUNED, "plain": {"access_key_id": "AKIAEXAMPLEPLAIN0001"}})
    tuned = manager.botocore_config("tuned")
    assert tuned.region_name == "eu-west-1"
    assert tuned.connect_timeout == 3
    assert tuned.read_timeout == 7.5
    assert tuned.retries == {"mode": "adaptive", "total_max_attempts": 5}
    assert tuned.max_pool_connections == 17
    plain = manager.botocore_config("plain")  # the built-in defaults
    assert (plain.region_name, plain.connect_timeout, plain.read_timeout) == ("us-east-1", 10, 60)
    assert plain.retries == {"mode": "standard", "total_max_attempts": 3}
    assert plain.max_pool_connections == 10


def test_clients_carry_the_profile_config_and_endpoint(
    make: Factory, moto_server: MotoServer
) -> None:
    manager = make({"tuned": {**TUNED, "endpoint_url": moto_server.url}})
    for client in (manager.client("tuned", "sts"), manager.resource("tuned", "s3").meta.client):
        config = client.meta.config
        assert config.connect_timeout == 3
        assert config.read_timeout == 7.5
        assert config.retries == {"mode": "adaptive", "total_max_attempts": 5}
        assert config.max_pool_connections == 17
        assert client.meta.endpoint_url == moto_server.url
        assert client.meta.region_name == "eu-west-1"
    # A client made from the session itself gets the profile's Config too.
    plain = manager.session("tuned").client("sts")
    try:
        assert plain.meta.config.read_timeout == 7.5
        assert plain.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 5}
    finally:
        plain.close()


class _Failing(BaseHTTPRequestHandler):
    """Answers every request with HTTP 500 and counts them."""

    server: _CountingServer

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.requests += 1
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


class _CountingServer(ThreadingHTTPServer):
    daemon_threads = True
    requests = 0
    lock = threading.Lock()


T = TypeVar("T")


@pytest.fixture
def failing_endpoint() -> Iterator[_CountingServer]:
    with serving(_CountingServer(("127.0.0.1", 0), _Failing)) as server:
        yield server


@pytest.mark.parametrize("attempts", [1, 2])
def test_max_attempts_counts_every_attempt(
    make: Factory, failing_endpoint: _CountingServer, attempts: int
) -> None:
    host, port = failing_endpoint.server_address[:2]
    manager = make(
        {"flaky": {"access_key_id": "AKIAEXAMPLEFLAKY0001", "retries": {"max_attempts": attempts}}},
        {"endpoint_url": f"http://{host!s}:{port}"},
    )
    manager.store.put("flaky", REAL_LOOKING_SECRET)
    with pytest.raises(SessmanError):
        manager.whoami("flaky")
    assert failing_endpoint.requests == attempts


# -- caching -----------------------------------------------------------------------


def test_sessions_clients_and_resources_are_cached(make: Factory, moto_server: MotoServer) -> None:
    manager = make(
        {
            "a": {"access_key_id": "AKIAEXAMPLECACHEA001"},
            "b": {"access_key_id": "AKIAEXAMPLECACHEB001"},
        },
        {"endpoint_url": moto_server.url},
    )
    assert manager.session("a") is manager.session("a")
    assert manager.session("a") is not manager.session("b")
    s3 = manager.client("a", "s3")
    assert manager.client("a", "s3") is s3
    assert manager.client("a", "sts") is not s3
    assert manager.client("b", "s3") is not s3
    other_region = manager.client("a", "s3", region="eu-west-1")
    assert other_region is not s3
    assert other_region.meta.region_name == "eu-west-1"
    assert manager.client("a", "s3", region="eu-west-1") is other_region
    assert manager.client("a", "s3", region="us-east-1") is s3  # the profile's region
    assert manager.resource("a", "s3") is manager.resource("a", "s3")
    assert manager.resource("a", "s3") is not s3


def test_many_threads_build_each_session_once(make: Factory) -> None:
    names = [f"p{i:02d}" for i in range(60)]
    manager = make({n: {"access_key_id": f"AKIAEXAMPLEMANY{i:05d}"} for i, n in enumerate(names)})
    start = threading.Barrier(16)
    seen: dict[str, list[Any]] = {n: [] for n in names}
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        order = names[:]
        random.Random(seed).shuffle(order)
        try:
            start.wait()
            for name in order:
                seen[name].append(manager.session(name))
        except BaseException as exc:  # reported below, not lost in a thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(len(got) == 16 for got in seen.values())
    distinct = {id(session) for got in seen.values() for session in got}
    assert len(distinct) == 60
    for name, got in seen.items():
        assert all(session is got[0] for session in got), name
        assert got[0] is manager.session(name)
    # Every session parses service models through the one shared loader.
    loader = shared_loader()
    assert all(got[0]._session.get_component("data_loader") is loader for got in seen.values())


# -- open, close, release on a server without authentication --------------------------


def keys_and_role(make: Factory, server: MotoServer, role: str) -> SessionManager:
    manager = make(
        {
            "dev": {"access_key_id": "AKIAEXAMPLEOPEN00001"},
            "admin": {
                "source_profile": "dev",
                "role_arn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
                "role_session_name": "alice",
            },
            "plain-role": {
                "source_profile": "dev",
                "role_arn": f"arn:aws:iam::{ACCOUNT}:role/{role}Plain",
                "session_duration": 900,
            },
        },
        {"endpoint_url": server.url},
    )
    manager.store.put("dev", FAKE_SECRET)
    return manager


def assert_expires_in(expires: datetime, seconds: int) -> None:
    assert expires.tzinfo is not None
    expected = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    assert abs((expires - expected).total_seconds()) < 60, (expires, expected)


def test_open_a_keys_profile_gets_a_session_token(make: Factory, moto_server: MotoServer) -> None:
    manager = keys_and_role(make, moto_server, "OpenKeys")
    info = manager.open("dev", duration=1800)
    assert info.name == "dev"
    assert info.account == ACCOUNT
    assert info.arn == MOTO_USER_ARN
    assert info.user_id
    assert_expires_in(info.expires, 1800)
    assert_expires_in(manager.open("dev").expires, 3600)  # the default duration
    assert FAKE_SECRET not in repr(info)


def test_open_a_role_assumes_it(make: Factory, moto_server: MotoServer) -> None:
    manager = keys_and_role(make, moto_server, "OpenRole")
    info = manager.open("admin")
    assert info.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/OpenRole/alice"
    assert info.account == ACCOUNT
    assert info.user_id.endswith(":alice")
    assert_expires_in(info.expires, 3600)
    plain = manager.open("plain-role")  # session_duration 900, default session name
    assert plain.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/OpenRolePlain/sessman-plain-role"
    assert_expires_in(plain.expires, 900)
    assert_expires_in(manager.open("plain-role", duration=2000).expires, 2000)
    # whoami now signs with the open session.
    assert manager.whoami("admin").arn == info.arn


def test_open_stores_credentials_in_the_keyring_and_metadata_in_state(
    make: Factory, moto_server: MotoServer
) -> None:
    manager = keys_and_role(make, moto_server, "Stored")
    info = manager.open("admin")
    text = stored_session(manager, "admin")
    assert text is not None
    data = json.loads(text)
    assert set(data) == {"AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}
    expiration = datetime.fromisoformat(data["Expiration"].replace("Z", "+00:00"))
    assert expiration.utcoffset() == timedelta(0)
    assert abs((expiration - info.expires).total_seconds()) < 1
    secrets = [data["SecretAccessKey"], data["SessionToken"], FAKE_SECRET]

    record = manager.state.get("admin")
    assert record is not None
    assert (record.access_key_id, record.arn) == (data["AccessKeyId"], info.arn)
    assert stat.S_IMODE(manager.state.path.stat().st_mode) == 0o600
    files = [p for p in manager.state_dir.rglob("*") if p.is_file()]
    assert manager.state.path in files
    for path in files:
        content = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in content, path
    assert info.arn.encode() in manager.state.path.read_bytes()

    status = again(manager).status()
    assert status["admin"].session == "open"
    assert status["admin"].expires == record.expires
    assert status["dev"].session == "closed"
    assert status["dev"].secret == "stored"


def test_close_deletes_the_session_and_is_idempotent(
    make: Factory, moto_server: MotoServer
) -> None:
    manager = keys_and_role(make, moto_server, "Close")
    manager.open("dev")
    manager.open("admin")
    assert manager.close("dev") is True
    assert stored_session(manager, "dev") is None
    assert manager.state.get("dev") is None
    assert stored_session(manager, "admin") is not None  # the other one stays open
    assert manager.close("dev") is False
    assert manager.close("plain-role") is False  # never opened
    status = again(manager).status()
    assert status["dev"].session == "closed"
    assert status["admin"].session == "open"
    assert status["dev"].secret == "stored"  # the long-term key is not touched
    assert manager.whoami("dev").arn == MOTO_USER_ARN  # back on the long-term key


def test_close_closes_the_connection_pools(make: Factory, moto_server: MotoServer) -> None:
    manager = keys_and_role(make, moto_server, "Pools")
    manager.open("dev")
    sts = manager.client("dev", "sts")
    other = manager.client("admin", "sts")
    sts.get_caller_identity()
    other.get_caller_identity()
    session = manager.session("dev")
    assert pool_count(sts) == 1 and pool_count(other) == 1
    manager.close("dev")
    assert pool_count(sts) == 0
    assert pool_count(other) == 1  # another profile's client is left alone
    assert manager.client("dev", "sts") is not sts
    assert manager.session("dev") is not session


def test_release_frees_clients_but_sessions_stay_open(
    make: Factory, moto_server: MotoServer
) -> None:
    manager = keys_and_role(make, moto_server, "Release")
    info = manager.open("admin")
    sts = manager.client("admin", "sts")
    sts.get_caller_identity()
    session = manager.session("admin")
    assert pool_count(sts) == 1
    manager.release()
    assert pool_count(sts) == 0
    assert manager.session("admin") is not session
    assert manager.client("admin", "sts") is not sts
    assert stored_session(manager, "admin") is not None
    assert again(manager).status(["admin"])["admin"].session == "open"
    assert manager.whoami("admin").arn == info.arn  # still usable afterwards

    with again(manager) as scoped:
        client = scoped.client("admin", "sts")
        client.get_caller_identity()
        assert pool_count(client) == 1
    assert pool_count(client) == 0
    assert stored_session(manager, "admin") is not None


def test_a_role_chain_assumes_each_role_in_turn(make: Factory, moto_server: MotoServer) -> None:
    manager = make(
        {
            "base": {"access_key_id": "AKIAEXAMPLECHAIN0001"},
            "middle": {"source_profile": "base", "role_arn": f"arn:aws:iam::{ACCOUNT}:role/Mid"},
            "top": {"source_profile": "middle", "role_arn": f"arn:aws:iam::{ACCOUNT}:role/Top"},
        },
        {"endpoint_url": moto_server.url},
    )
    manager.store.put("base", FAKE_SECRET)
    assert manager.open("top").arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/Top/sessman-top"
    assert manager.whoami("middle").arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/Mid/sessman-middle"


def frozen_keys(manager: SessionManager, name: str) -> list[str]:
    credentials = manager.session(name).get_credentials()
    return [credentials.get_frozen_credentials().access_key for _ in range(2)]


def test_short_role_credentials_are_not_refreshed_on_every_use(
    make: Factory, moto_server: MotoServer
) -> None:
    manager = make(
        {
            "src": {"access_key_id": "AKIAEXAMPLEREFRESH01"},
            "short": {
                "source_profile": "src",
                "role_arn": f"arn:aws:iam::{ACCOUNT}:role/Short",
                "session_duration": 900,
            },
            "long": {"source_profile": "src", "role_arn": f"arn:aws:iam::{ACCOUNT}:role/Long"},
        },
        {"endpoint_url": moto_server.url},
    )
    manager.store.put("src", FAKE_SECRET)
    first, second = frozen_keys(manager, "long")
    assert first == second
    # 900 s is inside botocore's own 15 min window, but not inside sessman's
    # (half the session): the same credentials serve use after use.
    first, second = frozen_keys(manager, "short")
    assert first == second
    assert first.startswith("ASIA")
    # An open session this short is handed to botocore as is.
    manager.open("short", duration=900)
    record = manager.state.get("short")
    assert record is not None
    manager.release()
    assert frozen_keys(manager, "short") == [record.access_key_id] * 2
    assert manager.whoami("short").arn.endswith(":assumed-role/Short/sessman-short")


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
