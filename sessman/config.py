"""Load the profiles file into frozen, validated values.

The rules come from :mod:`sessman.fileformat`; this module applies them to a
YAML document and says, for anything wrong, the file, the line, the profile
and the key. Nothing here imports boto3 or keyring, and no value read here is
ever a secret: the file is refused when it tries to hold one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from . import fileformat as fmt
from .discovery import find_config, read_profiles
from .fieldcheck import FieldReader
from .model import (
    BUILTIN_DEFAULTS,
    DEFAULT_KEYRING_SERVICE,
    Config,
    Kind,
    Profile,
    Retries,
    SsoSession,
    did_you_mean,
)

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


class _Loader(FieldReader):
    """Turns YAML nodes into a :class:`Config`: the rules of the profiles file (README, "The profiles file")."""

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
            keyring_service=values.get("keyring_service", DEFAULT_KEYRING_SERVICE),
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
        kind: Kind = fmt.SOURCE_KINDS[source]  # type: ignore[assignment]
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
