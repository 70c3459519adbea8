"""Profile tags for accounts of an AWS Organization: OU paths and account tags.

Each becomes a valid profile tag (the pattern :mod:`sessman.fileformat` declares) or is left out.
"""

from __future__ import annotations

import re
from typing import Any

from sessman import fileformat as fmt

__all__ = ["account_tags", "clean_tag", "ou_tags"]

_TAG = re.compile(fmt.TAG_PATTERN)


def clean_tag(text: str) -> str | None:
    """``text`` made into a valid profile tag, or None when nothing is left."""
    cleaned = re.sub(r"[^A-Za-z0-9_.:/=+-]+", "-", text).lstrip("_.:/=+-")
    return cleaned if cleaned and _TAG.match(cleaned) else None


def ou_tags(org: Any, account_id: str, units: dict[str, tuple[str, str | None]]) -> list[str]:
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
    tags = [clean_tag("/".join(names[: i + 1])) for i in range(len(names))]
    return [t for t in tags if t]


def _parent_unit(org: Any, child: str) -> str | None:
    """The OU directly above ``child``, or None when that is the root."""
    parents = org.list_parents(ChildId=child).get("Parents", [])
    if not parents or parents[0].get("Type") != "ORGANIZATIONAL_UNIT":
        return None
    return str(parents[0]["Id"])


def account_tags(org: Any, account_id: str) -> list[str]:
    """``Key=Value`` (or ``Key`` when the value is empty) for each account tag, sorted."""
    out: list[str] = []
    for page in org.get_paginator("list_tags_for_resource").paginate(ResourceId=account_id):
        for tag in page.get("Tags", []):
            key, value = str(tag.get("Key", "")), str(tag.get("Value", ""))
            cleaned = clean_tag(f"{key}={value}" if value else key)
            if cleaned:
                out.append(cleaned)
    return sorted(out)  # AWS's order may change between calls; the file should not
