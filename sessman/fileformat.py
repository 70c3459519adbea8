"""The one description of the profiles file format (version 1).

Each key is declared once here (type, limits, description, how its value
may be shown), and the rest is derived from these tables: the loader's
checks (:mod:`sessman.config`), the JSON Schema of ``sessman schema``, the
rows of ``sessman show``, the shapes of values from outside
(:mod:`sessman.shapes`) and the ``${VAR}`` references the loader expands
(:mod:`sessman.yamlnodes`). The fields of :class:`sessman.model.Profile`
are typed by hand, for mypy; tests/test_fileformat.py holds them equal to
the declared ones. Rules that JSON Schema cannot say (source chains
without cycles, source profiles that exist, ``${VAR}`` expansion) are
checked by the loader only. What a field is (:class:`Field`), the shapes
several fields share and how one field is said in JSON Schema are in
:mod:`sessman.fields`, re-exported here.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from .fields import (
    ACCESS_KEY_ID_PATTERN,
    ACCOUNT_PATTERN,
    ACCOUNT_RANGE,
    ENV_REF,
    MAX_ATTEMPTS,
    PROFILE_NAME_PATTERN,
    PROFILE_PREFIX_PATTERN,
    REGION_PATTERN,
    RETRY_MODES,
    SECRET_KEYS,
    SESSION_DURATION,
    SSO_ROLE_NAME_PATTERN,
    TAG_PATTERN,
    URL_PATTERN,
    Exposure,
    Field,
    Kind,
    bare,
    schema_properties,
)

__all__ = [
    "ACCESS_KEY_ID_PATTERN",
    "ACCOUNT_PATTERN",
    "ACCOUNT_RANGE",
    "CREDENTIAL_SOURCES",
    "DEFAULTABLE",
    "DEPENDENCIES",
    "ENV_REF",
    "EXCLUSIONS",
    "MAX_ATTEMPTS",
    "PROFILE_FIELDS",
    "PROFILE_NAME_PATTERN",
    "PROFILE_PREFIX_PATTERN",
    "REGION_PATTERN",
    "RETRY_MODES",
    "SECRET_KEYS",
    "SESSION_DURATION",
    "SOURCE_KINDS",
    "SSO_PROFILE_KEYS",
    "SSO_ROLE_NAME_PATTERN",
    "SSO_SCOPES",
    "SSO_SESSION_FIELDS",
    "SSO_SESSION_REQUIRED",
    "TAG_PATTERN",
    "TOP_FIELDS",
    "URL_PATTERN",
    "Exposure",
    "Field",
    "Kind",
    "bare",
    "json_schema",
]

#: Where a profile's credentials come from, its region and the settings of its
#: clients. The order is the order of ``sessman show``.
PROFILE_FIELDS = (
    Field(
        "region",
        "string",
        "AWS region, e.g. eu-central-1.",
        pattern=REGION_PATTERN,
        defaultable=True,
    ),
    Field(
        "endpoint_url",
        "string",
        "Endpoint of any service that speaks the AWS APIs (moto, LocalStack).",
        pattern=URL_PATTERN,
        defaultable=True,
    ),
    Field(
        "access_key_id",
        "string",
        "Long-term access key id; the secret lives in the keyring (`sessman secret set`).",
        pattern=ACCESS_KEY_ID_PATTERN,
        exposure="masked",
    ),
    Field(
        "source_profile",
        "string",
        "sessman profile whose credentials assume role_arn.",
        requires=("role_arn",),
    ),
    Field(
        "role_arn",
        "string",
        "Role to assume with the credentials of source_profile.",
        pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$",
        requires=("source_profile",),
    ),
    Field(
        "aws_profile",
        "string",
        "A profile of ~/.aws/config (SSO, credential_process, ...).",
        excludes=("mfa_serial",),  # its MFA is set in ~/.aws/config
    ),
    Field(
        "sso_session",
        "string",
        "IAM Identity Center: the entry of sso_sessions whose login gets this profile's"
        " credentials (GetRoleCredentials of sso_account_id and sso_role_name).",
        pattern=PROFILE_NAME_PATTERN,
        requires=("sso_account_id", "sso_role_name"),
        excludes=("mfa_serial",),  # IAM Identity Center asks for MFA at sign-in
    ),
    Field(
        "sso_account_id",
        "account",
        'IAM Identity Center: the 12-digit account id (best quoted: "012345678901").',
        pattern=ACCOUNT_PATTERN,
        requires=("sso_session",),
    ),
    Field(
        "sso_role_name",
        "string",
        "IAM Identity Center: the permission set (role) name in that account.",
        pattern=SSO_ROLE_NAME_PATTERN,
        requires=("sso_session",),
    ),
    Field(
        "external_id",
        "string",
        "ExternalId passed to AssumeRole.",
        pattern=r"^[\w+=,.@:/-]{2,1224}$",
        exposure="unquoted",
        requires=("role_arn",),
    ),
    Field(
        "mfa_serial",
        "string",
        "MFA device (ARN or hardware serial) whose code opens this profile.",
        pattern=r"^(arn:aws[a-z-]*:iam::\d{12}:(mfa|u2f)/[\w+=,.@/-]+|[A-Z0-9]{9,256})$",
    ),
    Field(
        "role_session_name",
        "string",
        "RoleSessionName of AssumeRole (2-64 characters).",
        pattern=r"^[\w+=,.@-]{2,64}$",
        requires=("role_arn",),
    ),
    Field(
        "connect_timeout",
        "number",
        "Seconds to wait for a connection (botocore Config.connect_timeout).",
        exclusive_minimum=0,
        maximum=3600,
        defaultable=True,
        # boto3's own 60 s hangs a shell for a minute on a dead network.
        default=10,
    ),
    Field(
        "read_timeout",
        "number",
        "Seconds to wait for a response (botocore Config.read_timeout).",
        exclusive_minimum=0,
        maximum=3600,
        defaultable=True,
        default=60,
    ),
    Field(
        "retries",
        "retries",
        f"Retry policy: mode ({', '.join(RETRY_MODES)}) and max_attempts, the total number of"
        f" attempts ({MAX_ATTEMPTS[0]}-{MAX_ATTEMPTS[1]}), as in ~/.aws/config.",
        defaultable=True,
        # Fail fast and retry the way the AWS CLI v2 does.
        default=MappingProxyType({"mode": "standard", "max_attempts": 3}),
    ),
    Field(
        "max_pool_connections",
        "integer",
        "Connections kept per client (botocore Config.max_pool_connections).",
        minimum=1,
        maximum=1000,
        defaultable=True,
        default=10,
    ),
    Field(
        "session_duration",
        "integer",
        "Lifetime in seconds of the temporary credentials `sessman open` asks for"
        f" ({SESSION_DURATION[0]}-{SESSION_DURATION[1]}).",
        minimum=SESSION_DURATION[0],
        maximum=SESSION_DURATION[1],
        defaultable=True,
        default=3600,
    ),
    Field("tags", "tags", "Labels to select profiles with --tag."),
    Field("description", "string", "Free text shown by `sessman list`."),
    Field(
        "generated_by",
        "string",
        "Set by the sessman command that wrote this profile (e.g. organization:SOURCE); such"
        " a profile may be rewritten or pruned by that command. Remove it to keep the profile.",
        pattern=r"^[a-z][a-z-]*:[A-Za-z0-9][A-Za-z0-9_.-]*$",
    ),
)

#: Keys allowed under ``defaults:`` (merged under every profile; the profile wins).
DEFAULTABLE = tuple(f for f in PROFILE_FIELDS if f.defaultable)

#: Keys that say where a profile's credentials come from (exactly one is set),
#: each with the kind of profile it makes (:data:`sessman.model.Kind`).
SOURCE_KINDS = MappingProxyType(
    {
        "access_key_id": "keys",
        "role_arn": "role",
        "aws_profile": "aws-profile",
        "sso_session": "sso",
    }
)
CREDENTIAL_SOURCES = tuple(SOURCE_KINDS)

#: What an ``sso_session`` profile names besides it: each needs it, and it needs both.
SSO_PROFILE_KEYS = next(f for f in PROFILE_FIELDS if f.name == "sso_session").requires

#: Which keys need which others in one profile (``requires``), as JSON Schema says it.
DEPENDENCIES = {f.name: f.requires for f in PROFILE_FIELDS if f.requires}
#: Which keys rule out which others in one profile (``excludes``).
EXCLUSIONS = {f.name: f.excludes for f in PROFILE_FIELDS if f.excludes}

#: Scopes of a client registration when the file names none: this one is
#: what makes IAM Identity Center issue refresh tokens.
SSO_SCOPES = ("sso:account:access",)

#: Keys of one entry of ``sso_sessions:`` (IAM Identity Center).
SSO_SESSION_FIELDS = (
    Field(
        "start_url",
        "string",
        "The AWS access portal URL of IAM Identity Center, e.g."
        " https://d-1234567890.awsapps.com/start.",
        pattern=URL_PATTERN,
    ),
    Field("region", "string", "The region of IAM Identity Center.", pattern=REGION_PATTERN),
    Field(
        "registration_scopes",
        "strings",
        f"OAuth scopes of the client registration (default: {', '.join(SSO_SCOPES)}, which"
        " allows refresh tokens).",
        pattern=r"^[\w.:/*-]{1,256}$",
        default=SSO_SCOPES,
    ),
    Field(
        "endpoint_url",
        "string",
        "One URL that replaces both the sso-oidc and the portal endpoint (fakes, private"
        " endpoints).",
        pattern=URL_PATTERN,
    ),
)
#: What every entry of ``sso_sessions:`` must say.
SSO_SESSION_REQUIRED = ("start_url", "region")

TOP_FIELDS = (
    Field("version", "integer", "Format version of this file.", choices=(1,)),
    Field(
        "keyring_service",
        "string",
        "Keyring service name under which secrets are stored; lets two files not collide.",
        pattern=r"^\S.*$",
        default="sessman",
    ),
    Field(
        "keyring_backend",
        "string",
        "Pin a keyring backend by its class path, e.g. keyring.backends.SecretService.Keyring.",
        pattern=r"^[A-Za-z_][\w.]*$",
    ),
    Field("defaults", "mapping", "Settings merged under every profile (the profile wins)."),
    Field(
        "sso_sessions",
        "mapping",
        "IAM Identity Center sign-ins, by name (`sessman sso login NAME`), used by profiles"
        " with sso_session.",
    ),
    Field("profiles", "mapping", "The profiles, by name."),
)


def json_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of the profiles file."""
    profile: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": schema_properties(PROFILE_FIELDS),
        "oneOf": [{"required": [source]} for source in CREDENTIAL_SOURCES],
        "dependentRequired": {key: list(needs) for key, needs in DEPENDENCIES.items()},
        "allOf": [
            {
                "if": {"required": [key]},
                "then": {"not": {"anyOf": [{"required": [other]} for other in others]}},
            }
            for key, others in EXCLUSIONS.items()
        ],
    }
    defaults: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": schema_properties(DEFAULTABLE),
    }
    top = schema_properties(TOP_FIELDS)
    top["defaults"] = {**defaults, "description": top["defaults"]["description"]}
    top["sso_sessions"] = {
        "type": "object",
        "description": top["sso_sessions"]["description"],
        "propertyNames": {"pattern": PROFILE_NAME_PATTERN},
        "additionalProperties": {
            "type": "object",
            "additionalProperties": False,
            "required": list(SSO_SESSION_REQUIRED),
            "properties": schema_properties(SSO_SESSION_FIELDS),
        },
    }
    top["profiles"] = {
        "type": "object",
        "description": top["profiles"]["description"],
        "propertyNames": {"pattern": PROFILE_NAME_PATTERN},
        "additionalProperties": {"$ref": "#/$defs/profile"},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://sessman.invalid/schemas/profiles-v1.json",
        "title": "sessman profiles file",
        "type": "object",
        "additionalProperties": False,
        "required": ["profiles"],
        "properties": top,
        "$defs": {"profile": profile},
        # region is required after defaults are merged: when defaults has none,
        # every profile must name one.
        "if": {"required": ["defaults"], "properties": {"defaults": {"required": ["region"]}}},
        "else": {"properties": {"profiles": {"additionalProperties": {"required": ["region"]}}}},
        # profiles may be empty only in a file with sso sessions (`sso populate` fills it).
        "dependentSchemas": {
            "profiles": {
                "if": {
                    "required": ["sso_sessions"],
                    "properties": {"sso_sessions": {"minProperties": 1}},
                },
                "else": {"properties": {"profiles": {"minProperties": 1}}},
            }
        },
    }
