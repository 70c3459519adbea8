"""The benchmarks of sessman at scale: sessions (3), check (4) and growth (5).

Every function takes the :class:`~bench.context.Context` and adds rows (and
notes) to its report; A is sessman, B the baseline it is held against.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

from .context import (
    BUILD_CHILD,
    KEYRING_PROBE,
    SIZES,
    Context,
    keyring_text,
    list_validator,
    own_cpu,
    ratio,
    seconds,
)
from .harness import (
    LOOPBACK,
    PYTHON,
    BenchError,
    Command,
    Row,
    child_json,
    interleaved,
    key_profiles,
    median,
    profiles_file,
    progress,
    sessman_argv,
    spread,
)
from .latency_proxy import LatencyProxy

__all__ = ["bench_check", "bench_growth", "bench_sessions"]

#: Never contacted: building sessions and clients makes no request.
UNUSED_ENDPOINT = f"http://{LOOPBACK}:9"
ROLES = 100
DELAY = 0.1


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
            seconds(ta),
            seconds(tb),
            ratio(ta / tb),
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
            ratio(ma / mb),
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
        moto_before, self_before = moto.cpu_seconds(), own_cpu()
        wall32, cpu32, _ = probe.run()
        moto_after, self_after = moto.cpu_seconds(), own_cpu()
        counts = json.loads((ws.dir / "probe.json").read_text())
    t32, t1 = median(times[many.label]), median(times[one.label])
    ctx.report.add(
        Row(
            "4",
            f"check, {ROLES} roles, +100 ms/request: speed-up of 32 workers over 1",
            f"{seconds(t32)} (32)",
            f"{seconds(t1)} (1)",
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
        f" {self_after - self_before:.2f} s; keyring: {keyring_text(counts)}",
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
            validate=list_validator(size),
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
            seconds(t[1000]),
            seconds(t[100]),
            ratio(t[1000] / t[100]),
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
            ratio(per[1000] / per[100]),
            "< 2x (linear)",
            per[1000] / per[100] < 2,
        )
    )
    ctx.report.note(
        "5",
        "load + session() per profile, in-process: "
        + ", ".join(f"{size}: {median(built[size]):.2f} s ({per[size]:.2f} ms)" for size in SIZES),
    )
