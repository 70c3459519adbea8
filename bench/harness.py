"""What every benchmark needs: a throw-away workspace, moto_server, timing, the table.

Nothing here touches the user's keyring, AWS files or sessman state: each
:class:`Workspace` is a temporary directory with its own encrypted file
keyring, state directory and empty AWS config and credentials files, and
every child process gets an environment built from scratch for it.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PYTHON = sys.executable
BENCH_DIR = Path(__file__).resolve().parent
LOOPBACK = "127.0.0.1"
SERVICE = "sessman-bench"
PASSPHRASE = "bench passphrase, not a secret"
#: Looks like a secret access key (sessman checks the shape), is no one's.
FAKE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYBENCHKEY00"

#: Variables of the caller that would change what a child does.
_INHERITED_PREFIXES = ("AWS_", "SESSMAN_", "PYTHON", "KEYRING_", "BOTO_")


def sessman_argv() -> list[str]:
    """How a user runs sessman from this environment: the console script."""
    script = Path(PYTHON).with_name("sessman")
    if script.is_file():
        return [PYTHON, str(script)]
    return [PYTHON, "-m", "sessman"]


def clean_environ() -> dict[str, str]:
    """The caller's environment without anything that could steer AWS, sessman or keyring.

    XDG_RUNTIME_DIR goes too: it locates the user's sessman agent.
    """
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_INHERITED_PREFIXES) and k != "XDG_RUNTIME_DIR"
    }


def progress(message: str) -> None:
    """A line for the person waiting, on stderr (stdout is the report)."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


# -- workspaces ------------------------------------------------------------


class Workspace:
    """A temporary directory with sessman's own keyring, state and empty AWS files."""

    def __init__(self, root: Path, name: str) -> None:
        self.dir = root / name
        self.dir.mkdir()
        self.keyring_file = self.dir / "keyring.enc"
        self.state_dir = self.dir / "state"
        aws_config = self.dir / "aws-config"
        aws_credentials = self.dir / "aws-credentials"
        aws_config.write_text("")
        aws_credentials.write_text("")
        self.env = {
            **clean_environ(),
            "SESSMAN_STATE_DIR": str(self.state_dir),
            "SESSMAN_KEYRING_FILE": str(self.keyring_file),
            "SESSMAN_KEYRING_PASSPHRASE": PASSPHRASE,
            "AWS_CONFIG_FILE": str(aws_config),
            "AWS_SHARED_CREDENTIALS_FILE": str(aws_credentials),
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def with_config(self, config: Path) -> dict[str, str]:
        """The environment of a command working on profiles file ``config``."""
        return {**self.env, "SESSMAN_CONFIG": str(config)}

    def store_secrets(self, users: Sequence[str], secret: str = FAKE_SECRET) -> None:
        """Put secrets straight into this workspace's file keyring (setup, not measured)."""
        code = (
            "import sys\n"
            "from sessman.filekeyring import EncryptedFileKeyring\n"
            "k = EncryptedFileKeyring()\n"
            "for user in sys.argv[3:]:\n"
            "    k.set_password(sys.argv[1], user, sys.argv[2])\n"
        )
        check_run([PYTHON, "-c", code, SERVICE, secret, *users], self.env)


def profiles_file(path: Path, body: Sequence[str], *, endpoint_url: str | None = None) -> Path:
    """Write a profiles file that pins the encrypted file keyring."""
    lines = [
        "version: 1",
        f"keyring_service: {SERVICE}",
        "keyring_backend: sessman.filekeyring.EncryptedFileKeyring",
        "defaults:",
        "  region: us-east-1",
    ]
    if endpoint_url:
        lines.append(f"  endpoint_url: {endpoint_url}")
    lines += ["profiles:", *body]
    path.write_text("\n".join(lines) + "\n")
    return path


def key_profiles(count: int, *, tag: str = "bench") -> list[str]:
    """``count`` long-term-key profiles named p0000, p0001, ..."""
    body = []
    for i in range(count):
        body += [
            f"  {key_name(i)}:",
            f"    access_key_id: AKIA{i:016d}",
            f"    description: benchmark profile {i}",
            f"    tags: [{tag}]",
        ]
    return body


def key_name(i: int) -> str:
    return f"p{i:04d}"


# -- processes ---------------------------------------------------------------


def check_run(
    argv: Sequence[str], env: Mapping[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a setup command; fail the benchmark loudly if it fails."""
    done = subprocess.run(
        list(argv), env=dict(env), input=stdin, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BenchError(
            f"`{' '.join(argv[:6])} ...` exited {done.returncode}:\n{done.stderr[-2000:]}"
        )
    return done


class BenchError(RuntimeError):
    """A benchmark could not be run (setup failed, or a command did not work)."""


@dataclass
class Command:
    """One side of a comparison: a command line, its environment, how to check its output."""

    label: str
    argv: list[str]
    env: dict[str, str]
    stdin: str | None = None
    validate: Callable[[subprocess.CompletedProcess[str]], None] | None = None
    ok_codes: tuple[int, ...] = (0,)

    def run(self) -> tuple[float, float, subprocess.CompletedProcess[str]]:
        """Run once: wall seconds, CPU seconds (user + system) of the child, its output."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(
            self.argv,
            env=self.env,
            input=self.stdin,
            stdin=subprocess.DEVNULL if self.stdin is None else None,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if done.returncode not in self.ok_codes:
            raise BenchError(
                f"{self.label}: exited {done.returncode}:\n{done.stderr[-2000:]}".rstrip()
            )
        if self.validate is not None:
            self.validate(done)
        return elapsed, cpu, done


@dataclass
class Timings:
    """Per command label: wall seconds and child CPU seconds of each round."""

    wall: dict[str, list[float]]
    cpu: dict[str, list[float]]

    def __getitem__(self, label: str) -> list[float]:
        return self.wall[label]

    def summary(self, a: str, b: str) -> str:
        """Spread of the wall times and the CPU-time medians: how far to trust the ratio."""
        ca, cb = median(self.cpu[a]), median(self.cpu[b])
        return (
            f"wall min..max A {spread(self.wall[a])} s, B {spread(self.wall[b])} s;"
            f" best wall A/B {min(self.wall[a]) / min(self.wall[b]):.2f}x;"
            f" child CPU (user+sys) medians A {ca:.3f} s, B {cb:.3f} s, A/B {ca / cb:.2f}x"
        )


def interleaved(commands: Sequence[Command], rounds: int, *, warmup: bool = True) -> Timings:
    """Wall times of each command over ``rounds`` rounds, run alternately.

    Each round runs every command once; the order is reversed every other
    round (A B, B A, ...) so slow drift of the machine hits both sides alike.
    One untimed warm-up run each first (byte-code and page caches).
    """
    if warmup:
        for command in commands:
            command.run()
    times = Timings({c.label: [] for c in commands}, {c.label: [] for c in commands})
    for r in range(rounds):
        order = commands if r % 2 == 0 else list(reversed(commands))
        for command in order:
            elapsed, cpu, _ = command.run()
            times.wall[command.label].append(elapsed)
            times.cpu[command.label].append(cpu)
    return times


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def spread(values: Sequence[float]) -> str:
    """min..max, for seeing how noisy a median is."""
    return f"{min(values):.3f}..{max(values):.3f}"


# -- child processes that report JSON ---------------------------------------


def child_json(argv: Sequence[str], env: Mapping[str, str]) -> tuple[float, dict[str, Any]]:
    """Run a bench child script; return its wall time and the JSON it printed last."""
    start = time.perf_counter()
    done = check_run(argv, env)
    elapsed = time.perf_counter() - start
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise BenchError(f"{argv[1]} printed no result:\n{done.stdout[-500:]}{done.stderr[-1500:]}")
    data: dict[str, Any] = json.loads(lines[-1])
    return elapsed, data


def yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


# -- moto_server -------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


class MotoServer:
    """``python -m moto.server`` on a free loopback port, stopped by its own pid."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._log = log
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> MotoServer:
        with self._log.open("ab") as out:
            self._proc = subprocess.Popen(
                [PYTHON, "-m", "moto.server", "-H", LOOPBACK, "-p", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=clean_environ(),
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise BenchError(f"moto_server exited early:\n{self._log.read_text()[-1500:]}")
            try:
                with socket.create_connection((LOOPBACK, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.__exit__()
        raise BenchError("moto_server did not start within 30 s")

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the server has used so far; None where unknown."""
        if self._proc is None:
            return None
        try:
            fields = Path(f"/proc/{self._proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks = int(fields[11]) + int(fields[12])  # utime, stime
            return ticks / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    def __exit__(self, *exc: object) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def temp_root() -> Path:
    return Path(tempfile.mkdtemp(prefix="sessman-bench-"))


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# -- results -----------------------------------------------------------------


@dataclass
class Row:
    """One line of the report: a measured comparison or a yes/no check."""

    bench: str
    what: str
    a: str
    b: str
    ratio: str
    budget: str
    ok: bool | None  # None: information only

    @property
    def verdict(self) -> str:
        if self.ok is None:
            return "info"
        return "PASS" if self.ok else "MISS"


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        mark = "" if row.ok is None else f" -> {row.verdict}"
        progress(f"  [{row.bench}] {row.what}: {row.a} | {row.b} | {row.ratio}{mark}")

    def note(self, bench: str, text: str) -> None:
        self.notes.append(f"[{bench}] {text}")

    def table(self, color: bool = False) -> str:
        head = ("#", "benchmark", "A", "B", "A/B", "budget", "result")
        cells = [(r.bench, r.what, r.a, r.b, r.ratio, r.budget, r.verdict) for r in self.rows]
        widths = [max(len(str(x)) for x in col) for col in zip(head, *cells, strict=True)]
        out = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip()]
        out.append("  ".join("-" * w for w in widths))
        for row, cell in zip(self.rows, cells, strict=True):
            line = "  ".join(str(c).ljust(w) for c, w in zip(cell, widths, strict=True)).rstrip()
            if row.ok is False:
                line += "   <<< MISS"
                if color:
                    line = f"\x1b[1;31m{line}\x1b[0m"
            out.append(line)
        return "\n".join(out)
