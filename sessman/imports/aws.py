"""What ``sessman import aws`` takes from ~/.aws/credentials and ~/.aws/config.

Long-term key pairs of the credentials file become ``keys`` profiles; role
profiles of the config file (``role_arn`` with a ``source_profile`` imported
in the same run) become ``role`` profiles. Everything else is skipped with a
reason the user can act on (temporary credentials, a name already taken, a
source that is not imported, a value that is not shaped as AWS shapes it).
Every value is shape-checked here, and written quoted by
:func:`sessman.imports.append.append_profiles`, so nothing read from those files can
change the structure of the profiles file.
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sessman.errors import UsageError
from sessman.fileformat import (
    PROFILE_FIELDS,
    PROFILE_NAME_PATTERN,
    REGION_PATTERN,
    SESSION_DURATION,
)
from sessman.shapes import fits

from .dotenv import ImportedKey

__all__ = ["AwsImport", "ImportedRole", "Skipped", "plan_aws_import"]

_PATTERNS = {f.name: re.compile(f.pattern) for f in PROFILE_FIELDS if f.pattern}
_NAME = re.compile(PROFILE_NAME_PATTERN)
_REGION = re.compile(REGION_PATTERN)
#: ~/.aws/config keys of a role profile, and what sessman calls them.
_ROLE_KEYS = {
    "role_arn": "role_arn",
    "mfa_serial": "mfa_serial",
    "external_id": "external_id",
    "role_session_name": "role_session_name",
}


@dataclass(frozen=True)
class ImportedRole:
    """A role profile of ~/.aws/config, on its way into sessman."""

    name: str
    source_profile: str
    settings: tuple[tuple[str, str | int], ...]
    #: The file it comes from (the config file, not the credentials file).
    origin: str

    def fields(self, source: str) -> list[tuple[str, str | int]]:
        """The keys and values of the new profile; its description names ``origin``."""
        return [
            ("source_profile", self.source_profile),
            *self.settings,
            ("description", f"imported from {self.origin}"),
        ]


@dataclass(frozen=True)
class Skipped:
    """A profile that was not imported, and why."""

    name: str
    reason: str


@dataclass(frozen=True)
class AwsImport:
    """The plan of one ``import aws``: keys and roles to add, profiles skipped."""

    keys: list[ImportedKey] = field(default_factory=list)
    roles: list[ImportedRole] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def _ini(path: Path, *, required: bool) -> dict[str, dict[str, str]]:
    parser = configparser.RawConfigParser()
    try:
        with path.open(encoding="utf-8") as fh:
            parser.read_file(fh)
    except FileNotFoundError:
        if required:
            raise UsageError(f"{path.absolute()} does not exist") from None
        return {}
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        raise UsageError(f"cannot read {path.absolute()}: {type(exc).__name__}") from None
    return {s.strip(): dict(parser.items(s)) for s in parser.sections()}


def _config_profiles(config: Path | None) -> dict[str, dict[str, str]]:
    """``[default]`` and ``[profile X]`` sections of ~/.aws/config, by profile name."""
    sections = _ini(config, required=False) if config is not None else {}
    found: dict[str, dict[str, str]] = {}
    for section, values in sections.items():
        if section == "default" or section.startswith("profile "):
            found[section.removeprefix("profile ").strip()] = values
    return found


def parse_renames(pairs: Sequence[str]) -> dict[str, str]:
    """``OLD=NEW`` options as a mapping; a usage error for a malformed one."""
    renames: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        old, new = old.strip(), new.strip()
        if not sep or not old or not _NAME.match(new):
            raise UsageError(
                f"--rename {pair!r} is not OLD=NEW with a valid profile name",
                hint="e.g. --rename default=personal (letters, digits, '.', '_', '-')",
            )
        renames[old] = new
    return renames


def plan_aws_import(
    credentials: Path,
    config: Path | None,
    *,
    only: Sequence[str] = (),
    renames: Mapping[str, str] | None = None,
    taken: Collection[str] = (),
    target: Path,
) -> AwsImport:
    """Decide what ``import aws`` adds to the profiles file at ``target``, and what it skips."""
    renames = dict(renames or {})
    creds = _ini(credentials, required=True)
    conf = _config_profiles(config)
    roles_there = [n for n, v in conf.items() if v.get("role_arn")]
    missing = [p for p in only if p not in creds and p not in conf]
    if missing:
        raise UsageError(
            f"no profile {missing[0]!r} in {credentials.absolute()} or {config}",
            hint=f"profiles there: {', '.join([*creds, *roles_there]) or 'none'}",
        )
    unknown = [old for old in renames if old not in creds and old not in conf]
    if unknown:
        raise UsageError(f"--rename {unknown[0]}=...: there is no AWS profile {unknown[0]!r}")
    plan = AwsImport()
    used = set(taken)

    def claim(name: str) -> str | None:
        new = renames.get(name, name)
        if not _NAME.match(new):
            plan.skipped.append(
                Skipped(name, f"{new!r} cannot be a sessman profile name (--rename {name}=NEW)")
            )
            return None
        if new in used:
            where = "in this import" if new not in taken else f"in {target}"
            plan.skipped.append(
                Skipped(name, f"a profile {new!r} already exists {where} (--rename {name}=NEW)")
            )
            return None
        used.add(new)
        return new

    imported: dict[str, str] = {}  # AWS name -> sessman name
    for name, section in creds.items():
        if only and name not in only:
            continue
        key_id = section.get("aws_access_key_id", "").strip()
        secret = section.get("aws_secret_access_key", "").strip()
        if section.get("aws_session_token") or section.get("aws_security_token"):
            plan.skipped.append(
                Skipped(name, "temporary credentials (aws_session_token): they expire")
            )
            continue
        if not key_id or not secret:
            if name not in conf or not conf[name].get("role_arn"):
                plan.skipped.append(Skipped(name, "no access key pair"))
            continue
        if not fits(key_id, "AccessKeyId") or not fits(secret, "SecretAccessKey"):
            plan.skipped.append(Skipped(name, "the key pair is not shaped like an AWS key"))
            continue
        region = section.get("region") or conf.get(name, {}).get("region")
        if region and not _REGION.match(region.strip()):
            plan.skipped.append(Skipped(name, "its region is not an AWS region"))
            continue
        new = claim(name)
        if new is None:
            continue
        imported[name] = new
        plan.keys.append(ImportedKey(new, key_id, secret, region.strip() if region else None))

    for name in roles_there:
        if only and name not in only:
            continue
        if renames.get(name, name) in used:
            claim(name)  # the first reason: its name is taken
            continue
        role = _role(name, conf[name], imported)
        if isinstance(role, Skipped):
            source = conf[name].get("source_profile", "").strip()
            why = next((s.reason for s in plan.skipped if source and s.name == source), None)
            plan.skipped.append(Skipped(name, f"{role.reason}: {why}") if why else role)
            continue
        new = claim(name)
        if new is not None:
            plan.roles.append(ImportedRole(new, role[0], role[1], str(config)))
    if not only:
        for name, section in conf.items():
            if name not in creds and not section.get("role_arn"):
                plan.skipped.append(
                    Skipped(
                        name,
                        "no keys and no role here (SSO, credential_process...):"
                        f" use it through a profile with aws_profile: {name}",
                    )
                )
    return plan


def _role(
    name: str, section: Mapping[str, str], imported: Mapping[str, str]
) -> tuple[str, tuple[tuple[str, str | int], ...]] | Skipped:
    """``(source_profile, settings)`` of a role profile, or why it is skipped."""
    source = section.get("source_profile", "").strip()
    if not source:
        how = "credential_source" if section.get("credential_source") else "no source_profile"
        return Skipped(name, f"a role with {how}: sessman assumes roles from its own profiles")
    if source not in imported:
        return Skipped(name, f"its source_profile {source!r} is not imported in this run")
    settings: list[tuple[str, str | int]] = []
    for aws_key, key in _ROLE_KEYS.items():
        value = section.get(aws_key, "").strip()
        if not value:
            continue
        if not _PATTERNS[key].match(value):
            return Skipped(name, f"its {aws_key} is not shaped as AWS shapes it")
        settings.append((key, value))
    region = section.get("region", "").strip()
    if region:
        if not _REGION.match(region):
            return Skipped(name, "its region is not an AWS region")
        settings.append(("region", region))
    duration = section.get("duration_seconds", "").strip()
    if duration:
        low, high = SESSION_DURATION
        if not duration.isdigit() or not low <= int(duration) <= high:
            return Skipped(name, f"its duration_seconds is not {low}-{high}")
        settings.append(("session_duration", int(duration)))
    return imported[source], tuple(settings)
