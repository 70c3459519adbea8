"""The five benchmarks of issue #7, one function each, against SPEC section 8.

Every function takes the :class:`Context` and adds rows (and notes) to its
report; A is sessman, B the baseline it is held against.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .harness import (
    BENCH_DIR,
    LOOPBACK,
    PYTHON,
    BenchError,
    Command,
    MotoServer,
    Report,
    Row,
    Workspace,
    check_run,
    child_json,
    import_delta,
    imports_of,
    interleaved,
    key_name,
    key_profiles,
    median,
    profiles_file,
    progress,
    sessman_argv,
    spread,
    yes_no,
)
from .latency_proxy import LatencyProxy
from .server_latency import bench_server
from .sessions import bench_short_roles

BUILD_CHILD = str(BENCH_DIR / "build_child.py")
KEYRING_PROBE = str(BENCH_DIR / "keyring_probe.py")
#: Never contacted: building sessions and clients makes no request.
UNUSED_ENDPOINT = f"http://{LOOPBACK}:9"
STORED = 10  # profiles with a stored secret in benchmarks 1, 2 and 5
SIZES = (10, 100, 1000)
ROLES = 100
DELAY = 0.1


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


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _seconds(value: float) -> str:
    return f"{value:.3f} s"


def _ratio(value: float) -> str:
    return f"{value:.2f}x"


def _list_validator(size: int) -> Callable[[subprocess.CompletedProcess[str]], None]:
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


def _keyring_text(counts: dict[str, Any]) -> str:
    calls = {k.removeprefix("calls."): v for k, v in counts.items() if k.startswith("calls.")}
    return (
        f"{counts['calls']} backend calls {calls}, {counts['file_reads']} file reads,"
        f" {counts['kdf']} Argon2id key derivations ({counts['kdf_ms']:.0f} ms,"
        " summed over threads)"
    )


def _import_rows(
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


# -- 1 -------------------------------------------------------------------------


def bench_list(ctx: Context) -> None:
    """`sessman list` over 100 profiles vs `python -c "import yaml, typer, keyring"`."""
    ws, files = ctx.list_files()
    a = Command(
        "sessman list",
        [*sessman_argv(), "list"],
        ws.with_config(files[100]),
        validate=_list_validator(100),
    )
    b = Command(
        "import yaml, typer, keyring", [PYTHON, "-c", "import yaml, typer, keyring"], ws.env
    )
    progress(f"1: list over 100 profiles, {ctx.rounds.fast} rounds")
    times = interleaved([a, b], ctx.rounds.fast)
    ta, tb = median(times[a.label]), median(times[b.label])
    ctx.report.add(
        Row(
            "1",
            "sessman list, 100 profiles (10 secrets) / import yaml,typer,keyring",
            _seconds(ta),
            _seconds(tb),
            _ratio(ta / tb),
            "<= 1.5x",
            ta / tb <= 1.5,
        )
    )
    ctx.report.note("1", f"list: {times.summary(a.label, b.label)}")
    _import_rows(ctx, "1", "list", a, b, ("boto3",))

    counts = {
        size: keyring_round_trips(
            ws.with_config(files[size]), ["list"], ws.dir / f"probe-{size}.json"
        )
        for size in SIZES
    }
    calls = [counts[s]["calls"] for s in SIZES]
    reads = [counts[s]["file_reads"] for s in SIZES]
    constant = len(set(calls)) == 1 and len(set(reads)) == 1 and max(calls) <= 3
    ctx.report.add(
        Row(
            "1",
            "list: keyring calls / file reads at 10, 100, 1000 profiles",
            "/".join(map(str, calls)) + " calls",
            "/".join(map(str, reads)) + " reads",
            "",
            "O(1)",
            constant,
        )
    )
    ctx.report.note("1", f"keyring of `list` at 1000 profiles: {_keyring_text(counts[1000])}")


# -- 2 -------------------------------------------------------------------------


def bench_credential_process(ctx: Context) -> None:
    """`sessman credential-process` on an open session vs `python -c "import json, keyring"`."""
    moto = ctx.moto()
    ws = ctx.workspace("credential-process")
    config = profiles_file(ws.dir / "profiles.yaml", key_profiles(100), endpoint_url=moto.url)
    ws.store_secrets([key_name(i) for i in range(STORED)])
    env = ws.with_config(config)
    name = key_name(0)
    check_run([*sessman_argv(), "open", name, "--duration", "3600"], env)

    def validate(done: subprocess.CompletedProcess[str]) -> None:
        doc = json.loads(done.stdout)
        if doc.get("Version") != 1 or not doc.get("SessionToken"):
            raise BenchError(f"credential-process printed {sorted(doc)}")

    a = Command(
        "sessman credential-process",
        [*sessman_argv(), "credential-process", name],
        env,
        validate=validate,
    )
    b = Command("import json, keyring", [PYTHON, "-c", "import json, keyring"], ws.env)
    progress(f"2: credential-process on an open session, {ctx.rounds.fast} rounds")
    times = interleaved([a, b], ctx.rounds.fast)
    ta, tb = median(times[a.label]), median(times[b.label])
    ctx.report.add(
        Row(
            "2",
            "sessman credential-process (open session) / import json,keyring",
            _seconds(ta),
            _seconds(tb),
            _ratio(ta / tb),
            "<= 2x",
            ta / tb <= 2.0,
        )
    )
    ctx.report.note("2", f"credential-process: {times.summary(a.label, b.label)}")
    _import_rows(ctx, "2", "credential-process", a, b, ("boto3", "botocore", "pydantic"))
    counts = keyring_round_trips(env, ["credential-process", name], ws.dir / "probe.json")
    ctx.report.note("2", f"keyring of credential-process: {_keyring_text(counts)}")


def bench_agent(ctx: Context) -> None:
    """`sessman credential-process` through the agent vs `python -c "import json"` (SPEC 8)."""
    import shutil
    import tempfile

    moto = ctx.moto()
    ws = ctx.workspace("agent")
    config = profiles_file(ws.dir / "profiles.yaml", key_profiles(100), endpoint_url=moto.url)
    ws.store_secrets([key_name(0)])
    # A short runtime dir: a Unix socket path holds at most 107 bytes.
    runtime = tempfile.mkdtemp(prefix="sm-bench-", dir="/tmp")
    env = {**ws.with_config(config), "XDG_RUNTIME_DIR": runtime}
    plain = {k: v for k, v in env.items() if k != "SESSMAN_KEYRING_PASSPHRASE"}
    name = key_name(0)
    check_run([*sessman_argv(), "open", name, "--duration", "3600"], env)
    check_run([*sessman_argv(), "agent", "start", "--ttl", "1h"], env)
    try:

        def validate(done: subprocess.CompletedProcess[str]) -> None:
            doc = json.loads(done.stdout)
            if doc.get("Version") != 1 or not doc.get("SessionToken"):
                raise BenchError(f"credential-process printed {sorted(doc)}")

        a = Command(
            "sessman credential-process (agent)",
            [*sessman_argv(), "credential-process", name],
            plain,
            validate=validate,
        )
        b = Command("import json", [PYTHON, "-c", "import json"], ws.env)
        progress(f"6: credential-process through the agent, {ctx.rounds.fast} rounds")
        times = interleaved([a, b], ctx.rounds.fast)
        ta, tb = median(times[a.label]), median(times[b.label])
        ctx.report.add(
            Row(
                "7",
                "sessman credential-process (agent, no passphrase) / import json",
                _seconds(ta),
                _seconds(tb),
                _ratio(ta / tb),
                "<= 2x",
                ta / tb <= 2.0,
            )
        )
        ctx.report.note("7", f"credential-process via the agent: {times.summary(a.label, b.label)}")
        forbidden = ("boto3", "botocore", "pydantic", "keyring", "cryptography")
        _import_rows(ctx, "7", "credential-process via the agent", a, b, forbidden)
    finally:
        subprocess.run(
            [*sessman_argv(), "agent", "stop"], env=plain, capture_output=True, check=False
        )
        shutil.rmtree(runtime, ignore_errors=True)


# -- 3 -------------------------------------------------------------------------


def bench_sessions(ctx: Context, count: int = 300) -> None:
    """300 profiles, a session and an sts client each: sessman vs plain boto3."""
    ws = ctx.workspace("sessions")
    config = profiles_file(
        ws.dir / "profiles.yaml", key_profiles(count), endpoint_url=UNUSED_ENDPOINT
    )
    sides: dict[str, list[str]] = {
        "sessman": [PYTHON, BUILD_CHILD, "sessman", str(config)],
        "boto3": [PYTHON, BUILD_CHILD, "boto3", str(count), UNUSED_ENDPOINT],
    }
    env = ws.with_config(config)
    results: dict[str, list[tuple[float, dict[str, Any]]]] = {k: [] for k in sides}
    progress(
        f"3: {count} sessions + sts clients, sessman vs plain boto3, {ctx.rounds.heavy} round(s)"
        " (plain boto3 takes most of a minute)"
    )
    for r in range(ctx.rounds.heavy):
        order = list(sides) if r % 2 == 0 else list(reversed(sides))
        for side in order:
            results[side].append(child_json(sides[side], env))
    for side, runs in results.items():
        if any(data["n"] != count for _, data in runs):
            raise BenchError(f"{side} built {[d['n'] for _, d in runs]} sessions, not {count}")

    def med(side: str, key: str | None) -> float:
        runs = results[side]
        return median([wall if key is None else float(data[key]) for wall, data in runs])

    ta, tb = med("sessman", None), med("boto3", None)
    ma, mb = med("sessman", "rss_mb"), med("boto3", "rss_mb")
    ctx.report.add(
        Row(
            "3",
            f"{count} sessions + sts clients: time, sessman / plain boto3",
            _seconds(ta),
            _seconds(tb),
            _ratio(ta / tb),
            "<= 0.2x",
            ta / tb <= 0.2,
        )
    )
    ctx.report.add(
        Row(
            "3",
            f"{count} sessions + sts clients: peak RSS, sessman / plain boto3",
            f"{ma:.0f} MB",
            f"{mb:.0f} MB",
            _ratio(ma / mb),
            "<= 0.1x",
            ma / mb <= 0.1,
        )
    )
    for side in sides:
        ctx.report.note(
            "3",
            f"{side}: process {med(side, None):.2f} s = imports {med(side, 'import_s'):.2f} s"
            f" + building {med(side, 'build_s'):.2f} s"
            f" ({med(side, 'build_s') / count * 1000:.1f} ms per profile) + interpreter;"
            f" peak RSS {med(side, 'rss_mb'):.0f} MB",
        )


# -- 4 -------------------------------------------------------------------------


def bench_check(ctx: Context) -> None:
    """`sessman check` over 100 roles behind +100 ms latency: 32 workers vs 1."""
    moto = ctx.moto()
    ws = ctx.workspace("check")
    with LatencyProxy(moto.url, delay=DELAY) as proxy:
        body = ["  source:", "    access_key_id: AKIABENCHSOURCE00000", "    tags: [source]"]
        for i in range(ROLES):
            body += [
                f"  role{i:03d}:",
                "    source_profile: source",
                f"    role_arn: arn:aws:iam::123456789012:role/Bench{i:03d}",
                "    role_session_name: bench",
                "    tags: [roles]",
            ]
        config = profiles_file(ws.dir / "profiles.yaml", body, endpoint_url=proxy.url)
        ws.store_secrets(["source"])
        env = ws.with_config(config)

        def validate(done: subprocess.CompletedProcess[str]) -> None:
            rows = json.loads(done.stdout)
            ok = sum(1 for row in rows if row["ok"])
            if ok != ROLES:
                errors = {row["error"] for row in rows if not row["ok"]}
                raise BenchError(f"check: {ok} of {len(rows)} profiles ok; errors {errors}")

        def check_args(workers: int) -> list[str]:
            return ["check", "--tag", "roles", "--workers", str(workers), "--json"]

        def check(workers: int) -> Command:
            argv = [*sessman_argv(), *check_args(workers)]
            return Command(f"check --workers {workers}", argv, env, validate=validate)

        many, one = check(32), check(1)
        progress(
            f"4: check over {ROLES} roles, +{DELAY * 1000:.0f} ms per request,"
            f" {ctx.rounds.heavy} round(s) (1 worker takes 20+ s)"
        )
        many.run()  # warm-up: byte code, moto's first requests
        times = interleaved([many, one], ctx.rounds.heavy, warmup=False)
        # One more 32-worker run, instrumented: keyring round trips, and who
        # else burns CPU meanwhile (moto_server, and this process: the proxy).
        probe = Command(
            "check --workers 32 (keyring probe)",
            [PYTHON, KEYRING_PROBE, str(ws.dir / "probe.json"), *check_args(32)],
            env,
            validate=validate,
        )
        moto_before, self_before = moto.cpu_seconds(), _own_cpu()
        wall32, cpu32, _ = probe.run()
        moto_after, self_after = moto.cpu_seconds(), _own_cpu()
        counts = json.loads((ws.dir / "probe.json").read_text())
    t32, t1 = median(times[many.label]), median(times[one.label])
    ctx.report.add(
        Row(
            "4",
            f"check, {ROLES} roles, +100 ms/request: speed-up of 32 workers over 1",
            f"{_seconds(t32)} (32)",
            f"{_seconds(t1)} (1)",
            f"{t1 / t32:.1f}x faster",
            ">= 8x",
            t1 / t32 >= 8,
        )
    )
    waves = -(-ROLES // 32)
    ctx.report.note(
        "4",
        f"each role makes 2 requests (AssumeRole, GetCallerIdentity): the latency floor is"
        f" {2 * ROLES * DELAY:.0f} s for 1 worker, {waves * 2 * DELAY:.1f} s for 32 workers,"
        f" plus start-up; 32 workers {spread(times[many.label])} s"
        f" (child CPU {median(times.cpu[many.label]):.2f} s),"
        f" 1 worker {spread(times[one.label])} s"
        f" (child CPU {median(times.cpu[one.label]):.2f} s)",
    )
    moto_cpu = (
        f"{moto_after - moto_before:.2f} s"
        if moto_after is not None and moto_before is not None
        else "unknown"
    )
    ctx.report.note(
        "4",
        f"one more 32-worker run, instrumented ({wall32:.2f} s wall, {os.cpu_count()} CPUs):"
        f" CPU sessman {cpu32:.2f} s, moto_server {moto_cpu}, latency proxy"
        f" {self_after - self_before:.2f} s; keyring: {_keyring_text(counts)}",
    )


# -- 5 -------------------------------------------------------------------------


def bench_growth(ctx: Context) -> None:
    """`list` and session building at 10, 100 and 1000 profiles."""
    ws, files = ctx.list_files()
    commands = [
        Command(
            f"list {size}",
            [*sessman_argv(), "list"],
            ws.with_config(files[size]),
            validate=_list_validator(size),
        )
        for size in SIZES
    ]
    progress(f"5: growth of list ({ctx.rounds.growth_list} rounds)")
    times = interleaved(commands, ctx.rounds.growth_list)
    t = {size: median(times[f"list {size}"]) for size in SIZES}
    ctx.report.add(
        Row(
            "5",
            "sessman list, 1000 / 100 profiles",
            _seconds(t[1000]),
            _seconds(t[100]),
            _ratio(t[1000] / t[100]),
            "< 2x",
            t[1000] / t[100] < 2,
        )
    )
    ctx.report.note(
        "5",
        "list wall time: "
        + ", ".join(f"{size} profiles {t[size]:.3f} s" for size in SIZES)
        + f"; marginal {(t[1000] - t[100]) / 900 * 1000:.2f} ms per profile",
    )

    progress(f"5: growth of session building ({ctx.rounds.growth_build} round(s), ~15 s each)")
    built: dict[int, list[float]] = {size: [] for size in SIZES}
    for r in range(ctx.rounds.growth_build):
        order = SIZES if r % 2 == 0 else tuple(reversed(SIZES))
        for size in order:
            argv = [PYTHON, BUILD_CHILD, "sessman", str(files[size]), "--sessions-only"]
            _, data = child_json(argv, ws.with_config(files[size]))
            if data["n"] != size:
                raise BenchError(f"built {data['n']} sessions, not {size}")
            built[size].append(float(data["build_s"]))
    per = {size: median(built[size]) / size * 1000 for size in SIZES}
    ctx.report.add(
        Row(
            "5",
            "session building, ms per profile at 1000 / at 100",
            f"{per[1000]:.2f} ms",
            f"{per[100]:.2f} ms",
            _ratio(per[1000] / per[100]),
            "< 2x (linear)",
            per[1000] / per[100] < 2,
        )
    )
    ctx.report.note(
        "5",
        "load + session() per profile, in-process: "
        + ", ".join(f"{size}: {median(built[size]):.2f} s ({per[size]:.2f} ms)" for size in SIZES),
    )


BENCHMARKS: dict[int, tuple[str, Callable[[Context], None]]] = {
    1: ("list vs import yaml, typer, keyring", bench_list),
    2: ("credential-process vs import json, keyring", bench_credential_process),
    3: ("300 sessions + sts clients vs plain boto3", bench_sessions),
    4: ("check: 32 workers vs 1 behind +100 ms", bench_check),
    5: ("growth: list and session building at 10/100/1000", bench_growth),
    6: ("credential server request vs bare http.server", bench_server),
    7: ("credential-process through the agent vs import json", bench_agent),
    8: ("900 s role and 8 concurrent credential-process: STS requests", bench_short_roles),
}
