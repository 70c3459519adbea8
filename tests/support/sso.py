"""The IAM Identity Center setups of the SSO tests, against the fake in ssofake.py.

``setup`` (one account, one role, a profiles file in SESSMAN_CONFIG) and
``populated`` (24 accounts, paged and throttled, signed in) are fixtures;
the modules that use them import them by name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from sessman.manager import SessionManager
from sessman.sso import tokens
from sessman.sso.http import RateLimiter
from sessman.sso.populate import populate as run
from support.ssofake import SsoFake

START_URL = "https://corp.awsapps.example.invalid/start"
DEV_ACCOUNT = "111111111111"


def profiles_text(fake: SsoFake) -> str:
    return f"""\
# Corporate sign-in (this comment must survive)
version: 1
keyring_service: sessman-sso-test
defaults:
  region: us-east-1
  endpoint_url: {fake.moto_url}   # STS and clients go to moto
sso_sessions:
  corp:                           # our Identity Center
    start_url: {START_URL}
    region: eu-west-1
    endpoint_url: {fake.url}
profiles:
  # hand-written sso profile
  dev:
    sso_session: corp
    sso_account_id: "{DEV_ACCOUNT}"
    sso_role_name: Developer
  chained:                        # a role assumed with dev's credentials
    source_profile: dev
    role_arn: arn:aws:iam::123456789012:role/Chained
# trailing comment
"""


@pytest.fixture
def setup(sso_fake: SsoFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SsoFake:
    """The fake with one assignment, and a profiles file pointing at it (SESSMAN_CONFIG)."""
    sso_fake.assignments = {DEV_ACCOUNT: ("Development", ["Developer"])}
    path = tmp_path / "profiles.yaml"
    path.write_text(profiles_text(sso_fake))
    monkeypatch.setenv("SESSMAN_CONFIG", str(path))
    for name in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    return sso_fake


def manager() -> SessionManager:
    return SessionManager.load(os.environ["SESSMAN_CONFIG"], note=None)


def login(sleeps: list[float] | None = None, **options: Any) -> tokens.LoginResult:
    """Sign in through the library, recording the polling sleeps instead of sleeping."""
    mgr = manager()
    recorded = sleeps if sleeps is not None else []
    return tokens.login(
        mgr.config.sso_session("corp"),
        mgr.store,
        show=lambda line: None,
        sleep=recorded.append,
        **options,
    )


def files_under(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob("*") if p.is_file()]


def assert_nowhere(secrets: list[str], *roots: Path) -> None:
    assert secrets
    for path in files_under(*roots):
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, f"{secret} found in {path}"


HAND_WRITTEN = """\
  sso-Account-01.ReadOnly:        # a hand-written profile that holds a generated name
    access_key_id: AKIAIOSFODNN7EXAMPLE
"""


def assignments(count: int) -> dict[str, tuple[str, list[str]]]:
    out: dict[str, tuple[str, list[str]]] = {}
    for i in range(1, count + 1):
        roles = ["ReadOnly"] + (["Admin+Ops"] if i % 3 == 0 else [])
        out[f"2000000000{i:02d}"] = (f"Account {i:02d}", roles)
    out[DEV_ACCOUNT] = ("Development", [f"Role{n}" for n in range(6)])  # two pages of roles
    return out


@pytest.fixture
def populated(sso_fake: SsoFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    sso_fake.assignments = assignments(24)
    sso_fake.page_size = 4
    sso_fake.throttle_every = 7
    path = tmp_path / "profiles.yaml"
    text = profiles_text(sso_fake).replace(
        "# trailing comment\n", HAND_WRITTEN + "# trailing comment\n"
    )
    path.write_text(text)
    monkeypatch.setenv("SESSMAN_CONFIG", str(path))
    login()
    return path


def quick(**options: Any) -> dict[str, Any]:
    """The same through the library, with the rate limit lifted so the test stays short."""
    mgr = SessionManager.load(os.environ["SESSMAN_CONFIG"], note=None)
    result = run(mgr.config, mgr.store, "corp", limiter=RateLimiter(1000), **options)
    return result.to_json()
