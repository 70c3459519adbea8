"""The encrypted file keyring: keyring's contract, its file, its errors, concurrency.

Everything goes through the backend's public methods or through separate
Python processes; only the terminal (``sessman.prompts.has_terminal`` and
``sessman.prompts.read_hidden``) is faked, for the prompt tests.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import keyring.errors
import pytest
from keyring.testing.backend import BackendBasicTests

from sessman.filekeyring import (
    ENV_FILE,
    ENV_PASSPHRASE,
    EncryptedFileKeyring,
    FileKeyringError,
    KeyringFileDamaged,
    PassphraseRequired,
    WrongPassphrase,
)

REPO = Path(__file__).resolve().parents[1]
PASSPHRASE = "correct horse battery staple"
FAKE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSESSMANFAKE"
SERVICE = "sessman-test"


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the default keyring file at a temp dir and clear the passphrase variable."""
    monkeypatch.setenv(ENV_FILE, str(tmp_path / "default" / "keyring.enc"))
    monkeypatch.delenv(ENV_PASSPHRASE, raising=False)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "keyring.enc"


@pytest.fixture
def no_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    """A terminal that fails the test if anything asks it for a passphrase."""

    def forbidden(prompt: str = "") -> str:
        raise AssertionError(f"unexpected passphrase prompt: {prompt!r}")

    monkeypatch.setattr("sessman.prompts.has_terminal", lambda: True)
    monkeypatch.setattr("sessman.prompts.read_hidden", forbidden)


def _subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSMAN_")}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


# --------------------------------------------------------------------------
# keyring's own contract suite
# --------------------------------------------------------------------------


class TestKeyringContract(BackendBasicTests):
    """The backend passes ``keyring.testing.backend.BackendBasicTests``."""

    def init_keyring(self) -> EncryptedFileKeyring:
        # ENV_FILE points into this test's tmp_path (the autouse fixture above).
        return EncryptedFileKeyring(Path(os.environ[ENV_FILE]), passphrase=PASSPHRASE)


# --------------------------------------------------------------------------
# Basics
# --------------------------------------------------------------------------


def test_missing_file_reads_as_empty_without_prompt_or_file(path: Path, no_prompt: None) -> None:
    kr = EncryptedFileKeyring(path)
    assert kr.get_password(SERVICE, "prod") is None
    assert kr.usernames(SERVICE) == set()
    with pytest.raises(keyring.errors.PasswordDeleteError):
        kr.delete_password(SERVICE, "prod")
    assert not path.exists()
    assert not path.parent.joinpath("keyring.enc.lock").exists()


def test_case_is_kept(path: Path) -> None:
    kr = EncryptedFileKeyring(path, passphrase=PASSPHRASE)
    kr.set_password(SERVICE, "Prod", "upper")
    kr.set_password(SERVICE, "prod", "lower")
    kr.set_password(SERVICE.upper(), "prod", "other service")
    assert kr.get_password(SERVICE, "Prod") == "upper"
    assert kr.get_password(SERVICE, "prod") == "lower"
    assert kr.get_password(SERVICE.upper(), "prod") == "other service"
    assert kr.usernames(SERVICE) == {"Prod", "prod"}


def test_values_survive_a_new_instance_and_overwrite(path: Path) -> None:
    EncryptedFileKeyring(path, passphrase=PASSPHRASE).set_password(SERVICE, "prod", "one")
    EncryptedFileKeyring(path, passphrase=PASSPHRASE).set_password(SERVICE, "prod", "two")
    assert EncryptedFileKeyring(path, passphrase=PASSPHRASE).get_password(SERVICE, "prod") == "two"


def test_file_is_private_and_holds_no_plaintext(tmp_path: Path) -> None:
    path = tmp_path / "new-dir" / "keyring.enc"
    kr = EncryptedFileKeyring(path, passphrase=PASSPHRASE)
    kr.set_password(SERVICE, "prod", FAKE_SECRET)
    kr.set_password(SERVICE, "prod:session", json.dumps({"SecretAccessKey": FAKE_SECRET}))

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.with_name("keyring.enc.lock").stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    data = path.read_bytes()
    for needle in (FAKE_SECRET, PASSPHRASE):
        raw = needle.encode()
        assert raw not in data
        assert base64.b64encode(raw) not in data
        assert base64.urlsafe_b64encode(raw) not in data
    # Names are an index in plain text, by design.
    doc = json.loads(data)
    assert doc["format"] == "sessman-keyring"
    assert set(doc["entries"][SERVICE]) == {"prod", "prod:session"}


def test_each_write_uses_a_fresh_nonce(path: Path) -> None:
    kr = EncryptedFileKeyring(path, passphrase=PASSPHRASE)
    kr.set_password(SERVICE, "prod", FAKE_SECRET)
    first = json.loads(path.read_bytes())["entries"][SERVICE]["prod"]
    kr.set_password(SERVICE, "prod", FAKE_SECRET)
    second = json.loads(path.read_bytes())["entries"][SERVICE]["prod"]
    assert first != second


def test_passphrase_never_in_repr(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kr = EncryptedFileKeyring(path, passphrase=PASSPHRASE)
    kr.set_password(SERVICE, "prod", FAKE_SECRET)
    for text in (repr(kr), str(kr), repr(vars(kr))):
        assert PASSPHRASE not in text
        assert FAKE_SECRET not in text


def test_default_path_honours_env_then_user_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_FILE, str(tmp_path / "chosen.enc"))
    assert EncryptedFileKeyring().path == tmp_path / "chosen.enc"
    monkeypatch.delenv(ENV_FILE)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert EncryptedFileKeyring().path == tmp_path / "xdg" / "sessman" / "keyring.enc"


def test_passphrase_from_environment(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_PASSPHRASE, PASSPHRASE)
    EncryptedFileKeyring(path).set_password(SERVICE, "prod", FAKE_SECRET)
    assert EncryptedFileKeyring(path, passphrase=PASSPHRASE).get_password(SERVICE, "prod") == (
        FAKE_SECRET
    )


def test_usernames_need_no_passphrase_but_delete_does(path: Path, no_prompt: None) -> None:
    writer = EncryptedFileKeyring(path, passphrase=PASSPHRASE)
    writer.set_password(SERVICE, "prod", "a")
    writer.set_password(SERVICE, "dev", "b")
    writer.set_password("other", "x", "c")

    reader = EncryptedFileKeyring(path)  # no passphrase; prompting would fail the test
    assert reader.usernames(SERVICE) == {"prod", "dev"}
    assert reader.usernames("nothing here") == set()
    assert reader.get_password(SERVICE, "absent") is None
    with pytest.raises(AssertionError, match="unexpected passphrase prompt"):
        reader.delete_password(SERVICE, "dev")  # every delete checks the passphrase
    writer.delete_password(SERVICE, "dev")
    assert reader.usernames(SERVICE) == {"prod"}
    assert writer.get_password(SERVICE, "prod") == "a"


# --------------------------------------------------------------------------
# Passphrase errors
# --------------------------------------------------------------------------


def test_wrong_passphrase_is_clear_and_changes_nothing(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    EncryptedFileKeyring(path, passphrase=PASSPHRASE).set_password(SERVICE, "prod", FAKE_SECRET)
    before = path.read_bytes()
    wrong = "not the passphrase"
    monkeypatch.setenv(ENV_PASSPHRASE, wrong)
    kr = EncryptedFileKeyring(path)

    with pytest.raises(WrongPassphrase) as got:
        kr.get_password(SERVICE, "prod")
    with pytest.raises(WrongPassphrase) as put:
        kr.set_password(SERVICE, "dev", "new value")
    with pytest.raises(keyring.errors.KeyringLocked):
        kr.set_password(SERVICE, "prod", "overwrite")

    assert path.read_bytes() == before
    for exc in (got.value, put.value):
        message = str(exc)
        assert str(path) in message
        assert "wrong passphrase" in message
        assert ENV_PASSPHRASE in message
        assert "\n" not in message
        for secret in (wrong, PASSPHRASE, FAKE_SECRET):
            assert secret not in message
    # The right passphrase still opens it afterwards.
    monkeypatch.setenv(ENV_PASSPHRASE, PASSPHRASE)
    assert kr.get_password(SERVICE, "prod") == FAKE_SECRET


def test_no_passphrase_and_no_terminal_names_the_variable(tmp_path: Path) -> None:
    existing = tmp_path / "existing.enc"
    EncryptedFileKeyring(existing, passphrase=PASSPHRASE).set_password(SERVICE, "prod", "x")
    before = existing.read_bytes()
    missing = tmp_path / "missing.enc"
    script = textwrap.dedent(
        """
        import json, sys
        from pathlib import Path
        from sessman.filekeyring import EncryptedFileKeyring

        def attempt(fn, *args):
            try:
                fn(*args)
            except Exception as exc:
                return [type(exc).__name__, str(exc)]
            return None

        existing = EncryptedFileKeyring(Path(sys.argv[1]))
        missing = EncryptedFileKeyring(Path(sys.argv[2]))
        print(json.dumps({
            "get": attempt(existing.get_password, "sessman-test", "prod"),
            "set": attempt(existing.set_password, "sessman-test", "dev", "y"),
            "create": attempt(missing.set_password, "sessman-test", "prod", "y"),
            "usernames": sorted(existing.usernames("sessman-test")),
        }))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(existing), str(missing)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=_subprocess_env(),
        timeout=60,
        check=True,
    )
    result = json.loads(proc.stdout)
    for op in ("get", "set", "create"):
        name, message = result[op]
        assert name == "PassphraseRequired"
        assert ENV_PASSPHRASE in message
    assert result["usernames"] == ["prod"]
    assert existing.read_bytes() == before
    assert not missing.exists()


def test_prompt_asks_twice_when_creating_then_once(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers: list[str] = []
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return answers.pop(0)

    monkeypatch.setattr("sessman.prompts.has_terminal", lambda: True)
    monkeypatch.setattr("sessman.prompts.read_hidden", fake_getpass)

    answers[:] = [PASSPHRASE, "typo"]
    with pytest.raises(PassphraseRequired, match="differ"):
        EncryptedFileKeyring(path).set_password(SERVICE, "prod", FAKE_SECRET)
    assert not path.exists()

    answers[:] = [PASSPHRASE, PASSPHRASE]
    creator = EncryptedFileKeyring(path)
    creator.set_password(SERVICE, "prod", FAKE_SECRET)
    creator.set_password(SERVICE, "dev", "x")  # remembered: no third prompt
    assert len(prompts) == 4 and not answers

    prompts.clear()
    answers[:] = ["wrong", PASSPHRASE]
    reader = EncryptedFileKeyring(path)
    with pytest.raises(WrongPassphrase, match="try again"):
        reader.get_password(SERVICE, "prod")
    assert reader.get_password(SERVICE, "prod") == FAKE_SECRET
    assert reader.get_password(SERVICE, "dev") == "x"
    assert len(prompts) == 2 and not answers


# --------------------------------------------------------------------------
# Damaged files
# --------------------------------------------------------------------------


def _valid_file_bytes(tmp_path: Path) -> bytes:
    source = tmp_path / "valid.enc"
    EncryptedFileKeyring(source, passphrase=PASSPHRASE).set_password(SERVICE, "prod", "x")
    return source.read_bytes()


DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "garbage": lambda valid: bytes(range(256)) * 4,
    "empty": lambda valid: b"",
    "truncated": lambda valid: valid[: len(valid) // 2],
    "json-list": lambda valid: b"[1, 2, 3]\n",
    "other-format": lambda valid: json.dumps({"format": "keyrings.alt", "entries": {}}).encode(),
    "newer-version": lambda valid: valid.replace(b'"version": 2', b'"version": 3'),
    "bad-salt": lambda valid: valid.replace(b'"salt": "', b'"salt": "!!'),
    "ini-file": lambda valid: b"[sessman-test]\nprod = eA==\n",
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_file_is_reported_and_never_overwritten(
    tmp_path: Path, path: Path, damage: str, no_prompt: None
) -> None:
    path.write_bytes(DAMAGE[damage](_valid_file_bytes(tmp_path)))
    before = path.read_bytes()
    kr = EncryptedFileKeyring(path, passphrase=PASSPHRASE)

    for call in (
        lambda: kr.get_password(SERVICE, "prod"),
        lambda: kr.set_password(SERVICE, "prod", FAKE_SECRET),
        lambda: kr.set_password(SERVICE, "new", FAKE_SECRET),
        lambda: kr.delete_password(SERVICE, "prod"),
        lambda: kr.usernames(SERVICE),
    ):
        with pytest.raises(KeyringFileDamaged) as info:
            call()
        assert isinstance(info.value, keyring.errors.KeyringError)
        assert str(path) in str(info.value)
        assert "left untouched" in str(info.value)
        assert "\n" not in str(info.value)
        assert path.read_bytes() == before


def test_swapped_entries_are_detected(path: Path) -> None:
    kr = EncryptedFileKeyring(path, passphrase=PASSPHRASE)
    kr.set_password(SERVICE, "prod", FAKE_SECRET)
    kr.set_password(SERVICE, "dev", "dev secret")
    doc = json.loads(path.read_bytes())
    users = doc["entries"][SERVICE]
    users["prod"], users["dev"] = users["dev"], users["prod"]
    path.write_text(json.dumps(doc))

    # The authenticated index (format v2) catches the swap before any entry is decrypted.
    with pytest.raises(KeyringFileDamaged, match="index of entries fails authentication"):
        kr.get_password(SERVICE, "dev")


def test_unreadable_path_is_a_keyring_error(tmp_path: Path) -> None:
    (tmp_path / "dir.enc").mkdir()
    kr = EncryptedFileKeyring(tmp_path / "dir.enc", passphrase=PASSPHRASE)
    with pytest.raises(FileKeyringError, match="cannot read"):
        kr.get_password(SERVICE, "prod")


# --------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------


@pytest.mark.slow  # real processes: left out of make unit
def test_twelve_processes_setting_at_once_all_survive(tmp_path: Path) -> None:
    path = tmp_path / "shared" / "keyring.enc"
    go = tmp_path / "go"
    script = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from sessman.filekeyring import EncryptedFileKeyring
        import cryptography.hazmat.primitives.ciphers.aead, filelock  # warm up first
        go = Path(sys.argv[2])
        while not go.exists():
            time.sleep(0.002)
        EncryptedFileKeyring().set_password("sessman-test", sys.argv[1], "secret-" + sys.argv[1])
        """
    )
    env = _subprocess_env(**{ENV_FILE: str(path), ENV_PASSPHRASE: PASSPHRASE})
    names = [f"Profile{i:02d}" for i in range(12)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, name, str(go)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name in names
    ]
    try:
        time.sleep(0.5)  # let them import and wait at the barrier
        go.touch()
        results = [p.communicate(timeout=60) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, (_, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err.decode()

    kr = EncryptedFileKeyring(path, passphrase=PASSPHRASE)
    assert kr.usernames(SERVICE) == set(names)
    for name in names:
        assert kr.get_password(SERVICE, name) == "secret-" + name


def test_importing_the_module_loads_no_heavy_dependency() -> None:
    script = (
        "import sys, sessman.filekeyring\n"
        "print(sorted(m for m in ('cryptography', 'filelock', 'platformdirs') if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=_subprocess_env(),
        timeout=60,
        check=True,
    )
    assert proc.stdout.strip() == "[]"
