"""The benchmarks of sessman's fast commands (1, 2, 7) and the list of all of them.

Every function takes the :class:`~bench.context.Context` and adds rows (and
notes) to its report; A is sessman, B the baseline it is held against. The
heavier ones are in :mod:`bench.scale`, :mod:`bench.server_latency` and
:mod:`bench.sessions`.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

from .context import (
    SIZES,
    STORED,
    Context,
    import_rows,
    keyring_round_trips,
    keyring_text,
    list_validator,
    ratio,
    seconds,
)
from .harness import (
    PYTHON,
    BenchError,
    Command,
    Row,
    check_run,
    interleaved,
    key_name,
    key_profiles,
    median,
    profiles_file,
    progress,
    sessman_argv,
)
from .scale import bench_check, bench_growth, bench_sessions
from .server_latency import bench_server
from .sessions import bench_short_roles

__all__ = ["BENCHMARKS"]


# -- 1 -------------------------------------------------------------------------


def bench_list(ctx: Context) -> None:
    """`sessman list` over 100 profiles vs `python -c "import yaml, typer, keyring"`."""
    ws, files = ctx.list_files()
    a = Command(
        "sessman list",
        [*sessman_argv(), "list"],
        ws.with_config(files[100]),
        validate=list_validator(100),
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
            seconds(ta),
            seconds(tb),
            ratio(ta / tb),
            "<= 1.5x",
            ta / tb <= 1.5,
        )
    )
    ctx.report.note("1", f"list: {times.summary(a.label, b.label)}")
    import_rows(ctx, "1", "list", a, b, ("boto3",))

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
    ctx.report.note("1", f"keyring of `list` at 1000 profiles: {keyring_text(counts[1000])}")


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
            seconds(ta),
            seconds(tb),
            ratio(ta / tb),
            "<= 2x",
            ta / tb <= 2.0,
        )
    )
    ctx.report.note("2", f"credential-process: {times.summary(a.label, b.label)}")
    import_rows(ctx, "2", "credential-process", a, b, ("boto3", "botocore", "pydantic"))
    counts = keyring_round_trips(env, ["credential-process", name], ws.dir / "probe.json")
    ctx.report.note("2", f"keyring of credential-process: {keyring_text(counts)}")


def bench_agent(ctx: Context) -> None:
    """`sessman credential-process` through the agent vs `python -c "import json"`."""
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
                seconds(ta),
                seconds(tb),
                ratio(ta / tb),
                "<= 2x",
                ta / tb <= 2.0,
            )
        )
        ctx.report.note("7", f"credential-process via the agent: {times.summary(a.label, b.label)}")
        forbidden = ("boto3", "botocore", "pydantic", "keyring", "cryptography")
        import_rows(ctx, "7", "credential-process via the agent", a, b, forbidden)
    finally:
        subprocess.run(
            [*sessman_argv(), "agent", "stop"], env=plain, capture_output=True, check=False
        )
        shutil.rmtree(runtime, ignore_errors=True)


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
