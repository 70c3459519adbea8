"""Real-parts test infrastructure: pytest fixtures that start real servers.

The suite tests sessman against real collaborators instead of patched ones:

- ``moto_server``: a ``moto.server`` process without authentication, where
  GetSessionToken and AssumeRole return working credentials.
- ``own_moto_server``: the same, one per test module, for per-account state.
- ``moto_auth_server``: a ``moto.server`` process that authenticates every
  request against its own IAM, with one IAM user and its access key.
- ``hanging_endpoint``: a loopback socket that accepts and never answers, to
  provoke read timeouts (``refused_url()``: one where nothing listens).
- ``secret_service``: a private D-Bus session bus with an unlocked
  gnome-keyring Secret Service on it.

``tests/conftest.py`` imports the fixtures by name (``from support.infra import ...``).
Every process started here is stopped by its own id when its scope ends.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import pytest

__all__ = [
    "MotoAuthServer",
    "MotoServer",
    "SecretService",
    "hanging_endpoint",
    "moto_auth_server",
    "moto_server",
    "own_moto_server",
    "refused_url",
    "secret_service",
]

_LOOPBACK = "127.0.0.1"
_REGION = "us-east-1"
_START_TIMEOUT = 30.0  # seconds for moto to import Flask and listen
_DAEMON_TIMEOUT = 10.0  # seconds for dbus-daemon / gnome-keyring to come up
_POLL = 0.05
# The auth server's setup makes exactly these free requests: CreateUser,
# PutUserPolicy, CreateAccessKey. Every later request is authenticated.
_FREE_SETUP_REQUESTS = 3
_AUTH_USER = "sessman-test"
_SECRETS_BUS_NAME = "org.freedesktop.secrets"
_KEYRING_PASSWORD = b"sessman-test-keyring"


def refused_url() -> str:
    """A loopback URL where nothing listens (the port was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass(frozen=True)
class MotoServer:
    """A running ``moto.server``: where to send requests."""

    url: str
    port: int


@dataclass(frozen=True)
class MotoAuthServer(MotoServer):
    """A ``moto.server`` that checks signatures, and the one IAM user it knows."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    user_name: str
    user_arn: str


@dataclass(frozen=True)
class SecretService:
    """A private session bus with an unlocked gnome-keyring on it.

    ``env`` holds the variables a child process needs to reach it; the
    fixture also sets them in ``os.environ`` for the whole test session.
    """

    env: Mapping[str, str]


# -- processes ---------------------------------------------------------------


def _free_port() -> int:
    """A loopback port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _log_tail(log: Path, lines: int = 30) -> str:
    """The end of a process log, for failure messages."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def _spawn(
    argv: list[str], log: Path, env: Mapping[str, str], *, stdin: int | None = None
) -> subprocess.Popen[bytes]:
    """Start a process in its own session, its output appended to ``log``.

    A file, not a pipe: nobody reads the output while the tests run, and a
    full pipe would block the server.
    """
    with log.open("ab") as out:
        return subprocess.Popen(
            argv,
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env),
            start_new_session=True,
        )


def _stop(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """Terminate one process by its id, then kill it if it lingers; reap it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    if proc.stdin is not None:
        proc.stdin.close()


def _wait_until(
    ready: Callable[[], bool], proc: subprocess.Popen[bytes], what: str, log: Path, timeout: float
) -> None:
    """Poll ``ready`` every 50 ms until it is true; fail with the log if not."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            pytest.fail(
                f"{what} exited with code {proc.returncode} before it was ready.\n"
                f"Log ({log}):\n{_log_tail(log)}",
                pytrace=False,
            )
        if time.monotonic() > deadline:
            pytest.fail(
                f"{what} was not ready after {timeout:.0f} s.\nLog ({log}):\n{_log_tail(log)}",
                pytrace=False,
            )
        time.sleep(_POLL)


def _accepts(family: socket.AddressFamily, address: str | tuple[str, int]) -> bool:
    """Whether something listens at ``address`` right now."""
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(address)
        except OSError:
            return False
        return True


def _clean_env() -> dict[str, str]:
    """``os.environ`` without AWS variables, so no server sees a real account."""
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}


@contextlib.contextmanager
def _running_moto(log: Path, extra_env: Mapping[str, str] | None = None) -> Iterator[MotoServer]:
    """Run ``python -m moto.server`` on a free loopback port until the block ends."""
    port = _free_port()
    env = _clean_env() | dict(extra_env or {})
    argv = [sys.executable, "-m", "moto.server", "-H", _LOOPBACK, "-p", str(port)]
    proc = _spawn(argv, log, env)
    try:
        _wait_until(
            lambda: _accepts(socket.AF_INET, (_LOOPBACK, port)),
            proc,
            f"moto_server on port {port}",
            log,
            _START_TIMEOUT,
        )
        yield MotoServer(url=f"http://{_LOOPBACK}:{port}", port=port)
    finally:
        _stop(proc)


# -- moto --------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A ``moto.server`` without authentication (GetSessionToken, AssumeRole work)."""
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with _running_moto(log) as server:
        yield server


@pytest.fixture(scope="module")
def own_moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A ``moto.server`` of the test module's own (no authentication).

    For state that is one per account and must not leak into other modules'
    tests, such as an Organization (CreateOrganization works once).
    """
    log = tmp_path_factory.mktemp("moto-own") / "server.log"
    with _running_moto(log) as server:
        yield server


@pytest.fixture(scope="session")
def moto_auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoAuthServer]:
    """A ``moto.server`` that authenticates requests, with one IAM user and key.

    ``INITIAL_NO_AUTH_ACTION_COUNT`` makes the first three requests free; they
    create the user, give it an inline admin policy (so IAM, STS and S3 calls
    are allowed, not only the always-allowed GetCallerIdentity) and create
    its access key. From then on a wrong secret gets ``SignatureDoesNotMatch``.
    """
    import boto3
    from botocore.config import Config

    log = tmp_path_factory.mktemp("moto-auth") / "server.log"
    extra = {"INITIAL_NO_AUTH_ACTION_COUNT": str(_FREE_SETUP_REQUESTS)}
    with _running_moto(log, extra) as server:
        # One attempt per call: a retry would spend a free request.
        iam = boto3.session.Session(
            aws_access_key_id="setup", aws_secret_access_key="setup", region_name=_REGION
        ).client(
            "iam",
            endpoint_url=server.url,
            config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
        )
        with contextlib.closing(iam):
            user = iam.create_user(UserName=_AUTH_USER)["User"]
            iam.put_user_policy(
                UserName=_AUTH_USER,
                PolicyName="admin",
                PolicyDocument=(
                    '{"Version": "2012-10-17", "Statement": '
                    '[{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'
                ),
            )
            key = iam.create_access_key(UserName=_AUTH_USER)["AccessKey"]
        yield MotoAuthServer(
            url=server.url,
            port=server.port,
            access_key_id=key["AccessKeyId"],
            secret_access_key=key["SecretAccessKey"],
            user_name=_AUTH_USER,
            user_arn=user["Arn"],
        )


# -- a server that never answers ---------------------------------------------


class _SilentServer:
    """Accepts TCP connections on loopback and never sends a byte."""

    def __init__(self) -> None:
        self._listener = socket.create_server((_LOOPBACK, 0))
        self._listener.settimeout(_POLL)
        self._held: list[socket.socket] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, name="hanging", daemon=True)
        self.url = f"http://{_LOOPBACK}:{self._listener.getsockname()[1]}"

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._held.append(conn)

    def __enter__(self) -> _SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        self._thread.join()
        for conn in self._held:
            conn.close()
        self._listener.close()


@pytest.fixture
def hanging_endpoint() -> Iterator[str]:
    """The URL of a loopback server that accepts connections and never answers."""
    with _SilentServer() as server:
        yield server.url


# -- Secret Service ----------------------------------------------------------

# A session bus without service directories: nothing is auto-started, so an
# early client can never activate a second, locked gnome-keyring.
_BUS_CONFIG = """\
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def _unavailable(reason: str) -> NoReturn:
    """Skip locally, but fail under CI, where these tests must always run."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: Secret Service tests must run)", pytrace=False)
    pytest.skip(reason)


def _name_has_owner(address: str, name: str) -> bool:
    """Ask the bus at ``address`` whether ``name`` is owned (NameHasOwner)."""
    from jeepney import DBus
    from jeepney.io.blocking import open_dbus_connection

    with open_dbus_connection(bus=address) as conn:
        reply = conn.send_and_get_reply(DBus().NameHasOwner(name), timeout=2.0)
    return bool(reply.body[0])


@pytest.fixture(scope="session")
def secret_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecretService]:
    """A real, unlocked freedesktop Secret Service on a private session bus.

    Starts ``dbus-daemon`` and ``gnome-keyring-daemon --unlock`` (password on
    stdin, fresh data dirs), then waits until ``org.freedesktop.secrets`` is
    owned: a client that comes earlier finds no keyring (see FACTS.md).
    Missing binaries skip locally and fail under ``CI=true``.
    """
    missing = [b for b in ("dbus-daemon", "gnome-keyring-daemon") if shutil.which(b) is None]
    if missing:
        _unavailable(f"{', '.join(missing)} not installed (run scripts/system-deps.sh)")
    try:
        import jeepney  # noqa: F401
    except ImportError:
        _unavailable("jeepney (keyring's D-Bus client) is not installed")

    root = tmp_path_factory.mktemp("secret-service")
    dirs = {name: root / name for name in ("home", "data", "config", "cache", "runtime")}
    for path in dirs.values():
        path.mkdir(mode=0o700)
    bus_socket = root / "bus"
    if len(str(bus_socket)) > 100:
        pytest.fail(f"Socket path too long for AF_UNIX: {bus_socket}", pytrace=False)
    config = root / "bus.conf"
    config.write_text(_BUS_CONFIG.format(socket=bus_socket))
    address = f"unix:path={bus_socket}"
    env = {
        "DBUS_SESSION_BUS_ADDRESS": address,
        "XDG_DATA_HOME": str(dirs["data"]),
        "XDG_RUNTIME_DIR": str(dirs["runtime"]),
    }
    daemon_env = (
        _clean_env()
        | env
        | {
            "HOME": str(dirs["home"]),
            "XDG_CONFIG_HOME": str(dirs["config"]),
            "XDG_CACHE_HOME": str(dirs["cache"]),
        }
    )
    daemon_env.pop("DISPLAY", None)

    log = root / "daemons.log"
    bus = _spawn(
        ["dbus-daemon", f"--config-file={config}", "--nofork", "--nopidfile"], log, daemon_env
    )
    keyring_daemon: subprocess.Popen[bytes] | None = None
    try:
        _wait_until(
            lambda: _accepts(socket.AF_UNIX, str(bus_socket)),
            bus,
            "dbus-daemon",
            log,
            _DAEMON_TIMEOUT,
        )
        keyring_daemon = _spawn(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            log,
            daemon_env,
            stdin=subprocess.PIPE,
        )
        assert keyring_daemon.stdin is not None
        keyring_daemon.stdin.write(_KEYRING_PASSWORD)
        keyring_daemon.stdin.close()
        _wait_until(
            lambda: _name_has_owner(address, _SECRETS_BUS_NAME),
            keyring_daemon,
            "gnome-keyring-daemon",
            log,
            _DAEMON_TIMEOUT,
        )
        with pytest.MonkeyPatch.context() as mp:
            for name, value in env.items():
                mp.setenv(name, value)
            yield SecretService(env=dict(env))
    finally:
        if keyring_daemon is not None:
            _stop(keyring_daemon)
        _stop(bus)
