"""Values declared once and used everywhere: no second copy of a limit, a default or a rule.

Each test names a declaration (in :mod:`sessman.fileformat`, :mod:`sessman.shapes`,
:mod:`sessman.refresh`, ...) and checks that the places which used to write
the value again now take it from there.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import typing
from pathlib import Path
from typing import Any

import pytest
import typer

from sessman import fileformat as fmt
from sessman.cli.app import app
from sessman.config_cache import load_cached
from sessman.fieldcheck import problem
from sessman.model import (
    BUILTIN_DEFAULTS,
    DEFAULT_KEYRING_SERVICE,
    DEFAULT_SSO_SCOPES,
    Config,
    Kind,
    Retries,
    SsoSession,
)


def _option(command: str, name: str) -> Any:
    """The click parameter ``name`` of ``command`` (typer's click: read by attribute)."""
    found = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    return next(p for p in found.params if p.name == name)


def test_open_duration_limits_are_the_declared_session_duration() -> None:
    kind = _option("open", "duration").type
    assert (kind.min, kind.max) == fmt.SESSION_DURATION


def test_console_duration_limits_and_help_are_the_consoles_own() -> None:
    from sessman.lifecycle.console import CONSOLE_DURATION

    option = _option("console", "duration")
    assert (option.type.min, option.type.max) == CONSOLE_DURATION
    assert f"({CONSOLE_DURATION[0]}-{CONSOLE_DURATION[1]})" in (option.help or "")


def test_the_servers_timing_cap_is_the_longest_declared_session() -> None:
    from sessman.credserver import MAX_SECONDS

    assert fmt.SESSION_DURATION[1] == MAX_SECONDS


def _field(fields: tuple[fmt.Field, ...], name: str) -> fmt.Field:
    return next(f for f in fields if f.name == name)


def test_model_defaults_are_the_declared_defaults(tmp_path: Path) -> None:
    retries = _field(fmt.PROFILE_FIELDS, "retries").default
    assert Retries() == Retries(**retries) == Retries(**BUILTIN_DEFAULTS["retries"])
    service = _field(fmt.TOP_FIELDS, "keyring_service").default
    assert service == DEFAULT_KEYRING_SERVICE == Config(tmp_path).keyring_service
    scopes = _field(fmt.SSO_SESSION_FIELDS, "registration_scopes").default
    assert (
        scopes
        == DEFAULT_SSO_SCOPES
        == SsoSession("s", "https://x", "eu-west-1").registration_scopes
    )
    assert ", ".join(scopes) in _field(fmt.SSO_SESSION_FIELDS, "registration_scopes").description


def test_the_kinds_are_the_declared_source_kinds() -> None:
    assert set(typing.get_args(Kind)) == set(fmt.SOURCE_KINDS.values())
    assert tuple(fmt.SOURCE_KINDS) == fmt.CREDENTIAL_SOURCES


# -- the config cache re-checks with the loader's own check ---------------

FILE = """\
profiles:
  a:
    region: eu-west-1
    access_key_id: AKIAIOSFODNN7EXAMPLE
    retries: {mode: standard, max_attempts: 3}
    connect_timeout: 10
"""


def _resigned(path: Path, state: Path, change: tuple[str, str]) -> Config:
    """Load ``path`` through a cache entry whose body was changed and signed again."""
    load_cached(path, state)
    directory = state / "config-cache"
    secret = bytes.fromhex((directory / "cache.key").read_text())
    (entry_path,) = directory.glob("*.json")
    entry = json.loads(entry_path.read_text())
    good, bad = change
    assert good in entry["body"]
    body = entry["body"].replace(good, bad)
    mac = hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
    entry_path.write_text(json.dumps({"mac": mac, "body": body}))
    return load_cached(path, state)


@pytest.mark.parametrize(
    ("change", "used"),
    [
        (('"max_attempts": 3', f'"max_attempts": {fmt.MAX_ATTEMPTS[1]}'), True),
        (('"max_attempts": 3', f'"max_attempts": {fmt.MAX_ATTEMPTS[1] + 1}'), False),
        (('"max_attempts": 3', '"max_attempts": true'), False),
        (('"connect_timeout": 10', '"connect_timeout": 3600'), True),
        (('"connect_timeout": 10', '"connect_timeout": 0'), False),
        (('"sso_account_id": null', '"sso_account_id": "012345678901"'), False),  # needs sso
        (('"tags": []', '"tags": ["ok", "not ok"]'), False),
    ],
)
def test_a_resigned_cache_entry_passes_only_the_loaders_checks(
    tmp_path: Path, change: tuple[str, str], used: bool
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(FILE)
    loaded = _resigned(path, tmp_path / "state", change)
    profile = loaded.profile("a")
    from_entry = (profile.retries.max_attempts, profile.connect_timeout) != (3, 10)
    assert from_entry is used


def test_the_cache_and_the_loader_share_one_check() -> None:
    import sessman.config_cache as cache

    assert vars(cache)["problem"] is problem  # imported, not written again
    spec = _field(fmt.PROFILE_FIELDS, "session_duration")
    low, high = fmt.SESSION_DURATION
    assert problem(spec, low) is None and problem(spec, high) is None
    assert problem(spec, high + 1) == f"must be between {low} and {high}"


# -- key shapes: one declaration each, in shapes.py -----------------------

SECRETS = [
    ("wJalrXUtnFEMI/K7MDENG/bPxRfiCYSESSMANFAKE", True),  # AWS's 40 characters
    ("a" * 16, True),
    ("a" * 15, False),
    ("a" * 256, True),
    ("a" * 257, False),
    ("fake_secret.from-a-fake+endpoint=", True),
    ("with a space in it at all", False),
    ('quote"quote"quote"quote', False),
    ("wJalrXUtnFEMI/K7MDENG/bPxRfiCYSESSMANFAKE\n", False),
]


@pytest.mark.parametrize(("secret", "good"), SECRETS)
def test_every_secret_check_is_the_declared_shape(secret: str, good: bool, tmp_path: Path) -> None:
    from sessman.cli.secrets_cmd import _check_secret
    from sessman.errors import MalformedValue, UsageError
    from sessman.imports.aws import plan_aws_import
    from sessman.shapes import SECRET_ACCESS_KEY_PATTERN, check, fits

    assert fits(secret, "SecretAccessKey") is good
    assert (re.fullmatch(SECRET_ACCESS_KEY_PATTERN, secret) is not None) is good
    if good:
        assert check("SecretAccessKey", secret, "a test") == secret
        assert _check_secret(secret) == secret
    else:
        with pytest.raises(MalformedValue):
            check("SecretAccessKey", secret, "a test")
        with pytest.raises(UsageError):
            _check_secret(secret)
    credentials = tmp_path / "credentials"
    written = secret.replace("\n", "")  # an ini value is one line
    credentials.write_text(
        f"[a]\naws_access_key_id = AKIAIMPORTEXAMPLE001\naws_secret_access_key = {written}\n"
    )
    plan = plan_aws_import(credentials, None, target=tmp_path / "p.yaml")
    assert bool(plan.keys) is fits(written, "SecretAccessKey")


@pytest.mark.parametrize(
    "key_id", ["AKIAIOSFODNN7EXAMPLE", "ASIATEMPEXAMPLE00003", "GOOG1EXAMPLEKEYID0001"]
)
def test_a_pasted_key_id_is_told_by_the_declared_key_id_shape(key_id: str) -> None:
    from sessman.cli.secrets_cmd import _check_secret
    from sessman.errors import UsageError

    assert re.fullmatch(fmt.ACCESS_KEY_ID_PATTERN, key_id)
    with pytest.raises(UsageError, match="that is an access key id"):
        _check_secret(key_id)


def test_no_module_writes_a_key_shape_again() -> None:
    """Key shapes live in fields.py (key id) and shapes.py (secret); nowhere else."""
    root = Path(__file__).parent.parent / "sessman"
    own = {root / "fields.py", root / "shapes.py"}
    for path in sorted(root.rglob("*.py")):
        if path in own:
            continue
        text = path.read_text()
        assert not re.search(r"AKIA\|ASIA|\{16,\d+\}", text), path


# -- one writer of AWS's timestamps ---------------------------------------


def test_every_aws_timestamp_is_written_by_one_function() -> None:
    from datetime import datetime, timedelta, timezone

    from sessman.cli.render import iso
    from sessman.credentials import TemporaryCredentials
    from sessman.credserver import container_document
    from sessman.exports import process_fields
    from sessman.shapes import aws_timestamp, expiration

    later = datetime.now(timezone(timedelta(hours=2))).replace(microsecond=0) + timedelta(hours=1)
    text = aws_timestamp(later)
    assert text.endswith("Z") and expiration(text, "a test") == later
    creds = TemporaryCredentials("ASIATEMPEXAMPLE00003", "s" * 40, "t" * 40, later)
    assert process_fields(creds)["Expiration"] == text
    assert json.loads(container_document(creds, None))["Expiration"] == text
    assert iso(later) == text and iso(None) is None
    root = Path(__file__).parent.parent / "sessman"
    writers = [p for p in root.rglob("*.py") if "%Y-%m-%dT%H:%M:%SZ" in p.read_text()]
    assert writers == [root / "shapes.py"]


# -- one renewal rule ------------------------------------------------------


@pytest.mark.parametrize("duration", [900, 2400, 3600, 43200])
def test_credential_process_and_the_server_renew_by_one_rule(duration: int) -> None:
    from sessman import credserver, refresh
    from sessman.exports import process_min_ttl
    from sessman.model import Profile

    p = Profile("p", "role", "eu-west-1", 10, 60, Retries(), 10, duration)
    expected = min(refresh.RENEW_AHEAD, duration / 2)
    assert refresh.renew_ahead(duration) == expected
    assert process_min_ttl(p) == expected
    assert credserver.timing(duration, {}).ahead == expected
    assert credserver.RENEW_AHEAD is refresh.RENEW_AHEAD


def test_credential_process_help_says_the_declared_default() -> None:
    from sessman.refresh import RENEW_AHEAD

    option = _option("credential-process", "min_ttl")
    assert f"(default: {RENEW_AHEAD}, or half a shorter session)" in option.help


# -- one maker of clients signed with explicit credentials -----------------


class _Core:
    """A botocore session that records the clients asked of it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def create_client(self, service: str, **kwargs: Any) -> object:
        self.calls.append((service, kwargs))
        return object()


def test_rotation_and_the_sts_pool_make_signed_clients_alike(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from types import SimpleNamespace

    from botocore.config import Config as BotocoreConfig

    import sessman.lifecycle._clients as lifecycle_clients
    from sessman import stspool
    from sessman.credentials import Keys
    from sessman.model import Profile

    p = Profile("p", "keys", "eu-west-1", 10, 60, Retries(), 10, 3600, endpoint_url="http://x")
    creds = Keys("AKIAIOSFODNN7EXAMPLE", "s" * 40)
    pool_core, own_core = _Core(), _Core()
    monkeypatch.setattr(stspool, "core_session", lambda: pool_core)
    monkeypatch.setattr(lifecycle_clients, "core_session", lambda: own_core)
    stspool.StsPool(lambda name: BotocoreConfig()).client(p, creds)
    manager = SimpleNamespace(profile=lambda name: p, botocore_config=lambda name: BotocoreConfig())
    lifecycle_clients.client_with(manager, "p", "sts", creds)  # type: ignore[arg-type]
    ((service, pooled),) = pool_core.calls
    ((own_service, own),) = own_core.calls
    assert service == own_service == "sts"
    assert (
        {k: v for k, v in pooled.items() if k != "config"}
        == {k: v for k, v in own.items() if k != "config"}
        == {
            "region_name": "eu-west-1",
            "endpoint_url": "http://x",
            "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
            "aws_secret_access_key": "s" * 40,
            "aws_session_token": None,
        }
    )
