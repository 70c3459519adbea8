"""Attacks on sessman's own files by another local user.

The other user is simulated with modes, owners and planted symlinks; one
test creates a real second uid and tries, as that user, to plant a link.
Each test failed on the code before the trust rules: the state directory
was made 0777 under umask 000, nobody checked its owner or mode, and cache
and state writes followed a symlink to overwrite whatever it named.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
from support.cli import assert_error_line, cli
from support.fakes import FAKE_SECRET
from support.infra import MotoServer

from sessman.trust import UnsafePath, read_private, write_private

VICTIM = b"the user's precious file\n"
PROFILES = (
    "keyring_service: trust\n"
    "defaults: {{region: us-east-1, endpoint_url: '{url}', retries: {{max_attempts: 1}}}}\n"
    "profiles:\n"
    "  dev: {{access_key_id: AKIATRUSTEXAMPLE0001}}\n"
)


def state_dir() -> Path:
    return Path(os.environ["SESSMAN_STATE_DIR"])


def profiles(tmp_path: Path, url: str = "http://127.0.0.1:9") -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(PROFILES.format(url=url))
    return path


def cache_slot(config: Path) -> Path:
    """Where the validated-profiles cache of ``config`` lives (as sessman names it)."""
    slot = hashlib.sha256(str(config.absolute()).encode()).hexdigest()[:32]
    return state_dir() / "config-cache" / f"{slot}.json"


def modes_under(root: Path) -> dict[str, int]:
    return {
        str(p.relative_to(root)): stat.S_IMODE(p.lstat().st_mode) for p in [root, *root.rglob("*")]
    }


def test_state_is_private_whatever_the_umask(
    tmp_path: Path, umask_000: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    nested = tmp_path / "deep" / "er" / "state"
    monkeypatch.setenv("SESSMAN_STATE_DIR", str(nested))
    config = profiles(tmp_path)
    config.chmod(0o644)  # written under umask 000: a 0666 profiles file is refused
    result = cli("--config", str(config), "list")
    assert result.exit_code == 0, result.stderr
    found = modes_under(tmp_path / "deep")
    assert found, "nothing was created"
    for name, mode in found.items():
        path = tmp_path / "deep" / name
        expected = 0o700 if path.is_dir() else 0o600
        assert mode == expected, (name, oct(mode))


def test_a_world_writable_state_dir_is_refused(tmp_path: Path) -> None:
    config = profiles(tmp_path)
    state_dir().mkdir()
    state_dir().chmod(0o777)
    result = cli("--config", str(config), "list")
    assert result.exit_code == 1
    assert_error_line(result, contains=(str(state_dir()), "writable by other users"))
    assert f"hint: chmod 700 {state_dir()}" in result.stderr
    assert list(state_dir().iterdir()) == []  # nothing was written there


def test_a_state_dir_of_another_user_is_refused(tmp_path: Path) -> None:
    config = profiles(tmp_path)
    state_dir().mkdir(mode=0o700)
    os.chown(state_dir(), 4242, 4242)
    result = cli("--config", str(config), "list")
    assert result.exit_code == 1
    assert_error_line(result, contains=(str(state_dir()), "uid 4242"))


def test_a_planted_cache_symlink_is_left_untouched_by_list(tmp_path: Path) -> None:
    config = profiles(tmp_path)
    victim = tmp_path / "keyring-lookalike.enc"
    victim.write_bytes(VICTIM)
    link = cache_slot(config)
    link.parent.mkdir(parents=True, mode=0o700)
    state_dir().chmod(0o700)
    link.symlink_to(victim)

    result = cli("--config", str(config), "list")

    assert victim.read_bytes() == VICTIM
    assert link.is_symlink() and os.readlink(link) == str(victim)
    assert result.exit_code == 1
    assert_error_line(result, contains=(str(link), "symlink"))


@pytest.mark.parametrize("planted", ["sessions-trust.json", "sessions-trust.json.lock"])
def test_a_planted_state_symlink_is_left_untouched_by_open(
    tmp_path: Path, moto_server: MotoServer, planted: str
) -> None:
    config = profiles(tmp_path, moto_server.url)
    stored = cli("--config", str(config), "secret", "set", "dev", "--stdin", input=FAKE_SECRET)
    assert stored.exit_code == 0, stored.stderr
    victim = tmp_path / "victim"
    victim.write_bytes(VICTIM)
    link = state_dir() / planted
    link.symlink_to(victim)

    result = cli("--config", str(config), "open", "dev")

    assert victim.read_bytes() == VICTIM
    assert link.is_symlink()
    assert result.exit_code == 1
    assert_error_line(result, contains=(str(link), "symlink"))
    assert FAKE_SECRET not in result.stdout + result.stderr


def test_trust_helpers_refuse_links_and_foreign_files(tmp_path: Path) -> None:
    directory = tmp_path / "own"
    target = tmp_path / "elsewhere"
    target.write_bytes(VICTIM)
    write_private(directory / "a.json", b"{}")
    assert stat.S_IMODE((directory / "a.json").stat().st_mode) == 0o600
    (directory / "b.json").symlink_to(target)
    with pytest.raises(UnsafePath, match="symlink"):
        write_private(directory / "b.json", b"{}")
    with pytest.raises(UnsafePath, match="symlink"):
        read_private(directory / "b.json")
    os.chown(directory / "a.json", 4242, 4242)
    with pytest.raises(UnsafePath, match="uid 4242"):
        read_private(directory / "a.json")
    assert target.read_bytes() == VICTIM


# -- a real second user -------------------------------------------------------------

OTHER_USER = "sessman-trust-other"


def _other_uid() -> int | None:
    """The uid of a real second local user, created if need be (tests run as root)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return None
    import pwd

    try:
        return pwd.getpwnam(OTHER_USER).pw_uid
    except KeyError:
        pass
    if shutil.which("useradd") is None:
        return None
    done = subprocess.run(
        ["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", OTHER_USER],
        capture_output=True,
        check=False,
    )
    if done.returncode not in (0, 9):  # 9: created meanwhile
        return None
    return pwd.getpwnam(OTHER_USER).pw_uid


def test_a_real_second_user_cannot_plant_a_link_in_the_state_dir(
    umask_000: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    uid = _other_uid()
    if uid is None:
        pytest.skip("needs root, setpriv and useradd to make a second user")
    base = Path(tempfile.mkdtemp(prefix="sessman-trust-"))
    try:
        base.chmod(0o755)  # the other user may look in, as in a home directory
        state = base / "state"
        monkeypatch.setenv("SESSMAN_STATE_DIR", str(state))
        config = base / "p.yaml"
        config.write_text(PROFILES.format(url="http://127.0.0.1:9"))
        config.chmod(0o644)
        assert cli("--config", str(config), "list").exit_code == 0
        victim = base / "victim"
        victim.write_bytes(VICTIM)
        planted = subprocess.run(
            [
                "setpriv",
                f"--reuid={uid}",
                f"--regid={uid}",
                "--clear-groups",
                "ln",
                "-s",
                str(victim),
                str(state / "sessions-trust.json"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert planted.returncode != 0, "the other user could write in the state dir"
        assert "Permission denied" in planted.stderr
        assert not (state / "sessions-trust.json").is_symlink()
        assert victim.read_bytes() == VICTIM
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_doctor_names_an_unsafe_state_dir_as_such(tmp_path: Path) -> None:
    config = profiles(tmp_path)
    state_dir().mkdir()
    state_dir().chmod(0o777)
    result = cli("--config", str(config), "doctor", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert "writable by other users" in report["state_dir_error"]
    assert f"chmod 700 {state_dir()}" in report["state_dir_error"]
    text = cli("--config", str(config), "doctor")
    assert text.exit_code == 1
    assert f"state dir      {state_dir()}: FAILED" in text.stdout
