"""Edit the profiles file as text, so its comments, order and layout survive.

sessman writes into the user's own file in a few places (``import``,
``rotate``, ``generate organization``). Loading the YAML and dumping it again
would lose every comment, so these functions splice text at the positions
the YAML parser reports, and :func:`save` proves the result valid before it
replaces the file atomically. Nothing here knows what a profile means.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ._atomic import write_atomic
from .config import Config, parse_config
from .errors import ConfigError, SessmanError

__all__ = [
    "change_lines",
    "edit_profiles",
    "editing",
    "insert_profiles",
    "profile_indent",
    "profile_texts",
    "read_text",
    "replace_value",
    "save",
    "update_keys",
    "yaml_string",
]


@contextlib.contextmanager
def editing(path: Path) -> Iterator[None]:
    """Hold the profiles file's edit lock: read, change and :func:`save` it inside.

    Two commands editing the file at once (``rotate`` and ``generate``) would
    otherwise each write what they read before the other's change, losing it.
    The lock is ``.<name>.lock`` beside the file (the real one, when the
    profiles file is a symlink), 0600, refused if it is a symlink or another
    user's; the directory is the user's own business, as the file is.
    """
    from . import trust

    real = Path(os.path.realpath(path))
    with trust.locked(real.parent / f".{real.name}.lock", private=False):
        yield


def read_text(path: Path) -> str:
    """The profiles file's text, or a ConfigError naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            "profiles file not found", path=str(path), hint="create one with: sessman init"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {type(exc).__name__}", path=str(path)) from None


def yaml_string(value: str) -> str:
    """``value`` as a double-quoted YAML scalar (JSON is valid YAML): no injection."""
    return json.dumps(value)


def _profiles_node(text: str, path: Path | None) -> Any:
    """The block mapping under ``profiles:``; positions are character offsets."""
    import yaml

    # The pure-Python loader: its marks count characters, which slicing needs.
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    where = str(path) if path is not None else None
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError("the file is not a mapping", path=where)
    node = next((v for k, v in root.value if getattr(k, "value", None) == "profiles"), None)
    if not isinstance(node, yaml.MappingNode) or node.flow_style or not node.value:
        raise ConfigError("profiles: must be a non-empty block mapping to edit it", path=where)
    return node


def profile_indent(text: str, path: Path | None = None) -> str:
    """The indentation of profile names in this file (new profiles use it too)."""
    column: int = _profiles_node(text, path).value[0][0].start_mark.column
    return " " * column


def _end_line(node: Any) -> int:
    """The line after the last line of ``node`` (0-based, exclusive)."""
    end = node.end_mark
    return int(end.line if end.column == 0 else end.line + 1)


def _spans(node: Any, lines: list[str]) -> dict[str, tuple[int, int]]:
    """Each profile's lines: from its name to its last line that is not blank or a comment.

    Comments above the next profile belong to that one; a block ends where the
    next profile's name is (its own end mark points there too).
    """
    keys = [k for k, _ in node.value]
    spans: dict[str, tuple[int, int]] = {}
    for i, key in enumerate(keys):
        start = key.start_mark.line
        end = keys[i + 1].start_mark.line if i + 1 < len(keys) else _end_line(node)
        while end > start + 1 and lines[end - 1].strip()[:1] in ("", "#"):
            end -= 1
        spans[str(key.value)] = (start, end)
    return spans


def profile_texts(text: str, path: Path | None = None) -> dict[str, str]:
    """The lines of each profile, by name (see :func:`edit_profiles` for where one ends)."""
    lines = text.splitlines(keepends=True)
    spans = _spans(_profiles_node(text, path), lines)
    return {name: "".join(lines[start:end]) for name, (start, end) in spans.items()}


def edit_profiles(
    text: str,
    replace: Mapping[str, str] | None = None,
    append: Sequence[str] = (),
    path: Path | None = None,
) -> str:
    """Replace profiles' lines (``""`` removes one) and append new profile blocks, in one pass.

    Blocks are indented text, one per profile. New ones go after the last
    profile: blank lines trailing it stay below them, comments above them.
    """
    node = _profiles_node(text, path)
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    spans = _spans(node, lines)
    replace = replace or {}
    missing = [n for n in replace if n not in spans]
    if missing:
        raise ConfigError(f"no profile {missing[0]!r} to replace", path=str(path) if path else None)
    at = _end_line(node)
    while at > 0 and at <= len(lines) and not lines[at - 1].strip():
        at -= 1
    edits = [(spans[n][0], spans[n][1], block) for n, block in replace.items()]
    if append:
        edits.append((at, at, "".join(append)))
    # From the bottom up, so the line numbers of the edits above stay right.
    for start, end, block in sorted(edits, reverse=True):
        lines[start:end] = [block] if block else []
    return "".join(lines)


def insert_profiles(text: str, blocks: Sequence[str], path: Path | None = None) -> str:
    """Append profile ``blocks`` after the last profile (see :func:`edit_profiles`)."""
    return edit_profiles(text, append=blocks, path=path)


def update_keys(block: str, values: Mapping[str, str | None]) -> str:
    """Set (or, for ``None``, remove) keys of one profile's ``block``; keep the rest.

    ``block`` is a profile's text as :func:`profile_texts` gives it; values are
    YAML text (see :func:`yaml_string`). Other keys, comments (a set key's
    trailing one too) and the order stay; keys not there yet go after the last
    one. A generator rewrites only the keys it owns, so what the user added to
    a generated profile survives. A flow-style profile (``name: {...}``) is
    written anew in block style: its other keys are kept, its comments are not.
    """
    import yaml

    lines = block.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    root: Any = yaml.compose(block, Loader=yaml.SafeLoader)
    name_node, profile = root.value[0]
    indent = " " * name_node.start_mark.column
    if not isinstance(profile, yaml.MappingNode) or profile.flow_style or not profile.value:
        kept = yaml.safe_load(block)[name_node.value] or {}
        rest = {k: json.dumps(v, default=str) for k, v in kept.items() if k not in values}
        wanted = {**{k: v for k, v in values.items() if v is not None}, **rest}
        inner = indent + "  "
        return f"{indent}{name_node.value}:\n" + "".join(
            f"{inner}{k}: {v}\n" for k, v in wanted.items()
        )
    inner = " " * profile.value[0][0].start_mark.column
    items = profile.value
    edits: list[tuple[int, int, str]] = []
    for i, (key, value) in enumerate(items):
        if key.value not in values:
            continue
        start = key.start_mark.line
        end = items[i + 1][0].start_mark.line if i + 1 < len(items) else len(lines)
        while end > start + 1 and lines[end - 1].strip()[:1] in ("", "#"):
            end -= 1
        new = values[key.value]
        tail = "\n"
        if end == start + 1 and value.end_mark.line == start:  # one line: keep its comment
            rest_of_line = lines[start][value.end_mark.column :]
            if rest_of_line.strip().startswith("#"):
                tail = rest_of_line
        edits.append((start, end, "" if new is None else f"{inner}{key.value}: {new}{tail}"))
    at = len(lines)
    while at > 1 and lines[at - 1].strip()[:1] in ("", "#"):
        at -= 1
    present = {k.value for k, _ in items}
    added = [f"{inner}{k}: {v}\n" for k, v in values.items() if v is not None and k not in present]
    if added:
        edits.append((at, at, "".join(added)))
    for start, end, text in sorted(edits, reverse=True):
        lines[start:end] = [text] if text else []
    return "".join(lines)


def replace_value(text: str, name: str, key: str, value: str, path: Path | None = None) -> str:
    """Set ``key`` of profile ``name`` to ``value``, where the file writes it literally.

    Raises ConfigError when the key is not written in the profile itself
    (a merge key, ``${VAR}``): the file would then not say what it means.
    """
    import yaml

    node = _profiles_node(text, path)
    where = str(path) if path is not None else None
    profile = next((v for k, v in node.value if k.value == name), None)
    found = None
    if isinstance(profile, yaml.MappingNode):
        found = next((v for k, v in profile.value if getattr(k, "value", None) == key), None)
    if not isinstance(found, yaml.ScalarNode) or "${" in str(found.value):
        raise ConfigError(
            "is not written literally in the profile, so sessman cannot update it",
            path=where,
            profile=name,
            key=key,
            hint=f"write {key}: with its value in profile {name!r} itself",
        )
    start, end = found.start_mark.index, found.end_mark.index
    # An id like an access key id stays a plain scalar, as people write it.
    plain = found.style is None and re.fullmatch(r"[A-Z][A-Z0-9]{15,127}", value)
    return text[:start] + (value if plain else yaml_string(value)) + text[end:]


def save(path: Path, text: str, env: Mapping[str, str] | None = None) -> Config:
    """Validate ``text`` as a whole, then replace the file atomically, keeping its mode.

    :func:`read_text` hands out ``\\n`` line ends; a file written with
    ``\\r\\n`` (Windows editors) gets them back, so no edit mixes the two.
    """
    config = parse_config(text, path, env)
    try:
        mode = path.stat().st_mode & 0o777
        if b"\r\n" in path.read_bytes():
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        write_atomic(path, text.encode("utf-8"), mode=mode)
    except OSError as exc:
        raise SessmanError(
            f"cannot write {path}: {exc.strerror or type(exc).__name__}; it was left unchanged"
        ) from exc
    return config


def change_lines(result: Any, about: Callable[[str], str], summary: str) -> list[str]:
    """Lines for people about a run that generates profiles (organization, sso populate).

    ``result`` has ``dry_run``, ``added``, ``updated``, ``removed``, ``skipped``
    and ``closed``; ``about(name)`` says what a profile is for; ``summary``
    closes the list.
    """
    verb = "would " if result.dry_run else ""
    lines: list[str] = []
    for label, names in (
        ("add", result.added),
        ("update", result.updated),
        ("remove", result.removed),
    ):
        lines.extend(f"{verb}{label} {name}{about(name)}" for name in names)
    for skip in result.skipped:
        lines.append(f"skipped {skip['name']} ({skip['account']}): {skip['reason']}")
    if result.closed:
        lines.append(f"sessions closed: {', '.join(result.closed)}")
    lines.append(("dry run: nothing written; " if result.dry_run else "") + summary)
    return lines
