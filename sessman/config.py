"""Load the profiles file into frozen, validated values.

The rules come from :mod:`sessman.fileformat`; this module applies them to a
YAML document and says, for anything wrong, the file, the line, the profile
and the key. Nothing here imports boto3 or keyring, and no value read here is
ever a secret: the file is refused when it tries to hold one.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from . import fileformat as fmt
from .discovery import find_config, read_profiles
from .errors import ConfigError
from .model import BUILTIN_DEFAULTS, Config, Kind, Profile, Retries, SsoSession, did_you_mean
from .yamlnodes import NodeReader

__all__ = [
    "BUILTIN_DEFAULTS",
    "Config",
    "Profile",
    "Retries",
    "SsoSession",
    "find_config",
    "load_config",
    "parse_config",
    "parse_config_tracked",
    "read_profiles",
]

_PROFILE_NAME_RE = re.compile(fmt.PROFILE_NAME_PATTERN)
_TAG_RE = re.compile(fmt.TAG_PATTERN)
#: What a credential source without a key it requires is told.
_SOURCE_NEEDS = {
    "role_arn": "a role needs {key}: the profile whose credentials assume it",
    "sso_session": "an sso_session profile needs {key}",
}
#: What a credential source with a key it rules out is told.
_SOURCE_EXCLUDES = {
    "aws_profile": "set MFA in ~/.aws/config for aws_profile profiles",
    "sso_session": "IAM Identity Center asks for MFA at sign-in: sso profiles take no {key}",
}
#: The credential sources, each with the keys it requires.
_SOURCES_HINT = "set exactly one of " + ", ".join(
    source + (f" (+ {', '.join(needs)})" if (needs := fmt.DEPENDENCIES.get(source)) else "")
    for source in fmt.CREDENTIAL_SOURCES
)
#: Values never quoted in messages: a secret pasted there must not be echoed.
_UNQUOTED = frozenset(
    f.name
    for f in (*fmt.TOP_FIELDS, *fmt.PROFILE_FIELDS, *fmt.SSO_SESSION_FIELDS)
    if f.exposure != "plain"
)


def load_config(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Config:
    """Read and validate the profiles file at ``path`` (or the discovered one)."""
    where = find_config(path)
    return parse_config(read_profiles(where), where, env)


def parse_config(data: bytes | str, path: Path, env: Mapping[str, str] | None = None) -> Config:
    """Validate the text of a profiles file; ``path`` is only used in messages."""
    return _Loader(path, os.environ if env is None else env).load(data)


def parse_config_tracked(
    data: bytes | str, path: Path, env: Mapping[str, str] | None = None
) -> tuple[Config, frozenset[str]]:
    """:func:`parse_config`, plus the names of the ``${VAR}`` it really expanded.

    A cache of the result depends on exactly those variables (a reference in
    a comment expands nothing, one in a merged value may expand once).
    """
    loader = _Loader(path, os.environ if env is None else env)
    config = loader.load(data)
    return config, frozenset(loader.expanded)


class _Loader(NodeReader):
    """Turns YAML nodes into a :class:`Config`: the rules of SPEC section 2."""

    # -- the format -------------------------------------------------------

    def document(self, root: Any) -> Config:
        top = self.mapping(root, "the file")
        known = {f.name: f for f in fmt.TOP_FIELDS}
        self.check_keys(top, known, profile=None)
        values = {
            name: self.value(known[name], v, profile=None)
            for name, (_, v) in top.items()
            if known[name].kind != "mapping"
        }
        sso_sessions = self.sso_sessions(top["sso_sessions"][1]) if "sso_sessions" in top else {}
        defaults: dict[str, Any] = {}
        if "defaults" in top:
            _, node = top["defaults"]
            entries = self.mapping(node, "defaults")
            allowed = {f.name: f for f in fmt.DEFAULTABLE}
            self.check_keys(entries, allowed, profile=None, section="defaults")
            defaults = {
                k: (kn, self.value(allowed[k], v, profile=None)) for k, (kn, v) in entries.items()
            }
        if "profiles" not in top:
            raise self.error("no 'profiles:' section", root, hint="start from: sessman init")
        _, profiles_node = top["profiles"]
        raw_profiles = self.mapping(profiles_node, "profiles")
        if not raw_profiles and not sso_sessions:  # with SSO, `sso populate` fills it
            raise self.error("'profiles:' is empty", profiles_node)
        profiles: dict[str, Profile] = {}
        for name, (name_node, node) in raw_profiles.items():
            if not _PROFILE_NAME_RE.fullmatch(name):
                raise self.error(
                    "invalid profile name: use letters, digits, '.', '_' and '-',"
                    " starting with a letter or digit",
                    name_node,
                    profile=name,
                )
            profiles[name] = self.profile(name, name_node, node, defaults)
        self.check_sources(profiles, raw_profiles)
        self.check_sso_references(profiles, raw_profiles, sso_sessions)
        return Config(
            path=self.path,
            keyring_service=values.get("keyring_service", "sessman"),
            keyring_backend=values.get("keyring_backend"),
            profiles=MappingProxyType(profiles),
            sso_sessions=MappingProxyType(sso_sessions),
        )

    def sso_sessions(self, node: Any) -> dict[str, SsoSession]:
        """The ``sso_sessions:`` map, each entry checked against the format."""
        entries = self.mapping(node, "sso_sessions")
        known = {f.name: f for f in fmt.SSO_SESSION_FIELDS}
        out: dict[str, SsoSession] = {}
        for name, (name_node, value_node) in entries.items():
            what = f"sso session {name!r}"
            if not _PROFILE_NAME_RE.fullmatch(name):
                raise self.error(
                    f"invalid {what} name: use letters, digits, '.', '_' and '-',"
                    " starting with a letter or digit",
                    name_node,
                )
            fields = self.mapping(value_node, what)
            self.check_keys(fields, known, profile=None, section=what)
            values = {k: self.value(known[k], v, profile=None) for k, (_, v) in fields.items()}
            for required in fmt.SSO_SESSION_REQUIRED:
                if required not in values:
                    raise self.error(f"{what} has no {required}", name_node, key=required)
            if "registration_scopes" in values:
                values["registration_scopes"] = tuple(values["registration_scopes"])
            out[name] = SsoSession(name=name, **values)
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

    def check_sso_references(
        self,
        profiles: Mapping[str, Profile],
        raw: Mapping[str, Any],
        sso_sessions: Mapping[str, SsoSession],
    ) -> None:
        """Every ``sso_session`` a profile names is an entry of ``sso_sessions:``."""
        for name, profile in profiles.items():
            if profile.sso_session is None or profile.sso_session in sso_sessions:
                continue
            node = self.mapping(raw[name][1], name, profile=name)["sso_session"][1]
            raise self.error(
                f"unknown sso session {profile.sso_session!r}",
                node,
                profile=name,
                key="sso_session",
                hint=did_you_mean(profile.sso_session, sso_sessions)
                or "add it under sso_sessions: (start_url, region)",
            )

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
        if spec.kind == "string":
            if not isinstance(value, str) or not value:
                raise bad("must be a non-empty string")
            if spec.pattern is not None and not re.fullmatch(spec.pattern, value):
                # Quote the text as written, never what ${VAR} expanded to, and
                # nothing of a key id field: a pasted secret must not be echoed.
                shown = "" if key in _UNQUOTED else f"{node.value!r} "
                raise bad(f"{shown}is not a valid {key.replace('_', ' ')}")
            return value
        if spec.kind in ("number", "integer"):
            integer = spec.kind == "integer"
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or (integer and not isinstance(value, int))
            ):
                raise bad(f"must be {'a whole number' if integer else 'a number'}")
            if not math.isfinite(value):
                raise bad("must be a finite number")
            if spec.choices is not None and value not in spec.choices:
                raise bad(f"must be one of {', '.join(map(str, spec.choices))}")
            if spec.exclusive_minimum is not None and value <= spec.exclusive_minimum:
                raise bad(f"must be greater than {spec.exclusive_minimum:g}")
            low, high = spec.minimum, spec.maximum
            if (low is not None and value < low) or (high is not None and value > high):
                if low is not None and high is not None:
                    raise bad(f"must be between {low:g} and {high:g}")
                raise bad(
                    f"must be at most {high:g}" if high is not None else f"must be >= {low:g}"
                )
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
            if not isinstance(tag, str) or not _TAG_RE.fullmatch(tag):
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
            if key == "mode":
                if value not in fmt.RETRY_MODES:
                    raise self.error(
                        f"must be one of {', '.join(fmt.RETRY_MODES)}",
                        value_node,
                        profile=profile,
                        key="retries.mode",
                    )
            elif key == "max_attempts":
                low, high = fmt.MAX_ATTEMPTS
                if (
                    isinstance(value, bool)
                    or not isinstance(value, int)
                    or not low <= value <= high
                ):
                    raise self.error(
                        f"must be a whole number from {low} to {high}",
                        value_node,
                        profile=profile,
                        key="retries.max_attempts",
                    )
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

    def profile(
        self, name: str, name_node: Any, node: Any, defaults: Mapping[str, tuple[Any, Any]]
    ) -> Profile:
        entries = self.mapping(node, f"profile {name!r}", profile=name)
        known = {f.name: f for f in fmt.PROFILE_FIELDS}
        self.check_keys(entries, known, profile=name)
        own = {k: self.value(known[k], v, profile=name) for k, (_, v) in entries.items()}

        for key, needs in fmt.DEPENDENCIES.items():
            if key in own and key not in fmt.CREDENTIAL_SOURCES:
                for need in needs:
                    if need not in own:
                        raise self.error(
                            f"only goes with {need}", entries[key][0], profile=name, key=key
                        )
        sources = [s for s in fmt.CREDENTIAL_SOURCES if s in own]
        if len(sources) != 1:
            message = (
                f"sets {' and '.join(sources)}: choose one credential source"
                if sources
                else "has no credential source"
            )
            raise self.error(
                message,
                entries[sources[1]][0] if len(sources) > 1 else name_node,
                profile=name,
                key=sources[1] if len(sources) > 1 else None,
                hint=_SOURCES_HINT,
            )
        source = sources[0]
        for need in fmt.DEPENDENCIES.get(source, ()):
            if need not in own:
                raise self.error(
                    _SOURCE_NEEDS[source].format(key=need),
                    entries[source][0],
                    profile=name,
                    key=need,
                )
        for other in fmt.EXCLUSIONS.get(source, ()):
            if other in own:
                raise self.error(
                    _SOURCE_EXCLUDES[source].format(key=other),
                    entries[other][0],
                    profile=name,
                    key=other,
                )

        merged: dict[str, Any] = dict(BUILTIN_DEFAULTS)
        merged.update({k: v for k, (_, v) in defaults.items()})
        merged["retries"] = {**BUILTIN_DEFAULTS["retries"], **merged.get("retries", {})}
        if "retries" in own:
            merged["retries"] = {**merged["retries"], **own.pop("retries")}
        merged.update(own)
        if "region" not in merged:
            raise self.error(
                "no region (set region: in the profile or under defaults:)",
                name_node,
                profile=name,
                key="region",
            )
        merged["retries"] = Retries(**merged["retries"])
        kind: Kind = {
            "access_key_id": "keys",
            "role_arn": "role",
            "aws_profile": "aws-profile",
            "sso_session": "sso",
        }[source]  # type: ignore[assignment]
        return Profile(name=name, kind=kind, **merged)

    def check_sources(self, profiles: Mapping[str, Profile], raw: Mapping[str, Any]) -> None:
        for name, profile in profiles.items():
            if profile.source_profile is None:
                continue
            node = self.mapping(raw[name][1], name, profile=name)["source_profile"][1]
            if profile.source_profile not in profiles:
                raise self.error(
                    f"unknown source profile {profile.source_profile!r}",
                    node,
                    profile=name,
                    key="source_profile",
                    hint=did_you_mean(profile.source_profile, profiles),
                )
            chain = [name]
            current = profile
            while current.source_profile is not None:
                if current.source_profile in chain:
                    cycle = " -> ".join([*chain, current.source_profile])
                    raise self.error(
                        f"source profiles form a cycle: {cycle}",
                        node,
                        profile=name,
                        key="source_profile",
                    )
                chain.append(current.source_profile)
                current = profiles[current.source_profile]
