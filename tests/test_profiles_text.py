"""Text edits of the profiles file: only the named lines change, comments survive."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from support.cli import assert_error_line, cli, edit_while_locked

from sessman.errors import ConfigError
from sessman.profiles_text import (
    edit_profiles,
    insert_profiles,
    profile_texts,
    read_text,
    replace_value,
    save,
    update_keys,
)

TEXT = """\
# top comment
version: 1
defaults: {region: us-east-1}
profiles:
  a:                  # first
    access_key_id: AKIAEXAMPLEAAAAAAAAA   # key of a
  # about b
  b:
    access_key_id: "AKIAEXAMPLEBBBBBBBBB"

    description: b   # last line of b
  # about c
  c:
    access_key_id: AKIAEXAMPLECCCCCCCCC
# after profiles
"""


def test_replace_value_changes_only_the_value() -> None:
    new = replace_value(TEXT, "a", "access_key_id", "AKIANEWKEYAAAAAAAAAA")
    assert new == TEXT.replace("AKIAEXAMPLEAAAAAAAAA", "AKIANEWKEYAAAAAAAAAA")
    quoted = replace_value(TEXT, "b", "access_key_id", "AKIANEWKEYBBBBBBBBBB")
    assert '    access_key_id: "AKIANEWKEYBBBBBBBBBB"\n' in quoted
    odd = replace_value(TEXT, "c", "access_key_id", "true")  # never a YAML boolean
    assert yaml.safe_load(odd)["profiles"]["c"]["access_key_id"] == "true"


def test_replace_value_refuses_what_is_not_written_literally() -> None:
    text = TEXT.replace("AKIAEXAMPLEAAAAAAAAA", "${KEY}")
    with pytest.raises(ConfigError, match="not written literally"):
        replace_value(text, "a", "access_key_id", "AKIANEWKEYAAAAAAAAAA")
    with pytest.raises(ConfigError, match="not written literally"):
        replace_value(TEXT, "a", "role_arn", "x")


@pytest.mark.parametrize("name", ["a", "b", "c"])
def test_editing_a_profile_keeps_the_neighbours_and_their_comments(name: str) -> None:
    block = f"  {name}:\n    access_key_id: AKIAREPLACED{name.upper() * 8}\n"
    new = edit_profiles(TEXT, {name: block})
    profiles = yaml.safe_load(new)["profiles"]
    assert list(profiles) == ["a", "b", "c"]
    assert profiles[name] == {"access_key_id": f"AKIAREPLACED{name.upper() * 8}"}
    for comment in ("# top comment", "# about b", "# about c", "# after profiles"):
        assert comment in new
    removed = edit_profiles(TEXT, {name: ""})
    assert list(yaml.safe_load(removed)["profiles"]) == [n for n in "abc" if n != name]
    assert "# about c" in removed and "# after profiles" in removed


def test_editing_the_last_profile_at_the_end_without_a_newline() -> None:
    text = TEXT.replace("# after profiles\n", "").rstrip("\n")
    new = edit_profiles(text, {"c": "  c:\n    access_key_id: AKIAEXAMPLEDDDDDDDDD\n"})
    assert yaml.safe_load(new)["profiles"]["c"]["access_key_id"] == "AKIAEXAMPLEDDDDDDDDD"


def test_insert_profiles_goes_after_the_last_profile() -> None:
    new = insert_profiles(TEXT, ["  d:\n    access_key_id: AKIAEXAMPLEDDDDDDDDD\n"])
    assert list(yaml.safe_load(new)["profiles"]) == ["a", "b", "c", "d"]
    assert new == TEXT + "  d:\n    access_key_id: AKIAEXAMPLEDDDDDDDDD\n"
    spaced = TEXT.replace("# after profiles\n", "\n\n")
    new = insert_profiles(spaced, ["  d:\n    access_key_id: AKIAEXAMPLEDDDDDDDDD\n"])
    assert new.endswith("AKIAEXAMPLECCCCCCCCC\n  d:\n    access_key_id: AKIAEXAMPLEDDDDDDDDD\n\n\n")


def test_save_refuses_an_invalid_result_and_keeps_the_file(tmp_path: Path) -> None:
    path = tmp_path / "profiles.yaml"
    path.write_text(TEXT)
    path.chmod(0o640)
    broken = edit_profiles(TEXT, {"a": "  a:\n    role_arn: nope\n"})
    with pytest.raises(ConfigError):
        save(path, broken)
    assert path.read_text() == TEXT
    save(path, edit_profiles(TEXT, {"a": ""}))
    assert "  a:" not in path.read_text() and path.stat().st_mode & 0o777 == 0o640


def test_update_keys_rewrites_only_the_keys_it_is_given() -> None:
    text = TEXT.replace(
        "    description: b   # last line of b\n",
        "    description: b   # last line of b\n    # my own note\n    mfa_serial: mine\n",
    )
    block = profile_texts(text)["b"]
    new = update_keys(block, {"description": '"new"', "region": "eu-west-1", "nope": None})
    assert new == block.replace("description: b   #", 'description: "new"   #') + (
        "    region: eu-west-1\n"
    )
    assert "# my own note" in new and "mfa_serial: mine" in new
    removed = update_keys(block, {"access_key_id": None})
    assert "access_key_id" not in removed and "mfa_serial: mine" in removed
    flow = update_keys("  f: {access_key_id: AKIAEXAMPLEFFFFFFFFF, mine: 1}\n", {"x": "2"})
    assert yaml.safe_load(flow)["f"] == {"x": 2, "access_key_id": "AKIAEXAMPLEFFFFFFFFF", "mine": 1}


def test_an_edit_keeps_crlf_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "profiles.yaml"
    path.write_bytes(TEXT.replace("\n", "\r\n").encode())
    text = read_text(path)
    save(path, insert_profiles(text, ["  d:\n    access_key_id: AKIAEXAMPLEDDDDDDDDD\n"]))
    raw = path.read_bytes()
    assert raw.count(b"\n") == raw.count(b"\r\n") == TEXT.count("\n") + 2
    # and through a command: import dotenv
    dotenv = tmp_path / ".env"
    dotenv.write_text("AWS_ACCESS_KEY_ID=AKIAEXAMPLEEEEEEEEEE\nAWS_SECRET_ACCESS_KEY=" + "x" * 40)
    result = cli("--config", str(path), "import", "dotenv", str(dotenv), "--profile", "e")
    assert result.exit_code == 0, result.stderr
    raw = path.read_bytes()
    assert b"AKIAEXAMPLEEEEEEEEEE" in raw and raw.count(b"\n") == raw.count(b"\r\n")


@pytest.mark.slow
def test_two_processes_editing_at_once_keep_both_edits(tmp_path: Path) -> None:
    path = tmp_path / "profiles.yaml"
    path.write_text(TEXT.replace("# after profiles\n", ""))
    dotenv = tmp_path / ".env"
    dotenv.write_text("AWS_ACCESS_KEY_ID=AKIAEXAMPLEEEEEEEEEE\nAWS_SECRET_ACCESS_KEY=" + "x" * 40)
    added = "  held:\n    access_key_id: AKIAEXAMPLEHHHHHHHHH\n"
    edit_while_locked(path, added, ["import", "dotenv", str(dotenv), "--profile", "e"])
    profiles = yaml.safe_load(path.read_text())["profiles"]
    assert profiles["held"] == {"access_key_id": "AKIAEXAMPLEHHHHHHHHH"}
    assert profiles["e"]["access_key_id"] == "AKIAEXAMPLEEEEEEEEEE"
    assert "# top comment" in path.read_text()


def test_the_edit_lock_is_private_and_never_a_symlink(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o700)
    path = mine / "profiles.yaml"
    path.write_text(TEXT)
    dotenv = tmp_path / ".env"
    dotenv.write_text("AWS_ACCESS_KEY_ID=AKIAEXAMPLEEEEEEEEEE\nAWS_SECRET_ACCESS_KEY=" + "x" * 40)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    lock = mine / ".profiles.yaml.lock"
    lock.symlink_to(victim)
    args = ["--config", str(path), "import", "dotenv", str(dotenv), "--profile", "e"]
    refused = cli(*args)
    assert refused.exit_code == 1
    assert_error_line(refused, contains=(str(lock), "symlink"))
    assert victim.read_text() == "precious\n" and path.read_text() == TEXT
    lock.unlink()
    mine.chmod(0o775)  # the user's directory need not be private, as for the file
    done = cli(*args)
    assert done.exit_code == 0, done.stderr
    assert lock.stat().st_mode & 0o777 == 0o600
