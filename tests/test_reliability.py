"""Nothing is lost, nothing crashes (issue #8, SPEC 3, 6 and 9).

- Concurrency: 8 processes opening, listing and closing one profile at once;
  12 threads sharing one SessionManager.
- Crash safety: writers of the state file and of the keyring file killed
  with SIGKILL at random moments, 40 times each; the file is always the old
  or the new one, never torn.
- Bad input: options, damaged state and keyring files, a locked and an absent
  Secret Service, a wrong or missing passphrase, dead endpoints, an expired
  session, profile names that look like paths, huge profiles files: one
  clear line, the documented exit code, and the user's data byte for byte.
- Property tests (hypothesis): no content of the state file crashes
  ``StateFile.read()`` or ``sessman list``.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support.cli import assert_error_line, cli, sessman, store_secret
from support.fakes import FAKE_SECRET, PASSPHRASE
from support.infra import MotoServer, refused_url

from sessman.errors import SessmanError
from sessman.filekeyring import EncryptedFileKeyring
from sessman.manager import SessionManager
from sessman.state import SessionRecord, StateFile

ACCOUNT = "123456789012"


def profiles_file(path: Path, endpoint: str, *, service: str = "reliable", extra: str = "") -> Path:
    path.write_text(
        f"""\
version: 1
keyring_service: {service}
defaults:
  region: eu-west-1
  endpoint_url: {endpoint}
  connect_timeout: 1
  read_timeout: 1
  retries: {{mode: standard, max_attempts: 1}}
profiles:
  dev:
    access_key_id: AKIARELIABLEEXAMPLE1
  ops:
    source_profile: dev
    role_arn: arn:aws:iam::{ACCOUNT}:role/Reliable
  nosecret:
    access_key_id: AKIARELIABLEEXAMPLE2
{extra}"""
    )
    return path


def keyring_path() -> Path:
    return Path(os.environ["SESSMAN_KEYRING_FILE"])


def state_path(service: str = "reliable") -> Path:
    return Path(os.environ["SESSMAN_STATE_DIR"]) / f"sessions-{service}.json"


def snapshot(*paths: Path) -> dict[str, bytes | None]:
    """The bytes of each file (None when absent): to prove nothing changed."""
    return {str(p): p.read_bytes() if p.exists() else None for p in paths}


def tree(root: Path) -> set[str]:
    """Every path under ``root``, relative."""
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def listed(config: Path) -> dict[str, dict[str, Any]]:
    result = cli("list", "--json", "-c", str(config))
    assert result.exit_code == 0, result.stderr
    return {row["name"]: row for row in json.loads(result.stdout)}


# -- concurrency ---------------------------------------------------------------------


@pytest.mark.slow
def test_eight_processes_open_list_and_close_one_profile_at_once(
    tmp_path: Path, moto_server: MotoServer
) -> None:
    config = profiles_file(tmp_path / "p.yaml", moto_server.url)
    store_secret(config)

    def worker(_: int) -> list[subprocess.CompletedProcess[str]]:
        steps = (["open", "dev", "--json"], ["list", "--json"], ["close", "dev", "--json"])
        return [sessman(*step, "-c", str(config)) for step in steps]

    with ThreadPoolExecutor(8) as pool:
        runs = [run for runs in pool.map(worker, range(8)) for run in runs]
    assert len(runs) == 24
    assert [r.returncode for r in runs] == [0] * 24, [r.stderr for r in runs]
    assert [r.stderr for r in runs] == [""] * 24  # no error, no "damaged" note
    outputs = [json.loads(r.stdout) for r in runs]
    assert all(o[0]["name"] == "dev" and o[0]["account"] == ACCOUNT for o in outputs[0::3])
    assert all({row["name"] for row in o} == {"dev", "ops", "nosecret"} for o in outputs[1::3])
    assert all(o == [{"name": "dev", "was_open": o[0]["was_open"]}] for o in outputs[2::3])
    # Every open was followed by its own close: all closed, the file whole.
    document = json.loads(state_path().read_bytes())
    assert document["format"] == "sessman-sessions" and document["sessions"] == {}
    rows = listed(config)
    assert rows["dev"]["session"]["state"] == "closed" and rows["dev"]["secret"] == "stored"
    ring = EncryptedFileKeyring(keyring_path(), passphrase=PASSPHRASE)
    assert ring.usernames("reliable") == {"dev"}
    assert ring.get_password("reliable", "dev") == FAKE_SECRET


@pytest.mark.slow
def test_threads_sharing_one_manager_raise_only_sessman_errors(
    tmp_path: Path, moto_server: MotoServer
) -> None:
    extra = (
        f"  refused:\n    access_key_id: AKIARELIABLEEXAMPLE3\n    endpoint_url: {refused_url()}\n"
    )
    config = profiles_file(tmp_path / "p.yaml", moto_server.url, extra=extra)
    manager = SessionManager.load(config)
    manager.store.put("dev", FAKE_SECRET)
    manager.store.put("refused", FAKE_SECRET)
    names = manager.names()
    working = ["dev", "ops"]
    unexpected: list[BaseException] = []
    expected: list[SessmanError] = []
    counts: dict[str, int] = {}

    def identity(name: str, _session: object) -> str:
        return manager.whoami(name).arn

    actions: dict[str, Callable[[random.Random], object]] = {
        "session": lambda r: manager.session(r.choice(names)),
        "client call": lambda r: manager.client(r.choice(working), "sts").get_caller_identity(),
        "resource": lambda r: manager.resource(r.choice(names), "iam"),
        "whoami": lambda r: manager.whoami(r.choice(names)),
        "open": lambda r: manager.open(r.choice(names)),
        "close": lambda r: manager.close(r.choice(names)),
        "credentials": lambda r: manager.credentials(r.choice(working)),
        "status": lambda r: manager.status(),
        "map": lambda r: manager.map(identity, max_workers=4),
        "release": lambda r: manager.release(),
    }
    start = threading.Barrier(12)
    lock = threading.Lock()

    def work(seed: int) -> None:
        rng = random.Random(seed)
        start.wait()
        for _ in range(25):
            kind = rng.choice(list(actions))
            try:
                result = actions[kind](rng)
            except SessmanError as exc:
                with lock:
                    expected.append(exc)
            except BaseException as exc:
                with lock:
                    unexpected.append(exc)
            else:
                if kind == "map":
                    assert isinstance(result, dict)
                    for outcome in result.values():
                        if not outcome.ok and not isinstance(outcome.error, SessmanError):
                            with lock:
                                unexpected.append(outcome.error)
            with lock:
                counts[kind] = counts.get(kind, 0) + 1

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert unexpected == [], [repr(e) for e in unexpected]
    assert sum(counts.values()) == 300 and len(counts) == len(actions)
    assert expected  # nosecret and refused really failed, as SessmanErrors

    # Consistent afterwards: a record and a keyring entry name the same session,
    # the manager still works, and closing everything leaves nothing behind.
    ring = EncryptedFileKeyring(keyring_path(), passphrase=PASSPHRASE)
    for name, record in manager.state.read().items():
        text = ring.get_password("reliable", f"{name}:session")
        if text is not None:
            assert json.loads(text)["AccessKeyId"] == record.access_key_id
    assert manager.session("dev") is manager.session("dev")
    assert manager.whoami("ops").arn.endswith(":assumed-role/Reliable/sessman-ops")
    for name in names:
        manager.close(name)
    assert {s.session for s in manager.status().values()} == {"closed"}
    assert manager.state.read() == {}
    assert ring.usernames("reliable") == {"dev", "refused"}
    manager.release()


# -- crash safety: SIGKILL at random moments -----------------------------------------------

KILLS = 40

STATE_WRITER = """\
import random, sys
from datetime import datetime, timezone
from pathlib import Path
from sessman.state import SessionRecord, StateFile

state = StateFile(Path(sys.argv[1]), "crash")
rng = random.Random(int(sys.argv[2]))
expires = datetime(2031, 1, 1, tzinfo=timezone.utc)
print("ready", flush=True)
for i in range(10**9):
    name = f"p{rng.randrange(12)}"
    if rng.random() < 0.6:
        key = f"ASIA{sys.argv[2]:0>8}{i:08d}"
        print("begin put", name, key, flush=True)
        state.put(SessionRecord(name, key, "123456789012", "arn:aws:iam::1:user/x", "u", expires))
    else:
        print("begin remove", name, flush=True)
        state.remove(name)
    print("end", flush=True)
"""

KEYRING_WRITER = """\
import random, sys
from pathlib import Path
from sessman.filekeyring import EncryptedFileKeyring

ring = EncryptedFileKeyring(Path(sys.argv[1]), passphrase=sys.argv[3])
rng = random.Random(int(sys.argv[2]))
ring.get_password("crash", "u0")  # derive the key first, if the file exists
print("ready", flush=True)
for i in range(10**9):
    user, value = f"u{rng.randrange(12)}", f"value-{sys.argv[2]}-{i}"
    print("begin", user, value, flush=True)
    ring.set_password("crash", user, value)
    print("end", flush=True)
"""


def kill_at_random(
    script: str, target: Path, seed: int, rng: random.Random, *extra: str
) -> list[list[str]]:
    """Start a writer, SIGKILL it after a random delay; the lines it printed, split."""
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(target), str(seed), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    with proc.stdout:
        first = proc.stdout.readline()
        if first != "ready\n":
            proc.kill()
            pytest.fail(first + proc.stdout.read())
        time.sleep(rng.uniform(0, 0.06))
        proc.send_signal(signal.SIGKILL)
        out = proc.stdout.read()  # what it printed before it died, through the same buffer
    assert proc.wait(timeout=30) == -signal.SIGKILL, out
    return [line.split() for line in out.splitlines()]


def replay(lines: list[list[str]], model: dict[str, str]) -> list[str] | None:
    """Apply the operations reported done to ``model``; return the one cut short, if any."""
    pending = None
    for line in lines:
        if line[0] == "begin":
            pending = line[1:]
        else:
            assert line == ["end"] and pending is not None
            apply(pending, model)
            pending = None
    return pending


def apply(op: list[str], model: dict[str, str]) -> None:
    if op[0] == "put":
        model[op[1]] = op[2]
    elif op[0] == "remove":
        model.pop(op[1], None)
    else:  # keyring: user, value
        model[op[0]] = op[1]


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob(".*.tmp"))


@pytest.mark.slow
def test_a_state_writer_killed_at_random_moments_never_tears_the_file(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    state_file = StateFile(directory, "crash")
    rng = random.Random(8)
    model: dict[str, str] = {}
    cut_short = mid_write = 0
    for seed in range(KILLS):
        lines = kill_at_random(STATE_WRITER, directory, seed, rng)
        pending = replay(lines, model)
        mid_write += pending is not None
        notes: list[str] = []
        raw = state_file.path.read_bytes() if state_file.path.exists() else b""
        if raw:  # whole JSON, never a torn file
            assert json.loads(raw)["format"] == "sessman-sessions"
        found = {
            name: r.access_key_id
            for name, r in StateFile(directory, "crash", warn=notes.append).read().items()
        }
        assert notes == []
        if found != model:
            assert pending is not None, (found, model)
            apply(pending, model)
            cut_short += 1
            assert found == model
    # Some kills landed between an operation's start and its end (how many
    # depends on the machine's load, so only "some" is asserted).
    assert mid_write > 0
    # Leftover temporary files (real, or planted) break nothing.
    (directory / ".sessions-crash.json.planted.tmp").write_bytes(b'{"format": "sess')
    assert leftovers(directory)
    assert {n: r.access_key_id for n, r in state_file.read().items()} == model
    config = tmp_path / "crash.yaml"
    config.write_text(
        "keyring_service: crash\ndefaults: {region: eu-west-1}\nprofiles:\n"
        + "".join(f"  p{i}: {{access_key_id: AKIACRASHEXAMPLE{i:04d}}}\n" for i in range(12))
    )
    env = {**os.environ, "SESSMAN_STATE_DIR": str(directory)}
    done_list = sessman("list", "--json", "-c", str(config), env=env)
    assert done_list.returncode == 0 and done_list.stderr == "", done_list.stderr
    assert len(json.loads(done_list.stdout)) == 12


@pytest.mark.slow
def test_a_keyring_writer_killed_at_random_moments_never_tears_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ring" / "keyring.enc"
    rng = random.Random(9)
    # Created here, so each writer derives its key before it says "ready".
    EncryptedFileKeyring(path, passphrase=PASSPHRASE).set_password("crash", "u0", "first")
    model = {"u0": "first"}
    mid_write = 0
    for seed in range(KILLS):
        lines = kill_at_random(KEYRING_WRITER, path, seed, rng, PASSPHRASE)
        pending = replay(lines, model)
        mid_write += pending is not None
        assert json.loads(path.read_bytes())["format"] == "sessman-keyring"
        ring = EncryptedFileKeyring(path, passphrase=PASSPHRASE)
        found = {user: ring.get_password("crash", user) for user in ring.usernames("crash")}
        if found != model:
            assert pending is not None, (found, model)
            apply(pending, model)
            assert found == model
    assert mid_write > 0  # some kills landed mid-write; how many depends on the load
    (path.parent / ".keyring.enc.planted.tmp").write_bytes(b'{"format": "sessman-keyr')
    assert leftovers(path.parent)
    config = tmp_path / "crash.yaml"
    config.write_text(
        "keyring_service: crash\ndefaults: {region: eu-west-1}\nprofiles:\n"
        + "".join(f"  u{i}: {{access_key_id: AKIACRASHEXAMPLE{i:04d}}}\n" for i in range(12))
    )
    env = {**os.environ, "SESSMAN_KEYRING_FILE": str(path)}
    listing = sessman("list", "--json", "-c", str(config), env=env)
    assert listing.returncode == 0 and listing.stderr == "", listing.stderr
    stored = {row["name"] for row in json.loads(listing.stdout) if row["secret"] == "stored"}
    assert stored == set(model)
    # And it is still writable, with every committed entry kept.
    ring = EncryptedFileKeyring(path, passphrase=PASSPHRASE)
    ring.set_password("crash", "after", "crashes")
    assert {u: ring.get_password("crash", u) for u in model} == model


# -- bad options ---------------------------------------------------------------------------


@pytest.fixture
def opened(tmp_path: Path, moto_server: MotoServer) -> Iterator[Path]:
    """A profiles file whose ``dev`` has a stored secret and an open session."""
    config = profiles_file(tmp_path / "p.yaml", moto_server.url)
    store_secret(config)
    result = cli("open", "dev", "-c", str(config))
    assert result.exit_code == 0, result.stderr
    yield config


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["open", "dev", "--bogus"], "--bogus"),
        (["open", "dev", "--duration", "5"], "--duration"),
        (["open", "dev", "--min-ttl", "-1"], "--min-ttl"),
        (["check", "--workers", "0"], "--workers"),
        (["env", "dev", "--format", "cmd"], "cmd"),
        (["show"], "'NAME'"),
        (["whoami"], "'NAME'"),
        (["secret", "set"], "'NAME'"),
        (["secret", "delete", "--force", "dev"], "--force"),
        (["credential-process"], "'NAME'"),
        (["close", "dev", "--all"], "--all"),
        (["list", "extra"], "extra"),
        (["open"], "profile"),
        (["nosuchcommand"], "nosuchcommand"),
    ],
)
def test_a_bad_option_is_one_line_exit_2_and_loses_nothing(
    opened: Path, args: list[str], needle: str
) -> None:
    before = snapshot(keyring_path(), state_path(), opened)
    result = cli(*args, "-c", str(opened))
    assert result.exit_code == 2, (result.stdout, result.stderr)
    # typer spells a missing argument NAME or name depending on its release.
    assert needle.lower() in assert_error_line(result).lower()
    assert result.stdout == ""
    assert snapshot(keyring_path(), state_path(), opened) == before
    assert listed(opened)["dev"]["session"]["state"] == "open"


# -- damaged files -------------------------------------------------------------------------


def test_every_truncation_of_the_state_file_reads_whole_or_as_closed(tmp_path: Path) -> None:
    expires = datetime.now(timezone.utc) + timedelta(hours=1)
    state = StateFile(tmp_path, "trunc")
    for i in range(3):
        state.put(SessionRecord(f"p{i}", f"ASIATRUNC{i}", ACCOUNT, "arn", "uid", expires))
    whole = state.read()
    raw = state.path.read_bytes()
    damaged = 0
    for cut in range(len(raw)):
        state.path.write_bytes(raw[:cut])
        notes: list[str] = []
        found = StateFile(tmp_path, "trunc", warn=notes.append).read()
        if found == whole:
            assert notes == [] and raw[cut:].strip() in (b"", b"}")
        else:
            assert found == {}
            assert len(notes) == 1 and "damaged" in notes[0] and str(state.path) in notes[0]
            damaged += 1
    assert damaged >= len(raw) - 2


def damage_keyring(raw: bytes, how: str) -> bytes:
    if how == "truncated":
        return raw[: len(raw) // 2]
    if how == "last-brace":
        return raw.rstrip()[:-1]
    if how == "empty":
        return b""
    if how == "garbage":
        return os.urandom(64)
    if how == "bad-entry":
        doc = json.loads(raw)
        doc["entries"]["reliable"]["dev"] = "%%% not base64 %%%"
        return json.dumps(doc).encode()
    if how == "newer-version":
        doc = json.loads(raw)
        doc["version"] = 99
        return json.dumps(doc).encode()
    raise AssertionError(how)


@pytest.mark.parametrize(
    "how", ["truncated", "last-brace", "empty", "garbage", "bad-entry", "newer-version"]
)
def test_a_damaged_keyring_file_is_one_line_exit_1_and_never_overwritten(
    opened: Path, how: str
) -> None:
    ring = keyring_path()
    ring.write_bytes(damage_keyring(ring.read_bytes(), how))
    before = snapshot(ring, state_path())
    files = tree(ring.parent)
    for args, stdin in (
        (["secret", "set", "nosecret", "--stdin"], FAKE_SECRET),
        (["secret", "set", "dev", "--stdin", "--force"], FAKE_SECRET),
        (["secret", "delete", "dev"], None),
        (["list"], None),
        (["open", "dev"], None),
        (["close", "dev"], None),
        (["credential-process", "dev"], None),
    ):
        result = cli(*args, "-c", str(opened), input=stdin)
        assert result.exit_code == 1, (args, result.stderr)
        line = assert_error_line(result, contains=str(ring))
        assert "sessman keyring" in line and FAKE_SECRET not in line
        assert snapshot(ring, state_path()) == before, args
    assert tree(ring.parent) == files  # no new keyring, no temporary file


# -- Secret Service: locked, and absent ------------------------------------------------------


@pytest.fixture
def private_secret_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A gnome-keyring of its own on a private bus, so locking it disturbs no other test."""
    from support import infra

    missing = [b for b in ("dbus-daemon", "gnome-keyring-daemon") if shutil.which(b) is None]
    if missing:
        infra._unavailable(f"{', '.join(missing)} not installed")
    root = tmp_path_factory.mktemp("locked-ss")
    dirs = {name: root / name for name in ("home", "data", "config", "cache", "runtime")}
    for path in dirs.values():
        path.mkdir(mode=0o700)
    bus_socket = root / "bus"
    (root / "bus.conf").write_text(infra._BUS_CONFIG.format(socket=bus_socket))
    env = {
        "DBUS_SESSION_BUS_ADDRESS": f"unix:path={bus_socket}",
        "XDG_DATA_HOME": str(dirs["data"]),
        "XDG_RUNTIME_DIR": str(dirs["runtime"]),
    }
    daemon_env = infra._clean_env() | env
    daemon_env |= {"HOME": str(dirs["home"]), "XDG_CONFIG_HOME": str(dirs["config"])}
    daemon_env.pop("DISPLAY", None)
    log = root / "daemons.log"
    bus = infra._spawn(
        ["dbus-daemon", f"--config-file={root / 'bus.conf'}", "--nofork", "--nopidfile"],
        log,
        daemon_env,
    )
    keyring_daemon = None
    try:
        infra._wait_until(
            lambda: infra._accepts(socket.AF_UNIX, str(bus_socket)), bus, "dbus", log, 10
        )
        keyring_daemon = infra._spawn(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            log,
            daemon_env,
            stdin=subprocess.PIPE,
        )
        assert keyring_daemon.stdin is not None
        keyring_daemon.stdin.write(b"locked-test-password")
        keyring_daemon.stdin.close()
        infra._wait_until(
            lambda: infra._name_has_owner(env["DBUS_SESSION_BUS_ADDRESS"], infra._SECRETS_BUS_NAME),
            keyring_daemon,
            "gnome-keyring-daemon",
            log,
            10,
        )
        yield env
    finally:
        if keyring_daemon is not None:
            infra._stop(keyring_daemon)
        infra._stop(bus)


SECRET_SERVICE = "keyring.backends.SecretService.Keyring"


@pytest.mark.slow
@pytest.mark.secretservice
def test_a_locked_secret_service_is_one_line_naming_it(
    private_secret_service: dict[str, str], tmp_path: Path
) -> None:
    import secretstorage
    from jeepney.io.blocking import open_dbus_connection

    config = profiles_file(
        tmp_path / "p.yaml",
        refused_url(),
        service="locked-test",
        extra=f"keyring_backend: {SECRET_SERVICE}\n",
    )
    env = {**os.environ, **private_secret_service}

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return sessman(*args, "-c", str(config), input=stdin, env=env, timeout=30)

    stored = run("secret", "set", "dev", "--stdin", stdin=FAKE_SECRET)  # unlocked: works
    assert stored.returncode == 0 and "SecretService" in stored.stdout, stored.stderr
    address = private_secret_service["DBUS_SESSION_BUS_ADDRESS"]
    with closing(open_dbus_connection(bus=address)) as bus:
        collection = secretstorage.get_default_collection(bus)
        collection.lock()
        assert collection.is_locked()
    for args, stdin in (
        (["secret", "set", "nosecret", "--stdin"], FAKE_SECRET),
        (["secret", "set", "dev", "--stdin", "--force"], FAKE_SECRET),
        (["secret", "delete", "dev"], None),
        (["list", "--json"], None),
        (["doctor", "--json"], None),
        (["open", "dev"], None),
        (["credential-process", "dev"], None),
    ):
        started = time.monotonic()
        done = run(*args, stdin=stdin)
        assert time.monotonic() - started < 20  # a prompt that cannot be shown is dismissed
        assert done.returncode == 1, (args, done.stderr)
        if args[0] == "doctor":
            report = json.loads(done.stdout)
            assert (
                report["keyring"]["ok"] is False and "SecretService" in report["keyring"]["error"]
            )
            continue
        line = assert_error_line(done, contains=SECRET_SERVICE)
        assert "unlock" in line.lower() and FAKE_SECRET not in done.stdout + done.stderr
    # Nothing was lost: the secret is still there (item attributes are readable while locked).
    with closing(open_dbus_connection(bus=address)) as bus:
        collection = secretstorage.get_default_collection(bus)
        assert collection.is_locked()
        items = list(collection.search_items({"service": "locked-test", "username": "dev"}))
        assert len(items) == 1


@pytest.mark.parametrize(
    "args",
    [["list"], ["secret", "delete", "dev"], ["credential-process", "dev"], ["open", "dev"]],
)
def test_an_absent_secret_service_is_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    config = profiles_file(
        tmp_path / "p.yaml", refused_url(), extra=f"keyring_backend: {SECRET_SERVICE}\n"
    )
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")
    result = cli(*args, "-c", str(config))
    assert result.exit_code == 1, result.stderr
    assert_error_line(result, contains=SECRET_SERVICE)
    assert result.stdout == ""


# -- passphrase, endpoints, expiry ----------------------------------------------------------


@pytest.mark.parametrize("passphrase", ["wrong", "missing"])
@pytest.mark.parametrize(
    "args", [["open", "dev"], ["credential-process", "ops"], ["env", "dev"], ["whoami", "dev"]]
)
def test_a_wrong_or_missing_passphrase_is_one_line_and_changes_nothing(
    opened: Path, monkeypatch: pytest.MonkeyPatch, passphrase: str, args: list[str]
) -> None:
    before = snapshot(keyring_path(), state_path())
    if passphrase == "wrong":
        monkeypatch.setenv("SESSMAN_KEYRING_PASSPHRASE", "not the passphrase")
        needle = "wrong passphrase"
    else:
        monkeypatch.delenv("SESSMAN_KEYRING_PASSPHRASE")
        needle = "SESSMAN_KEYRING_PASSPHRASE"
    result = cli(*args, "-c", str(opened))
    assert result.exit_code == 1, result.stderr
    assert_error_line(result, contains=(needle, str(keyring_path())))
    assert result.stdout == ""
    assert snapshot(keyring_path(), state_path()) == before
    # The index needs no passphrase: list still works and shows what is stored.
    rows = listed(opened)
    assert rows["dev"]["secret"] == "stored" and rows["dev"]["session"]["state"] == "open"


@pytest.mark.slow
@pytest.mark.parametrize("endpoint", ["refused", "hanging"])
def test_a_dead_endpoint_is_one_line_exit_1_and_stores_nothing(
    tmp_path: Path, hanging_endpoint: str, endpoint: str
) -> None:
    url = refused_url() if endpoint == "refused" else hanging_endpoint
    config = profiles_file(tmp_path / "p.yaml", url)
    store_secret(config)
    before = snapshot(keyring_path(), state_path())
    started = time.monotonic()
    opened = cli("open", "dev", "-c", str(config))
    handed = sessman("credential-process", "dev", "-c", str(config))
    assert time.monotonic() - started < 15
    assert opened.exit_code == 1 and handed.returncode == 1
    assert url in assert_error_line(opened)
    assert url in assert_error_line(handed)
    assert handed.stdout == ""
    assert snapshot(keyring_path(), state_path()) == before


def test_an_expired_session_is_listed_as_expired_and_renewed_by_credential_process(
    tmp_path: Path, moto_server: MotoServer
) -> None:
    config = profiles_file(tmp_path / "p.yaml", moto_server.url)
    store_secret(config)
    past = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)
    expired = {
        "AccessKeyId": "ASIAEXPIREDEXAMPLE01",
        "SecretAccessKey": "expired" * 6,
        "SessionToken": "expired-token",
        "Expiration": past.isoformat(),
    }
    ring = EncryptedFileKeyring(keyring_path(), passphrase=PASSPHRASE)
    ring.set_password("reliable", "dev:session", json.dumps(expired))
    record = SessionRecord("dev", "ASIAEXPIREDEXAMPLE01", ACCOUNT, "arn", "uid", past)
    StateFile(state_path().parent, "reliable").put(record)
    row = listed(config)["dev"]
    assert row["session"] == {"state": "expired", "expires": past.strftime("%Y-%m-%dT%H:%M:%SZ")}
    table = cli("list", "-c", str(config)).stdout
    assert "expired" in next(line for line in table.splitlines() if line.startswith("dev "))

    done = sessman("credential-process", "dev", "-c", str(config))
    assert done.returncode == 0, done.stderr
    handed = json.loads(done.stdout)
    assert handed["AccessKeyId"] != "ASIAEXPIREDEXAMPLE01"
    assert handed["SecretAccessKey"] != expired["SecretAccessKey"]
    renewed = datetime.fromisoformat(handed["Expiration"].replace("Z", "+00:00"))
    assert renewed > datetime.now(timezone.utc) + timedelta(minutes=50)
    row = listed(config)["dev"]
    assert row["session"] == {"state": "open", "expires": handed["Expiration"]}
    stored = json.loads(ring.get_password("reliable", "dev:session") or "{}")
    assert stored["AccessKeyId"] == handed["AccessKeyId"]


# -- names that look like paths -----------------------------------------------------------


@pytest.mark.parametrize("name", ["../x", "a/b", "..", "/etc/passwd", "x\\..\\y"])
def test_a_profile_name_that_looks_like_a_path_is_refused_by_the_loader(
    tmp_path: Path, name: str
) -> None:
    config = tmp_path / "p.yaml"
    config.write_text(
        "defaults: {region: eu-west-1}\nprofiles:\n"
        f"  {json.dumps(name)}: {{access_key_id: AKIARELIABLEEXAMPLE1}}\n"
    )
    before = tree(tmp_path)
    for args in (["list"], ["open", name], ["secret", "set", name, "--stdin"]):
        result = cli(*args, "-c", str(config), input=FAKE_SECRET)
        assert result.exit_code == 2
        assert_error_line(result, contains=("invalid profile name", repr(name)))
    assert tree(tmp_path) == before


@pytest.mark.parametrize("name", ["../x", "a/b", "../../outside", "/tmp/abs", "."])
def test_a_path_like_name_on_the_command_line_creates_no_file(
    opened: Path, tmp_path: Path, name: str
) -> None:
    dotenv = tmp_path / "keys.env"
    dotenv.write_text(
        f"AWS_ACCESS_KEY_ID=AKIARELIABLEEXAMPLE9\nAWS_SECRET_ACCESS_KEY={FAKE_SECRET}\n"
    )
    before = tree(tmp_path.parent)
    for args in (
        ["open", name],
        ["close", name],
        ["whoami", name],
        ["show", name],
        ["env", name],
        ["credential-process", name],
        ["secret", "set", name, "--stdin"],
        ["secret", "delete", name],
        ["import", "dotenv", str(dotenv), "--profile", name],
    ):
        result = cli(*args, "-c", str(opened), input=FAKE_SECRET)
        assert result.exit_code == 2, (args, result.stderr)
        assert_error_line(result, contains=repr(name))
    assert tree(tmp_path.parent) == before


def test_a_path_like_keyring_service_stays_in_the_state_dir(
    tmp_path: Path, moto_server: MotoServer
) -> None:
    config = profiles_file(tmp_path / "p.yaml", moto_server.url, service="../../escape/x")
    store_secret(config)
    state_dir = state_path().parent
    before = tree(tmp_path.parent)
    result = cli("open", "dev", "-c", str(config))
    assert result.exit_code == 0, result.stderr
    new = {tmp_path.parent / p for p in tree(tmp_path.parent) - before}
    locks = state_dir / "locks"
    assert new and all(p.parent in (state_dir, locks, keyring_path().parent) for p in new)
    assert any(p.name.startswith("sessions-..%2F..%2Fescape%2Fx") for p in new)
    assert listed(config)["dev"]["session"]["state"] == "open"


# -- huge profiles files -----------------------------------------------------------------------


@pytest.mark.slow
def test_five_thousand_profiles_load_and_list(tmp_path: Path) -> None:
    from sessman.config import load_config

    config = tmp_path / "big.yaml"
    config.write_text(
        "version: 1\ndefaults: {region: eu-west-1}\nprofiles:\n"
        + "".join(
            f"  p{i:04d}:\n    access_key_id: AKIARELIABLE{i:08d}\n    tags: [t{i % 7}]\n"
            for i in range(5000)
        )
    )
    started = time.monotonic()
    loaded = load_config(config)
    assert time.monotonic() - started < 10
    assert len(loaded.profiles) == 5000
    store_secret(config, "p4999")
    started = time.monotonic()
    rows = listed(config)
    assert time.monotonic() - started < 15
    assert len(rows) == 5000 and rows["p4999"]["secret"] == "stored"
    assert rows["p0000"]["secret"] == "missing"


def test_a_profiles_file_over_16_mib_is_refused_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "huge.yaml"
    head = (
        b"defaults: {region: eu-west-1}\nprofiles:\n  dev: {access_key_id: AKIARELIABLEEXAMPLE1}\n"
    )
    config.write_bytes(head + b"#" * (16 * 2**20 + 1 - len(head)))
    for args in (["list"], ["show", "dev"], ["credential-process", "dev"]):
        started = time.monotonic()
        result = cli(*args, "-c", str(config))
        assert time.monotonic() - started < 2
        assert result.exit_code == 2
        assert_error_line(result, contains=("16 MiB", str(config)))
    config.write_bytes(head + b"#" * (16 * 2**20 - 1 - len(head)))  # just under: fine
    assert cli("show", "dev", "-c", str(config)).exit_code == 0


# -- property tests of the state reader --------------------------------------------------------

OFFSETS = st.integers(-23 * 60, 23 * 60).map(lambda m: timezone(timedelta(minutes=m)))
ISO = st.datetimes(timezones=st.none() | st.just(timezone.utc) | OFFSETS).map(
    lambda d: d.isoformat()
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
NAMES = st.sampled_from(["dev", "ops", "p1", "Dev", ""])


@st.composite
def entries(draw: st.DrawFn, name: str) -> tuple[dict[str, Any] | Any, bool]:
    """A session entry for ``name``: well formed (and so kept) or not."""
    if draw(st.booleans()):
        return draw(JSON), False
    fields = ("profile", "access_key_id", "account", "arn", "user_id")
    entry: dict[str, Any] = {f: name if f == "profile" else f"{f}-value" for f in fields}
    entry["expires"] = draw(ISO)
    for key in draw(st.sets(st.sampled_from([*fields, "expires"]), max_size=2)):
        entry[key] = draw(JSON)
    well_formed = all(isinstance(entry[f], str) for f in fields) and entry["profile"] == name
    if well_formed:
        try:
            expires = datetime.fromisoformat(entry["expires"])
            # An expiry is kept only if it has a time zone and a UTC equivalent.
            well_formed = expires.tzinfo is not None
            expires.astimezone(timezone.utc)  # OverflowError at the edges of time
        except (TypeError, ValueError, OverflowError):
            well_formed = False
    return entry, well_formed


@st.composite
def documents(draw: st.DrawFn) -> tuple[bytes, set[str]]:
    """State file content and the profiles it holds a well-formed record of."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=200)), set()
    if draw(st.integers(0, 4)) == 0:
        return json.dumps(draw(JSON)).encode(), set()
    sessions: dict[str, Any] = {}
    kept: set[str] = set()
    for name in draw(st.sets(NAMES, max_size=4)):
        entry, ok = draw(entries(name))
        sessions[name] = entry
        if ok:
            kept.add(name)
    fmt = draw(st.sampled_from(["sessman-sessions", "sessman-sessions", "other", None]))
    doc = {"format": fmt, "version": draw(JSON), "sessions": sessions}
    if fmt != "sessman-sessions":
        kept = set()
    return json.dumps(doc).encode(), kept


def check_records(records: dict[str, SessionRecord]) -> None:
    for name, record in records.items():
        assert isinstance(record, SessionRecord) and record.profile == name
        assert record.expires.tzinfo is not None
        record.remaining()


EDGE = json.dumps(
    {
        "format": "sessman-sessions",
        "sessions": {
            "dev": {
                "profile": "dev",
                "access_key_id": "ASIA",
                "account": "1",
                "arn": "a",
                "user_id": "u",
                "expires": "0001-01-01T00:00:00+05:00",
            }
        },
    }
).encode()


@settings(max_examples=300, deadline=None)
@given(content=documents())
@example(content=(EDGE, set()))
@example(content=(EDGE.replace(b"+05:00", b"+00:00"), {"dev"}))
@example(content=(b"[" * 100_000, set()))
@example(content=(b'{"format": "sessman-sessions", "sessions": {"dev": "x"}}', set()))
def test_no_state_file_content_crashes_the_reader(content: tuple[bytes, set[str]]) -> None:
    import tempfile

    raw, kept = content
    with tempfile.TemporaryDirectory() as directory:
        state = StateFile(Path(directory), "prop")
        state.path.write_bytes(raw)
        records = state.read()
    check_records(records)
    assert set(records) == kept


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=documents())
@example(content=(EDGE, set()))
@example(content=(EDGE.replace(b"0001-01-01T00:00:00+05:00", b"9999-12-31T23:00:00-05:00"), set()))
@pytest.mark.slow  # real processes: left out of make unit
def test_no_state_file_content_crashes_sessman_list(
    content: tuple[bytes, set[str]], tmp_path: Path
) -> None:
    config = tmp_path / "p.yaml"
    if not config.exists():
        config.write_text(
            "keyring_service: prop\ndefaults: {region: eu-west-1}\nprofiles:\n"
            "  dev: {access_key_id: AKIARELIABLEEXAMPLE1}\n"
            "  ops: {source_profile: dev, role_arn: 'arn:aws:iam::123456789012:role/x'}\n"
        )
        # Stored sessions, so that each record's expiry is really shown.
        ring = EncryptedFileKeyring(keyring_path(), passphrase=PASSPHRASE)
        for name in ("dev", "ops", "p1"):
            ring.set_password("prop", f"{name}:session", "{}")
    path = state_path("prop")
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content[0])
    result = cli("list", "--json", "-c", str(config))
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["name"] for row in rows] == ["dev", "ops"]
    for row in rows:
        assert row["session"]["state"] in {"open", "expired", "stale", "closed"}
        assert (row["session"]["expires"] is None) == (row["session"]["state"] == "closed")
    notes = result.stderr.splitlines()
    assert len(notes) <= 1 and all(n.startswith("sessman: note: ") for n in notes)


def test_stale_temporary_files_of_killed_writers_are_removed(tmp_path: Path) -> None:
    from sessman._atomic import STALE_SECONDS, write_atomic

    target = tmp_path / "state.json"
    old = tmp_path / ".state.json.abc123.tmp"
    fresh = tmp_path / ".state.json.def456.tmp"
    other = tmp_path / ".other.json.abc123.tmp"
    for leftover in (old, fresh, other):
        leftover.write_bytes(b"partial")
    aged = time.time() - STALE_SECONDS - 5
    os.utime(old, (aged, aged))
    os.utime(other, (aged, aged))
    write_atomic(target, b"{}")
    assert target.read_bytes() == b"{}"
    assert not old.exists()
    assert fresh.exists()  # may belong to a writer still at work
    assert other.exists()  # another file's


def test_writes_go_through_symlinks(tmp_path: Path) -> None:
    from sessman._atomic import write_atomic

    real = tmp_path / "dotfiles" / "profiles.yaml"
    real.parent.mkdir()
    real.write_bytes(b"old")
    link = tmp_path / "profiles.yaml"
    link.symlink_to(real)
    write_atomic(link, b"new")
    assert link.is_symlink()
    assert real.read_bytes() == b"new"
