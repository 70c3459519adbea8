"""The profiles file loader (SPEC 1, 2): every rule, good files, and fuzzing.

``BAD_FILES`` and ``GOOD_FILES`` are the shared corpus: the command-line tests
(test_cli_profiles.py) and the JSON Schema tests (test_schema.py) use them too.
"""

from __future__ import annotations

import copy
import dataclasses
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import FAKE_SECRET
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessman.config import BUILTIN_DEFAULTS, Config, Profile, Retries, load_config, parse_config
from sessman.errors import ConfigError, ProfileNotFound, SessmanError
from sessman.manager import SessionManager

ROOT = Path(__file__).resolve().parent.parent
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


BAD_FILES: list[Bad] = [
    # -- the file as a whole ------------------------------------------------
    Bad(
        "invalid-yaml",
        y("profiles:", "  a: {region: us-east-1", "  b: 1"),
        "invalid YAML",
        3,
        schema=False,
    ),
    Bad("invalid-yaml-tab", y("profiles:", "\ta: 1"), "invalid YAML", 2, schema=False),
    Bad("not-a-mapping", y("- a", "- b"), "the file must be a mapping", 1),
    Bad("scalar-document", y("just some text"), "the file must be a mapping", 1),
    Bad("empty-file", "", "the file is empty", None, hint="sessman init"),
    Bad("only-comments", y("# nothing", "# here"), "the file is empty", None, hint="sessman init"),
    Bad("two-documents", y("profiles: {}", "---", "x: 1"), "invalid YAML", 2, schema=False),
    Bad("no-profiles", y("version: 1", "keyring_service: s"), "no 'profiles:'", 1, hint="init"),
    Bad("empty-profiles", y("version: 1", "profiles: {}"), "'profiles:' is empty", 2),
    Bad("null-profiles", y("version: 1", "profiles:"), "profiles must be a mapping", 2),
    Bad("list-profiles", y("profiles: [a, b]"), "profiles must be a mapping", 1),
    Bad("version-2", y("version: 2", "profiles:", *keys_profile()), "one of 1", 1, key="version"),
    Bad(
        "version-string",
        y("version: '1'", "profiles:", *keys_profile()),
        "whole number",
        1,
        key="version",
    ),
    Bad(
        "version-float",
        y("version: 1.0", "profiles:", *keys_profile()),
        "whole number",
        1,
        key="version",
        schema=False,  # JSON Schema: 1.0 is an integer
    ),
    Bad(
        "unknown-top-key",
        y("version: 1", "profiles:", *keys_profile(), "colour: blue"),
        "unknown key",
        6,
        key="colour",
    ),
    Bad(
        "unknown-top-key-near-miss",
        y("profile:", *keys_profile()),
        "unknown key",
        1,
        key="profile",
        hint="did you mean 'profiles'?",
    ),
    Bad(
        "non-utf8",
        b"profiles:\n  a:\n    description: caf\xe9\n",
        "not UTF-8",
        None,
        schema=False,
    ),
    Bad(
        "empty-keyring-service",
        y("keyring_service: ''", "profiles:", *keys_profile()),
        "non-empty string",
        1,
        key="keyring_service",
    ),
    Bad(
        "bad-merge-key",
        y(
            "profiles:",
            "  a:",
            "    <<: 3",
            f"    access_key_id: {KEY_ID}",
            "    region: us-east-1",
        ),
        "merge key",
        3,
        profile="a",
        schema=False,
    ),
    Bad(
        "merge-of-itself",
        y(
            "profiles:",
            "  a: &a",
            "    <<: *a",
            f"    access_key_id: {KEY_ID}",
            "    region: us-east-1",
        ),
        "merge key",
        3,
        profile="a",
        schema=False,
    ),
    # -- profile names ------------------------------------------------------
    Bad(
        "path-like-name",
        y("profiles:", *keys_profile("../x")),
        "invalid profile name",
        2,
        profile="../x",
    ),
    Bad(
        "name-with-space",
        y("profiles:", *keys_profile("'my profile'")),
        "invalid profile name",
        2,
        profile="my profile",
    ),
    Bad(
        "name-starts-with-dash",
        y("profiles:", *keys_profile("-a")),
        "invalid profile name",
        2,
        profile="-a",
    ),
    Bad(
        "name-with-trailing-newline",
        y("profiles:", *keys_profile('"a\\n"')),
        "invalid profile name",
        2,
        profile="a\n",
        schema=False,  # python-jsonschema's re.search lets "$" match before a final newline
    ),
    Bad(
        "profile-not-a-mapping",
        y("profiles:", "  a: 3"),
        "must be a mapping",
        2,
        profile="a",
    ),
    Bad("profile-null", y("profiles:", "  a:"), "must be a mapping", 2, profile="a"),
    # -- unknown keys -------------------------------------------------------
    Bad(
        "unknown-profile-key",
        y("profiles:", "  a:", f"    access_key_id: {KEY_ID}", "    regoin: us-east-1"),
        "unknown key",
        4,
        profile="a",
        key="regoin",
        hint="did you mean 'region'?",
    ),
    Bad(
        "unknown-defaults-key",
        y("defaults:", "  read_timout: 5", "profiles:", *keys_profile()),
        "unknown key in defaults",
        2,
        key="read_timout",
        hint="did you mean 'read_timeout'?",
    ),
    Bad(
        "profile-only-key-in-defaults",
        y("defaults:", f"  access_key_id: {KEY_ID}", "profiles:", *keys_profile()),
        "unknown key in defaults",
        2,
        key="access_key_id",
    ),
    Bad(
        "unknown-retries-key",
        y("profiles:", *keys_profile("a", "    retries: {mode: standard, max_attempt: 3}")),
        "unknown key in retries",
        5,
        profile="a",
        key="retries.max_attempt",
        hint="did you mean 'max_attempts'?",
    ),
    # -- credential sources -------------------------------------------------
    Bad(
        "no-credential-source",
        y("profiles:", "  a:", "    region: us-east-1", "    description: nothing"),
        "no credential source",
        2,
        profile="a",
        hint="exactly one of",
    ),
    Bad(
        "two-credential-sources",
        y("profiles:", *keys_profile("a", "    aws_profile: other")),
        "choose one credential source",
        5,
        profile="a",
        key="aws_profile",
    ),
    Bad(
        "role-and-keys",
        y("profiles:", *keys_profile("b"), *keys_profile("a", f"    role_arn: {ROLE}")),
        "choose one credential source",
        8,
        profile="a",
        key="role_arn",
    ),
    Bad(
        "role-without-source-profile",
        y("profiles:", "  a:", f"    role_arn: {ROLE}", "    region: us-east-1"),
        "needs source_profile",
        3,
        profile="a",
        key="source_profile",
    ),
    Bad(
        "source-profile-without-role",
        y(
            "profiles:",
            *keys_profile("b"),
            "  a:",
            "    source_profile: b",
            "    region: us-east-1",
        ),
        "only goes with role_arn",
        6,
        profile="a",
        key="source_profile",
    ),
    Bad(
        "source-profile-with-keys",
        y("profiles:", *keys_profile("b"), *keys_profile("a", "    source_profile: b")),
        "only goes with role_arn",
        8,
        profile="a",
        key="source_profile",
    ),
    Bad(
        "external-id-without-role",
        y("profiles:", *keys_profile("a", "    external_id: xyz123")),
        "only goes with role_arn",
        5,
        profile="a",
        key="external_id",
    ),
    Bad(
        "mfa-with-aws-profile",
        y(
            "profiles:",
            "  a:",
            "    aws_profile: sso",
            "    mfa_serial: arn:aws:iam::123456789012:mfa/me",
            "    region: us-east-1",
        ),
        "~/.aws/config",
        4,
        profile="a",
        key="mfa_serial",
    ),
    Bad(
        "unknown-source-profile",
        y(
            "profiles:",
            *keys_profile("dev"),
            "  a:",
            "    source_profile: dve",
            f"    role_arn: {ROLE}",
            "    region: us-east-1",
        ),
        "unknown source profile 'dve'",
        6,
        profile="a",
        key="source_profile",
        hint="did you mean 'dev'?",
        schema=False,
    ),
    Bad(
        "source-cycle",
        y(
            "profiles:",
            "  a:",
            "    source_profile: b",
            f"    role_arn: {ROLE}",
            "    region: us-east-1",
            "  b:",
            "    source_profile: a",
            f"    role_arn: {ROLE}",
            "    region: us-east-1",
        ),
        "cycle: a -> b -> a",
        3,
        profile="a",
        key="source_profile",
        schema=False,
    ),
    Bad(
        "source-self-cycle",
        y(
            "profiles:",
            "  a:",
            "    source_profile: a",
            f"    role_arn: {ROLE}",
            "    region: us-east-1",
        ),
        "cycle: a -> a",
        3,
        profile="a",
        key="source_profile",
        schema=False,
    ),
    Bad(
        "long-cycle-behind-a-chain",
        y(
            "profiles:",
            *keys_profile("k"),
            "  a:",
            "    source_profile: b",
            f"    role_arn: {ROLE}",
            "    region: us-east-1",
            "  b:",
            "    source_profile: c",
            f"    role_arn: {ROLE}",
            "    region: us-east-1",
            "  c:",
            "    source_profile: b",
            f"    role_arn: {ROLE}",
            "    region: us-east-1",
        ),
        "cycle: a -> b -> c -> b",
        6,
        profile="a",
        key="source_profile",
        schema=False,
    ),
    # -- region ---------------------------------------------------------------
    Bad(
        "no-region-anywhere",
        y("defaults:", "  read_timeout: 5", "profiles:", "  a:", f"    access_key_id: {KEY_ID}"),
        "no region",
        4,
        profile="a",
        key="region",
    ),
    Bad(
        "bad-region-shape",
        y("profiles:", "  a:", f"    access_key_id: {KEY_ID}", "    region: US-East-1"),
        "not a valid region",
        4,
        profile="a",
        key="region",
    ),
    Bad(
        "region-without-number",
        y("defaults:", "  region: eu-central", "profiles:", "  a:", f"    access_key_id: {KEY_ID}"),
        "not a valid region",
        2,
        key="region",
    ),
    Bad(
        "region-not-a-string",
        y("profiles:", "  a:", f"    access_key_id: {KEY_ID}", "    region: 42"),
        "non-empty string",
        4,
        profile="a",
        key="region",
    ),
    # -- numbers --------------------------------------------------------------
    Bad(
        "timeout-zero",
        y("profiles:", *keys_profile("a", "    connect_timeout: 0")),
        "greater than 0",
        5,
        profile="a",
        key="connect_timeout",
    ),
    Bad(
        "timeout-negative",
        y("defaults:", "  read_timeout: -1.5", "profiles:", *keys_profile()),
        "greater than 0",
        2,
        key="read_timeout",
    ),
    Bad(
        "timeout-not-a-number",
        y("profiles:", *keys_profile("a", "    read_timeout: fast")),
        "must be a number",
        5,
        profile="a",
        key="read_timeout",
    ),
    Bad(
        "timeout-boolean",
        y("profiles:", *keys_profile("a", "    read_timeout: true")),
        "must be a number",
        5,
        profile="a",
        key="read_timeout",
    ),
    Bad(
        "timeout-nan",
        y("profiles:", *keys_profile("a", "    connect_timeout: .nan")),
        "finite",
        5,
        profile="a",
        key="connect_timeout",
        schema=False,  # JSON has no NaN
    ),
    Bad(
        "timeout-infinite",
        y("profiles:", *keys_profile("a", "    connect_timeout: .inf")),
        "finite",
        5,
        profile="a",
        key="connect_timeout",
    ),
    Bad(
        "retries-mode",
        y("profiles:", *keys_profile("a", "    retries: {mode: turbo}")),
        "legacy, standard, adaptive",
        5,
        profile="a",
        key="retries.mode",
    ),
    Bad(
        "retries-not-a-mapping",
        y("profiles:", *keys_profile("a", "    retries: 3")),
        "retries must be a mapping",
        5,
        profile="a",
    ),
    Bad(
        "max-attempts-0",
        y("profiles:", *keys_profile("a", "    retries:", "      max_attempts: 0")),
        "1 to 20",
        6,
        profile="a",
        key="retries.max_attempts",
    ),
    Bad(
        "max-attempts-21",
        y("defaults:", "  retries: {max_attempts: 21}", "profiles:", *keys_profile()),
        "1 to 20",
        2,
        key="retries.max_attempts",
    ),
    Bad(
        "max-attempts-string",
        y("profiles:", *keys_profile("a", "    retries: {max_attempts: '3'}")),
        "1 to 20",
        5,
        profile="a",
        key="retries.max_attempts",
    ),
    Bad(
        "session-duration-899",
        y("profiles:", *keys_profile("a", "    session_duration: 899")),
        "between 900 and 43200",
        5,
        profile="a",
        key="session_duration",
    ),
    Bad(
        "session-duration-43201",
        y("defaults:", "  session_duration: 43201", "profiles:", *keys_profile()),
        "between 900 and 43200",
        2,
        key="session_duration",
    ),
    Bad(
        "session-duration-fraction",
        y("profiles:", *keys_profile("a", "    session_duration: 3600.5")),
        "whole number",
        5,
        profile="a",
        key="session_duration",
    ),
    Bad(
        "pool-zero",
        y("profiles:", *keys_profile("a", "    max_pool_connections: 0")),
        "between 1 and 1000",
        5,
        profile="a",
        key="max_pool_connections",
    ),
    # -- other values ---------------------------------------------------------
    Bad(
        "tags-not-a-list",
        y("profiles:", *keys_profile("a", "    tags: prod")),
        "list of tags",
        5,
        profile="a",
        key="tags",
    ),
    Bad(
        "tag-with-space",
        y("profiles:", *keys_profile("a", "    tags: [ok, 'not ok']")),
        "invalid tag",
        5,
        profile="a",
        key="tags",
    ),
    Bad(
        "bad-role-arn",
        y(
            "profiles:",
            *keys_profile("b"),
            "  a:",
            "    source_profile: b",
            "    role_arn: arn:aws:iam::123:role/Admin",
            "    region: us-east-1",
        ),
        "not a valid role arn",
        7,
        profile="a",
        key="role_arn",
    ),
    Bad(
        "bad-endpoint-url",
        y("profiles:", *keys_profile("a", "    endpoint_url: ftp://example.com")),
        "not a valid endpoint url",
        5,
        profile="a",
        key="endpoint_url",
    ),
    Bad(
        "description-a-date",
        y("profiles:", *keys_profile("a", "    description: 2024-01-31")),
        "non-empty string",
        5,
        profile="a",
        key="description",
    ),
    Bad(
        "description-null",
        y("profiles:", *keys_profile("a", "    description:")),
        "non-empty string",
        5,
        profile="a",
        key="description",
    ),
    # -- secrets: refused wherever they are, never echoed --------------------
    Bad(
        "secret-access-key-in-profile",
        y("profiles:", *keys_profile("a", f"    secret_access_key: {FAKE_SECRET}")),
        "secrets never go in the profiles file",
        5,
        profile="a",
        key="secret_access_key",
        hint="sessman secret set a",
    ),
    Bad(
        "aws-secret-access-key-in-profile",
        y("profiles:", *keys_profile("prod", f"    aws_secret_access_key: {FAKE_SECRET}")),
        "secrets never go in the profiles file",
        5,
        profile="prod",
        key="aws_secret_access_key",
        hint="sessman secret set prod",
    ),
    Bad(
        "session-token-in-defaults",
        y("defaults:", f"  session_token: {FAKE_SECRET}", "profiles:", *keys_profile()),
        "secrets never go in the profiles file",
        2,
        key="session_token",
        hint="sessman secret set",
    ),
    Bad(
        "password-at-top",
        y(f"password: {FAKE_SECRET}", "profiles:", *keys_profile()),
        "secrets never go in the profiles file",
        1,
        key="password",
        hint="sessman secret set",
    ),
    Bad(
        "password-in-retries",
        y("profiles:", *keys_profile("a", "    retries:", f"      password: {FAKE_SECRET}")),
        "secrets never go in the profiles file",
        6,
        profile="a",
        key="retries.password",
        hint="sessman secret set a",
    ),
    Bad(
        "secret-capitalised",
        y("profiles:", *keys_profile("a", f"    Secret_Access_Key: {FAKE_SECRET}")),
        "secrets never go in the profiles file",
        5,
        profile="a",
        key="Secret_Access_Key",
        hint="sessman secret set a",
    ),
    Bad(
        "secret-pasted-as-key-id",
        y("profiles:", "  a:", f"    access_key_id: {FAKE_SECRET}", "    region: us-east-1"),
        "not a valid access key id",
        3,
        profile="a",
        key="access_key_id",
    ),
    Bad(
        "secret-expanded-into-region",
        y("profiles:", "  a:", f"    access_key_id: {KEY_ID}", "    region: ${LEAKY}"),
        "not a valid region",
        4,
        profile="a",
        key="region",
        schema=False,  # depends on the environment
        env={"LEAKY": FAKE_SECRET},
    ),
    # -- ${VAR} and duplicates ------------------------------------------------
    Bad(
        "unset-variable",
        y("profiles:", "  a:", f"    access_key_id: {KEY_ID}", "    region: ${SESSMAN_T_UNSET}"),
        "${SESSMAN_T_UNSET} is not set",
        4,
        profile="a",
        key="region",
        hint="export SESSMAN_T_UNSET=",
        schema=False,
    ),
    Bad(
        "duplicate-key",
        y("profiles:", *keys_profile("a", "    region: us-west-2")),
        "duplicate key",
        5,
        profile="a",
        key="region",
        schema=False,
    ),
    Bad(
        "duplicate-profile",
        y("profiles:", *keys_profile("a"), *keys_profile("a")),
        "duplicate key in profiles",
        5,
        key="a",
        schema=False,
    ),
    Bad(
        "duplicate-top-key",
        y("profiles:", *keys_profile("a"), "profiles:", *keys_profile("b")),
        "duplicate key",
        5,
        key="profiles",
        schema=False,
    ),
]


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
        lambda cfg: None,  # checked in detail below
    ),
]


def _write(tmp_path: Path, text: str | bytes, name: str = "profiles.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


# -- bad files ----------------------------------------------------------------


def test_the_corpus_is_big_and_distinct() -> None:
    assert len(BAD_FILES) >= 25
    assert len({b.id for b in BAD_FILES}) == len(BAD_FILES)
    assert len({b.text for b in BAD_FILES}) == len(BAD_FILES)


@pytest.mark.parametrize("bad", BAD_FILES, ids=lambda b: b.id)
def test_bad_file_is_a_config_error_naming_file_line_profile_key(
    bad: Bad, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in bad.env.items():
        monkeypatch.setenv(name, value)
    path = _write(tmp_path, bad.text)
    before = path.read_bytes()
    with pytest.raises(ConfigError) as info:
        load_config(path)
    exc = info.value
    assert (exc.path, exc.line, exc.profile, exc.key) == (str(path), bad.line, bad.profile, bad.key)
    assert exc.exit_code == 2
    where = f"{path}:{bad.line}: " if bad.line is not None else f"{path}: "
    assert str(exc).startswith(where), str(exc)
    if bad.profile is not None:
        assert f"profile {bad.profile!r}" in str(exc)
    if bad.key is not None:
        assert f"key {bad.key!r}" in str(exc)
    assert bad.message in str(exc)
    if bad.hint is not None:
        assert exc.hint is not None
        assert bad.hint in exc.hint
    for shown in (str(exc), repr(exc), exc.hint or ""):
        assert FAKE_SECRET not in shown
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "bad",
    [b for b in BAD_FILES if b.id in ("unknown-profile-key", "source-cycle", "no-profiles")],
    ids=lambda b: b.id,
)
def test_session_manager_load_refuses_bad_files_too(bad: Bad, tmp_path: Path) -> None:
    path = _write(tmp_path, bad.text)
    with pytest.raises(ConfigError) as info:
        SessionManager.load(path)
    assert info.value.line == bad.line


def test_the_secret_really_is_in_the_files_whose_errors_must_not_show_it() -> None:
    # Guards the "never echoed" assertions above against a corpus that lost its secrets.
    carrying = [b for b in BAD_FILES if FAKE_SECRET in str(b.text) or FAKE_SECRET in b.env.values()]
    assert len(carrying) >= 7


def test_missing_file_given_explicitly(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.path == str(path)
    assert "not found" in str(info.value)
    assert info.value.hint is not None
    assert "sessman init" in info.value.hint
    assert not path.exists()


def test_missing_file_discovered_names_every_path_tried(clean_env: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config()
    message = str(info.value)
    assert "profiles.yaml" in message
    assert str(clean_env / ".config" / "sessman" / "profiles.yaml") in message
    assert info.value.hint is not None
    assert "sessman init" in info.value.hint


def test_directory_instead_of_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "profiles.yaml"
    folder.mkdir()
    with pytest.raises(ConfigError) as info:
        load_config(folder)
    assert info.value.path == str(folder)
    assert "directory" in str(info.value)


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    # libyaml's composer recursion overflows the C stack (a segfault) past ~20,000
    # levels; in a child process, so that a regression fails this test only.
    code = (
        "import sys; from pathlib import Path\n"
        "from sessman.config import parse_config\n"
        "from sessman.errors import ConfigError\n"
        "for text in ('[' * 100_000, 'profiles: ' + '[' * 40_000 + ']' * 40_000):\n"
        "    try:\n"
        "        parse_config(text, Path('deep.yaml'))\n"
        "    except ConfigError as exc:\n"
        "        print(exc.path, exc.line)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    # Which layer stops it (libyaml's own limit or sessman's) and its wording vary
    # between PyYAML releases; the behaviour does not: a ConfigError naming the line.
    assert proc.stdout.splitlines() == ["deep.yaml 1"] * 2


def test_deeply_nested_merge_keys_are_an_error_not_a_crash() -> None:
    depth = 3000
    text = y("profiles:", "  a: " + "{<<: " * depth + "{region: us-east-1}" + "}" * depth)
    with pytest.raises(ConfigError) as info:
        parse_config(text, Path("merge.yaml"))
    assert (info.value.path, info.value.line) == ("merge.yaml", 2)


def test_patterns_match_the_whole_value() -> None:
    # "$" in a Python regex also matches before a final newline.
    text = y("profiles:", "  a:", f"    access_key_id: {KEY_ID}", '    region: "us-east-1\\n"')
    with pytest.raises(ConfigError, match="not a valid region"):
        parse_config(text, Path("nl.yaml"))
    text = y("profiles:", *keys_profile("a", '    tags: ["x\\n"]'))
    with pytest.raises(ConfigError, match="invalid tag"):
        parse_config(text, Path("nl.yaml"))


def test_parse_config_takes_the_environment_explicitly(monkeypatch: pytest.MonkeyPatch) -> None:
    text = y("profiles:", "  a:", f"    access_key_id: {KEY_ID}", "    region: ${R}")
    monkeypatch.setenv("R", "eu-north-1")
    assert parse_config(text, Path("x"), env={"R": "sa-east-1"}).profile("a").region == "sa-east-1"
    with pytest.raises(ConfigError, match=r"\$\{R\} is not set"):
        parse_config(text, Path("x"), env={})
    assert parse_config(text, Path("x")).profile("a").region == "eu-north-1"


# -- good files -----------------------------------------------------------------


@pytest.mark.parametrize("good", GOOD_FILES, ids=lambda g: g.id)
def test_good_file_loads(good: Good, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in good.env.items():
        monkeypatch.setenv(name, value)
    path = _write(tmp_path, good.text)
    cfg = load_config(path)
    assert isinstance(cfg, Config)
    assert cfg.path == path
    assert cfg.profiles
    good.check(cfg)


def test_example_file_has_four_profiles_of_each_kind() -> None:
    cfg = load_config(EXAMPLE)
    assert {n: p.kind for n, p in cfg.profiles.items()} == {
        "dev": "keys",
        "prod-admin": "role",
        "sso": "aws-profile",
        "local": "keys",
    }
    admin = cfg.profile("prod-admin")
    assert (admin.region, admin.read_timeout, admin.connect_timeout) == ("us-east-1", 30, 15)
    assert admin.retries == Retries("standard", 5)
    assert cfg.profile("dev").region == "eu-central-1"
    assert cfg.profile("local").endpoint_url == "http://127.0.0.1:5000"
    assert cfg.names(tag="prod") == ["prod-admin"]


def test_utf8_bom_and_crlf_are_accepted(tmp_path: Path) -> None:
    text = y("profiles:", *keys_profile("a", "    description: café")).replace("\n", "\r\n")
    path = _write(tmp_path, "\ufeff".encode() + text.encode("utf-8"))
    assert load_config(path).profile("a").description == "café"


def test_profiles_are_frozen_and_lookups_fail_clearly(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, y("profiles:", *keys_profile("dev"))))
    profile = cfg.profile("dev")
    assert isinstance(profile, Profile)
    with pytest.raises(dataclasses.FrozenInstanceError):
        profile.region = "eu-west-1"  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.profiles["x"] = profile  # type: ignore[index]
    with pytest.raises(ProfileNotFound) as info:
        cfg.profile("dve")
    assert isinstance(info.value, SessmanError)
    assert info.value.exit_code == 2
    assert info.value.hint == "did you mean 'dev'?"


def test_discovery_order(clean_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = clean_env / ".config" / "sessman" / "profiles.yaml"
    user.parent.mkdir(parents=True)
    user.write_text(y("profiles:", *keys_profile("user")))
    assert load_config().names() == ["user"]
    (tmp_path / "profiles.yaml").write_text(y("profiles:", *keys_profile("local")))
    assert load_config().names() == ["local"]  # ./profiles.yaml first
    env_file = _write(tmp_path, y("profiles:", *keys_profile("env")), "elsewhere.yaml")
    monkeypatch.setenv("SESSMAN_CONFIG", str(env_file))
    assert load_config().names() == ["env"]
    assert SessionManager.load().names() == ["env"]


def test_loading_does_not_modify_or_create_files(tmp_path: Path) -> None:
    path = _write(tmp_path, EXAMPLE.read_text(encoding="utf-8"))
    before = sorted(p.name for p in tmp_path.rglob("*"))
    load_config(path)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert path.read_text(encoding="utf-8") == EXAMPLE.read_text(encoding="utf-8")


# -- fuzzing ---------------------------------------------------------------------

FUZZ = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FUZZ_ENV = {"REGION": "eu-west-1", "EMPTY": ""}

KNOWN_KEYS = sorted(
    {
        "version",
        "keyring_service",
        "keyring_backend",
        "defaults",
        "profiles",
        "region",
        "connect_timeout",
        "read_timeout",
        "retries",
        "mode",
        "max_attempts",
        "max_pool_connections",
        "session_duration",
        "endpoint_url",
        "description",
        "tags",
        "access_key_id",
        "role_arn",
        "source_profile",
        "external_id",
        "mfa_serial",
        "role_session_name",
        "aws_profile",
        "regoin",
        "password",
        "secret_access_key",
        "<<",
        "a",
        "b",
    }
)
INTERESTING = [
    None,
    True,
    False,
    0,
    1,
    -1,
    20,
    21,
    899,
    900,
    43200,
    43201,
    0.5,
    1.0,
    1e300,
    "",
    "us-east-1",
    "US-EAST-1",
    "legacy",
    "turbo",
    "a",
    "b",
    "c",
    "${REGION}",
    "${UNSET_X}",
    "${EMPTY}",
    KEY_ID,
    ROLE,
    "http://127.0.0.1:5000",
    "arn:aws:iam::123456789012:mfa/me",
    [],
    {},
    ["prod"],
    [[1]],
    {"mode": "standard"},
    {"max_attempts": 3},
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(INTERESTING),
)
keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=12))
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)
    ),
    max_leaves=25,
)


def base_document() -> dict[str, Any]:
    """A valid document (as YAML would load it) to mutate."""
    return {
        "version": 1,
        "keyring_service": "sessman",
        "defaults": {
            "region": "eu-central-1",
            "connect_timeout": 5,
            "retries": {"mode": "standard", "max_attempts": 4},
        },
        "profiles": {
            "a": {"access_key_id": KEY_ID, "tags": ["x", "y"], "description": "keys"},
            "b": {"source_profile": "a", "role_arn": ROLE, "session_duration": 900},
            "c": {
                "aws_profile": "sso",
                "region": "us-east-1",
                "retries": {"max_attempts": 20},
            },
        },
    }


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((*prefix, k))
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append((*prefix, i))
            out.extend(_paths(v, (*prefix, i)))
    return out


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        doc = doc[step]
    return doc


mutations = st.lists(
    st.tuples(
        st.sampled_from(["drop", "rename", "set"]),
        st.integers(min_value=0, max_value=10_000),
        keys,
        documents,
    ),
    min_size=1,
    max_size=3,
)


def mutate(doc: Any, steps: list[tuple[str, int, str, Any]]) -> Any:
    """Apply drop/rename/retype steps to ``doc`` (in place) and return it."""
    for op, index, new_key, value in steps:
        paths = _paths(doc)
        if not paths:
            return value
        path = paths[index % len(paths)]
        parent, last = _parent(doc, path), path[-1]
        if op == "set":
            # A copy: hypothesis may hand the same object to two steps, and
            # setting it inside itself would make the document a cycle.
            parent[last] = copy.deepcopy(value)
        elif isinstance(parent, dict):
            moved = parent.pop(last)
            if op == "rename":
                parent[new_key] = moved
        else:
            del parent[last]
    return doc


def assert_loader_total(text: str | bytes) -> Config | None:
    """The loader returns a Config or raises ConfigError; nothing else."""
    try:
        cfg = parse_config(text, Path("fuzz.yaml"), env=FUZZ_ENV)
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.yaml")
        assert exc.exit_code == 2
        return None
    assert isinstance(cfg, Config)
    assert cfg.profiles
    for profile in cfg.profiles.values():
        assert profile.kind in ("keys", "role", "aws-profile")
        assert 1 <= profile.retries.max_attempts <= 20
    return cfg


def dump(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


@FUZZ
@given(st.binary(max_size=400))
def test_fuzz_random_bytes(data: bytes) -> None:
    assert_loader_total(data)


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("ab:- \n\t[]{},&*!<>|'\"#%@`?$")), max_size=80))
def test_fuzz_random_yaml_characters(text: str) -> None:
    assert_loader_total(text)


@FUZZ
@given(documents)
def test_fuzz_random_documents(doc: Any) -> None:
    assert_loader_total(dump(doc))
    assert_loader_total(dump({"profiles": doc}))


@FUZZ
@given(mutations)
def test_fuzz_mutated_valid_document(steps: list[tuple[str, int, str, Any]]) -> None:
    assert assert_loader_total(dump(base_document())) is not None
    assert_loader_total(dump(mutate(base_document(), steps)))


def test_mutations_do_change_the_document() -> None:
    doc = mutate(base_document(), [("rename", 5, "regoin", None)])
    assert doc != base_document()
    with pytest.raises(ConfigError):
        parse_config(dump(mutate(base_document(), [("drop", 1, "", None)] * 2)), Path("m"))
