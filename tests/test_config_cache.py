"""The parsed-profiles cache: used when nothing changed, never when something did."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sessman import ConfigError, SessionManager

BASE = "defaults: {{region: {region}}}\nprofiles:\n  a: {{access_key_id: AKIAIOSFODNN7EXAMPLE}}\n"


def cache_files(state: Path) -> list[Path]:
    return sorted((state / "config-cache").glob("*.json"))


def test_a_second_load_reads_the_cache_and_no_yaml(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(BASE.format(region="eu-west-1"))
    state = tmp_path / "state"
    first = SessionManager.load(path, state_dir=state).config
    assert len(cache_files(state)) == 1
    code = (
        "import sys; from sessman import SessionManager\n"
        f"c = SessionManager.load({str(path)!r}, state_dir=__import__('pathlib').Path({str(state)!r})).config\n"
        "print(c.profile('a').region, 'yaml' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["eu-west-1", "False"]
    assert SessionManager.load(path, state_dir=state).config == first


def test_any_change_to_the_file_is_seen(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    state = tmp_path / "state"
    path.write_text(BASE.format(region="eu-west-1"))
    SessionManager.load(path, state_dir=state)
    path.write_text(BASE.format(region="eu-west-2"))
    assert SessionManager.load(path, state_dir=state).profile("a").region == "eu-west-2"
    path.write_text(BASE.format(region="nowhere"))
    with pytest.raises(ConfigError, match="region"):
        SessionManager.load(path, state_dir=state)


def test_a_change_of_a_referenced_variable_is_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "p.yaml"
    state = tmp_path / "state"
    path.write_text(BASE.format(region='"${REGION}"'))
    monkeypatch.setenv("REGION", "ap-south-1")
    assert SessionManager.load(path, state_dir=state).profile("a").region == "ap-south-1"
    monkeypatch.setenv("REGION", "ap-south-2")
    assert SessionManager.load(path, state_dir=state).profile("a").region == "ap-south-2"
    monkeypatch.delenv("REGION")
    with pytest.raises(ConfigError, match="REGION"):
        SessionManager.load(path, state_dir=state)


def test_a_damaged_cache_is_ignored_and_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    state = tmp_path / "state"
    path.write_text(BASE.format(region="eu-west-1"))
    SessionManager.load(path, state_dir=state)
    (cached,) = cache_files(state)
    for junk in (b"", b"{", b'{"key": 1}', b"[]", b'{"key": "x", "config": {}}'):
        cached.write_bytes(junk)
        assert SessionManager.load(path, state_dir=state).profile("a").region == "eu-west-1"
    assert b"eu-west-1" in cached.read_bytes()


def test_an_unwritable_state_dir_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(BASE.format(region="eu-west-1"))
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    assert SessionManager.load(path, state_dir=blocker).profile("a").region == "eu-west-1"
