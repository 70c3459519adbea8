"""IAM Identity Center: login, tokens in the keyring only, sso profiles, hand-over.

Everything runs against tests/support/ssofake.py (sso-oidc and portal on loopback),
whose role credentials come from moto_server: what sessman hands over is used
for real there (GetCallerIdentity).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from support.cli import cli, sessman, sessman_argv
from support.heavy import run_sessman
from support.sso import DEV_ACCOUNT, START_URL, assert_nowhere, login, manager
from support.ssofake import USER_CODE, VERIFICATION_URI, SsoFake

from sessman.config import load_config
from sessman.sso import tokens
from sessman.sso.storage import Entry, keyring_user
from sessman.sso.tokens import LoginRequired

# -- login -------------------------------------------------------------------


def test_login_shows_the_code_waits_and_keeps_tokens_only_in_the_keyring(
    setup: SsoFake, clean_env: Path, tmp_path: Path
) -> None:
    setup.polls = ["pending", "pending"]
    proc = sessman("sso", "login", "corp", "--json")
    assert proc.returncode == 0, proc.stderr
    assert USER_CODE in proc.stderr and VERIFICATION_URI in proc.stderr
    assert USER_CODE not in proc.stdout
    data = json.loads(proc.stdout)
    assert data["session"] == "corp" and data["refreshable"] is True
    assert data["aws_cache"] is None
    assert len(setup.paths("/token")) == 3  # two pending answers, then the token
    # No token, refresh token or client secret in any file: HOME, state, keyring file.
    assert_nowhere(setup.secrets(), clean_env, tmp_path)
    assert not (clean_env / ".aws" / "sso").exists()
    for secret in setup.secrets():
        assert secret not in proc.stdout + proc.stderr
    # ...but in the keyring, under the session's entry.
    stored = manager().store.get(keyring_user("corp"))
    assert stored is not None and setup.secrets()[-1] in stored


def test_polling_follows_the_interval_and_slows_down(setup: SsoFake) -> None:
    setup.interval = 2
    setup.polls = ["pending", "slow_down", "pending"]
    sleeps: list[float] = []
    result = login(sleeps)
    assert sleeps == [2, 2, 7, 7]  # RFC 8628: slow_down adds 5 seconds for good
    assert len(setup.paths("/token")) == 4
    assert result.refreshable


@pytest.mark.parametrize(
    ("step", "message"), [("expired", "expired before it was approved"), ("denied", "denied")]
)
def test_login_that_expires_or_is_denied_is_one_clear_error(
    setup: SsoFake, step: str, message: str
) -> None:
    setup.polls = ["pending", step]
    result = cli("sso", "login", "corp")
    assert result.exit_code == 1
    assert message in result.stderr
    assert "hint: " in result.stderr and "sessman sso login corp" in result.stderr
    assert "Traceback" not in result.stderr


def test_client_registration_is_kept_and_reused(setup: SsoFake) -> None:
    login()
    login()
    assert setup.registrations == 1
    assert len(setup.paths("/device_authorization")) == 2


def test_aws_cache_file_is_private_and_readable_by_botocore(
    setup: SsoFake, clean_env: Path
) -> None:
    result = cli("sso", "login", "--aws-cache", "--json")
    assert result.exit_code == 0, result.stderr
    path = clean_env / ".aws" / "sso" / "cache" / (hashlib.sha1(b"corp").hexdigest() + ".json")
    assert json.loads(result.stdout)["aws_cache"] == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    from botocore.utils import JSONFileCache, SSOTokenLoader

    cached = SSOTokenLoader(JSONFileCache(str(path.parent)))(START_URL, session_name="corp")
    assert cached["accessToken"] in setup.secrets()
    assert cached["startUrl"] == START_URL and cached["region"] == "eu-west-1"
    # logout removes both the keyring entry and the file.
    result = cli("sso", "logout", "corp", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "session": "corp",
        "was_signed_in": True,
        "aws_cache_removed": True,
        "closed": [],
    }
    assert not path.exists()
    assert manager().store.get(keyring_user("corp")) is None


def test_a_token_near_its_end_is_refreshed(setup: SsoFake) -> None:
    setup.token_lifetime = 600  # under the 15 minutes sessman refreshes ahead
    login()
    mgr = manager()
    sso = mgr.config.sso_session("corp")
    first = tokens.access_token(sso, mgr.store)
    assert setup.refreshes == 1
    assert first == setup.issued[-2]  # the refreshed access token (its refresh token follows)


def test_an_expired_login_without_refresh_asks_to_sign_in(setup: SsoFake) -> None:
    setup.token_lifetime = 30
    setup.issue_refresh_token = False
    login()
    result = cli("credential-process", "dev")
    assert result.exit_code == 1
    assert "has expired" in result.stderr
    assert "hint: sign in with: sessman sso login corp" in result.stderr


def test_no_login_is_a_clear_error_with_the_hint(setup: SsoFake) -> None:
    proc = sessman("credential-process", "dev")
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "sessman: error: sso session 'corp' is not signed in",
        "hint: sign in with: sessman sso login corp",
    ]


def test_a_revoked_token_is_forgotten_and_login_is_asked(setup: SsoFake) -> None:
    login()
    setup.revoked.update(setup.issued)
    result = cli("open", "dev")
    assert result.exit_code == 1
    assert "expired or revoked" in result.stderr and "sessman sso login corp" in result.stderr
    with pytest.raises(LoginRequired, match="not signed in"):
        tokens.access_token(manager().config.sso_session("corp"), manager().store)


# -- sso profiles: open, hand over, chain, close --------------------------------------


def identity(creds: dict[str, str], moto_url: str) -> dict[str, Any]:
    sts = boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name="us-east-1",
    ).client("sts", endpoint_url=moto_url)
    try:
        return dict(sts.get_caller_identity())
    finally:
        sts.close()


def test_credential_process_hands_over_the_role_credentials(
    setup: SsoFake, clean_env: Path, tmp_path: Path
) -> None:
    login()
    proc = sessman("credential-process", "dev")
    assert proc.returncode == 0, proc.stderr
    creds = json.loads(proc.stdout)
    assert creds["Version"] == 1
    assert setup.role_credentials == 1
    who = identity(creds, setup.moto_url)
    assert "assumed-role/Developer/" in who["Arn"]
    # The session is open and listed; its credentials are not in any file.
    listed = json.loads(cli("list", "--json").stdout)
    dev = next(p for p in listed if p["name"] == "dev")
    assert dev["kind"] == "sso" and dev["session"]["state"] == "open" and dev["secret"] is None
    assert_nowhere([creds["SecretAccessKey"], creds["SessionToken"]], clean_env, tmp_path)
    # A second call uses the open session: no second GetRoleCredentials.
    again = sessman("credential-process", "dev")
    assert json.loads(again.stdout)["AccessKeyId"] == creds["AccessKeyId"]
    assert setup.role_credentials == 1
    closed = cli("close", "dev", "--json")
    assert json.loads(closed.stdout) == [{"name": "dev", "was_open": True}]


def test_exec_runs_a_child_as_the_role(setup: SsoFake) -> None:
    login()
    child = (
        "import boto3, json; print(json.dumps(boto3.client('sts').get_caller_identity()['Arn']))"
    )
    proc = sessman("exec", "dev", "--", sys.executable, "-c", child)
    assert proc.returncode == 0, proc.stderr
    assert "assumed-role/Developer/" in json.loads(proc.stdout)


def test_a_role_chained_from_an_sso_profile(setup: SsoFake) -> None:
    login()
    with manager() as mgr:
        who = mgr.whoami("chained")
        assert "assumed-role/Chained/" in who.arn
        assert setup.role_credentials == 1  # dev's credentials assumed it
        info = mgr.open("chained")
        assert "assumed-role/Chained/" in info.arn


def test_show_and_schema_know_the_sso_kind(setup: SsoFake) -> None:
    shown = cli("show", "dev", "--json")
    data = json.loads(shown.stdout)
    assert data["kind"] == "sso"
    assert (data["sso_session"], data["sso_account_id"], data["sso_role_name"]) == (
        "corp",
        DEV_ACCOUNT,
        "Developer",
    )
    config = load_config(os.environ["SESSMAN_CONFIG"])
    assert config.sso_sessions["corp"].registration_scopes == ("sso:account:access",)


# -- the terminal: browser, Ctrl-C, imports ----------------------------------------


def test_a_configured_browser_is_opened_and_none_otherwise(
    setup: SsoFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> {opened}\n')
    browser.chmod(0o700)
    proc = sessman("sso", "login", "corp")  # no BROWSER, no display: the URL is only printed
    assert proc.returncode == 0, proc.stderr
    assert not opened.exists()
    monkeypatch.setenv("BROWSER", str(browser))
    proc = sessman("sso", "login", "corp")
    assert proc.returncode == 0, proc.stderr
    assert opened.read_text().splitlines() == [f"{VERIFICATION_URI}?user_code={USER_CODE}"]
    assert USER_CODE in proc.stderr  # shown in every case


def test_ctrl_c_while_waiting_is_one_line_and_130(setup: SsoFake) -> None:
    import signal
    import time

    setup.polls = ["pending"] * 100_000
    proc = subprocess.Popen(
        sessman_argv("sso", "login", "corp"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while len(setup.paths("/token")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    lines = err.splitlines()
    assert USER_CODE in err
    assert lines[-1] == "sessman: error: interrupted: sso session 'corp' is not signed in", err
    assert "Traceback" not in err and out == ""


def test_sso_help_and_credential_process_of_an_open_session_skip_boto3(
    setup: SsoFake, tmp_path: Path
) -> None:
    for args in (["sso", "--help"], ["sso", "login", "--help"]):
        report = run_sessman(args, tmp_path)
        assert report["code"] == 0 and report["heavy"] == []
    login()
    assert sessman("open", "dev").returncode == 0
    report = run_sessman(["credential-process", "dev"], tmp_path)
    assert report["code"] == 0 and report["heavy"] == []
    assert json.loads(report["stdout"])["Version"] == 1


# -- what the endpoint answers is checked ------------------------------------------


def test_malformed_role_credentials_are_refused(setup: SsoFake) -> None:
    login()
    bad = {"accessKeyId": "ASIA\nINJECTED", "secretAccessKey": "s", "sessionToken": "t"}
    setup.override["/federation/credentials"] = (200, {"roleCredentials": bad}, {})
    result = cli("credential-process", "dev")
    assert result.exit_code == 1
    assert "malformed credentials" in result.stderr
    assert result.stdout == "" and "INJECTED" not in result.stderr


def test_a_verification_url_that_is_no_url_is_never_printed(setup: SsoFake) -> None:
    answer = {"deviceCode": "d", "userCode": "CODE-1", "verificationUri": "javascript:alert(1)"}
    setup.override["/device_authorization"] = (200, answer, {})
    result = cli("sso", "login")
    assert result.exit_code == 1
    assert "javascript" not in result.stderr and "CODE-1" not in result.stderr
    assert "is not IAM Identity Center's answer" in result.stderr


def test_redirects_are_not_followed_with_the_bearer_token(setup: SsoFake) -> None:
    login()
    elsewhere = f"{setup.url}/elsewhere"
    setup.override["/federation/credentials"] = (302, {}, {"Location": elsewhere})
    result = cli("credential-process", "dev")
    assert result.exit_code == 1
    assert "HTTP 302" in result.stderr
    assert "/elsewhere" not in setup.bearer


def test_a_registration_the_service_forgot_is_replaced(setup: SsoFake) -> None:
    login()
    forgot = {"__type": "InvalidClientException", "error": "invalid_client"}
    setup.fail_once["/device_authorization"] = (400, forgot)
    assert login().refreshable
    assert setup.registrations == 2
    assert len(setup.paths("/device_authorization")) == 3


def test_no_secret_in_any_repr(setup: SsoFake) -> None:
    result = login(aws_cache=True)
    mgr = manager()
    sso = mgr.config.sso_session("corp")
    text = mgr.store.get(keyring_user("corp"))
    assert text is not None
    entry = Entry.from_json(text, sso)
    assert entry.token is not None and entry.registration is not None
    shown = repr((entry, entry.token, entry.registration, result, mgr.config))
    for secret in setup.secrets():
        assert secret not in shown
    assert keyring_user("corp") == "sso-session:corp:token"
