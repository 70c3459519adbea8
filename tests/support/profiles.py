"""Profiles files for the tests: the repository's example, YAML builders and the good-file corpus.

``GOOD_FILES`` (with ``BAD_FILES`` of ``Bad`` files in bad_files.py) is the corpus the loader
tests (test_config.py), the command-line tests and the JSON Schema tests
(test_schema.py) all hold sessman to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sessman.config import BUILTIN_DEFAULTS, Config, Retries

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "profiles.example.yaml"
KEY_ID = "AKIAIOSFODNN7EXAMPLE"
ROLE = "arn:aws:iam::123456789012:role/Admin"


def y(*lines: str) -> str:
    """A YAML text, one argument per line, so that line numbers can be counted."""
    return "\n".join(lines) + "\n"


def keys_profile(name: str = "a", *extra: str) -> tuple[str, ...]:
    """Lines of a valid long-term-keys profile under ``profiles:`` (3 lines + extra)."""
    return (f"  {name}:", f"    access_key_id: {KEY_ID}", "    region: us-east-1", *extra)


@dataclass(frozen=True)
class Bad:
    """A profiles file the loader must refuse, and what the error must say."""

    id: str
    text: str | bytes
    message: str  # a fragment of the message
    line: int | None
    profile: str | None = None
    key: str | None = None
    hint: str | None = None  # a fragment of the hint, when one is required
    schema: bool = True  # False: JSON Schema cannot express this rule
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Good:
    """A profiles file the loader must accept, and a check of what it gives."""

    id: str
    text: str
    check: Callable[[Config], None]
    env: dict[str, str] = field(default_factory=dict)


def _check_merge(cfg: Config) -> None:
    a, b = cfg.profile("a"), cfg.profile("b")
    assert (a.region, a.read_timeout, a.connect_timeout) == ("eu-west-1", 30, 7)
    assert (b.region, b.read_timeout, b.connect_timeout) == ("eu-central-1", 12, 7)
    assert a.retries == Retries(mode="adaptive", max_attempts=2)  # mode from defaults
    assert b.retries == Retries(mode="adaptive", max_attempts=9)
    assert a.max_pool_connections == BUILTIN_DEFAULTS["max_pool_connections"]
    assert a.session_duration == 7200
    assert b.session_duration == BUILTIN_DEFAULTS["session_duration"]


def _check_builtin(cfg: Config) -> None:
    p = cfg.profile("a")
    assert p.retries == Retries(mode="legacy", max_attempts=3)
    assert (p.connect_timeout, p.read_timeout) == (10, 60)
    assert p.kind == "keys"
    assert p.tags == ()
    assert p.description is None


def _check_env(cfg: Config) -> None:
    p = cfg.profile("a")
    assert p.region == "ap-southeast-2"
    assert p.description == "team-blue in ap-southeast-2 ($HOME stays, $ too)"
    assert p.endpoint_url == "http://127.0.0.1:4566"
    assert cfg.keyring_service == "svc-team-blue"


def _check_anchors(cfg: Config) -> None:
    assert cfg.names() == ["base", "copy", "both"]
    copy = cfg.profile("copy")
    assert copy.access_key_id == KEY_ID
    # The profile's own key wins over the merged one; an earlier merged mapping over a later one.
    assert (copy.region, copy.read_timeout, copy.description) == ("us-west-2", 21, "a copy")
    assert cfg.profile("base").read_timeout == 20
    both = cfg.profile("both")
    assert (both.region, both.connect_timeout, both.read_timeout) == ("us-west-2", 3, 20)
    assert both.tags == ("x",)


def _check_tags(cfg: Config) -> None:
    assert cfg.profile("a").tags == ("prod", "eu", "team:blue/x=1+2")
    assert cfg.names(tag="prod") == ["a", "c"]
    assert cfg.names(tag="eu") == ["a"]
    assert cfg.names(tag="nope") == []
    assert cfg.names() == ["a", "b", "c"]


def _check_kinds(cfg: Config) -> None:
    kinds = {n: p.kind for n, p in cfg.profiles.items()}
    assert kinds == {"k": "keys", "r1": "role", "r2": "role", "sso": "aws-profile"}
    r2 = cfg.profile("r2")
    assert (r2.source_profile, r2.role_arn, r2.external_id) == ("r1", ROLE, "ext-id_1")
    assert r2.role_session_name == "alice"
    assert cfg.profile("sso").aws_profile == "my-sso"
    assert cfg.profile("k").mfa_serial == "arn:aws:iam::123456789012:mfa/me"


def _check_keyring(cfg: Config) -> None:
    assert cfg.keyring_service == "other-service"
    assert cfg.keyring_backend == "keyring.backends.SecretService.Keyring"


def _check_names(cfg: Config) -> None:
    assert cfg.names() == ["A.b_c-1", "9lives", "true"]


GOOD_FILES: list[Good] = [
    Good(
        "defaults-merged",
        y(
            "version: 1",
            "defaults:",
            "  region: eu-central-1",
            "  connect_timeout: 7",
            "  read_timeout: 12",
            "  retries: {mode: adaptive, max_attempts: 9}",
            "profiles:",
            "  a:",
            f"    access_key_id: {KEY_ID}",
            "    region: eu-west-1",
            "    read_timeout: 30",
            "    session_duration: 7200",
            "    retries: {max_attempts: 2}",
            "  b:",
            f"    access_key_id: {KEY_ID}",
        ),
        _check_merge,
    ),
    Good(
        "builtin-defaults",
        y("profiles:", *keys_profile("a", "    retries: {mode: legacy}")),
        _check_builtin,
    ),
    Good(
        "env-expansion",
        y(
            "keyring_service: svc-${TEAM}",
            "profiles:",
            "  a:",
            f"    access_key_id: {KEY_ID}",
            "    region: ${REGION}",
            "    description: ${TEAM} in ${REGION} ($HOME stays, $ too)",
            "    endpoint_url: http://${HOST}:4566",
        ),
        _check_env,
        env={"TEAM": "team-blue", "REGION": "ap-southeast-2", "HOST": "127.0.0.1"},
    ),
    Good(
        "anchors-and-merge-keys",
        y(
            "profiles:",
            "  base: &base",
            f"    access_key_id: {KEY_ID}",
            "    region: us-west-2",
            "    read_timeout: 20",
            "  copy:",
            "    <<: *base",
            "    description: a copy",
            "    read_timeout: 21",
            "  both:",
            "    <<: [*base, {connect_timeout: 3, read_timeout: 99}]",
            "    tags: &tags [x]",
        ),
        _check_anchors,
    ),
    Good(
        "tags",
        y(
            "profiles:",
            *keys_profile("a", "    tags: [prod, eu, prod, 'team:blue/x=1+2']"),
            *keys_profile("b", "    tags: []"),
            *keys_profile("c", "    tags:", "      - prod"),
        ),
        _check_tags,
    ),
    Good(
        "every-kind",
        y(
            "defaults: {region: us-east-1}",
            "profiles:",
            "  k:",
            f"    access_key_id: {KEY_ID}",
            "    mfa_serial: arn:aws:iam::123456789012:mfa/me",
            "  r1:",
            "    source_profile: k",
            f"    role_arn: {ROLE}",
            "  r2:",
            "    source_profile: r1",
            f"    role_arn: {ROLE}",
            "    external_id: ext-id_1",
            "    role_session_name: alice",
            "  sso:",
            "    aws_profile: my-sso",
        ),
        _check_kinds,
    ),
    Good(
        "keyring-settings",
        y(
            "keyring_service: other-service",
            "keyring_backend: keyring.backends.SecretService.Keyring",
            "profiles:",
            *keys_profile(),
        ),
        _check_keyring,
    ),
    Good(
        "odd-but-valid-names",
        y(
            "profiles:",
            *keys_profile("A.b_c-1"),
            *keys_profile("'9lives'"),
            *keys_profile("'true'"),
        ),
        _check_names,
    ),
    Good(
        "example-file",
        EXAMPLE.read_text(encoding="utf-8"),
        lambda cfg: None,  # checked in detail in test_config.py
    ),
]
