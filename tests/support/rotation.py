"""The rotation tests' world: an IAM user of their own behind a FaultProxy, against moto_server.

``iam`` (the fixture user's admin IAM client) and ``setup`` (a profiles file for
one new user behind a proxy, its secret stored) are fixtures, registered under
those names; the modules that use them import ``iam_fixture`` and
``setup_fixture``.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sessman.manager import SessionManager
from support.cli import cli
from support.infra import MotoAuthServer
from support.proxies import FaultProxy, Reject, proxying

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


@pytest.fixture(name="iam")
def iam_fixture(moto_auth_server: MotoAuthServer) -> Iterator[Any]:
    client = admin_iam(moto_auth_server)
    with contextlib.closing(client):
        yield client


@pytest.fixture(name="setup")
def setup_fixture(tmp_path: Path, moto_auth_server: MotoAuthServer, iam: Any) -> Iterator[Setup]:
    user = make_user(iam)
    with proxying(moto_auth_server.url) as proxy:
        yield Setup(tmp_path, moto_auth_server.url, proxy, user)
