"""Attacks through the profiles file's surroundings: a hostile repository, a forged cache.

A ``profiles.yaml`` in the current directory (a cloned repository) used to
replace the user's own; ``SESSMAN_CONFIG`` used to override a ``--config``
written before the command; and the validated-profiles cache was keyed by
a hash anyone who can read the profiles file can compute and trusted
without checks, so a forged entry redirected a profile. Each test below
failed on that code.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

import pytest
from support.cli import assert_error_line, cli

from sessman import SessionManager, __version__

USER_FILE = (
    "defaults: {region: eu-west-1}\n"
    "profiles:\n"
    "  prod: {access_key_id: AKIAUSEROWNEXAMPLE01, endpoint_url: 'https://user.example'}\n"
)
HOSTILE_FILE = (
    "defaults: {region: eu-west-1}\n"
    "profiles:\n"
    "  prod: {access_key_id: AKIAUSEROWNEXAMPLE01, endpoint_url: 'https://attacker.example'}\n"
)


def state_dir() -> Path:
    return Path(os.environ["SESSMAN_STATE_DIR"])


def user_config(home: Path) -> Path:
    return home / ".config" / "sessman" / "profiles.yaml"


def listed(*args: str) -> list[dict[str, object]]:
    result = cli(*args, "list", "--json")
    assert result.exit_code == 0, result.stderr
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def test_a_repository_profiles_yaml_is_ignored(clean_env: Path, tmp_path: Path) -> None:
    repo = tmp_path / "cloned-repo"
    repo.mkdir()
    (repo / "profiles.yaml").write_text(HOSTILE_FILE)
    os.chdir(repo)  # clean_env's monkeypatch.chdir restores the directory

    missing = cli("list")
    assert missing.exit_code == 2
    line = assert_error_line(missing, contains=str(user_config(clean_env)))
    assert "attacker" not in missing.stdout + missing.stderr
    assert "profiles.yaml" in line and "sessman init" in missing.stderr

    user_config(clean_env).parent.mkdir(parents=True)
    user_config(clean_env).write_text(USER_FILE)
    shown = cli("show", "prod", "--json")
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["endpoint_url"] == "https://user.example"


def test_config_option_wins_over_the_variable_wherever_it_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text(USER_FILE)
    other = tmp_path / "other.yaml"
    other.write_text(USER_FILE.replace("prod:", "elsewhere:"))
    monkeypatch.setenv("SESSMAN_CONFIG", str(other))
    assert [r["name"] for r in listed("--config", str(mine))] == ["prod"]
    after = cli("list", "--json", "--config", str(mine))
    assert [r["name"] for r in json.loads(after.stdout)] == ["prod"]
    assert [r["name"] for r in listed()] == ["elsewhere"]


def test_errors_name_the_profiles_file_by_absolute_path(tmp_path: Path) -> None:
    result = cli("--config", "nowhere.yaml", "list")
    assert result.exit_code == 2
    assert_error_line(result, contains=str(tmp_path / "nowhere.yaml"))


def _forge_old_style(config: Path, forged: Mapping[str, object]) -> None:
    """What the review's attacker wrote: the key is computable from the file alone."""
    data = config.read_bytes()
    key = hashlib.sha256(__version__.encode() + b"\0" + data).hexdigest()
    for where in (config, config.absolute(), config.resolve()):
        slot = hashlib.sha256(str(where).encode()).hexdigest()[:32]
        path = state_dir() / "config-cache" / f"{slot}.json"
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_text(json.dumps({"key": key, "config": forged}))


def _entry(config: Path) -> Path:
    slot = hashlib.sha256(str(config.absolute()).encode()).hexdigest()[:32]
    return state_dir() / "config-cache" / f"{slot}.json"


def test_a_forged_cache_entry_changes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "p.yaml"
    config.write_text(USER_FILE)
    genuine = SessionManager.load(config).config  # writes a real entry
    profile = genuine.profile("prod")
    hostile = {
        "keyring_service": "sessman",
        "keyring_backend": None,
        "profiles": [
            {
                **{k: getattr(profile, k) for k in profile.__dataclass_fields__},
                "retries": {"mode": "standard", "max_attempts": 3},
                "tags": [],
                "endpoint_url": "https://attacker.example",
            }
        ],
        "path": str(config),
    }
    _forge_old_style(config, hostile)
    assert SessionManager.load(config).profile("prod").endpoint_url == "https://user.example"

    # Today's format, with the body changed but not its MAC (the key is not the attacker's).
    config.write_text(USER_FILE)
    SessionManager.load(config)
    entry = json.loads(_entry(config).read_text())
    body = entry["body"].replace("https://user.example", "https://attacker.example")
    assert body != entry["body"]
    _entry(config).write_text(json.dumps({"mac": entry["mac"], "body": body}))
    assert SessionManager.load(config).profile("prod").endpoint_url == "https://user.example"


def test_a_cache_entry_with_a_valid_mac_is_still_checked_like_the_file(tmp_path: Path) -> None:
    import hmac

    config = tmp_path / "p.yaml"
    config.write_text(USER_FILE)
    SessionManager.load(config)
    secret = bytes.fromhex((state_dir() / "config-cache" / "cache.key").read_text())
    entry = json.loads(_entry(config).read_text())
    for good, bad in (
        ('"eu-west-1"', '"nowhere"'),  # a region the loader refuses
        ('"standard"', '"reckless"'),  # a retry mode it refuses
        ('"keys"', '"role"'),  # a kind without its role_arn
    ):
        assert good in entry["body"]
        body = entry["body"].replace(good, bad)
        mac = hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
        _entry(config).write_text(json.dumps({"mac": mac, "body": body}))
        loaded = SessionManager.load(config).profile("prod")
        assert (loaded.region, loaded.retries.mode, loaded.kind) == (
            "eu-west-1",
            "standard",
            "keys",
        )


def test_the_cache_depends_on_the_variables_really_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "p.yaml"
    # A YAML escape: the bytes hold no "${REGION}", the value the loader expands does.
    config.write_text(
        'defaults: {region: "\\x24{REGION}"}\n'
        "profiles:\n  a: {access_key_id: AKIAUSEROWNEXAMPLE01}\n"
    )
    monkeypatch.setenv("REGION", "eu-west-1")
    assert SessionManager.load(config).profile("a").region == "eu-west-1"
    monkeypatch.setenv("REGION", "eu-west-2")
    assert SessionManager.load(config).profile("a").region == "eu-west-2"
