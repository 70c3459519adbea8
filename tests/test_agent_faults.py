"""The agent under faults and attacks: crowds, vanishing clients, kill -9, other users.

Each test drives a real agent process started by ``sessman agent start``
with a temporary XDG_RUNTIME_DIR; clients are real sockets, real processes
and a real second user (tests run as root: one is created if absent).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support.agent import (
    agent_status,
    alive,
    env_without_passphrase,
    start_agent,
    wait_dead,
)
from support.cli import assert_error_line, cli, sessman
from support.fakes import FAKE_SECRET, PASSPHRASE

from sessman.agent import client, protocol

OTHER_USER = "sessman-other"
SERVICE = "faults"


@pytest.fixture
def keyring_file(tmp_path: Path) -> Path:
    """A keyring file holding the fake secret under ``SERVICE``/``x``."""
    config = tmp_path / "plain.yaml"
    config.write_text(
        f"version: 1\nkeyring_service: {SERVICE}\nprofiles:\n"
        "  x: {access_key_id: AKIAIOSFODNN7EXAMPLE, region: us-east-1}\n"
    )
    stored = cli("secret", "set", "x", "--stdin", "-c", str(config), input=FAKE_SECRET)
    assert stored.exit_code == 0, stored.stderr
    return Path(os.environ["SESSMAN_KEYRING_FILE"])


def sock_path(runtime_dir: Path) -> Path:
    return runtime_dir / "sessman" / "agent.sock"


def test_many_clients_at_once(runtime_dir: Path, keyring_file: Path) -> None:
    start_agent()

    def one(i: int) -> object:
        if i % 2:
            return client.call({"op": "status"})
        return client.keyring_op("get", str(keyring_file), SERVICE, "x")

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(one, range(200)))
    assert results[0::2] == [FAKE_SECRET] * 100
    assert all(isinstance(r, dict) and r["ok"] for r in results[1::2])


def test_a_client_killed_mid_request_costs_nothing(runtime_dir: Path, keyring_file: Path) -> None:
    pid = start_agent()
    path = str(sock_path(runtime_dir))
    code = (
        "import socket, os, signal\n"
        "s = socket.socket(socket.AF_UNIX); s.connect(os.environ['SOCK'])\n"
        's.sendall(b\'{"op": "get", "file": \')\n'
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    for _ in range(5):
        done = subprocess.run(
            [sys.executable, "-c", code], env={**os.environ, "SOCK": path}, check=False
        )
        assert done.returncode == -signal.SIGKILL
    # A client that says half a line and then nothing at all holds one thread, not the agent.
    silent = socket.socket(socket.AF_UNIX)
    silent.connect(path)
    silent.sendall(b'{"op": ')
    try:
        assert client.keyring_op("get", str(keyring_file), SERVICE, "x") == FAKE_SECRET
    finally:
        silent.close()
    assert alive(pid) and agent_status()["locked"] is False


def test_bad_requests_get_a_refusal(runtime_dir: Path, keyring_file: Path) -> None:
    start_agent()
    path = str(sock_path(runtime_dir))
    for raw in (b"x" * (protocol.MAX_REQUEST + 10) + b"\n", b"[1]\n", b"{nope\n", b'{"op": 7}\n'):
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(path)
            with_error = False
            try:
                s.sendall(raw)
                answer = protocol.decode(protocol.read_line(s))
                with_error = answer["ok"] is False and bool(answer["error"])
            except (ConnectionError, protocol.ProtocolError):
                with_error = True  # hung up on an oversized request
            assert with_error, raw[:40]
    assert agent_status()["locked"] is False


def test_the_agent_killed_mid_write_leaves_the_old_or_the_new_file(
    runtime_dir: Path, keyring_file: Path
) -> None:
    pid = start_agent()
    written: list[str] = []
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            value = f"value-{i:06d}-" + "v" * 2000
            try:
                client.keyring_op("put", str(keyring_file), SERVICE, "churn", value)
            except client.AgentError:
                return
            written.append(value)
            i += 1

    threads = [threading.Thread(target=writer) for _ in range(3)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(written) < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    assert wait_dead(pid)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert written, "no write went through before the kill"
    from sessman.filekeyring import EncryptedFileKeyring

    keyring = EncryptedFileKeyring(keyring_file, PASSPHRASE)
    value = keyring.get_password(SERVICE, "churn")
    assert value is None or value.startswith("value-")  # old or new, never torn
    assert keyring.get_password(SERVICE, "x") == FAKE_SECRET

    # The socket the killed agent left behind is stale: seen as "not running",
    # and the next start replaces it.
    assert sock_path(runtime_dir).exists()
    assert agent_status()["running"] is False
    assert client.keyring_op("get", str(keyring_file), SERVICE, "x") is client.NOT_HANDLED
    new_pid = start_agent()
    assert new_pid != pid and agent_status()["locked"] is False


def _other_user() -> pwd.struct_passwd:
    if os.geteuid() != 0:
        pytest.skip("creating and becoming a second user needs root")
    try:
        return pwd.getpwnam(OTHER_USER)
    except KeyError:
        pass
    if shutil.which("useradd") is None:
        pytest.skip("no useradd to create a second user")
    done = subprocess.run(["useradd", "--no-create-home", OTHER_USER], check=False)
    # 9: another test run (make unit-pythons runs two at once) created it meanwhile.
    assert done.returncode in (0, 9), f"useradd exited {done.returncode}"
    return pwd.getpwnam(OTHER_USER)


def _as_other(user: pwd.struct_passwd, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    argv = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]
    probe = subprocess.run(
        [*argv, sys.executable, "-c", "import sessman"],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"]},
        timeout=60,
        check=False,
        cwd="/",
    )
    if probe.returncode != 0:  # e.g. a Python whose shared library sits under a private home
        pytest.skip(f"{sys.executable} cannot run as another user: {probe.stderr.strip()[:200]}")
    return subprocess.run(
        [*argv, sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], **env},
        timeout=60,
        check=False,
        cwd="/",
    )


_CONNECT = """
import json, os, socket
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(os.environ["SOCK"])
except OSError as exc:
    print(json.dumps({"connect": type(exc).__name__})); raise SystemExit
s.settimeout(10)
try:
    s.sendall(b'{"op": "get", "file": "%s", "service": "%s", "user": "x"}\\n')
    answer = s.recv(65536).decode()
except OSError:  # the agent hung up before or while we spoke
    answer = ""
print(json.dumps({"connect": "ok", "answer": answer}))
"""


def test_a_second_uid_is_refused(runtime_dir: Path, keyring_file: Path) -> None:
    user = _other_user()
    start_agent()
    path = sock_path(runtime_dir)
    code = _CONNECT % (keyring_file, SERVICE)
    # As created, the directory keeps the other user out entirely.
    done = _as_other(user, code, SOCK=str(path))
    assert json.loads(done.stdout) == {"connect": "PermissionError"}, done.stderr
    # Even if someone opens the modes, the agent checks the peer's uid.
    runtime_dir.chmod(0o711)
    path.parent.chmod(0o711)
    path.chmod(0o666)
    try:
        done = _as_other(user, code, SOCK=str(path))
    finally:
        path.chmod(0o600)
        path.parent.chmod(0o700)
        runtime_dir.chmod(0o700)
    assert json.loads(done.stdout) == {"connect": "ok", "answer": ""}, done.stderr
    assert FAKE_SECRET not in done.stdout + done.stderr
    assert agent_status()["locked"] is False


def test_a_socket_or_directory_of_someone_else_is_refused(
    runtime_dir: Path, keyring_file: Path
) -> None:
    user = _other_user()
    directory = runtime_dir / "sessman"
    directory.mkdir(mode=0o700)
    os.chown(directory, user.pw_uid, user.pw_gid)
    for args in (("agent", "start"), ("agent", "status")):
        done = sessman(*args)
        assert done.returncode == 1, done
        assert_error_line(done, contains=(str(directory), "belongs to uid"))
    # Credential hand-over ignores such an agent and takes the ordinary path.
    assert client.keyring_op("get", str(keyring_file), SERVICE, "x") is client.NOT_HANDLED
    os.chown(directory, 0, 0)

    directory.chmod(0o755)
    loose = sessman("agent", "start")
    assert loose.returncode == 1
    assert_error_line(loose, contains=("open to other users", "chmod 700"))
    directory.chmod(0o700)

    # A socket planted by another user in our directory is refused too.
    planted = socket.socket(socket.AF_UNIX)
    planted.bind(str(directory / "agent.sock"))
    os.chown(directory / "agent.sock", user.pw_uid, user.pw_gid)
    try:
        done = sessman("agent", "start")
        assert done.returncode == 1
        assert_error_line(done, contains=("agent.sock", "belongs to uid"))
    finally:
        planted.close()
    # Nothing was started and the secret is still only in the keyring file.
    assert not any(alive_agents(runtime_dir))


def alive_agents(runtime_dir: Path) -> list[int]:
    """Pids of processes whose command line names this runtime dir's agent."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"sessman.agent.daemon" in cmd and str(runtime_dir).encode() in cmd:
                found.append(int(entry.name))
    return found


def test_without_an_agent_nothing_changes(runtime_dir: Path, keyring_file: Path) -> None:
    assert client.keyring_op("get", str(keyring_file), SERVICE, "x") is client.NOT_HANDLED
    plain = env_without_passphrase()
    done = sessman("agent", "stop", env=plain)
    assert done.returncode == 0 and "not running" in done.stdout
    done = sessman("agent", "lock", env=plain)
    assert done.returncode == 0 and "not running" in done.stdout


def test_the_agent_memory_is_closed_to_the_same_user() -> None:
    # harden() (PR_SET_DUMPABLE 0): /proc/<agent>/environ and mem become root's,
    # so another process of the same (non-root) user cannot read the key.
    user = _other_user()
    code = (
        "import os\n"
        "from sessman.agent.listen import harden\n"
        "path = f'/proc/{os.getpid()}/environ'\n"
        "before = os.stat(path).st_uid\n"
        "harden()\n"
        "print(before, os.stat(path).st_uid)\n"
    )
    done = _as_other(user, code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(user.pw_uid), "0"]


def test_the_agent_exits_when_its_socket_goes(runtime_dir: Path, keyring_file: Path) -> None:
    # logind removes $XDG_RUNTIME_DIR at logout: the agent dies with the session.
    pid = start_agent()
    shutil.rmtree(runtime_dir / "sessman")
    assert wait_dead(pid, 15.0)
