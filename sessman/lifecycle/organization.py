"""Generate one role profile per account of an AWS Organization.

ListAccounts (every page) is called with the SOURCE profile's credentials at
its endpoint; each ACTIVE account gets a role profile sourced from SOURCE,
marked ``generated_by: organization:SOURCE``. Only profiles carrying that
marker (and the same role) are ever rewritten or pruned: a profile the user
wrote is never touched, and a generated name it already holds moves aside to
``NAME-<account id>``. The file is edited as text, so its comments survive.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sessman import fileformat as fmt
from sessman.config import parse_config
from sessman.credentials import translating
from sessman.errors import SessmanError, UsageError
from sessman.profiles_text import (
    edit_profiles,
    profile_indent,
    profile_texts,
    read_text,
    save,
    yaml_string,
)

from .partition import partition_of

if TYPE_CHECKING:
    from sessman.config import Profile
    from sessman.manager import SessionManager

__all__ = ["Account", "GenerateResult", "describe", "generate_organization"]

TagSource = Literal["ou", "tags"]
_ROLE_NAME = re.compile(r"^(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$")
_PREFIX = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9_.-]*)?$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/(.+)$")
_TAG = re.compile(fmt.TAG_PATTERN)


@dataclass(frozen=True)
class Account:
    """An ACTIVE account of the organization, as the profile will describe it."""

    id: str
    name: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class GenerateResult:
    """What ``generate organization`` wrote (or, with ``dry_run``, would write)."""

    path: Path
    dry_run: bool
    profiles: dict[str, Account]
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "dry_run": self.dry_run,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "skipped": self.skipped,
            "profiles": [
                {"name": n, "account": a.id, "account_name": a.name, "tags": list(a.tags)}
                for n, a in self.profiles.items()
            ],
        }


def generate_organization(
    manager: SessionManager,
    source: str,
    role: str,
    *,
    prefix: str = "",
    tag_from: Iterable[TagSource] = (),
    prune: bool = False,
    dry_run: bool = False,
    page_size: int | None = None,
    mfa_code: str | None = None,
) -> GenerateResult:
    """Add (or refresh) a role profile for every ACTIVE account; see the module docstring.

    With ``mfa_code``, SOURCE's session is opened with it first (SOURCE or
    its role asks for MFA), and ListAccounts runs on that session.
    """
    src = manager.profile(source)
    if not _ROLE_NAME.match(role):
        raise UsageError(f"{role!r} is not an IAM role name (letters, digits and +=,.@_-)")
    if not _PREFIX.match(prefix):
        raise UsageError(
            f"--prefix {prefix!r} cannot start a profile name: use letters, digits, '.', '_'"
            " and '-', starting with a letter or digit"
        )
    sources = set(tag_from)
    if mfa_code is not None:
        manager.credentials(source, mfa_code=mfa_code)
    accounts = _accounts(manager, src, sources, page_size)
    if not accounts:  # every organization lists its management account: something is off
        raise SessmanError(
            f"ListAccounts with profile {source!r} returned no ACTIVE account; nothing written",
            hint="check that the profile belongs to the organization's management account"
            " (or a delegated administrator)",
        )
    marker = f"organization:{source}"
    path = manager.config.path
    text = read_text(path)
    existing = manager.config.profiles
    ours = {n: p for n, p in existing.items() if p.generated_by == marker and _role(p) == role}
    by_account = {_account_of(p): n for n, p in ours.items()}
    result = GenerateResult(path=path, dry_run=dry_run, profiles={})
    indent = profile_indent(text, path)
    current = profile_texts(text, path)
    taken = set(existing)
    new_blocks: list[str] = []
    edits: dict[str, str] = {}
    for account in accounts:
        name = by_account.get(account.id) or _free_name(prefix, account, taken)
        if name is None:
            result.skipped.append(
                {
                    "name": _base_name(prefix, account),
                    "account": account.id,
                    "reason": "the name and NAME-<account id> are profiles sessman did not"
                    " generate",
                }
            )
            continue
        taken.add(name)
        result.profiles[name] = account
        block = _block(name, account, role, src, marker, indent)
        if name not in ours:
            result.added.append(name)
            new_blocks.append(block)
        elif _same(current[name], block):
            result.unchanged.append(name)
        else:
            result.updated.append(name)
            edits[name] = block
    if prune:
        edits.update(_prune(manager, ours, set(result.profiles), result))
    text = edit_profiles(text, edits, new_blocks, path)
    changed = result.added or result.updated or result.removed
    if dry_run or not changed:
        parse_config(text, path)
    else:
        save(path, text)
    return result


def _role(p: Profile) -> str | None:
    match = _ROLE_ARN.match(p.role_arn or "")
    return match.group(2) if match else None


def _account_of(p: Profile) -> str | None:
    match = _ROLE_ARN.match(p.role_arn or "")
    return match.group(1) if match else None


def _base_name(prefix: str, account: Account) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", account.name.lower()).strip("-_.")
    return prefix + (slug or account.id)


def _free_name(prefix: str, account: Account, taken: set[str]) -> str | None:
    base = _base_name(prefix, account)
    for name in (base, f"{base}-{account.id}"):
        if name not in taken:
            return name
    return None


def _block(name: str, a: Account, role: str, src: Profile, marker: str, indent: str) -> str:
    inner = indent * 2 if indent else "  "
    arn = f"arn:{partition_of(src.region).name}:iam::{a.id}:role/{role}"
    lines = [
        f"{indent}{name}:",
        f"{inner}description: {yaml_string(a.name)}",
        f"{inner}role_arn: {arn}",
        f"{inner}source_profile: {src.name}",
        f"{inner}region: {src.region}",
    ]
    if src.endpoint_url is not None:
        lines.append(f"{inner}endpoint_url: {yaml_string(src.endpoint_url)}")
    if a.tags:
        lines.append(f"{inner}tags: [{', '.join(yaml_string(t) for t in a.tags)}]")
    lines.append(f"{inner}generated_by: {marker}")
    return "\n".join(lines) + "\n"


def _same(written: str, block: str) -> bool:
    """Whether two profile texts say the same (comments and layout aside)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return bool(yaml.load(textwrap.dedent(written), loader) == yaml.load(block, loader))  # noqa: S506
    except yaml.YAMLError:
        return False


def _prune(
    manager: SessionManager,
    ours: Mapping[str, Profile],
    keep: set[str],
    result: GenerateResult,
) -> dict[str, str]:
    """Removals (name -> ``""``) of generated profiles whose account is gone."""
    gone = [n for n in ours if n not in keep]
    removals: dict[str, str] = {}
    for name in gone:
        users = [
            n
            for n, p in manager.config.profiles.items()
            if p.source_profile == name and n not in gone
        ]
        if users:
            result.skipped.append(
                {
                    "name": name,
                    "account": _account_of(ours[name]) or "",
                    "reason": f"its account is gone, but profile {users[0]!r} uses it as"
                    " source_profile",
                }
            )
            continue
        removals[name] = ""
        result.removed.append(name)
    return removals


def _accounts(
    manager: SessionManager, src: Profile, sources: set[TagSource], page_size: int | None
) -> list[Account]:
    """The ACTIVE accounts, every page, with the tags asked for."""
    org = manager.client(src.name, "organizations")
    paging = {"PageSize": page_size} if page_size else {}
    accounts: list[Account] = []
    units: dict[str, tuple[str, str | None]] = {}
    with translating(src):
        for page in org.get_paginator("list_accounts").paginate(PaginationConfig=paging):
            for raw in page.get("Accounts", []):
                account = _checked(raw)
                if account is None:
                    continue
                tags: list[str] = []
                if "ou" in sources:
                    tags += _ou_tags(org, account.id, units)
                if "tags" in sources:
                    tags += _account_tags(org, account.id)
                accounts.append(Account(account.id, account.name, tuple(dict.fromkeys(tags))))
    return accounts


def _checked(raw: Mapping[str, Any]) -> Account | None:
    """An ACTIVE account with a well-formed id, else None (SPEC 1: shape-check outside data)."""
    status = raw.get("State") or raw.get("Status")
    account_id = str(raw.get("Id", ""))
    if str(status).upper() != "ACTIVE":
        return None
    if not _ACCOUNT_ID.match(account_id):
        raise SessmanError(f"ListAccounts answered a malformed account id {account_id[:20]!r}")
    name = " ".join(str(raw.get("Name") or account_id).split())[:200]
    return Account(account_id, name)


def _tag(text: str) -> str | None:
    """``text`` made into a valid profile tag, or None when nothing is left."""
    cleaned = re.sub(r"[^A-Za-z0-9_.:/=+-]+", "-", text).lstrip("_.:/=+-")
    return cleaned if cleaned and _TAG.match(cleaned) else None


def _ou_tags(org: Any, account_id: str, units: dict[str, tuple[str, str | None]]) -> list[str]:
    """One tag per OU above the account: ``Eng``, ``Eng/Platform`` (root not included).

    ``units`` remembers each OU's name and parent for the run, so a thousand
    accounts in one OU cost a thousand ListParents, not three thousand calls.
    """
    names: list[str] = []
    parent: str | None = _parent_unit(org, account_id)
    for _ in range(10):  # Organizations nests OUs at most five deep
        if parent is None:
            break
        if parent not in units:
            unit = org.describe_organizational_unit(OrganizationalUnitId=parent)
            units[parent] = (
                str(unit["OrganizationalUnit"].get("Name") or parent),
                _parent_unit(org, parent),
            )
        name, parent = units[parent]
        names.insert(0, name)
    tags = [_tag("/".join(names[: i + 1])) for i in range(len(names))]
    return [t for t in tags if t]


def _parent_unit(org: Any, child: str) -> str | None:
    """The OU directly above ``child``, or None when that is the root."""
    parents = org.list_parents(ChildId=child).get("Parents", [])
    if not parents or parents[0].get("Type") != "ORGANIZATIONAL_UNIT":
        return None
    return str(parents[0]["Id"])


def _account_tags(org: Any, account_id: str) -> list[str]:
    """``Key=Value`` (or ``Key`` when the value is empty) for each account tag, sorted."""
    out: list[str] = []
    for page in org.get_paginator("list_tags_for_resource").paginate(ResourceId=account_id):
        for tag in page.get("Tags", []):
            key, value = str(tag.get("Key", "")), str(tag.get("Value", ""))
            cleaned = _tag(f"{key}={value}" if value else key)
            if cleaned:
                out.append(cleaned)
    return sorted(out)  # AWS's order may change between calls; the file should not


def describe(result: GenerateResult) -> list[str]:
    """Lines for people: what was (or would be) done."""
    verb = "would " if result.dry_run else ""
    lines = []
    for label, names in (
        ("add", result.added),
        ("update", result.updated),
        ("remove", result.removed),
    ):
        for name in names:
            account = result.profiles.get(name)
            about = f" ({account.id}, {account.name})" if account else ""
            lines.append(f"{verb}{label} {name}{about}")
    for skip in result.skipped:
        lines.append(f"skipped {skip['name']} ({skip['account']}): {skip['reason']}")
    summary = (
        f"{len(result.profiles)} accounts; {len(result.added)} added, {len(result.updated)}"
        f" updated, {len(result.unchanged)} unchanged, {len(result.removed)} removed in"
        f" {result.path}"
    )
    lines.append(("dry run: nothing written; " if result.dry_run else "") + summary)
    return lines
