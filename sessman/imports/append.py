"""Appending imported profiles to a profiles file, as text: the writer every import uses.

The file's comments and layout survive and every value is written quoted,
so nothing read from another file can change the structure of the profiles
file. Storing the secrets is the caller's job, after :func:`append_profiles`
has proved the new file valid.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from sessman.config import Config, parse_config
from sessman.errors import SessmanError, UsageError
from sessman.fileformat import PROFILE_NAME_PATTERN
from sessman.profiles_text import editing, insert_profiles, profile_indent, read_text, save

__all__ = ["NewProfile", "append_profiles", "check_name"]

_PROFILE_NAME = re.compile(PROFILE_NAME_PATTERN)


class NewProfile(Protocol):
    """A profile :func:`append_profiles` can write: a name and its fields."""

    @property
    def name(self) -> str:
        """The new profile's name."""
        ...

    def fields(self, source: str) -> list[tuple[str, str | int]]:
        """Its keys and values, in the order they are written."""
        ...


def check_name(name: str) -> str:
    """``name`` if it can name a profile, else a UsageError."""
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
    lines = [f"{indent}{check_name(key.name)}:"]
    for name, value in key.fields(source):
        lines.append(f"{inner}{name}: {json.dumps(value)}")
    return "\n".join(lines) + "\n"
