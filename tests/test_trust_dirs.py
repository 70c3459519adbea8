"""Attacks through the directories sessman makes and the directory symlinks it meets.

Before: ``write_atomic`` made missing parents with ``Path.mkdir(parents=True,
mode=0o700)``, which gives 0700 to the last directory only, so ``sessman
init`` under umask 000 left a new ``~/.config`` 0777 and another user could
swap ``~/.config/sessman``; ``write_atomic(..., follow_symlinks=False)``
still wrote through a symlink; and a directory symlink planted by another
user was followed for the state directory and the keyring file's directory
because only its target was checked. Each test below failed on that code.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest
from support.cli import assert_error_line, cli
from support.fakes import FAKE_SECRET

from sessman._atomic import write_atomic
from sessman.agent.listen import bind
from sessman.locks import profile_lock
from sessman.trust import UnsafePath

OTHER_UID = 4242
VICTIM = b"the user's precious file\n"
PROFILES = (
    "keyring_service: tdirs\n"
    "defaults: {region: us-east-1, endpoint_url: 'http://127.0.0.1:9'}\n"
    "profiles:\n"
    "  dev: {access_key_id: AKIATRUSTDIRSEXAMPLE}\n"
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def profiles(tmp_path: Path) -> Path:
    config = tmp_path / "p.yaml"
    config.write_text(PROFILES)
    config.chmod(0o600)
    return config


def test_init_under_umask_000_makes_every_new_directory_private(
    clean_env: Path, umask_000: None
) -> None:
    home_mode = mode(clean_env)
    config_home = clean_env / ".config"
    assert not config_home.exists()

    result = cli("init")

    assert result.exit_code == 0, result.stderr
    assert mode(config_home) == 0o700  # was 0777: anyone could swap ~/.config/sessman
    assert mode(config_home / "sessman") == 0o700
    assert mode(config_home / "sessman" / "profiles.yaml") == 0o600
    assert mode(clean_env) == home_mode  # a parent that existed is left alone


def test_every_missing_parent_is_private_for_atomic_writes_and_locks(
    tmp_path: Path, umask_000: None
) -> None:
    write_atomic(tmp_path / "a" / "b" / "c" / "file", b"data")
    with profile_lock(tmp_path / "x" / "y" / "state", "svc", "dev"):
        pass
    made = [tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"]
    made += [tmp_path / "x", tmp_path / "x" / "y", tmp_path / "x" / "y" / "state"]
    made.append(tmp_path / "x" / "y" / "state" / "locks")
    assert {str(p): oct(mode(p)) for p in made} == {str(p): oct(0o700) for p in made}
    assert mode(tmp_path / "a" / "b" / "c" / "file") == 0o600


def test_the_agent_socket_directory_and_its_missing_parents_are_private(
    umask_000: None,
) -> None:
    base = Path(tempfile.mkdtemp(prefix="sm-"))  # short: a socket path has a length limit
    try:
        listening = bind(str(base / "u" / "run" / "sessman" / "agent.sock"))
        listening.close()
        assert mode(base / "u") == 0o700  # was 0777 under umask 000
        assert mode(base / "u" / "run") == 0o700
        assert mode(base / "u" / "run" / "sessman") == 0o700
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_write_atomic_never_writes_through_a_link_when_told_not_to(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(VICTIM)
    link = tmp_path / "link"
    link.symlink_to(victim)

    with pytest.raises(UnsafePath, match="symlink"):
        write_atomic(link, b"overwritten", follow_symlinks=False)

    assert victim.read_bytes() == VICTIM
    assert link.is_symlink() and os.readlink(link) == str(victim)
    # The default (the profiles file in a dotfiles repository) still writes through.
    write_atomic(link, b"new content")
    assert link.is_symlink() and victim.read_bytes() == b"new content"


def _planted_link(link: Path, target: Path) -> None:
    """A symlink at ``link`` to ``target`` (a private directory of ours), made by another user."""
    target.mkdir(mode=0o700)
    link.symlink_to(target)
    os.lchown(link, OTHER_UID, OTHER_UID)


def test_a_state_dir_symlink_of_another_user_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = profiles(tmp_path)
    link = tmp_path / "state-link"
    _planted_link(link, tmp_path / "somewhere-of-mine")
    monkeypatch.setenv("SESSMAN_STATE_DIR", str(link))

    result = cli("--config", str(config), "list")

    assert result.exit_code == 1, result.stdout
    assert_error_line(result, contains=(str(link), "symlink", f"uid {OTHER_UID}"))
    assert list((tmp_path / "somewhere-of-mine").iterdir()) == []


def test_a_keyring_dir_symlink_of_another_user_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = profiles(tmp_path)
    link = tmp_path / "ring-link"
    _planted_link(link, tmp_path / "ring-of-mine")
    monkeypatch.setenv("SESSMAN_KEYRING_FILE", str(link / "keyring.enc"))

    result = cli("--config", str(config), "secret", "set", "dev", "--stdin", input=FAKE_SECRET)

    assert result.exit_code == 1, result.stdout
    assert_error_line(result, contains=(str(link), "symlink", f"uid {OTHER_UID}"))
    assert list((tmp_path / "ring-of-mine").iterdir()) == []
    assert FAKE_SECRET not in result.stdout + result.stderr


def test_a_directory_symlink_of_ours_to_a_directory_of_ours_still_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = profiles(tmp_path)
    target = tmp_path / "real-state"
    target.mkdir(mode=0o700)
    link = tmp_path / "state-link"
    link.symlink_to(target)
    monkeypatch.setenv("SESSMAN_STATE_DIR", str(link))
    result = cli("--config", str(config), "list")
    assert result.exit_code == 0, result.stderr
    # ... but not when the directory it names is another user's.
    os.chown(target, OTHER_UID, OTHER_UID)
    refused = cli("--config", str(config), "list")
    assert refused.exit_code == 1
    assert_error_line(refused, contains=(str(link), f"uid {OTHER_UID}"))
