"""Benchmark 6: STS requests of short roles and of concurrent processes.

Counted at the endpoint, by a proxy in front of moto_server that notes the
Action of every request (nothing in sessman or botocore is patched):

- a 900 s role used by one process for many calls (sessman's session
  clients and its own cached clients): AssumeRole requests;
- eight ``sessman credential-process`` started at the same moment for a
  closed profile: STS sessions opened (GetSessionToken + AssumeRole).
"""

from __future__ import annotations

import json
import subprocess
import time
from typing import TYPE_CHECKING

from .harness import PYTHON, BenchError, Row, check_run, profiles_file, progress, sessman_argv
from .latency_proxy import LatencyProxy

if TYPE_CHECKING:
    from .context import Context

__all__ = ["bench_short_roles"]

CALLS = 200
PROCESSES = 8
#: Makes CALLS calls as the 900 s role, half through session(name).client.
_CALLER = """\
import json, sys, time
from sessman import SessionManager
with SessionManager.load() as mgr:
    sts = mgr.session("short").client("sts")
    start = time.monotonic()
    for i in range(int(sys.argv[1])):
        client = sts if i % 2 else mgr.client("short", "sts")
        client.get_caller_identity()
    print(json.dumps({"seconds": time.monotonic() - start}))
"""


def _body() -> list[str]:
    return [
        "  src:",
        "    access_key_id: AKIABENCHSHORTSRC000",
        "  short:",
        "    source_profile: src",
        "    role_arn: arn:aws:iam::123456789012:role/BenchShort",
        "    session_duration: 900",
        "  closed:",
        "    source_profile: src",
        "    role_arn: arn:aws:iam::123456789012:role/BenchClosed",
        "    session_duration: 900",
    ]


def bench_short_roles(ctx: Context) -> None:
    """AssumeRole count of a 900 s role, and STS sessions of 8 concurrent credential-process."""
    moto = ctx.moto()
    ws = ctx.workspace("short-roles")
    with LatencyProxy(moto.url, delay=0.0) as proxy:
        config = profiles_file(ws.dir / "profiles.yaml", _body(), endpoint_url=proxy.url)
        ws.store_secrets(["src"])
        env = ws.with_config(config)

        progress(f"6: a 900 s role, {CALLS} calls in one process")
        done = check_run([PYTHON, "-c", _CALLER, str(CALLS)], env)
        seconds = json.loads(done.stdout.splitlines()[-1])["seconds"]
        assumed = proxy.count("AssumeRole")
        ctx.report.add(
            Row(
                "8",
                f"900 s role, {CALLS} calls in one process: AssumeRole requests",
                str(assumed),
                "-",
                "-",
                "<= 2",
                assumed <= 2,
            )
        )
        ctx.report.note(
            "8",
            f"{CALLS} calls took {seconds:.1f} s; the role renews when half of it (450 s)"
            " is left, so 10 minutes of calls make at most 2 AssumeRole",
        )

        progress(f"6: {PROCESSES} credential-process at once for a closed profile")
        before = proxy.count("AssumeRole", "GetSessionToken")
        argv = [*sessman_argv(), "credential-process", "closed"]
        procs = [
            subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(PROCESSES)
        ]
        started = time.monotonic()
        keys = set()
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            if proc.returncode != 0:
                raise BenchError(f"credential-process failed: {err.decode().strip()[-500:]}")
            keys.add(json.loads(out)["AccessKeyId"])
        opened = proxy.count("AssumeRole", "GetSessionToken") - before
    ctx.report.add(
        Row(
            "8",
            f"{PROCESSES} concurrent credential-process, closed profile: STS sessions",
            str(opened),
            "-",
            "-",
            "1",
            opened == 1 and len(keys) == 1,
        )
    )
    ctx.report.note(
        "8",
        f"{PROCESSES} credential-process finished in {time.monotonic() - started:.1f} s,"
        f" handing over {len(keys)} distinct key(s)",
    )
