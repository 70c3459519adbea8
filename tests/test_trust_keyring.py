"""Attacks on where secrets are kept: the backend choice and the file keyring itself.

Before: the cached backend name was imported whatever it named (``this.s``
printed into stdout, ``keyring.backends.null.Keyring`` silently discarded
secrets and doctor said "ok"); the file keyring's entry point made it the
keyring of every other program; a wrong passphrase could delete entries; a
damaged header read as "wrong passphrase"; the index was not authenticated;
scrypt N=2^14 was below today's minimum. Each test failed on that code.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend
from support.cli import assert_error_line, cli, python
from support.fakes import FAKE_SECRET, PASSPHRASE

from sessman.backends import resolve_backend
from sessman.filekeyring import (
    EncryptedFileKeyring,
    FileKeyringError,
    KeyringFileDamaged,
    WrongPassphrase,
)
from sessman.state import SessionRecord, StateFile

PROFILES = (
    "keyring_service: ktrust\n"
    "defaults: {region: eu-west-1}\n"
    "profiles:\n  dev: {access_key_id: AKIAKEYRINGEXAMPLE01}\n"
)


class Forgetful(KeyringBackend):
    """A backend that says yes to everything and keeps nothing (for doctor's round trip)."""

    priority = -1  # never chosen by keyring itself

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        return None

    def delete_password(self, service: str, username: str) -> None:
        return None


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(PROFILES)
    return path


def keyring_path() -> Path:
    return Path(os.environ["SESSMAN_KEYRING_FILE"])


# -- which backend ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["this.s", "keyring.backends.null.Keyring", "os.system"])
def test_a_forged_cached_backend_name_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    state = tmp_path / "state"
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from sessman.backends import _fingerprint, resolve_backend, backend_label\n"
        "state = Path(sys.argv[1]); state.mkdir(mode=0o700, exist_ok=True)\n"
        "(state / 'keyring-backend.json').write_text(json.dumps("
        "{'fingerprint': _fingerprint(), 'backend': sys.argv[2]}))\n"
        "print(backend_label(resolve_backend(state_dir=state)))\n"
    )
    done = python(code, str(state), name)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["sessman.filekeyring.EncryptedFileKeyring"]


def test_a_backend_that_cannot_keep_secrets_is_refused(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    result = cli("--config", str(config), "secret", "set", "dev", "--stdin", input=FAKE_SECRET)
    assert result.exit_code == 1
    assert_error_line(result, contains=("keyring.backends.null.Keyring", "cannot keep secrets"))
    assert FAKE_SECRET not in result.stdout + result.stderr
    doctor = cli("--config", str(config), "doctor", "--json")
    assert doctor.exit_code == 1
    assert json.loads(doctor.stdout)["keyring"]["ok"] is False


def test_doctor_reads_its_round_trip_back_from_the_backend(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", f"{__name__}.Forgetful")
    doctor = cli("--config", str(config), "doctor", "--json")
    assert doctor.exit_code == 1
    ring = json.loads(doctor.stdout)["keyring"]
    assert ring["backend"] == f"{__name__}.Forgetful"
    assert ring["ok"] is False and "did not read back" in ring["error"]


def _default_keyring(env: dict[str, str]) -> str:
    code = "import keyring; b = keyring.get_keyring(); print(type(b).__module__)"
    done = python(code, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_installing_sessman_does_not_change_other_programs_keyring(tmp_path: Path) -> None:
    home = tmp_path / "fresh-home"
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SESSMAN_", "PYTHON_KEYRING", "DBUS_", "XDG_"))
    }
    env["HOME"] = str(home)
    assert _default_keyring(env) != "sessman.filekeyring"
    # Where the user chose sessman's file keyring, keyring's own tools may use it.
    env["SESSMAN_KEYRING_FILE"] = str(tmp_path / "chosen.enc")
    assert _default_keyring(env) == "sessman.filekeyring"


# -- the file keyring ---------------------------------------------------------------


def test_a_wrong_passphrase_changes_nothing_delete_included(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = cli("--config", str(config), "secret", "set", "dev", "--stdin", input=FAKE_SECRET)
    assert stored.exit_code == 0, stored.stderr
    ring = EncryptedFileKeyring(keyring_path(), passphrase=PASSPHRASE)
    ring.set_password("ktrust", "dev:session", "{}")
    expires = datetime.now(timezone.utc) + timedelta(hours=1)
    record = SessionRecord("dev", "ASIAKEYRINGEXAMPLE01", "123456789012", "arn", "uid", expires)
    StateFile(Path(os.environ["SESSMAN_STATE_DIR"]), "ktrust").put(record)
    before = keyring_path().read_bytes()
    monkeypatch.setenv("SESSMAN_KEYRING_PASSPHRASE", "not the passphrase")
    for args in (
        ["secret", "delete", "dev"],
        ["close", "--all"],
        ["close", "dev"],
        ["secret", "set", "dev", "--stdin", "--force"],
    ):
        result = cli("--config", str(config), *args, input=FAKE_SECRET)
        assert result.exit_code == 1, (args, result.stdout, result.stderr)
        assert_error_line(result, contains="wrong passphrase")
        assert keyring_path().read_bytes() == before
    with pytest.raises(WrongPassphrase):
        EncryptedFileKeyring(keyring_path(), passphrase="nope").delete_password("ktrust", "dev")
    assert keyring_path().read_bytes() == before


def _written(tmp_path: Path) -> tuple[Path, dict[str, object]]:
    path = tmp_path / "ring.enc"
    ring = EncryptedFileKeyring(path, passphrase=PASSPHRASE)
    ring.set_password("s", "prod", FAKE_SECRET)
    ring.set_password("s", "dev", "dev value")
    return path, json.loads(path.read_bytes())


def test_a_damaged_header_is_damage_not_a_wrong_passphrase(tmp_path: Path) -> None:
    path, doc = _written(tmp_path)
    kdf = doc["kdf"]
    assert isinstance(kdf, dict)
    salt = base64.b64decode(kdf["salt"])
    kdf["salt"] = base64.b64encode(bytes([salt[0] ^ 1]) + salt[1:]).decode()
    path.write_text(json.dumps(doc))
    with pytest.raises(KeyringFileDamaged, match="header checksum"):
        EncryptedFileKeyring(path, passphrase=PASSPHRASE).get_password("s", "prod")


def test_the_index_is_authenticated(tmp_path: Path) -> None:
    path, doc = _written(tmp_path)
    entries = doc["entries"]
    assert isinstance(entries, dict)
    del entries["s"]["dev"]  # an entry removed behind the owner's back
    path.write_text(json.dumps(doc))
    kr = EncryptedFileKeyring(path, passphrase=PASSPHRASE)
    with pytest.raises(KeyringFileDamaged, match="index"):
        kr.get_password("s", "prod")
    before = path.read_bytes()
    with pytest.raises(KeyringFileDamaged, match="index"):
        kr.set_password("s", "new", "x")
    assert path.read_bytes() == before


def test_argon2id_parameters_are_stored_and_minimums_enforced(tmp_path: Path) -> None:
    path, doc = _written(tmp_path)
    kdf = doc["kdf"]
    assert isinstance(kdf, dict)
    assert (kdf["name"], kdf["memory_kib"], kdf["iterations"], kdf["lanes"]) == (
        "argon2id",
        19 * 1024,
        2,
        1,
    )
    weak = {**kdf, "memory_kib": 1024, "iterations": 1}
    check = doc["check"]
    header = json.dumps(["sessman-keyring", 2, weak, check], sort_keys=True)
    doc["kdf"] = weak
    doc["header_sha256"] = hashlib.sha256(header.encode()).hexdigest()
    path.write_text(json.dumps(doc))
    with pytest.raises(KeyringFileDamaged, match="below the minimum"):
        EncryptedFileKeyring(path, passphrase=PASSPHRASE).get_password("s", "prod")


def _version_1_file(path: Path, entries: dict[tuple[str, str], str]) -> None:
    """A keyring file as sessman wrote it before format 2 (scrypt N=2^14)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    salt = os.urandom(16)
    key = Scrypt(salt=salt, length=32, n=2**14, r=8, p=1).derive(PASSPHRASE.encode())

    def seal(plain: bytes, aad: list[object]) -> str:
        nonce = os.urandom(12)
        blob = nonce + AESGCM(key).encrypt(nonce, plain, json.dumps(aad).encode())
        return base64.b64encode(blob).decode()

    doc: dict[str, object] = {
        "format": "sessman-keyring",
        "version": 1,
        "kdf": {
            "name": "scrypt",
            "salt": base64.b64encode(salt).decode(),
            "n": 16384,
            "r": 8,
            "p": 1,
        },
        "check": seal(b"sessman-keyring passphrase check", ["sessman-keyring", 1, "check"]),
        "entries": {},
    }
    for (service, user), value in entries.items():
        aad: list[object] = ["sessman-keyring", 1, "entry", service, user]
        doc["entries"].setdefault(service, {})[user] = seal(value.encode(), aad)  # type: ignore[attr-defined]
    path.write_text(json.dumps(doc))


def test_an_old_file_is_read_and_upgraded_on_the_next_write(tmp_path: Path) -> None:
    path = tmp_path / "old.enc"
    _version_1_file(path, {("s", "prod"): FAKE_SECRET, ("s", "Dev"): "dev value"})
    kr = EncryptedFileKeyring(path, passphrase=PASSPHRASE)
    assert kr.get_password("s", "prod") == FAKE_SECRET
    assert json.loads(path.read_bytes())["version"] == 1  # reading changes nothing
    kr.set_password("s", "new", "new value")
    doc = json.loads(path.read_bytes())
    assert doc["version"] == 2 and doc["kdf"]["name"] == "argon2id"
    fresh = EncryptedFileKeyring(path, passphrase=PASSPHRASE)
    assert fresh.get_password("s", "prod") == FAKE_SECRET
    assert fresh.get_password("s", "Dev") == "dev value"
    assert fresh.get_password("s", "new") == "new value"
    assert FAKE_SECRET.encode() not in path.read_bytes()


def test_resolve_backend_never_imports_a_cached_module_outside_keyring(tmp_path: Path) -> None:
    # In-process twin of the subprocess test: the name is refused before any import.
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    assert "antigravity" not in sys.modules
    os.environ.pop("PYTHON_KEYRING_BACKEND")  # restored by clean_env
    from sessman.backends import _fingerprint

    (state / "keyring-backend.json").write_text(
        json.dumps({"fingerprint": _fingerprint(), "backend": "antigravity.Keyring"})
    )
    with contextlib.suppress(Exception):  # a fresh resolution may find no keyring: not the point
        resolve_backend(state_dir=state)
    assert "antigravity" not in sys.modules


def test_a_keyring_file_in_a_shared_directory_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp
    ring = EncryptedFileKeyring(shared / "ring.enc", passphrase=PASSPHRASE)
    with pytest.raises(FileKeyringError, match="writable by other users") as info:
        ring.set_password("s", "prod", FAKE_SECRET)
    assert "private directory" in str(info.value)
    assert list(shared.iterdir()) == []


@pytest.mark.parametrize("how", ["variable", "pin"])
def test_the_file_keyring_named_explicitly_works_before_its_file_exists(
    clean_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    monkeypatch.delenv("SESSMAN_KEYRING_FILE")
    config = tmp_path / "p.yaml"
    if how == "pin":
        monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
        config.write_text(
            PROFILES.replace(
                "keyring_service: ktrust\n",
                "keyring_service: ktrust\n"
                "keyring_backend: sessman.filekeyring.EncryptedFileKeyring\n",
            )
        )
    else:
        config.write_text(PROFILES)
    result = cli("--config", str(config), "secret", "set", "dev", "--stdin", input=FAKE_SECRET)
    assert result.exit_code == 0, result.stderr
    assert (clean_env / ".local" / "share" / "sessman" / "keyring.enc").is_file()
