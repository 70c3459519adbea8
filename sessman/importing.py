"""Bring existing keys into sessman: .env files, and the writer every import uses.

Reading .env files, and appending profiles to a profiles file as text (so
its comments and layout survive, every value quoted), live here; reading
~/.aws lives in :mod:`sessman.awsimport`. Storing the secrets is the
caller's job, after :func:`append_profiles` has proved the new file valid.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .config import Config, parse_config
from .errors import SessmanError, UsageError
from .profiles_text import editing, insert_profiles, profile_indent, read_text, save

__all__ = ["ImportedKey", "NewProfile", "append_profiles", "read_dotenv"]

_PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class ImportedKey:
    """A long-term key found in another file, on its way into sessman."""

    name: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    region: str | None = None

    def fields(self, source: str) -> list[tuple[str, str | int]]:
        """The keys and values of the new profile, in the order they are written."""
        fields: list[tuple[str, str | int]] = [("access_key_id", self.access_key_id)]
        if self.region:
            fields.append(("region", self.region))
        fields.append(("description", f"imported from {source}"))
        return fields


class NewProfile(Protocol):
    """A profile :func:`append_profiles` can write: a name and its fields."""

    @property
    def name(self) -> str:
        """The new profile's name."""
        ...

    def fields(self, source: str) -> list[tuple[str, str | int]]:
        """Its keys and values, in the order they are written."""
        ...


def read_dotenv(path: Path, name: str) -> ImportedKey:
    """The key pair of a ``.env`` file (also the AWS_ACCESS_KEY / AWS_SECRET_KEY spelling)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path.absolute()} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path.absolute()}: {type(exc).__name__}") from None
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key.strip()] = value

    def first(*names: str) -> str | None:
        return next((values[n] for n in names if values.get(n)), None)

    key_id = first("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY")
    secret = first("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY")
    if key_id is None or secret is None:
        lacking = "AWS_ACCESS_KEY_ID" if key_id is None else "AWS_SECRET_ACCESS_KEY"
        raise UsageError(f"{path} sets no {lacking}")
    if values.get("AWS_SESSION_TOKEN"):
        raise UsageError(
            f"{path} holds temporary credentials (AWS_SESSION_TOKEN); import long-term keys"
        )
    region = first("AWS_REGION", "AWS_DEFAULT_REGION")
    return ImportedKey(_check_name(name), key_id, secret, region)


def _check_name(name: str) -> str:
    if not _PROFILE_NAME.match(name):
        raise UsageError(
            f"{name!r} cannot be a profile name: use letters, digits, '.', '_' and '-'"
        )
    return name


def append_profiles(
    path: Path,
    keys: Sequence[NewProfile],
    *,
    source: str,
    env: Mapping[str, str] | None = None,
    dry_run: bool = False,
) -> Config:
    """Add a profile for each of ``keys`` to the file at ``path``, as text.

    Existing profiles are never replaced: a name that exists is an error and
    nothing is written. The new text is validated as a whole before it
    replaces the file atomically (with ``dry_run``, only validated), all under
    the file's edit lock; returns the new configuration.
    """
    with editing(path):
        return _append(path, keys, source=source, env=env, dry_run=dry_run)


def _append(
    path: Path,
    keys: Sequence[NewProfile],
    *,
    source: str,
    env: Mapping[str, str] | None,
    dry_run: bool,
) -> Config:
    text = read_text(path)
    old = parse_config(text, path, env)
    taken = [k.name for k in keys if k.name in old.profiles]
    if taken:
        raise SessmanError(
            f"profile {taken[0]!r} already exists in {path}; nothing was imported",
            hint="choose another name with --profile, or rename the existing one",
        )
    indent = profile_indent(text, path)
    new_text = insert_profiles(text, [_profile_text(k, indent, source) for k in keys], path)
    if dry_run:
        return parse_config(new_text, path, env)
    return save(path, new_text, env)


def _profile_text(key: NewProfile, indent: str, source: str) -> str:
    # Every value is a JSON string (a valid YAML double-quoted scalar, newlines
    # and quotes escaped): nothing read from another file can add YAML structure.
    inner = indent * 2
    lines = [f"{indent}{_check_name(key.name)}:"]
    for name, value in key.fields(source):
        lines.append(f"{inner}{name}: {json.dumps(value)}")
    return "\n".join(lines) + "\n"
