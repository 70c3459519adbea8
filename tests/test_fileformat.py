"""One declaration of the profiles file: everything else is derived from fileformat.

The loaded values (``Profile``, ``SsoSession``, ``Config``), the JSON Schema,
the loader's checks, ``sessman show`` and the shapes of values from outside
must each say the same fields and the same rules as :mod:`sessman.fileformat`;
these tests fail when one of them grows its own copy.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path
from typing import Any

import pytest
from support.cli import cli

from sessman import fileformat as fmt
from sessman import shapes
from sessman.binding import BOUND_FIELDS
from sessman.cli.profiles import show_data
from sessman.config import parse_config
from sessman.errors import ConfigError, MalformedValue
from sessman.imports.aws import plan_aws_import
from sessman.model import BUILTIN_DEFAULTS, Config, Profile, Retries, SsoSession
from sessman.yamlnodes import env_names

DECLARED = [f.name for f in fmt.PROFILE_FIELDS]
#: What a loaded profile has besides the declared keys: its name and its kind.
DERIVED = ["name", "kind"]
#: The Python type each kind of field is loaded as.
PYTHON_TYPES: dict[str, Any] = {
    "string": str,
    "account": str,
    "number": float,
    "integer": int,
    "tags": tuple[str, ...],
    "retries": Retries,
    "strings": tuple[str, ...],
}

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
FILE = f"""\
version: 1
defaults:
  region: eu-central-1
profiles:
  dev:
    access_key_id: {KEY_ID}
    tags: [a, b]
    description: the developer account
    endpoint_url: http://127.0.0.1:5000
  admin:
    source_profile: dev
    role_arn: arn:aws:iam::123456789012:role/Admin
    external_id: shared-external-id
    role_session_name: me
    mfa_serial: arn:aws:iam::123456789012:mfa/me
  portal:
    sso_session: corp
    sso_account_id: "012345678901"
    sso_role_name: ReadOnly
    generated_by: sso:corp
  other:
    aws_profile: elsewhere
sso_sessions:
  corp:
    start_url: https://d-1234567890.awsapps.com/start
    region: eu-west-1
"""


def _config() -> Config:
    return parse_config(FILE, Path("profiles.yaml"), env={})


def test_every_field_is_declared_once() -> None:
    for fields in (fmt.PROFILE_FIELDS, fmt.SSO_SESSION_FIELDS, fmt.TOP_FIELDS):
        names = [f.name for f in fields]
        assert len(names) == len(set(names))
    assert set(fmt.DEFAULTABLE) <= set(fmt.PROFILE_FIELDS)
    assert set(fmt.CREDENTIAL_SOURCES) <= set(DECLARED)
    assert set(fmt.SSO_PROFILE_KEYS) <= set(DECLARED)
    assert not fmt.SECRET_KEYS & set(DECLARED)


def test_profile_fields_are_the_declared_fields() -> None:
    fields = dataclasses.fields(Profile)
    # Fields with a default follow those without: the order is the dataclass's.
    assert {f.name for f in fields} == {*DERIVED, *DECLARED}
    assert len(fields) == len(DERIVED) + len(DECLARED)
    hints = typing.get_type_hints(Profile)
    for spec in fmt.PROFILE_FIELDS:
        expected = PYTHON_TYPES[spec.kind]
        assert hints[spec.name] in (expected, expected | None), spec.name


def test_profile_fields_always_set_are_the_defaulted_ones() -> None:
    """A field without a dataclass default is set by the built-in defaults or the loader."""
    required = {f.name for f in dataclasses.fields(Profile) if f.default is dataclasses.MISSING}
    assert required == {"name", "kind", "region", *BUILTIN_DEFAULTS}
    defaultable = {f.name for f in fmt.DEFAULTABLE}
    assert set(BUILTIN_DEFAULTS) <= defaultable
    assert "region" in defaultable


def test_sso_session_and_config_fields_are_the_declared_fields() -> None:
    assert [f.name for f in dataclasses.fields(SsoSession)] == [
        "name",
        *(f.name for f in fmt.SSO_SESSION_FIELDS),
    ]
    config = {f.name for f in dataclasses.fields(Config)}
    # version is checked and dropped; defaults are merged into the profiles.
    assert config == {"path"} | {f.name for f in fmt.TOP_FIELDS} - {"version", "defaults"}


def test_schema_properties_are_the_declared_fields() -> None:
    schema = fmt.json_schema()
    assert list(schema["properties"]) == [f.name for f in fmt.TOP_FIELDS]
    assert list(schema["$defs"]["profile"]["properties"]) == DECLARED
    defaults = schema["properties"]["defaults"]["properties"]
    assert list(defaults) == [f.name for f in fmt.DEFAULTABLE]
    sso = schema["properties"]["sso_sessions"]["additionalProperties"]
    assert list(sso["properties"]) == [f.name for f in fmt.SSO_SESSION_FIELDS]
    assert sso["required"] == list(fmt.SSO_SESSION_REQUIRED)
    duration = schema["$defs"]["profile"]["properties"]["session_duration"]
    assert (duration["minimum"], duration["maximum"]) == fmt.SESSION_DURATION
    assert f"{fmt.SESSION_DURATION[0]}-{fmt.SESSION_DURATION[1]}" in duration["description"]


def test_show_prints_exactly_the_declared_fields() -> None:
    config = _config()
    for name in config.names():
        data = show_data(config.profile(name))
        assert list(data) == DERIVED + DECLARED
    dev = show_data(config.profile("dev"))
    masked = [f.name for f in fmt.PROFILE_FIELDS if f.exposure == "masked"]
    assert masked == ["access_key_id"]
    assert dev["access_key_id"] == "AKIA…MPLE"
    # "unquoted" keeps a value out of error messages, not out of show.
    assert show_data(config.profile("admin"))["external_id"] == "shared-external-id"
    assert dev["retries"] == {"mode": "standard", "max_attempts": 3}
    assert dev["tags"] == ["a", "b"]


def test_show_text_lists_declared_fields_and_no_masked_value(tmp_path: Path) -> None:
    path = tmp_path / "profiles.yaml"
    path.write_text(FILE, encoding="utf-8")
    for name in ("dev", "admin", "portal", "other"):
        result = cli("show", name, config=path)
        assert result.exit_code == 0, result.stderr
        keys = [line.split()[0] for line in result.stdout.splitlines()[1:] if line.strip()]
        assert keys and set(keys) <= set(DERIVED + DECLARED), keys
        assert keys == [k for k in DERIVED + DECLARED if k in keys]  # declared order
        assert KEY_ID not in result.stdout
        data = json.loads(cli("show", name, "--json", config=path).stdout)
        assert list(data) == DERIVED + DECLARED


@pytest.mark.parametrize(
    ("source", "key", "value"),
    [
        ("", "access_key_id", "notakeyid-but-a-pasted-secret"),
        ("access_key_id: AKIAIOSFODNN7EXAMPLE, ", "external_id", "#pasted secret!"),
    ],
)
def test_fields_that_are_not_plain_are_never_quoted_in_errors(
    source: str, key: str, value: str
) -> None:
    assert next(f for f in fmt.PROFILE_FIELDS if f.name == key).exposure != "plain"
    text = f"profiles:\n  p: {{region: us-east-1, {source}{key}: '{value}'}}\n"
    if key == "external_id":  # it only goes with a role
        text = (
            "profiles:\n  base: {region: us-east-1, access_key_id: AKIAIOSFODNN7EXAMPLE}\n"
            "  p: {region: us-east-1, source_profile: base,"
            f" role_arn: 'arn:aws:iam::123456789012:role/R', {key}: '{value}'}}\n"
        )
    with pytest.raises(ConfigError, match=f"key '{key}': is not a valid") as caught:
        parse_config(text, Path("profiles.yaml"), env={})
    assert value not in str(caught.value)


@pytest.mark.parametrize("duration", [fmt.SESSION_DURATION[0] - 1, fmt.SESSION_DURATION[1] + 1])
def test_duration_bounds_come_from_the_declaration(duration: int, tmp_path: Path) -> None:
    text = FILE.replace("    role_session_name: me", f"    session_duration: {duration}")
    with pytest.raises(ConfigError, match="between 900 and 43200"):
        parse_config(text, Path("profiles.yaml"), env={})
    credentials = tmp_path / "credentials"
    credentials.write_text(
        f"[dev]\naws_access_key_id = {KEY_ID}\n"
        "aws_secret_access_key = wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY\n",
        encoding="utf-8",
    )
    aws_config = tmp_path / "config"
    aws_config.write_text(
        "[profile admin]\nsource_profile = dev\n"
        "role_arn = arn:aws:iam::123456789012:role/Admin\n"
        f"duration_seconds = {duration}\n",
        encoding="utf-8",
    )
    plan = plan_aws_import(credentials, aws_config, target=tmp_path / "profiles.yaml")
    assert [s.reason for s in plan.skipped] == ["its duration_seconds is not 900-43200"]


def test_shapes_of_values_from_outside_are_the_file_formats() -> None:
    for shape, pattern in (
        ("region", fmt.REGION_PATTERN),
        ("AccessKeyId", fmt.ACCESS_KEY_ID_PATTERN),
        ("Account", fmt.ACCOUNT_PATTERN),
    ):
        assert shapes._SHAPES[shape].pattern == pattern
    assert shapes.check("region", "eu-central-1", "test") == "eu-central-1"
    with pytest.raises(MalformedValue):
        shapes.check("region", "eu-central-1\n", "test")


def test_env_references_are_the_declared_ones() -> None:
    assert env_names("a: ${ONE}-${two_2} $THREE ${4x} ${}") == {"ONE", "two_2"}
    with pytest.raises(ConfigError, match=r"\$\{UNSET\} is not set"):
        parse_config(FILE.replace("eu-central-1", "${UNSET}"), Path("p.yaml"), env={})


def test_field_subsets_elsewhere_are_declared_fields() -> None:
    """Lists of some fields (what binds a session, what a generator owns) name declared ones."""
    from sessman.lifecycle.organization import OWNED

    assert set(BOUND_FIELDS) <= {"kind", *DECLARED}
    assert set(OWNED) <= set(DECLARED)


def test_rules_across_keys_are_declared_once() -> None:
    from sessman import config

    profile = fmt.json_schema()["$defs"]["profile"]
    assert profile["dependentRequired"] == {k: list(v) for k, v in fmt.DEPENDENCIES.items()}
    assert fmt.DEPENDENCIES["sso_session"] == fmt.SSO_PROFILE_KEYS
    # The loader words these for credential sources; every one declared has its words.
    assert set(fmt.EXCLUSIONS) <= set(fmt.CREDENTIAL_SOURCES)
    assert set(config._SOURCE_EXCLUDES) == set(fmt.EXCLUSIONS)
    sources_with_needs = {s for s in fmt.CREDENTIAL_SOURCES if s in fmt.DEPENDENCIES}
    assert set(config._SOURCE_NEEDS) == sources_with_needs
    for key, needs in fmt.DEPENDENCIES.items():
        assert set(needs) <= set(DECLARED), key
