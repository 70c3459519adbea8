"""``sessman sso populate``: a profile per account and role, comments kept.

Against tests/support/ssofake.py with paging (accounts and roles), throttling (429)
and Identity Center's 20 requests a second, measured on the fake's side.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from support.cli import cli
from support.sso import login, profiles_text, quick
from support.ssofake import SsoFake

from sessman.config import load_config
from sessman.manager import SessionManager
from sessman.secretstore import session_user
from sessman.sso.http import RateLimiter


def populate(*args: str) -> dict[str, Any]:
    """``sso populate corp --json ARGS`` through the command line (20 requests a second)."""
    result = cli("sso", "populate", "corp", "--json", *args)
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def is_subsequence(old: list[str], new: list[str]) -> bool:
    it = iter(new)
    return all(line in it for line in old)


def max_in_window(times: list[float], seconds: float) -> int:
    """The most requests the fake received within any ``seconds`` (closed window)."""
    times = sorted(times)
    return max(sum(1 for u in times if t <= u <= t + seconds) for t in times)


def test_populate_writes_a_profile_per_account_and_role_at_most_20_a_second(
    populated: Path, sso_fake: SsoFake
) -> None:
    before = populated.read_text()
    data = populate("--prefix", "sso-")
    roles = sum(len(r) for _, r in sso_fake.assignments.values())
    assert len(data["added"]) == roles == 24 + 8 + 6
    config = load_config(populated)
    generated = {n: p for n, p in config.profiles.items() if p.generated_by == "sso:corp"}
    assert sorted(generated) == sorted(data["added"])
    pairs = {(p.sso_account_id, p.sso_role_name) for p in generated.values()}
    assert len(pairs) == roles
    for name, p in generated.items():
        assert name.startswith("sso-") and p.kind == "sso" and p.sso_session == "corp"
        account_name = sso_fake.assignments[p.sso_account_id or ""][0]
        assert p.description is not None and account_name in p.description
    # Names from the template, made safe; the hand-written profile keeps its name.
    assert "sso-Account-03.Admin-Ops" in generated
    assert "sso-Account-01.ReadOnly-200000000001" in generated
    assert config.profiles["sso-Account-01.ReadOnly"].kind == "keys"
    # Every line of the file is still there, in order: comments included.
    after = populated.read_text()
    assert is_subsequence(before.splitlines(), after.splitlines())
    # Paging and throttling really happened; the rate stayed under the limit.
    listing = sso_fake.paths("/assignment/accounts") + sso_fake.paths("/assignment/roles")
    assert len(sso_fake.paths("/assignment/accounts")) >= 7  # 25 accounts, 4 a page, retries
    assert len(sso_fake.paths("/assignment/roles")) >= 26  # one account has two pages
    # Sent at most 20 a second; received times may bunch up by a delay of the
    # server's, so the check allows 100 ms of it (without a limit: all in a burst).
    assert max_in_window(listing, 0.9) <= 20
    assert data["requests"] == len(listing)
    # Again: nothing changes, not a byte.
    again = quick(prefix="sso-")
    assert again["added"] == [] and len(again["unchanged"]) == roles
    assert populated.read_text() == after


def test_prune_removes_only_its_own_profiles_that_vanished(
    populated: Path, sso_fake: SsoFake
) -> None:
    sso_fake.throttle_every = 0
    quick(prefix="sso-")
    quick(prefix="team-")  # another prefix: pruning one leaves the other alone
    del sso_fake.assignments["200000000002"]
    sso_fake.assignments["200000000003"][1].remove("Admin+Ops")
    written = populated.read_text()
    dry = quick(prefix="sso-", prune=True, dry_run=True)
    assert sorted(dry["removed"]) == ["sso-Account-02.ReadOnly", "sso-Account-03.Admin-Ops"]
    assert dry["dry_run"] is True
    assert populated.read_text() == written  # --dry-run writes nothing
    done = populate("--prefix", "sso-", "--prune")
    assert done["removed"] == dry["removed"]
    config = load_config(populated)
    assert "sso-Account-02.ReadOnly" not in config.profiles
    assert "team-Account-02.ReadOnly" in config.profiles
    assert config.profiles["sso-Account-01.ReadOnly"].kind == "keys"  # never touched
    assert {"dev", "chained"} <= set(config.profiles)
    after = populated.read_text()
    for line in written.splitlines():
        if line.lstrip().startswith("#"):
            assert line in after


def test_populate_without_a_login_or_with_a_bad_session(
    sso_fake: SsoFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "profiles.yaml"
    path.write_text(profiles_text(sso_fake))
    monkeypatch.setenv("SESSMAN_CONFIG", str(path))
    result = cli("sso", "populate", "corp")
    assert result.exit_code == 1
    assert "hint: sign in with: sessman sso login corp" in result.stderr
    result = cli("sso", "populate", "crop")
    assert result.exit_code == 2
    assert "no sso session 'crop'" in result.stderr and "did you mean 'corp'" in result.stderr
    result = cli("sso", "populate", "corp", "--prefix", "-x")
    assert result.exit_code == 2
    assert path.read_text() == profiles_text(sso_fake)
    assert os.environ["SESSMAN_CONFIG"] == str(path)


def test_a_file_with_only_sso_sessions_gets_its_first_profiles(
    sso_fake: SsoFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sso_fake.assignments = {"200000000001": ("Prod", ["Admin", "ReadOnly"])}
    text = profiles_text(sso_fake)
    start = text.index("profiles:\n")
    text = text[:start] + "profiles: {}   # sso populate fills this\n# the end\n"
    path = tmp_path / "profiles.yaml"
    path.write_text(text)
    monkeypatch.setenv("SESSMAN_CONFIG", str(path))
    assert load_config(path).profiles == {}
    login()
    data = quick(prefix="corp-")
    assert data["added"] == ["corp-Prod.Admin", "corp-Prod.ReadOnly"]
    after = path.read_text()
    assert "profiles:   # sso populate fills this\n  corp-Prod.Admin:\n" in after
    assert after.endswith("# the end\n")
    assert set(load_config(path).profiles) == {"corp-Prod.Admin", "corp-Prod.ReadOnly"}
    result = cli("list", "--json")
    assert [p["kind"] for p in json.loads(result.stdout)] == ["sso", "sso"]
    again = cli("sso", "populate", "corp", "--prefix", "corp-", "--dry-run")
    assert again.exit_code == 0, again.stderr
    assert again.stdout.splitlines()[-1].startswith(
        "dry run: nothing written; 2 roles; 0 added, 0 updated, 2 unchanged, 0 removed in"
    )
    sso_fake.assignments["200000000001"][1].append("Billing")
    text_out = cli("sso", "populate", "corp", "--prefix", "corp-").stdout
    assert "add corp-Prod.Billing (200000000001, Prod, Billing)" in text_out


def test_the_rate_limiter_spaces_calls_evenly() -> None:
    now = [0.0]
    starts: list[float] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = RateLimiter(20, clock=lambda: now[0], sleep=sleep)
    for _ in range(100):
        limiter.wait()
        starts.append(now[0])
    assert limiter.count == 100
    assert max_in_window(starts, 1.0) == 20  # never 21, even counting both ends
    assert starts[-1] == pytest.approx(99 / 20 * 1.02)


def test_prune_closes_the_removed_profiles_session(populated: Path, sso_fake: SsoFake) -> None:
    sso_fake.throttle_every = 0
    sso_fake.assignments = {"200000000001": ("Prod", ["Admin", "ReadOnly"])}
    populate("--prefix", "p-")
    opened = cli("open", "p-Prod.Admin", "p-Prod.ReadOnly")
    assert opened.exit_code == 0, opened.stderr
    manager = SessionManager.load(populated, note=None)
    assert manager.state.get("p-Prod.ReadOnly") is not None
    sso_fake.assignments["200000000001"][1].remove("ReadOnly")
    done = populate("--prefix", "p-", "--prune")
    assert done["removed"] == done["closed"] == ["p-Prod.ReadOnly"]
    manager = SessionManager.load(populated, note=None)
    assert manager.store.get(session_user("p-Prod.ReadOnly")) is None
    assert manager.state.get("p-Prod.ReadOnly") is None
    assert manager.state.get("p-Prod.Admin") is not None


def test_an_update_keeps_what_the_user_added(populated: Path, sso_fake: SsoFake) -> None:
    sso_fake.throttle_every = 0
    sso_fake.assignments = {"200000000001": ("Prod", ["Admin"])}
    quick(prefix="p-")
    text = populated.read_text()
    marker = "    generated_by: sso:corp\n"
    at = text.index(marker, text.index("  p-Prod.Admin:\n"))
    mine = "    # mine, keep it\n    session_duration: 900\n    tags: [prod]   # mine too\n"
    populated.write_text(text[:at] + mine + text[at:])
    assert "p-Prod.Admin" in quick(prefix="p-")["unchanged"]
    sso_fake.assignments = {"200000000001": ("Production", ["Admin"])}
    data = quick(prefix="p-")
    assert data["updated"] == ["p-Prod.Admin"]
    profile = load_config(populated).profiles["p-Prod.Admin"]
    assert profile.description is not None and "Production" in profile.description
    assert profile.session_duration == 900 and profile.tags == ("prod",)
    assert mine in populated.read_text()
