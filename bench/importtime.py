"""What a benchmarked command imports: ``python -X importtime``, parsed.

Used by the benchmarks whose budget includes "never imports boto3" (and the
like), and for the note that says what A imports that B does not.
"""

from __future__ import annotations

import re
import statistics
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .harness import PYTHON, BenchError

__all__ = ["Imports", "import_delta", "imports_of"]

_IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


@dataclass
class Imports:
    """Modules a command imported, with their self times (ms, median of runs)."""

    self_ms: dict[str, float] = field(default_factory=dict)

    def has(self, package: str) -> bool:
        return any(m == package or m.startswith(package + ".") for m in self.self_ms)

    def total_ms(self) -> float:
        return sum(self.self_ms.values())


def imports_of(argv: Sequence[str], env: Mapping[str, str], runs: int = 3) -> Imports:
    """Run ``python -X importtime ...`` ``runs`` times; every module seen, median self time."""
    seen: list[dict[str, int]] = []
    for _ in range(runs):
        done = subprocess.run(
            [PYTHON, "-X", "importtime", *argv[1:]],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        found = {}
        for line in done.stderr.splitlines():
            m = _IMPORTTIME.match(line)
            if m:
                found[m.group(4)] = int(m.group(1))
        if not found:
            raise BenchError(f"no -X importtime output from {argv}:\n{done.stderr[-1000:]}")
        seen.append(found)
    modules = set().union(*seen)
    return Imports(
        {m: statistics.median(run.get(m, 0) for run in seen) / 1000 for m in sorted(modules)}
    )


def import_delta(a: Imports, b: Imports, top: int = 6) -> str:
    """What A imports that B does not, grouped by top-level package (self ms)."""
    groups: dict[str, float] = {}
    count = 0
    for module, ms in a.self_ms.items():
        if module not in b.self_ms:
            count += 1
            root = module.split(".")[0]
            groups[root] = groups.get(root, 0.0) + ms
    ranked = sorted(groups.items(), key=lambda kv: -kv[1])[:top]
    listed = ", ".join(f"{name} {ms:.1f}" for name, ms in ranked)
    extra = sum(groups.values())
    return f"{count} modules B does not import, {extra:.0f} ms self time ({listed})"
