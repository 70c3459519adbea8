"""Nothing is lost under concurrency or a SIGKILL at random moments.

- Concurrency: 8 processes opening, listing and closing one profile at once;
  12 threads sharing one SessionManager.
- Crash safety: writers of the state file and of the keyring file killed
  with SIGKILL at random moments, 40 times each; the file is always the old
  or the new one, never torn.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support.cli import sessman, store_secret
from support.fakes import FAKE_SECRET, PASSPHRASE
from support.infra import MotoServer, refused_url
from support.reliability import ACCOUNT, keyring_path, listed, profiles_file, state_path

from sessman.errors import SessmanError
from sessman.filekeyring import EncryptedFileKeyring
from sessman.manager import SessionManager
from sessman.state import StateFile

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
