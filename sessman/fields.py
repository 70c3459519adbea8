"""The vocabulary of the profiles file format: what a declared field is.

:class:`Field`, the shapes that several fields (and values from outside)
share, and how one field is said in JSON Schema (:func:`schema_properties`).
The fields themselves are declared in :mod:`sessman.fileformat`, which
re-exports all of this; nothing here imports another sessman module.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "ACCESS_KEY_ID_PATTERN",
    "ACCOUNT_PATTERN",
    "ACCOUNT_RANGE",
    "ENV_REF",
    "MAX_ATTEMPTS",
    "PROFILE_NAME_PATTERN",
    "PROFILE_PREFIX_PATTERN",
    "REGION_PATTERN",
    "RETRY_MODES",
    "SECRET_KEYS",
    "SESSION_DURATION",
    "SSO_ROLE_NAME_PATTERN",
    "TAG_PATTERN",
    "URL_PATTERN",
    "Exposure",
    "Field",
    "Kind",
    "bare",
    "schema_properties",
]

Kind = Literal["string", "number", "integer", "tags", "retries", "mapping", "strings", "account"]

#: A ``${VAR}`` reference in a value, expanded at load time (the name is between the braces).
ENV_REF = r"\$\{[A-Za-z_][A-Za-z0-9_]*\}"
REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-\d+$"
PROFILE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
TAG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:/=+-]*$"
RETRY_MODES = ("legacy", "standard", "adaptive")
ACCOUNT_PATTERN = r"^\d{12}$"
ACCESS_KEY_ID_PATTERN = r"^[A-Z0-9]{16,128}$"
URL_PATTERN = r"^https?://[^\s]+$"
#: Bounds of ``retries.max_attempts``: every attempt counts, the first included.
MAX_ATTEMPTS = (1, 20)
#: An unquoted account id is a YAML integer: one of twelve digits means the same.
ACCOUNT_RANGE = (10**11, 10**12 - 1)

#: Keys that would put a secret in the file. Always rejected, with a hint.
SECRET_KEYS = frozenset(
    {
        "secret_access_key",
        "aws_secret_access_key",
        "secret_key",
        "aws_secret_key",
        "session_token",
        "aws_session_token",
        "security_token",
        "password",
        "passphrase",
        "secret",
    }
)


#: How a value may appear in what sessman prints. "plain": anywhere;
#: "unquoted": never quoted back in an error message (a secret pasted there
#: must not be echoed) but shown by ``show``; "masked": not quoted either, and
#: ``show`` prints only enough of it to recognise it.
Exposure = Literal["plain", "unquoted", "masked"]


@dataclass(frozen=True)
class Field:
    """One key of the file: its type, its bounds, what it means and how it is shown."""

    name: str
    kind: Kind
    description: str
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    choices: tuple[str | int, ...] | None = None
    #: A profile key that may also be set under ``defaults:``.
    defaultable: bool = False
    exposure: Exposure = "plain"
    #: Keys that must be set in the same profile when this one is.
    requires: tuple[str, ...] = ()
    #: Keys that must not be set in the same profile when this one is.
    excludes: tuple[str, ...] = ()
    #: What a profile gets when neither it nor ``defaults:`` sets this key
    #: (not compared: a mapping is not hashable, and the name says which field).
    default: Any = dataclasses.field(default=None, compare=False)


def bare(pattern: str) -> str:
    """``pattern`` without its ``^`` and ``$`` anchors, to embed in a larger one."""
    return pattern.removeprefix("^").removesuffix("$")


#: What commands that name profiles after something take as a prefix: empty,
#: or the start of a profile name.
PROFILE_PREFIX_PATTERN = f"^(?:{bare(PROFILE_NAME_PATTERN)})?$"


#: An IAM Identity Center permission set (role) name.
SSO_ROLE_NAME_PATTERN = r"^[\w+=,.@-]{1,64}$"

#: The lifetime, in seconds, that STS grants a session of temporary credentials.
SESSION_DURATION = (900, 43200)


def _string_schema(field: Field) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "minLength": 1}
    if field.pattern is not None:
        # A value may also be (or contain) ${VAR}, expanded at load time.
        schema["pattern"] = f"^(?:(?:{bare(field.pattern)})|.*{ENV_REF}.*)$"
    return schema


def _field_schema(field: Field) -> dict[str, Any]:
    schema: dict[str, Any]
    if field.kind == "string":
        schema = _string_schema(field)
    elif field.kind in ("number", "integer"):
        schema = {"type": field.kind}
        if field.minimum is not None:
            schema["minimum"] = field.minimum
        if field.maximum is not None:
            schema["maximum"] = field.maximum
        if field.exclusive_minimum is not None:
            schema["exclusiveMinimum"] = field.exclusive_minimum
        if field.choices is not None:
            schema["enum"] = list(field.choices)
    elif field.kind == "account":
        low, high = ACCOUNT_RANGE
        schema = {
            "anyOf": [
                _string_schema(field),
                {"type": "integer", "minimum": low, "maximum": high},
            ]
        }
    elif field.kind == "strings":
        schema = {"type": "array", "minItems": 1, "items": _string_schema(field)}
    elif field.kind == "tags":
        # No uniqueItems: the loader accepts a repeated tag and keeps it once.
        schema = {"type": "array", "items": {"type": "string", "pattern": TAG_PATTERN}}
    elif field.kind == "retries":
        schema = {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "mode": {"enum": list(RETRY_MODES)},
                "max_attempts": {
                    "type": "integer",
                    "minimum": MAX_ATTEMPTS[0],
                    "maximum": MAX_ATTEMPTS[1],
                },
            },
        }
    else:
        schema = {"type": "object"}
    schema["description"] = field.description
    return schema


def schema_properties(fields: tuple[Field, ...]) -> dict[str, Any]:
    """The JSON Schema ``properties`` of ``fields``: each field as its declaration says it."""
    return {f.name: _field_schema(f) for f in fields}
