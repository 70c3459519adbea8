"""``python -m bench`` (``make bench``): sessman against the budgets of docs/performance.md.

Runs the benchmarks side by side, A (sessman) and B (the
baseline) interleaved over several rounds, and prints medians, ratios and
PASS/MISS per budget. A MISS is a finding, not a failure: the exit status is
0 unless a benchmark could not run at all (then 1). See docs/performance.md.

    python -m bench                 # everything, about 3-4 minutes
    python -m bench --quick         # fewer rounds, about 2 minutes
    python -m bench --only 1,2      # just benchmarks 1 and 2 (repeatable)
    python -m bench --json out.json # also write the results as JSON
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import sys
import time
import traceback
from importlib import metadata
from pathlib import Path

from .cases import BENCHMARKS
from .context import Context, Rounds
from .harness import BenchError, progress, remove_tree, temp_root

PACKAGES = ("sessman", "boto3", "botocore", "typer", "keyring", "PyYAML", "moto")


def _only(value: str) -> list[int]:
    chosen = []
    for part in value.split(","):
        try:
            number = int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a benchmark number: {part!r}") from None
        if number not in BENCHMARKS:
            raise argparse.ArgumentTypeError(f"no benchmark {number} (1-{len(BENCHMARKS)})")
        chosen.append(number)
    return chosen


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    listing = "\n".join(f"  {n}  {title}" for n, (title, _) in BENCHMARKS.items())
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        epilog=f"benchmarks:\n{listing}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="fewer rounds (noisier figures)")
    parser.add_argument(
        "--only",
        type=_only,
        action="append",
        metavar="N[,N...]",
        help=f"run only these benchmarks (1-{len(BENCHMARKS)}); may be repeated",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary directory (for inspection)"
    )
    return parser.parse_args(argv)


def machine() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "-"
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": ", ".join(f"{k} {v}" for k, v in versions.items()),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    chosen = sorted({n for group in args.only for n in group}) if args.only else list(BENCHMARKS)
    root = temp_root()
    ctx = Context(root, Rounds.for_mode(args.quick))
    info = machine()
    started = time.perf_counter()
    progress(f"working in {root}; benchmarks {chosen}{' (quick)' if args.quick else ''}")
    try:
        for number in chosen:
            title, run = BENCHMARKS[number]
            t0 = time.perf_counter()
            try:
                run(ctx)
            except BenchError as exc:
                ctx.report.errors.append(f"[{number}] {title}: could not run: {exc}")
                progress(f"{number}: FAILED TO RUN: {exc}")
            except Exception:
                ctx.report.errors.append(f"[{number}] {title}: crashed:\n{traceback.format_exc()}")
                progress(f"{number}: CRASHED")
            progress(f"{number} took {time.perf_counter() - t0:.0f} s")
    finally:
        ctx.close()
        if args.keep:
            progress(f"kept {root}")
        else:
            remove_tree(root)
    elapsed = time.perf_counter() - started
    report = ctx.report

    print()
    print("sessman benchmarks -- A is sessman, B the baseline; medians of whole processes")
    print(
        f"{info['date']}; nproc {info['nproc']}; Python {info['python']}; {info['platform']}"
        f"; {'quick' if args.quick else 'full'} run in {elapsed:.0f} s"
    )
    print(info["packages"])
    print()
    print(report.table(color=sys.stdout.isatty()))
    if report.notes:
        print()
        for note in report.notes:
            print(note)
    misses = [r for r in report.rows if r.ok is False]
    print()
    for error in report.errors:
        print(f"ERROR {error}")
    if misses:
        print(f"*** {len(misses)} budget(s) MISSED:")
        for row in misses:
            print(f"***   [{row.bench}] {row.what}: {row.ratio or row.a} (budget {row.budget})")
    elif not report.errors:
        print("All budgets met.")
    if args.json is not None:
        payload = {
            "machine": info,
            "quick": args.quick,
            "seconds": round(elapsed, 1),
            "rows": [dataclasses.asdict(r) | {"verdict": r.verdict} for r in report.rows],
            "notes": report.notes,
            "errors": report.errors,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
