"""Benchmark 6: a request to the credential server vs one to a bare ``http.server``.

The budget: the credential server (``sessman serve``) answers a request within
1.5x the time of a round trip to a bare ``python -m http.server`` on
loopback, and no request waits on STS. Both servers run as their own
processes; this process is the client, opening a new connection for every
request (as the JavaScript SDK does), alternating blocks of requests to A
and B. The figure is the median latency of a request; the notes give the
spread and the slowest request of each side.
"""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import time
from typing import TYPE_CHECKING

from .harness import (
    LOOPBACK,
    PYTHON,
    BenchError,
    Row,
    free_port,
    key_name,
    key_profiles,
    median,
    profiles_file,
    progress,
    sessman_argv,
)

if TYPE_CHECKING:
    from .context import Context

#: Requests per side in each round.
BLOCK = 50
#: What the bare server serves: a body the size of the server's answer.
STATIC_BODY = json.dumps(
    {
        "AccessKeyId": "ASIA" + "X" * 16,
        "SecretAccessKey": "x" * 40,
        "Token": "t" * 360,
        "Expiration": "2026-12-02T12:00:00Z",
        "AccountId": "123456789012",
    }
)


def _request(port: int, path: str, headers: dict[str, str]) -> tuple[float, int, bytes]:
    """Seconds for one GET on a new connection, its status and body."""
    start = time.perf_counter()
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    return time.perf_counter() - start, response.status, body


def _wait_for(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{what} exited with code {proc.returncode} before it listened")
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise BenchError(f"{what} did not listen within 30 s")


def _stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def bench_server(ctx: Context) -> None:
    """Latency of a credential request: `sessman serve` vs `python -m http.server`."""
    moto = ctx.moto()
    ws = ctx.workspace("server")
    config = profiles_file(ws.dir / "profiles.yaml", key_profiles(1), endpoint_url=moto.url)
    ws.store_secrets([key_name(0)])
    static = ws.dir / "static"
    static.mkdir()
    (static / "creds.json").write_text(STATIC_BODY)
    bare_port = free_port()
    bare = subprocess.Popen(
        [PYTHON, "-m", "http.server", "-b", LOOPBACK, "-d", str(static), str(bare_port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=ws.env,
    )
    served = subprocess.Popen(
        [*sessman_argv(), "serve", key_name(0), "--format", "json"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=ws.with_config(config),
    )
    try:
        assert served.stdout is not None
        printed = b""
        while not printed.rstrip().endswith(b"}"):
            line = served.stdout.readline()
            if not line:
                raise BenchError(f"sessman serve exited with code {served.wait()}")
            printed += line
        found = json.loads(printed)
        url = found["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
        with open(found["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]) as token_file:
            token = token_file.read()
        port = int(url.rsplit(":", 1)[1].strip("/"))
        _wait_for(bare_port, bare, "python -m http.server")
        sides = {
            "A": (port, "/", {"Authorization": token}),
            "B": (bare_port, "/creds.json", {}),
        }
        for side, (p, path, headers) in sides.items():
            _, status, body = _request(p, path, headers)  # warm-up, and a check
            if status != 200 or b"AccessKeyId" not in body:
                raise BenchError(f"side {side} answered {status}")
        rounds = ctx.rounds.fast
        progress(f"6: credential server vs bare http.server, {rounds} rounds of {BLOCK} requests")
        times: dict[str, list[float]] = {"A": [], "B": []}
        for r in range(rounds):
            for side in ("A", "B") if r % 2 == 0 else ("B", "A"):
                p, path, headers = sides[side]
                for _ in range(BLOCK):
                    elapsed, status, _ = _request(p, path, headers)
                    if status != 200:
                        raise BenchError(f"side {side} answered {status}")
                    times[side].append(elapsed)
    finally:
        _stop(served)
        _stop(bare)
        if served.stdout is not None:
            served.stdout.close()
    ta, tb = median(times["A"]), median(times["B"])
    ctx.report.add(
        Row(
            "6",
            "credential server request / bare http.server request (loopback)",
            f"{ta * 1000:.2f} ms",
            f"{tb * 1000:.2f} ms",
            f"{ta / tb:.2f}x",
            "<= 1.5x",
            ta / tb <= 1.5,
        )
    )
    ctx.report.note(
        "6",
        f"{len(times['A'])} requests per side, a new connection each;"
        f" A {_spread_ms(times['A'])}, B {_spread_ms(times['B'])};"
        " A answers from memory, renewed in the background (no request waits on STS)",
    )


def _spread_ms(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[int(len(ordered) * 0.9)]
    return f"min {ordered[0] * 1000:.2f} / p90 {p90 * 1000:.2f} / max {ordered[-1] * 1000:.2f} ms"
