"""What every benchmark is given: the :class:`Context`, its rounds, and shared helpers.

The benchmark modules (:mod:`bench.cases`, :mod:`bench.scale`,
:mod:`bench.server_latency`, :mod:`bench.sessions`) import this one; it
imports none of them.
"""

from __future__ import annotations

import json
import resource
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .harness import (
    BENCH_DIR,
    PYTHON,
    BenchError,
    Command,
    MotoServer,
    Report,
    Row,
    Workspace,
    check_run,
    key_name,
    key_profiles,
    profiles_file,
    progress,
    yes_no,
)
from .importtime import import_delta, imports_of

BUILD_CHILD = str(BENCH_DIR / "build_child.py")
KEYRING_PROBE = str(BENCH_DIR / "keyring_probe.py")
STORED = 10  # profiles with a stored secret in benchmarks 1, 2 and 5
SIZES = (10, 100, 1000)


@dataclass
class Rounds:
    fast: int  # sub-second commands (1, 2)
    heavy: int  # tens of seconds (3, 4)
    growth_list: int
    growth_build: int

    @classmethod
    def for_mode(cls, quick: bool) -> Rounds:
        return cls(7, 1, 3, 1) if quick else cls(15, 2, 7, 2)


@dataclass
class Context:
    root: Path
    rounds: Rounds
    report: Report = field(default_factory=Report)
    _moto: MotoServer | None = None
    _workspaces: dict[str, Workspace] = field(default_factory=dict)
    _list_files: dict[int, Path] = field(default_factory=dict)

    def workspace(self, name: str) -> Workspace:
        if name not in self._workspaces:
            self._workspaces[name] = Workspace(self.root, name)
        return self._workspaces[name]

    def moto(self) -> MotoServer:
        if self._moto is None:
            progress("starting moto_server")
            self._moto = MotoServer(self.root / "moto.log").__enter__()
        return self._moto

    def close(self) -> None:
        if self._moto is not None:
            self._moto.__exit__()
            self._moto = None

    def list_files(self) -> tuple[Workspace, dict[int, Path]]:
        """Profiles files of 10, 100 and 1000 profiles, 10 of them with a stored secret."""
        ws = self.workspace("list")
        if not self._list_files:
            for size in SIZES:
                path = ws.dir / f"profiles-{size}.yaml"
                self._list_files[size] = profiles_file(path, key_profiles(size))
            ws.store_secrets([key_name(i) for i in range(STORED)])
        return ws, self._list_files


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def seconds(value: float) -> str:
    return f"{value:.3f} s"


def ratio(value: float) -> str:
    return f"{value:.2f}x"


def list_validator(size: int) -> Callable[[subprocess.CompletedProcess[str]], None]:
    def validate(done: subprocess.CompletedProcess[str]) -> None:
        rows = done.stdout.splitlines()[1:]
        stored = sum(1 for line in rows if " stored " in line)
        if len(rows) != size or stored != min(size, STORED):
            raise BenchError(f"sessman list: {len(rows)} rows, {stored} stored; expected {size}")

    return validate


def keyring_round_trips(env: dict[str, str], args: list[str], out: Path) -> dict[str, int]:
    check_run([PYTHON, KEYRING_PROBE, str(out), *args], env)
    counts: dict[str, int] = json.loads(out.read_text())
    return counts


def keyring_text(counts: dict[str, Any]) -> str:
    calls = {k.removeprefix("calls."): v for k, v in counts.items() if k.startswith("calls.")}
    return (
        f"{counts['calls']} backend calls {calls}, {counts['file_reads']} file reads,"
        f" {counts['kdf']} Argon2id key derivations ({counts['kdf_ms']:.0f} ms,"
        " summed over threads)"
    )


def import_rows(
    ctx: Context, bench: str, what: str, a: Command, b: Command, forbidden: tuple[str, ...]
) -> None:
    """One row per package that must not be imported, plus the import delta as a note."""
    a_imports = imports_of(a.argv, a.env)
    b_imports = imports_of(b.argv, b.env)
    for package in dict.fromkeys(("boto3", "botocore", "pydantic", *forbidden)):
        imported = a_imports.has(package)
        binding = package in forbidden
        ctx.report.add(
            Row(
                bench,
                f"{what}: imports {package}?",
                yes_no(imported),
                yes_no(b_imports.has(package)),
                "",
                f"no {package}" if binding else "",
                (not imported) if binding else None,
            )
        )
    ctx.report.note(
        bench,
        f"{what} (-X importtime, median of 3): A {len(a_imports.self_ms)} modules"
        f" {a_imports.total_ms():.0f} ms, B {len(b_imports.self_ms)} modules"
        f" {b_imports.total_ms():.0f} ms; A imports {import_delta(a_imports, b_imports)}",
    )
