"""Every S3 bucket and its region, across the profiles with a tag.

    python examples/bucket_inventory.py --tag prod
    python examples/bucket_inventory.py --config profiles.yaml

One thread per profile (``SessionManager.map``); a profile that fails (no
secret stored, access denied, endpoint down) is reported on stderr and the
others are still listed. Exit status: 0 when every profile answered, 1 when
any failed, 2 when the profiles file or the arguments are wrong.

Its tests, ``test_bucket_inventory.py``, show how to test such a script:
sessman's pytest fixtures and moto, no mocks.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sessman import SessionManager, SessmanError

#: What GetBucketLocation calls the oldest regions.
_LEGACY_LOCATIONS = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}


@dataclass(frozen=True, order=True)
class Bucket:
    """One row of the inventory."""

    profile: str
    account: str
    name: str
    region: str


def buckets_of(mgr: SessionManager, name: str) -> list[Bucket]:
    """The buckets the credentials of profile ``name`` can see, with their regions."""
    s3 = mgr.client(name, "s3")
    account = mgr.whoami(name).account
    rows = []
    for entry in s3.list_buckets()["Buckets"]:
        region = entry.get("BucketRegion")
        if not region:
            location = s3.get_bucket_location(Bucket=entry["Name"]).get("LocationConstraint")
            region = _LEGACY_LOCATIONS.get(location, location)
        rows.append(Bucket(name, account, entry["Name"], region))
    return rows


def inventory(
    mgr: SessionManager, *, tag: str | None = None, workers: int = 16
) -> tuple[list[Bucket], dict[str, BaseException]]:
    """All buckets of the profiles tagged ``tag`` (all profiles if None), and the failures."""

    def one(name: str, _session: Any) -> list[Bucket]:
        # mgr.client rather than the session's: it applies the profile's endpoint_url.
        return buckets_of(mgr, name)

    outcomes = mgr.map(one, tag=tag, max_workers=workers)
    rows = sorted(row for o in outcomes.values() if o.ok and o.value for row in o.value)
    failed = {n: o.error for n, o in outcomes.items() if o.error is not None}
    return rows, failed


def render(rows: Sequence[Bucket]) -> str:
    """A plain-text table: profile, account, bucket, region."""
    header = ("PROFILE", "ACCOUNT", "BUCKET", "REGION")
    cells = [header, *((r.profile, r.account, r.name, r.region) for r in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Every S3 bucket and its region, across the profiles with a tag."
    )
    parser.add_argument("--config", help="profiles file (default: sessman's discovery)")
    parser.add_argument("--tag", help="only the profiles with this tag")
    parser.add_argument("--workers", type=int, default=16, help="profiles queried at once")
    args = parser.parse_args(argv)
    try:
        with SessionManager.load(args.config) as mgr:
            if not mgr.names(args.tag):
                print(f"no profile is tagged {args.tag!r}", file=sys.stderr)
                return 2
            rows, failed = inventory(mgr, tag=args.tag, workers=args.workers)
    except SessmanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    print(render(rows))
    for name, error in failed.items():
        print(f"{name}: {error}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
