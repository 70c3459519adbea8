"""Text edits of the profiles file: only the named lines change, comments survive."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sessman.errors import ConfigError
from sessman.profiles_text import insert_profiles, replace_profile, replace_value, save

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
def test_replace_profile_keeps_the_neighbours_and_their_comments(name: str) -> None:
    block = f"  {name}:\n    access_key_id: AKIAREPLACED{name.upper() * 8}\n"
    new = replace_profile(TEXT, name, block)
    profiles = yaml.safe_load(new)["profiles"]
    assert list(profiles) == ["a", "b", "c"]
    assert profiles[name] == {"access_key_id": f"AKIAREPLACED{name.upper() * 8}"}
    for comment in ("# top comment", "# about b", "# about c", "# after profiles"):
        assert comment in new
    removed = replace_profile(TEXT, name, "")
    assert list(yaml.safe_load(removed)["profiles"]) == [n for n in "abc" if n != name]
    assert "# about c" in removed and "# after profiles" in removed


def test_replace_profile_at_the_end_without_a_newline() -> None:
    text = TEXT.replace("# after profiles\n", "").rstrip("\n")
    new = replace_profile(text, "c", "  c:\n    access_key_id: AKIAEXAMPLEDDDDDDDDD\n")
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
    broken = replace_profile(TEXT, "a", "  a:\n    role_arn: nope\n")
    with pytest.raises(ConfigError):
        save(path, broken)
    assert path.read_text() == TEXT
    save(path, replace_profile(TEXT, "a", ""))
    assert "  a:" not in path.read_text() and path.stat().st_mode & 0o777 == 0o640
