"""Generate one role profile per account of an AWS Organization.

ListAccounts (every page) is called with the SOURCE profile's credentials at
its endpoint; each ACTIVE account gets a role profile sourced from SOURCE,
marked ``generated_by: organization:SOURCE``. Only profiles carrying that
marker (and the same role) are ever rewritten or pruned: a profile the user
wrote is never touched, and a generated name it already holds moves aside to
``NAME-<account id>``. The file is edited as text, so its comments survive;
in a generated profile only the keys the generator owns are rewritten, so
what the user added there (``mfa_serial``, comments) stays. A pruned
profile's session is closed before the profile goes. The file is read,
changed and written under its edit lock.
"""

from __future__ import annotations

import contextlib
import html
import re
import textwrap
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sessman.config import parse_config
from sessman.credentials import check_mfa_code, translating
from sessman.errors import SessmanError, UsageError
from sessman.fileformat import ACCOUNT_PATTERN, PROFILE_PREFIX_PATTERN
from sessman.lifecycle.org_tags import account_tags, ou_tags
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
from sessman.yamlnodes import literal_text

from .partition import partition_of

if TYPE_CHECKING:
    from sessman.config import Profile
    from sessman.manager import SessionManager

__all__ = ["Account", "GenerateResult", "close_session", "describe", "generate_organization"]

TagSource = Literal["ou", "tags"]
_ROLE_NAME = re.compile(r"^(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$")
_PREFIX = re.compile(PROFILE_PREFIX_PATTERN)
_ACCOUNT_ID = re.compile(ACCOUNT_PATTERN)
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/(.+)$")
#: The keys a generated profile's generator writes; any other key is the user's.
OWNED = (
    "description",
    "role_arn",
    "source_profile",
    "region",
    "endpoint_url",
    "tags",
    "generated_by",
)


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
    closed: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "dry_run": self.dry_run,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "skipped": self.skipped,
            "closed": self.closed,
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

    With ``mfa_code`` (six digits), SOURCE's session is opened with it first
    when SOURCE or a profile of its source chain asks for MFA, and
    ListAccounts runs on that session; otherwise the code is not used.
    """
    if mfa_code is not None:  # a usage error before anything is asked, as everywhere
        mfa_code = check_mfa_code(mfa_code)
    src = manager.profile(source)
    if not _ROLE_NAME.match(role):
        raise UsageError(f"{role!r} is not an IAM role name (letters, digits and +=,.@_-)")
    if not _PREFIX.match(prefix):
        raise UsageError(
            f"--prefix {prefix!r} cannot start a profile name: use letters, digits, '.', '_'"
            " and '-', starting with a letter or digit"
        )
    sources = set(tag_from)
    if mfa_code is not None and _asks_for_mfa(manager, src):
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
    with editing(path):
        return _write(manager, src, role, accounts, prefix, marker, prune, dry_run)


def _write(
    manager: SessionManager,
    src: Profile,
    role: str,
    accounts: list[Account],
    prefix: str,
    marker: str,
    prune: bool,
    dry_run: bool,
) -> GenerateResult:
    """Read the file (under the edit lock), apply the accounts to it and save it."""
    path = manager.config.path
    text = read_text(path)
    existing = parse_config(text, path).profiles  # as it is now: another edit may have run
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
        values = _values(account, role, src, marker)
        if name not in ours:
            result.added.append(name)
            new_blocks.append(_block(name, values, indent))
        elif _same(current[name], values):
            result.unchanged.append(name)
        else:
            result.updated.append(name)
            edits[name] = update_keys(current[name], values)
    if prune:
        edits.update(_prune(existing, ours, set(result.profiles), result))
    text = edit_profiles(text, edits, new_blocks, path)
    changed = result.added or result.updated or result.removed
    if dry_run or not changed:
        parse_config(text, path)
    else:
        for name in result.removed:  # before the profile goes, while its session is known
            if close_session(manager, name):
                result.closed.append(name)
        save(path, text)
    return result


def close_session(manager: SessionManager, name: str) -> bool:
    """Close profile ``name``'s session (keyring entry and state record); whether one was open.

    A profile about to be removed from the file leaves nothing behind. One the
    manager's configuration does not know (written since it was loaded) is
    closed in the keyring and the state directly.
    """
    if name in manager.config.profiles:
        return manager.close(name)
    from sessman.secretstore import session_user

    deleted = manager.store.delete(session_user(name))
    return manager.state.remove(name) or deleted


def _asks_for_mfa(manager: SessionManager, p: Profile) -> bool:
    """Whether opening ``p``'s session may need an MFA code (it or a source has mfa_serial)."""
    seen: set[str] = set()
    current: Profile | None = p
    while current is not None and current.name not in seen:
        if current.mfa_serial is not None:
            return True
        seen.add(current.name)
        source = current.source_profile
        current = manager.profile(source) if source is not None else None
    return False


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


def _values(a: Account, role: str, src: Profile, marker: str) -> dict[str, str | None]:
    """The generator's keys (:data:`OWNED`) as YAML text; ``None``: the key must not be there."""
    arn = f"arn:{partition_of(src.region).name}:iam::{a.id}:role/{role}"
    endpoint = src.endpoint_url
    return {
        "description": yaml_string(literal_text(a.name)),
        "role_arn": arn,
        "source_profile": src.name,
        "region": src.region,
        "endpoint_url": yaml_string(endpoint) if endpoint is not None else None,
        "tags": f"[{', '.join(yaml_string(t) for t in a.tags)}]" if a.tags else None,
        "generated_by": marker,
    }


def _block(name: str, values: Mapping[str, str | None], indent: str) -> str:
    inner = indent * 2 if indent else "  "
    lines = [f"{indent}{name}:"]
    lines += [f"{inner}{k}: {v}" for k, v in values.items() if v is not None]
    return "\n".join(lines) + "\n"


def _same(written: str, values: Mapping[str, str | None]) -> bool:
    """Whether a generated profile's owned keys already say ``values`` (the rest is the user's)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        loaded = yaml.load(textwrap.dedent(written), loader)  # noqa: S506
        have = next(iter(loaded.values())) if isinstance(loaded, dict) else None
        want = yaml.load(_block("p", values, ""), loader)["p"]  # noqa: S506
    except (yaml.YAMLError, StopIteration):
        return False
    if not isinstance(have, dict):
        return False
    return bool({k: have[k] for k in OWNED if k in have} == want)


def _prune(
    existing: Mapping[str, Profile],
    ours: Mapping[str, Profile],
    keep: set[str],
    result: GenerateResult,
) -> dict[str, str]:
    """Removals (name -> ``""``) of generated profiles whose account is gone."""
    gone = [n for n in ours if n not in keep]
    removals: dict[str, str] = {}
    for name in gone:
        users = [n for n, p in existing.items() if p.source_profile == name and n not in gone]
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
    with _translating(src):
        for page in org.get_paginator("list_accounts").paginate(PaginationConfig=paging):
            for raw in page.get("Accounts", []):
                account = _checked(raw)
                if account is None:
                    continue
                tags: list[str] = []
                if "ou" in sources:
                    tags += ou_tags(org, account.id, units)
                if "tags" in sources:
                    tags += account_tags(org, account.id)
                accounts.append(Account(account.id, account.name, tuple(dict.fromkeys(tags))))
    return accounts


@contextlib.contextmanager
def _translating(src: Profile) -> Iterator[None]:
    """:func:`translating`, with an error body of raw XML reduced to its code and message.

    Organizations answers in JSON; an XML error (a proxy, a gateway, another
    endpoint) reaches botocore's JSON parser whole, and would otherwise be
    shown as the error's message, markup and newlines included.
    """
    with translating(src):
        try:
            yield
        except Exception as exc:
            _reduce_xml(exc)
            raise


def _reduce_xml(exc: Exception) -> None:
    response = getattr(exc, "response", None)
    error = response.get("Error") if isinstance(response, dict) else None
    if not isinstance(error, dict) or not str(error.get("Message", "")).lstrip().startswith("<"):
        return
    body = str(error["Message"])

    def element(tag: str) -> str:
        found = re.search(rf"<{tag}>(.*?)</{tag}>", body, re.DOTALL)
        return " ".join(html.unescape(found.group(1)).split())[:300] if found else ""

    error["Code"] = element("Code") or str(error.get("Code", ""))
    error["Message"] = element("Message") or "the endpoint answered an error in XML"


def _checked(raw: Mapping[str, Any]) -> Account | None:
    """An ACTIVE account with a well-formed id, else None (outside data is shape-checked)."""
    status = raw.get("State") or raw.get("Status")
    account_id = str(raw.get("Id", ""))
    if str(status).upper() != "ACTIVE":
        return None
    if not _ACCOUNT_ID.match(account_id):
        raise SessmanError(f"ListAccounts answered a malformed account id {account_id[:20]!r}")
    name = " ".join(str(raw.get("Name") or account_id).split())[:200]
    return Account(account_id, name)


def describe(result: GenerateResult) -> list[str]:
    """Lines for people: what was (or would be) done."""

    def about(name: str) -> str:
        account = result.profiles.get(name)
        return f" ({account.id}, {account.name})" if account else ""

    return change_lines(
        result,
        about,
        f"{len(result.profiles)} accounts; {len(result.added)} added, {len(result.updated)}"
        f" updated, {len(result.unchanged)} unchanged, {len(result.removed)} removed in"
        f" {result.path}",
    )
