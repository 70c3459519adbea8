"""IAM Identity Center in real use: concurrent refreshes, unreachable or throttling endpoints, logout, populate edge cases.

Against tests/support/ssofake.py, like tests/test_sso.py, with the helpers of tests/support/sso.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
from support.cli import cli, sessman, sessman_argv
from support.sso import assert_nowhere, login, manager, quick
from support.ssofake import USER_CODE, SsoFake

from sessman.config import load_config
from sessman.errors import EndpointUnreachable
from sessman.sso.http import Endpoint, ServiceError

ROLES = ["Developer", "Reader", "Auditor", "Operator"]


def _add_profiles(path: Path, names: list[str]) -> None:
    text = path.read_text().replace("# trailing comment\n", "")
    for role in names:
        text += (
            f"  p{role}:\n    sso_session: corp\n"
            f'    sso_account_id: "111111111111"\n    sso_role_name: {role}\n'
        )
    path.write_text(text)


def test_parallel_credential_processes_refresh_the_token_once(setup: SsoFake) -> None:
    """Four processes at once with a near-expiry token and rotating refresh tokens."""
    setup.assignments = {"111111111111": ("Development", ROLES)}
    _add_profiles(Path(os.environ["SESSMAN_CONFIG"]), ROLES)
    setup.token_lifetime = 30  # under a minute: refreshed or refused, never handed out
    login()
    logins = len(setup.paths("/token"))
    setup.token_lifetime = 3600  # the refreshed token is good: one refresh is enough
    setup.rotate_refresh_tokens = True
    procs = [
        subprocess.Popen(
            sessman_argv("credential-process", f"p{role}"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for role in ROLES
    ]
    results = [(p, *p.communicate(timeout=120)) for p in procs]
    for proc, out, err in results:
        assert proc.returncode == 0, err
        assert json.loads(out)["Version"] == 1
    assert setup.refreshes == 1
    assert len(setup.paths("/token")) - logins == 1  # one POST /token, not one per process


def test_populate_without_a_prefix_leaves_prefixed_profiles_alone(
    populated: Path,
    sso_fake: SsoFake,
) -> None:
    sso_fake.throttle_every = 0
    first = quick(prefix="corp-")
    assert "corp-Account-02.ReadOnly" in first["added"]
    del sso_fake.assignments["200000000002"]
    done = quick(prune=True)  # the empty prefix: its own profiles only
    assert "Account-01.ReadOnly" in done["added"]
    touched = done["updated"] + done["unchanged"] + done["removed"]
    assert not [n for n in touched if n.startswith("corp-")]
    profiles = load_config(populated).profiles
    assert "corp-Account-02.ReadOnly" in profiles  # not pruned by the other prefix
    again = quick(prefix="corp-")  # and the prefixed run still knows its own
    assert "corp-Account-01.ReadOnly" in again["unchanged"]
    assert not again["added"]


def test_account_names_are_written_literally(
    setup: SsoFake,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEAKY", "SECRETVALUEFROMENV")
    monkeypatch.delenv("SESSMAN_UNSET_VAR", raising=False)
    setup.assignments = {
        "222222222222": ("Équipe ${LEAKY}", ["Reader"]),
        "333333333333": ("Ops ${SESSMAN_UNSET_VAR}", ["Reader"]),
    }
    login()
    path = Path(os.environ["SESSMAN_CONFIG"])
    result = quick()
    assert len(result["added"]) == 2
    text = path.read_text()
    assert "SECRETVALUEFROMENV" not in text and "Équipe" in text
    profiles = load_config(path).profiles  # loads: no unset variable, nothing expanded
    names = {p.sso_account_id: (n, p.description) for n, p in profiles.items()}
    name, description = names["222222222222"]
    assert description == "Équipe $ {LEAKY} (222222222222): Reader"
    assert name.isascii()
    assert names["333333333333"][1] == "Ops $ {SESSMAN_UNSET_VAR} (333333333333): Reader"
    again = quick()
    assert sorted(again["unchanged"]) == sorted(result["added"])


def test_a_login_without_aws_cache_removes_the_file_an_earlier_one_wrote(
    setup: SsoFake,
    clean_env: Path,
) -> None:
    path = clean_env / ".aws" / "sso" / "cache" / (hashlib.sha1(b"corp").hexdigest() + ".json")
    first = cli("sso", "login", "--aws-cache", "--json")
    assert first.exit_code == 0, first.stderr
    assert path.exists()
    again = cli("sso", "login", "--json")
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["aws_cache"] is None
    assert not path.exists()
    assert_nowhere(setup.secrets(), clean_env)
    # A cache file sessman did not write (the AWS CLI's own) is not sessman's to remove.
    path.write_text(json.dumps({"startUrl": "https://corp.awsapps.example.invalid/start"}))
    third = cli("sso", "login", "--json")
    assert third.exit_code == 0, third.stderr
    assert path.exists()


def _dead_url() -> str:
    """A loopback URL nothing listens on (the port was just free)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_an_unreachable_endpoint_fails_at_once() -> None:
    slept: list[float] = []
    endpoint = Endpoint(_dead_url(), attempts=8, sleep=slept.append)
    with pytest.raises(EndpointUnreachable):
        endpoint.call("GET", "/assignment/accounts", token="t")
    assert slept == []


def test_populate_against_an_unreachable_endpoint_is_quick(
    setup: SsoFake,
) -> None:
    login()
    path = Path(os.environ["SESSMAN_CONFIG"])
    path.write_text(path.read_text().replace(setup.url, _dead_url()))
    started = time.monotonic()
    result = cli("sso", "populate", "corp")
    assert result.exit_code == 1
    assert "cannot reach IAM Identity Center" in result.stderr
    assert time.monotonic() - started < 30  # not 8 tries doubling to 32 s (64 s)


def test_throttling_is_retried_for_at_most_ten_seconds(sso_fake: SsoFake) -> None:
    sso_fake.override["/assignment/accounts"] = (429, {"__type": "TooManyRequestsException"}, {})
    slept: list[float] = []
    endpoint = Endpoint(sso_fake.url, attempts=8, sleep=slept.append)
    with pytest.raises(ServiceError) as caught:
        endpoint.call("GET", "/assignment/accounts", token="t")
    assert caught.value.code == "too_many_requests"
    assert slept and sum(slept) <= 10
    assert slept == sorted(slept)  # backing off


def test_the_browser_openers_complaints_stay_off_stderr(
    setup: SsoFake,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$1" >> {opened}\n'
        "echo 'gio: https://x: Operation not supported' >&2\nexit 4\n"
    )
    browser.chmod(0o700)
    monkeypatch.setenv("BROWSER", str(browser))
    monkeypatch.setenv("DISPLAY", ":99")
    proc = sessman("sso", "login", "corp")
    assert proc.returncode == 0, proc.stderr
    assert opened.exists()  # it ran
    assert "Operation not supported" not in proc.stderr
    assert USER_CODE in proc.stderr and "Waiting for approval" in proc.stderr


def test_logout_closes_the_sessions_of_its_profiles(setup: SsoFake) -> None:
    login()
    with manager() as mgr:
        mgr.open("dev")
        mgr.open("chained")  # a role whose source is the sso profile
    result = cli("sso", "logout", "corp")
    assert result.exit_code == 0, result.stderr
    assert "signed out; 2 open sessions closed" in result.stdout
    listed = json.loads(cli("list", "--json").stdout)
    assert {p["name"]: p["session"]["state"] for p in listed} == {
        "dev": "closed",
        "chained": "closed",
    }
    proc = sessman("credential-process", "dev")  # nothing left to hand out
    assert proc.returncode == 1
    assert "hint: sign in with: sessman sso login corp" in proc.stderr
    again = cli("sso", "logout", "corp", "--json")
    assert json.loads(again.stdout)["closed"] == []


def test_populate_says_one_role(setup: SsoFake) -> None:
    login()
    result = cli("sso", "populate", "corp")
    assert result.exit_code == 0, result.stderr
    assert "1 role; 1 added" in result.stdout
