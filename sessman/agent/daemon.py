"""Starting the agent: detached (double fork, new session, standard streams closed) or not.

The passphrase reaches a detached agent on a pipe to its standard input,
never in its argv or its environment (``SESSMAN_KEYRING_PASSPHRASE`` is
removed from the environment it inherits), so ``/proc/<pid>/cmdline`` and
``/proc/<pid>/environ`` never show it. The agent reports ``ready`` (or the
error that stopped it) on its standard output, then closes its standard
streams; :func:`start_detached` returns once the socket answers.

``python -m sessman.agent.daemon --socket PATH --file FILE --ttl SECONDS``
is the detached agent's entry point; it is not meant to be run by hand.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

from sessman._log import get_logger

from . import client
from .listen import AgentRunning, StartError, bind, harden
from .server import Agent, serve

__all__ = ["run_foreground", "start_detached"]

logger = get_logger(__name__)

#: How long ``agent start`` waits for the new agent (it derives the key once).
START_TIMEOUT = 30.0
_PASSPHRASE_VAR = "SESSMAN_KEYRING_PASSPHRASE"


def start_detached(path: str, file: Path, ttl: float, passphrase: str | None) -> int:
    """Start a detached agent unlocked with ``passphrase``; its pid once the socket answers.

    ``None``: the agent holds only what clients read from other keyring
    backends (there is no keyring file). Raises :class:`AgentRunning` when
    another agent answered first (started at the same moment).
    """
    env = {k: v for k, v in os.environ.items() if k != _PASSPHRASE_VAR}
    argv = [sys.executable, "-m", "sessman.agent.daemon"]
    argv += ["--socket", path, "--file", str(file), "--ttl", repr(float(ttl))]
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
        close_fds=True,
        cwd="/",
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(json.dumps({"passphrase": passphrase}).encode() + b"\n")
        proc.stdin.close()
    except BrokenPipeError:
        pass
    line = _read_status(proc.stdout.fileno(), START_TIMEOUT)
    proc.stdout.close()
    proc.wait()  # the intermediate process exits at once (double fork)
    if not line.startswith("ready"):
        message = line.partition(" ")[2].strip() or "the agent exited without saying why"
        raise (AgentRunning if line.startswith("running ") else StartError)(message)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        answer = client.call({"op": "status"}, path=path)
        if answer is not None and answer.get("ok"):
            return int(answer["pid"])
        time.sleep(0.05)
    raise StartError(f"the agent started but {path} does not answer")


def _read_status(fd: int, timeout: float) -> str:
    """The first line the child writes on ``fd`` (empty on EOF or timeout)."""
    data = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace").partition("\n")[0]


def run_foreground(path: str, file: Path, ttl: float, passphrase: str | None) -> None:
    """Run the agent in this process until stopped (unlocked when a passphrase is given)."""
    harden()
    agent = Agent(file)
    if passphrase is not None or not file.exists():
        agent.unlock(passphrase, ttl)
    sock = bind(path)
    state = "locked" if agent.locked else "unlocked"
    logger.info("agent %s, listening on %s", state, path)
    serve(sock, path, agent)


def _child(argv: list[str]) -> int:
    """The detached agent: second fork, read the passphrase, unlock, bind, report, serve."""
    if os.fork() > 0:
        os._exit(0)  # the grandchild is no session leader: it can never get a terminal
    options = dict(zip(argv[::2], argv[1::2], strict=False))
    status = os.fdopen(os.dup(1), "w")
    try:
        harden()
        request = json.loads(sys.stdin.readline() or "{}")
        agent = Agent(Path(options["--file"]))
        passphrase = request.get("passphrase")
        agent.unlock(passphrase if isinstance(passphrase, str) else None, float(options["--ttl"]))
        del request, passphrase
        sock = bind(options["--socket"])
    except Exception as exc:  # reported to `agent start`, which prints it
        text = " ".join(str(exc).split()) or type(exc).__name__
        kind = "running" if isinstance(exc, AgentRunning) else "error"
        status.write(f"{kind} {text}\n")
        status.close()
        return 1
    status.write("ready\n")
    status.close()
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    serve(sock, options["--socket"], agent)
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
