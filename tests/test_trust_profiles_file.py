"""Attacks through the profiles file's owner and modes.

The profiles file decides where requests signed with the user's keys go.
Before: a profiles file writable by group or others, one owned by another
user, or one in a directory another user may write was used silently, so
another local user could point ``endpoint_url`` at a host of theirs and
collect signed requests. Each test below failed on that code; the cases
that must keep working (a dotfiles symlink, root's file, a file in a
sticky directory such as ``/tmp``) are checked beside them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.cli import assert_error_line, cli

from sessman import SessionManager, load_config
from sessman.errors import UnsafePath

OTHER_UID = 4242
PROFILES = (
    "keyring_service: tprofiles\n"
    "defaults: {region: us-east-1, endpoint_url: 'http://127.0.0.1:9'}\n"
    "profiles:\n"
    "  dev: {access_key_id: AKIATRUSTPROFILES001}\n"
)


def profiles(directory: Path, mode: int = 0o600) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "profiles.yaml"
    config.write_text(PROFILES)
    config.chmod(mode)
    return config


def refused(config: Path, *needles: str) -> str:
    """Every way of reading ``config`` stops with one UnsafePath line holding ``needles``."""
    line = ""
    for args in (["list"], ["credential-process", "dev"], ["show", "dev"]):
        result = cli("--config", str(config), *args)
        assert result.exit_code == 1, (args, result.stdout, result.stderr)
        assert result.stdout == ""
        line = assert_error_line(result, contains=needles)
    with pytest.raises(UnsafePath):
        load_config(config)
    with pytest.raises(UnsafePath):
        SessionManager.load(config)
    return line


def hint(config: Path) -> str:
    result = cli("--config", str(config), "list")
    lines: list[str] = [line for line in result.stderr.splitlines() if line.startswith("hint: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("mode", [0o666, 0o620, 0o602], ids=["0666", "0620", "0602"])
def test_a_profiles_file_others_may_write_is_refused(tmp_path: Path, mode: int) -> None:
    config = profiles(tmp_path / "conf", mode)
    os.chown(config, -1, OTHER_UID)  # a group other users are in, not your private one
    refused(config, str(config), "writable by other users", f"{mode:04o}")
    assert hint(config) == f"hint: chmod go-w {config}"


def test_group_write_for_your_own_private_group_is_allowed(tmp_path: Path) -> None:
    # umask 002 with user private groups (Debian's default for users) makes
    # 0664 files in 0775 directories: nobody else is in that group.
    config = profiles(tmp_path / "conf", 0o664)
    config.parent.chmod(0o775)
    os.chown(config, -1, os.getgid())
    os.chown(config.parent, -1, os.getgid())
    result = cli("--config", str(config), "list")
    assert result.exit_code == 0, result.stderr


def test_a_profiles_file_of_another_user_is_refused(tmp_path: Path) -> None:
    config = profiles(tmp_path / "conf")
    os.chown(config, OTHER_UID, OTHER_UID)
    refused(config, str(config), f"uid {OTHER_UID}")


def test_a_profiles_file_in_a_directory_others_may_write_is_refused(tmp_path: Path) -> None:
    config = profiles(tmp_path / "shared")
    config.parent.chmod(0o777)
    refused(config, str(config.parent), "directory", "writable by other users")
    assert hint(config) == f"hint: chmod go-w {config.parent}"


def test_a_profiles_file_in_a_directory_of_another_user_is_refused(tmp_path: Path) -> None:
    config = profiles(tmp_path / "theirs")
    os.chown(config.parent, OTHER_UID, OTHER_UID)
    refused(config, str(config.parent), f"uid {OTHER_UID}")


def test_the_target_of_a_symlink_is_what_counts(clean_env: Path, tmp_path: Path) -> None:
    target = profiles(tmp_path / "dotfiles")
    link = clean_env / ".config" / "sessman" / "profiles.yaml"
    link.parent.mkdir(parents=True, mode=0o700)
    link.symlink_to(target)
    ok = cli("list", "--json")  # the default path, a symlink into a dotfiles repository
    assert ok.exit_code == 0, ok.stderr

    target.chmod(0o666)
    line = refused(link, str(target), "writable by other users")
    assert hint(link) == f"hint: chmod go-w {target}"
    assert line

    target.chmod(0o600)
    target.parent.chmod(0o777)
    refused(link, str(target.parent), "writable by other users")


def test_a_private_file_in_a_sticky_shared_directory_is_used(tmp_path: Path) -> None:
    shared = tmp_path / "tmp-like"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp: others may add files, not replace this one
    config = profiles(shared, 0o644)
    result = cli("--config", str(config), "list", "--json")
    assert result.exit_code == 0, result.stderr
    assert load_config(config).names() == ["dev"]
