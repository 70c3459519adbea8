"""The real-parts fixtures are real: servers authenticate, time out, store secrets.

If one of these fails, every test built on the fixtures proves less than it
claims, so the properties the suite relies on are checked here directly.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError
from support.infra import MotoAuthServer, MotoServer, SecretService

from bench.latency_proxy import LatencyProxy

ACCOUNT = "123456789012"
ONE_ATTEMPT = {"mode": "standard", "total_max_attempts": 1}


@contextlib.contextmanager
def client(
    service: str,
    url: str,
    key: str = "testing",
    secret: str = "testing",
    *,
    token: str | None = None,
    config: Config | None = None,
) -> Iterator[Any]:
    """A boto3 client with explicit credentials (never the default session), closed after."""
    session = boto3.session.Session(
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        region_name="us-east-1",
    )
    made = session.client(service, endpoint_url=url, config=config or Config(retries=ONE_ATTEMPT))
    try:
        yield made
    finally:
        made.close()


def test_auth_server_rejects_a_wrong_secret(moto_auth_server: MotoAuthServer) -> None:
    wrong = moto_auth_server.secret_access_key[::-1]
    with (
        client("sts", moto_auth_server.url, moto_auth_server.access_key_id, wrong) as sts,
        pytest.raises(ClientError) as info,
    ):
        sts.get_caller_identity()
    assert info.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_auth_server_accepts_the_right_secret(moto_auth_server: MotoAuthServer) -> None:
    key, secret = moto_auth_server.access_key_id, moto_auth_server.secret_access_key
    with client("sts", moto_auth_server.url, key, secret) as sts:
        identity = sts.get_caller_identity()
    assert (
        identity["Arn"] == moto_auth_server.user_arn == f"arn:aws:iam::{ACCOUNT}:user/sessman-test"
    )
    with client("iam", moto_auth_server.url, key, secret) as iam:
        assert iam.get_user()["User"]["UserName"] == moto_auth_server.user_name


def test_auth_server_rejects_an_unknown_key(moto_auth_server: MotoAuthServer) -> None:
    with (
        client("sts", moto_auth_server.url, "AKIAUNKNOWN000000000", "x") as sts,
        pytest.raises(ClientError) as info,
    ):
        sts.get_caller_identity()
    assert info.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_no_auth_server_issues_session_tokens_and_roles(moto_server: MotoServer) -> None:
    with client("sts", moto_server.url) as sts:
        creds = sts.get_session_token(DurationSeconds=900)["Credentials"]
        assumed = sts.assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/Deployer", RoleSessionName="infra-test"
        )
    assert assumed["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/infra-test"
    )
    key, secret, token = creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    with client("sts", moto_server.url, key, secret, token=token) as sts:
        assert sts.get_caller_identity()["Account"] == ACCOUNT


def test_hanging_endpoint_times_out_in_about_the_read_timeout(hanging_endpoint: str) -> None:
    config = Config(read_timeout=1, connect_timeout=1, retries=ONE_ATTEMPT)
    with client("sts", hanging_endpoint, config=config) as sts:
        started = time.monotonic()
        with pytest.raises(ReadTimeoutError):
            sts.get_caller_identity()
        elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 5


@pytest.mark.secretservice
def test_secret_service_round_trip(secret_service: SecretService) -> None:
    from keyring.backends.SecretService import Keyring

    assert secret_service.env["DBUS_SESSION_BUS_ADDRESS"].startswith("unix:path=")
    store = Keyring()
    store.set_password("sessman-infra", "Prod", "s3cret")
    try:
        assert store.get_password("sessman-infra", "Prod") == "s3cret"
        assert store.get_password("sessman-infra", "prod") is None  # case kept
    finally:
        store.delete_password("sessman-infra", "Prod")
    assert store.get_password("sessman-infra", "Prod") is None


def test_latency_proxy_forwards_and_delays(moto_server: MotoServer) -> None:
    with LatencyProxy(moto_server.url, delay=0.2) as proxy, client("sts", proxy.url) as sts:
        started = time.monotonic()
        identity = sts.get_caller_identity()
        elapsed = time.monotonic() - started
    assert identity["Account"] == ACCOUNT
    assert elapsed >= 0.2


def test_latency_proxy_keeps_signatures_valid(moto_auth_server: MotoAuthServer) -> None:
    key, secret = moto_auth_server.access_key_id, moto_auth_server.secret_access_key
    with LatencyProxy(moto_auth_server.url, delay=0) as proxy:
        with client("sts", proxy.url, key, secret) as sts:
            assert sts.get_caller_identity()["Arn"] == moto_auth_server.user_arn
        with client("sts", proxy.url, key, secret[::-1]) as sts, pytest.raises(ClientError) as info:
            sts.get_caller_identity()
    assert info.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_latency_proxy_forwards_bodies_and_heads(moto_server: MotoServer) -> None:
    body = bytes(range(256)) * 1024
    with LatencyProxy(moto_server.url, delay=0) as proxy, client("s3", proxy.url) as s3:
        s3.create_bucket(Bucket="infra-proxy")
        s3.put_object(Bucket="infra-proxy", Key="blob", Body=body)
        assert s3.head_object(Bucket="infra-proxy", Key="blob")["ContentLength"] == len(body)
        assert s3.get_object(Bucket="infra-proxy", Key="blob")["Body"].read() == body
        s3.delete_object(Bucket="infra-proxy", Key="blob")
        s3.delete_bucket(Bucket="infra-proxy")


def test_latency_proxy_serves_32_requests_at_once(moto_server: MotoServer) -> None:
    delay, workers = 0.3, 32
    pool = Config(retries=ONE_ATTEMPT, max_pool_connections=workers)
    with (
        LatencyProxy(moto_server.url, delay=delay) as proxy,
        client("sts", proxy.url, config=pool) as sts,
        ThreadPoolExecutor(workers) as executor,
    ):
        started = time.monotonic()
        results = list(executor.map(lambda _: sts.get_caller_identity(), range(workers)))
        elapsed = time.monotonic() - started
    assert len(results) == workers
    assert elapsed < workers * delay / 4  # serial would take 9.6 s
