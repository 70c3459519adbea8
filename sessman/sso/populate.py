"""``sessman sso populate``: one ``sso`` profile per account and role of a sign-in.

ListAccounts and ListAccountRoles (every page, at most 20 requests a second)
give the assignments; each gets a profile named by the documented template
``<prefix><account name>.<role name>``, every run of characters other than
letters, digits, ``_``, ``.`` and ``-`` replaced by ``-``; a name that a
profile sessman did not generate holds moves aside to ``<name>-<account id>``.
Generated profiles carry ``generated_by: sso:<session>`` (the marker that
``generate organization`` uses too); only those, and only when named by
the template with the same prefix, are ever updated or pruned. The file is edited as text (see
:mod:`sessman.profiles_text`), under its edit lock, so its comments survive;
an update rewrites only the keys populate owns, so what the user added to a
generated profile stays. A pruned profile's session is closed first.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sessman.config import Config, Profile, SsoSession, parse_config
from sessman.errors import UsageError
from sessman.fileformat import PROFILE_PREFIX_PATTERN
from sessman.profiles_text import (
    change_lines,
    edit_profiles,
    editing,
    profile_indent,
    profile_texts,
    read_text,
    save,
    update_keys,
    yaml_string,
)
from sessman.secretstore import SecretStore
from sessman.yamlnodes import literal_text

from .http import RateLimiter
from .portal import Account, accounts, roles

__all__ = ["PopulateResult", "describe", "populate", "profile_name"]

_PREFIX = re.compile(PROFILE_PREFIX_PATTERN)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Assignment:
    """A role the sign-in may take in an account."""

    account: Account
    role: str


@dataclass
class PopulateResult:
    """What ``sso populate`` wrote (or, with ``dry_run``, would write); no secrets."""

    path: Path
    session: str
    dry_run: bool
    profiles: dict[str, Assignment] = field(default_factory=dict)
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "session": self.session,
            "dry_run": self.dry_run,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "skipped": self.skipped,
            "closed": self.closed,
            "profiles": [
                {
                    "name": name,
                    "account": a.account.id,
                    "account_name": a.account.name,
                    "role": a.role,
                }
                for name, a in self.profiles.items()
            ],
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
        }


def _safe(text: str) -> str:
    return _UNSAFE.sub("-", text).strip("-_.")


def profile_name(prefix: str, account: Account, role: str) -> str:
    """``<prefix><account name>.<role name>``, made safe (the documented template)."""
    return f"{prefix}{_safe(account.name) or account.id}.{_safe(role) or 'role'}"


def populate(
    config: Config,
    store: SecretStore,
    session: str,
    *,
    prefix: str = "",
    prune: bool = False,
    dry_run: bool = False,
    region: str | None = None,
    limiter: RateLimiter | None = None,
    close: Callable[[str], bool] | None = None,
) -> PopulateResult:
    """Add (or refresh) a profile per account and role; see the module docstring.

    ``close(name)`` ends a pruned profile's session (keyring and state) before
    the profile leaves the file, and says whether one was open.
    """
    sso = config.sso_session(session)
    if not _PREFIX.match(prefix):
        raise UsageError(
            f"--prefix {prefix!r} cannot start a profile name: use letters, digits, '.', '_'"
            " and '-', starting with a letter or digit"
        )
    limiter = limiter or RateLimiter()
    started = time.monotonic()
    found = [
        Assignment(account, role)
        for account in accounts(sso, store, limiter)
        for role in roles(sso, store, account, limiter)
    ]
    path = config.path
    with editing(path):
        result = _write(path, sso, found, prefix, prune, dry_run, region, close)
    result.requests = limiter.count
    result.seconds = time.monotonic() - started
    return result


def _write(
    path: Path,
    sso: SsoSession,
    found: list[Assignment],
    prefix: str,
    prune: bool,
    dry_run: bool,
    region: str | None,
    close: Callable[[str], bool] | None,
) -> PopulateResult:
    """Read the file (under the edit lock), apply the assignments to it and save it."""
    text = read_text(path)
    existing = parse_config(text, path).profiles  # the file as it is now, not as cached
    marker = f"sso:{sso.name}"
    names_by_id = {item.account.id: item.account.name for item in found}
    ours = {
        n: p
        for n, p in existing.items()
        if p.generated_by == marker and p.kind == "sso" and _owned(n, p, prefix, names_by_id)
    }
    by_assignment = {(p.sso_account_id, p.sso_role_name): n for n, p in ours.items()}
    result = PopulateResult(path=path, session=sso.name, dry_run=dry_run)
    indent = profile_indent(text, path) if existing else "  "
    current = profile_texts(text, path) if existing else {}
    taken = set(existing)
    new_blocks: list[str] = []
    replace: dict[str, str] = {}
    where = region or sso.region
    for item in found:
        name = by_assignment.get((item.account.id, item.role)) or _free_name(prefix, item, taken)
        if name is None:
            result.skipped.append(
                {
                    "name": profile_name(prefix, item.account, item.role),
                    "account": item.account.id,
                    "role": item.role,
                    "reason": "the name and NAME-<account id> are profiles sessman did not"
                    " generate",
                }
            )
            continue
        taken.add(name)
        result.profiles[name] = item
        values = _values(item, sso, where, marker)
        if name not in ours:
            result.added.append(name)
            new_blocks.append(_block(name, values, indent))
        elif _same(ours[name], item, where, sso):
            result.unchanged.append(name)
        else:
            result.updated.append(name)
            replace[name] = update_keys(current[name], values)
    if prune:
        replace.update(_prune(existing, ours, set(result.profiles), result))
    if not existing and new_blocks:
        text = _fill_empty(text, new_blocks)
    elif replace or new_blocks:
        text = edit_profiles(text, replace, new_blocks, path)
    if dry_run or not (result.added or result.updated or result.removed):
        parse_config(text, path)
    else:
        if close is not None:
            result.closed += [name for name in result.removed if close(name)]
        save(path, text)
    return result


def _owned(name: str, profile: Profile, prefix: str, names_by_id: Mapping[str, str]) -> bool:
    """Whether populate with ``prefix`` generated ``name``: its exact name template.

    A prefix test alone is not enough: the empty prefix would claim every
    profile generated with ``--prefix corp-``. The account's name is the
    server's, or the one the generated description recorded (an account
    renamed or gone since).
    """
    account, role = profile.sso_account_id or "", profile.sso_role_name or ""
    candidates = {names_by_id.get(account, "")}
    suffix = f" ({account}): {role}"
    if profile.description and profile.description.endswith(suffix):
        candidates.add(profile.description.removesuffix(suffix))
    for account_name in candidates:
        base = profile_name(prefix, Account(account, account_name), role)
        if name in (base, f"{base}-{account}"):
            return True
    return False


def _fill_empty(text: str, blocks: list[str]) -> str:
    """The first profiles of a file whose ``profiles: {}`` is empty, comments kept.

    ``{}`` goes; a comment after it on the same line stays; the blocks follow.
    """
    import yaml

    root = yaml.compose(text, Loader=yaml.SafeLoader)  # characters, not bytes, in marks
    assert isinstance(root, yaml.MappingNode)  # the file was just loaded
    node = next(v for k, v in root.value if getattr(k, "value", None) == "profiles")
    start, end = node.start_mark.index, node.end_mark.index
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    head = text[:start].rstrip(" ") + text[end:line_end]
    return head.rstrip(" ") + "\n" + "".join(blocks) + text[line_end + 1 :]


def _free_name(prefix: str, item: Assignment, taken: set[str]) -> str | None:
    base = profile_name(prefix, item.account, item.role)
    for name in (base, f"{base}-{item.account.id}"):
        if name not in taken:
            return name
    return None


def _description(item: Assignment) -> str:
    """The account name (server text) for the description, as the loader will read it."""
    name = literal_text(item.account.name)
    return f"{name} ({item.account.id}): {item.role}"


def _quoted(text: str) -> str:
    """``text`` double-quoted for YAML, printable non-ASCII letters (É) kept as they are.

    Anything not printable (controls, line and paragraph separators, bidi
    overrides) leaves the whole value JSON-escaped, as ``yaml_string`` does.
    """
    return json.dumps(text, ensure_ascii=False) if text.isprintable() else yaml_string(text)


def _values(item: Assignment, sso: SsoSession, region: str, marker: str) -> dict[str, str]:
    """The keys populate owns in a generated profile, as YAML text."""
    return {
        "description": _quoted(_description(item)),
        "sso_session": sso.name,
        "sso_account_id": yaml_string(item.account.id),
        "sso_role_name": item.role,
        "region": region,
        "generated_by": marker,
    }


def _block(name: str, values: Mapping[str, str], indent: str) -> str:
    inner = indent * 2 if indent else "  "
    lines = [f"{indent}{name}:", *(f"{inner}{k}: {v}" for k, v in values.items())]
    return "\n".join(lines) + "\n"


def _same(current: Profile, item: Assignment, region: str, sso: SsoSession) -> bool:
    """Whether the generated profile already says what a new block would."""
    return (
        current.description == _description(item)
        and current.sso_session == sso.name
        and current.sso_account_id == item.account.id
        and current.sso_role_name == item.role
        and current.region == region
    )


def _prune(
    existing: Any, ours: dict[str, Profile], keep: set[str], result: PopulateResult
) -> dict[str, str]:
    """``{name: ""}`` for each generated profile whose assignment is gone (unless in use)."""
    removals: dict[str, str] = {}
    gone = [n for n in ours if n not in keep]
    for name in gone:
        users = [n for n, p in existing.items() if p.source_profile == name and n not in gone]
        if users:
            result.skipped.append(
                {
                    "name": name,
                    "account": ours[name].sso_account_id or "",
                    "role": ours[name].sso_role_name or "",
                    "reason": f"its assignment is gone, but profile {users[0]!r} uses it as"
                    " source_profile",
                }
            )
            continue
        removals[name] = ""
        result.removed.append(name)
    return removals


def describe(result: PopulateResult) -> list[str]:
    """Lines for people: what was (or would be) done."""

    def about(name: str) -> str:
        item = result.profiles.get(name)
        return f" ({item.account.id}, {item.account.name}, {item.role})" if item else ""

    return change_lines(
        result,
        about,
        f"{len(result.profiles)} role{'' if len(result.profiles) == 1 else 's'};"
        f" {len(result.added)} added, {len(result.updated)}"
        f" updated, {len(result.unchanged)} unchanged, {len(result.removed)} removed in"
        f" {result.path} ({result.requests} requests in {result.seconds:.1f} s)",
    )
