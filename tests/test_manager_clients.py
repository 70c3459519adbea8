"""SessionManager's clients over real HTTP: authentication, endpoints that fail, botocore Config, caching.

Secrets go through the real store (the encrypted file keyring the conftest
environment pins); AWS is a real ``moto.server`` process. A small local
server that answers HTTP 500 and counts the attempts stands in where moto
cannot; a silent socket and a refused port are the endpoints that do not
answer. Nothing in botocore is patched.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import pytest
from support._botocore import core_of
from support.fakes import FAKE_SECRET
from support.infra import MotoAuthServer, MotoServer, refused_url
from support.manager import (
    ACCOUNT,
    FAST_FAIL,
    REAL_LOOKING_SECRET,
    Factory,
    make_fixture,  # noqa: F401
)
from support.proxies import serving

from sessman._botocore import shared_loader
from sessman.errors import (
    AuthenticationFailed,
    EndpointUnreachable,
    ProfileNotFound,
    SecretNotFound,
    SessmanError,
)
from sessman.manager import SessionManager

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
    assert all(core_of(got[0]).get_component("data_loader") is loader for got in seen.values())
