"""Bad input is one clear line and loses nothing: options, damaged files, Secret Service, passphrase, expiry.

Bad options, damaged keyring and state files, a locked and an absent
Secret Service, a wrong or missing passphrase, dead endpoints and an
expired session: one clear line, the documented exit code, and the user's
data byte for byte.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from support.cli import assert_error_line, cli, sessman, store_secret
from support.fakes import FAKE_SECRET, PASSPHRASE
from support.infra import MotoServer, refused_url
from support.reliability import (
    ACCOUNT,
    keyring_path,
    listed,
    opened_fixture,  # noqa: F401
    profiles_file,
    snapshot,
    state_path,
    tree,
)

from sessman.filekeyring import EncryptedFileKeyring
from sessman.state import SessionRecord, StateFile

# -- bad options ---------------------------------------------------------------------------


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
