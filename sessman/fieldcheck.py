"""One value of the profiles file checked against its declared field.

:func:`problem` knows, for each kind of :class:`~sessman.fileformat.Field`,
what a value must be (a string matching its pattern, a number within its
bounds, a list of tags, a retry policy): the one check of a value, used by
the loader and by the config cache's re-check of a cached entry.
:class:`FieldReader` applies it to YAML nodes and says what is wrong with
file, line, profile and key. Which keys a document has, and the rules across
keys, are :mod:`sessman.config`'s.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from . import fileformat as fmt
from .errors import ConfigError
from .model import did_you_mean
from .shapes import looks_secret
from .yamlnodes import NodeReader

__all__ = ["FieldReader", "is_tag", "problem", "retry_problem"]

_TAG_RE = re.compile(fmt.TAG_PATTERN)
#: Values never quoted in messages: a secret pasted there must not be echoed.
_UNQUOTED = frozenset(
    f.name
    for f in (*fmt.TOP_FIELDS, *fmt.PROFILE_FIELDS, *fmt.SSO_SESSION_FIELDS)
    if f.exposure != "plain"
)


def is_tag(value: Any) -> bool:
    """Whether ``value`` is one tag (letters, digits and ``_.:/=+-``)."""
    return isinstance(value, str) and _TAG_RE.fullmatch(value) is not None


def retry_problem(key: str, value: Any) -> str | None:
    """What is wrong with ``value`` as ``retries.<key>``, or ``None``."""
    if key == "mode":
        return None if value in fmt.RETRY_MODES else f"must be one of {', '.join(fmt.RETRY_MODES)}"
    if key == "max_attempts":
        low, high = fmt.MAX_ATTEMPTS
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return f"must be a whole number from {low} to {high}"
        return None
    return "unknown key in retries"


def _number_problem(spec: fmt.Field, value: Any) -> str | None:
    integer = spec.kind == "integer"
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (integer and not isinstance(value, int))
    ):
        return f"must be {'a whole number' if integer else 'a number'}"
    if not math.isfinite(value):
        return "must be a finite number"
    if spec.choices is not None and value not in spec.choices:
        return f"must be one of {', '.join(map(str, spec.choices))}"
    if spec.exclusive_minimum is not None and value <= spec.exclusive_minimum:
        return f"must be greater than {spec.exclusive_minimum:g}"
    low, high = spec.minimum, spec.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            return f"must be between {low:g} and {high:g}"
        return f"must be at most {high:g}" if high is not None else f"must be >= {low:g}"
    return None


def problem(spec: fmt.Field, value: Any, *, quoted: str = "") -> str | None:
    """What is wrong with the loaded ``value`` of ``spec``, or ``None`` when it is right.

    A string that does not match its pattern is said as ``is not a valid
    <key>``, after ``quoted`` (the value as written, for the fields that may
    be quoted back). A mapping (``defaults:``, ``profiles:``) is checked key
    by key, never as one value.
    """
    if spec.kind == "string":
        if not isinstance(value, str) or not value:
            return "must be a non-empty string"
        if spec.pattern is not None and not re.fullmatch(spec.pattern, value):
            return f"{quoted}is not a valid {spec.name.replace('_', ' ')}"
        return None
    if spec.kind in ("number", "integer"):
        return _number_problem(spec, value)
    if spec.kind == "account":  # loaded as text; YAML's integer form is the reader's
        if isinstance(value, str) and re.fullmatch(spec.pattern or "", value):
            return None
        return "must be a 12-digit account id"
    if spec.kind == "tags":
        ok = isinstance(value, list | tuple) and all(is_tag(t) for t in value)
        return None if ok else "must be a list of tags"
    if spec.kind == "strings":
        ok = (
            isinstance(value, list | tuple)
            and bool(value)
            and all(isinstance(v, str) and re.fullmatch(spec.pattern or ".+", v) for v in value)
        )
        return None if ok else "must be a non-empty list"
    if spec.kind == "retries":
        if not isinstance(value, Mapping):
            return "must be a mapping"
        return next((p for k, v in value.items() if (p := retry_problem(k, v))), None)
    return "is checked key by key"


class FieldReader(NodeReader):
    """The value checks of the loader: each value against its declared field."""

    def check_keys(
        self,
        entries: dict[str, Any],
        known: Mapping[str, fmt.Field],
        *,
        profile: str | None,
        section: str | None = None,
    ) -> None:
        for key, (key_node, _) in entries.items():
            if key.lower() in fmt.SECRET_KEYS:
                raise self.error(
                    "secrets never go in the profiles file",
                    key_node,
                    profile=profile,
                    key=key,
                    hint="remove it and store the secret with: sessman secret set "
                    + (profile or "NAME"),
                )
            if key not in known:
                where = f" in {section}" if section else ""
                raise self.error(
                    f"unknown key{where}",
                    key_node,
                    profile=profile,
                    key=key,
                    hint=did_you_mean(key, known),
                )

    def value(self, spec: fmt.Field, node: Any, *, profile: str | None) -> Any:
        """Check one value against its :class:`~sessman.fileformat.Field`."""
        key = spec.name
        value = self.scalar(node, profile=profile, key=key)

        def bad(message: str) -> ConfigError:
            return self.error(message, node, profile=profile, key=key)

        if spec.kind == "mapping":
            return node
        if spec.kind == "account":
            return self.account(spec, node, value, profile=profile)
        if spec.kind in ("string", "number", "integer"):
            # Quote the text as written, never what ${VAR} expanded to, and
            # nothing of a key id field: a pasted secret must not be echoed.
            written = str(getattr(node, "value", ""))
            secret = key in _UNQUOTED or looks_secret(written)
            shown = "" if secret else f"{written!r} "
            message = problem(spec, value, quoted=shown)
            if message is not None:
                raise bad(message)
            return value
        if spec.kind == "tags":
            return self.tags(node, profile=profile)
        if spec.kind == "strings":
            return self.strings(spec, node, profile=profile)
        return self.retries(node, profile=profile)

    def account(self, spec: fmt.Field, node: Any, value: Any, *, profile: str | None) -> str:
        """A 12-digit account id: a string, or an unquoted YAML integer of twelve digits."""
        low, high = fmt.ACCOUNT_RANGE
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            return str(value)
        if not isinstance(value, str) or not re.fullmatch(spec.pattern or "", value):
            raise self.error(
                "must be a 12-digit account id",
                node,
                profile=profile,
                key=spec.name,
                hint=f'quote it, leading zeros included: {spec.name}: "012345678901"',
            )
        return value

    def tags(self, node: Any, *, profile: str | None) -> tuple[str, ...]:
        import yaml

        if not isinstance(node, yaml.SequenceNode):
            raise self.error("must be a list of tags", node, profile=profile, key="tags")
        tags: list[str] = []
        for item in node.value:
            tag = self.scalar(item, profile=profile, key="tags")
            if not is_tag(tag):
                written = item.value if isinstance(item, yaml.ScalarNode) else tag
                raise self.error(
                    f"invalid tag {written!r}: use letters, digits and _.:/=+-",
                    item,
                    profile=profile,
                    key="tags",
                )
            if tag not in tags:
                tags.append(tag)
        return tuple(tags)

    def retries(self, node: Any, *, profile: str | None) -> dict[str, Any]:
        entries = self.mapping(node, "retries", profile=profile)
        out: dict[str, Any] = {}
        for key, (key_node, value_node) in entries.items():
            if key.lower() in fmt.SECRET_KEYS:
                raise self.error(
                    "secrets never go in the profiles file",
                    key_node,
                    profile=profile,
                    key=f"retries.{key}",
                    hint="remove it and store the secret with: sessman secret set "
                    + (profile or "NAME"),
                )
            value = self.scalar(value_node, profile=profile, key=f"retries.{key}")
            if key in ("mode", "max_attempts"):
                message = retry_problem(key, value)
                if message is not None:
                    raise self.error(message, value_node, profile=profile, key=f"retries.{key}")
            else:
                raise self.error(
                    "unknown key in retries",
                    key_node,
                    profile=profile,
                    key=f"retries.{key}",
                    hint=did_you_mean(key, ("mode", "max_attempts")),
                )
            out[key] = value
        return out

    def strings(self, spec: fmt.Field, node: Any, *, profile: str | None) -> tuple[str, ...]:
        """A list of strings, each matching the field's pattern."""
        import yaml

        if not isinstance(node, yaml.SequenceNode) or not node.value:
            raise self.error("must be a non-empty list", node, profile=profile, key=spec.name)
        items: list[str] = []
        for item in node.value:
            value = self.scalar(item, profile=profile, key=spec.name)
            if not isinstance(value, str) or not re.fullmatch(spec.pattern or ".+", value):
                raise self.error(
                    f"{getattr(item, 'value', '')!r} is not a valid entry",
                    item,
                    profile=profile,
                    key=spec.name,
                )
            if value not in items:
                items.append(value)
        return tuple(items)
