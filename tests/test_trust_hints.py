"""The fix sessman names for an unsafe keyring file is the real one.

Before: a keyring FILE owned by another user was told to ``chmod 700`` (a
file wants 600), and the hint line under any unsafe keyring file said
"unlock the keyring, or pin another backend", which fixes nothing. Each
test below failed on that code.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.cli import assert_error_line, cli
from support.fakes import FAKE_SECRET

OTHER_UID = 4242
PROFILES = (
    "keyring_service: thints\n"
    "defaults: {region: us-east-1, endpoint_url: 'http://127.0.0.1:9'}\n"
    "profiles:\n"
    "  dev: {access_key_id: AKIATRUSTHINTSEXAMPL}\n"
)


@pytest.fixture
def ring_and_config(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "p.yaml"
    config.write_text(PROFILES)
    stored = cli("--config", str(config), "secret", "set", "dev", "--stdin", input=FAKE_SECRET)
    assert stored.exit_code == 0, stored.stderr
    return Path(os.environ["SESSMAN_KEYRING_FILE"]), config


def failed_hint(config: Path) -> str:
    result = cli(
        "--config", str(config), "secret", "set", "dev", "--stdin", "--force", input=FAKE_SECRET
    )
    assert result.exit_code == 1, result.stdout
    assert_error_line(result, contains="keyring")
    assert FAKE_SECRET not in result.stdout + result.stderr
    hints: list[str] = [line for line in result.stderr.splitlines() if line.startswith("hint: ")]
    assert len(hints) == 1, result.stderr
    return hints[0]


def test_a_keyring_file_of_another_user_is_to_be_chmodded_600(
    ring_and_config: tuple[Path, Path],
) -> None:
    ring, config = ring_and_config
    os.chown(ring, OTHER_UID, OTHER_UID)
    hint = failed_hint(config)
    assert f"chmod 600 {ring}" in hint and "chmod 700" not in hint
    assert "unlock the keyring" not in hint


def test_a_keyring_file_others_may_write_is_to_be_chmodded_600(
    ring_and_config: tuple[Path, Path],
) -> None:
    ring, config = ring_and_config
    ring.chmod(0o666)
    assert failed_hint(config) == f"hint: chmod 600 {ring}"


def test_a_keyring_directory_others_may_write_is_to_be_chmodded_700(
    ring_and_config: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, config = ring_and_config
    shared = tmp_path / "ringdir"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("SESSMAN_KEYRING_FILE", str(shared / "keyring.enc"))
    assert failed_hint(config) == f"hint: chmod 700 {shared}"
    assert list(shared.iterdir()) == []
