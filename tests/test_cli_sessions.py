"""The session commands (open, close, whoami, check, and list's session column) via argv.

Each command runs through ``typer.testing.CliRunner`` against a real
``moto.server``; stdout and stderr are checked separately, and no output
may ever hold the long-term secret. The MFA test puts a small recording
proxy between sessman and moto, to see which STS calls were made and which
access key signed each.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.cli import assert_error_line
from support.cli import cli as run_cli
from support.fakes import FAKE_SECRET
from support.infra import MotoAuthServer, MotoServer
from support.proxies import RecordingProxy

from sessman.filekeyring import EncryptedFileKeyring
from sessman.manager import SessionManager

ACCOUNT = "123456789012"
MOTO_USER_ARN = f"arn:aws:sts::{ACCOUNT}:user/moto"
OPEN_KEYS = {"name", "account", "arn", "user_id", "expires"}
CHECK_KEYS = {"name", "ok", "account", "arn", "error", "code", "hint"}


class Cli:
    """Runs ``sessman --config FILE ...`` in-process and checks what every run must hold."""

    def __init__(self, config: Path) -> None:
        self.config = config

    def __call__(self, *args: str, input: str | None = None) -> Any:
        return run_cli(*args, input=input, config=self.config, never=[FAKE_SECRET], checked=True)

    def json(self, *args: str) -> Any:
        result = self(*args, "--json")
        assert result.exit_code == 0, result.stderr
        # Only check's progress (a line per profile when piped) may be on stderr.
        assert all(line.startswith("checked ") for line in result.stderr.splitlines())
        return json.loads(result.stdout)

    def manager(self) -> SessionManager:
        return SessionManager.load(self.config)


def write_cli(
    tmp_path: Path, profiles: dict[str, dict[str, Any]], endpoint: str, **secrets: str
) -> Cli:
    document = {
        "version": 1,
        "defaults": {"region": "us-east-1", "endpoint_url": endpoint},
        "profiles": profiles,
    }
    path = tmp_path / "profiles.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    cli = Cli(path)
    for name, secret in secrets.items():
        result = cli("secret", "set", name, "--stdin", input=secret + "\n")
        assert result.exit_code == 0, result.stderr
    return cli


# -- against a server that checks signatures ------------------------------------------


def auth_cli(tmp_path: Path, server: MotoAuthServer, secret: str | None) -> Cli:
    secrets = {"dev": secret} if secret is not None else {}
    return write_cli(
        tmp_path, {"dev": {"access_key_id": server.access_key_id}}, server.url, **secrets
    )


def test_whoami_json_with_the_right_secret(
    tmp_path: Path, moto_auth_server: MotoAuthServer
) -> None:
    cli = auth_cli(tmp_path, moto_auth_server, moto_auth_server.secret_access_key)
    data = cli.json("whoami", "dev")
    assert set(data) == {"name", "account", "arn", "user_id"}
    assert (data["name"], data["account"], data["arn"]) == (
        "dev",
        ACCOUNT,
        moto_auth_server.user_arn,
    )
    assert isinstance(data["user_id"], str) and data["user_id"]
    table = cli("whoami", "dev")
    assert table.exit_code == 0
    assert moto_auth_server.user_arn in table.stdout
    assert moto_auth_server.secret_access_key not in table.stdout


def test_whoami_with_a_wrong_secret_is_one_error_line(
    tmp_path: Path, moto_auth_server: MotoAuthServer
) -> None:
    cli = auth_cli(tmp_path, moto_auth_server, FAKE_SECRET)
    for args in (["whoami", "dev"], ["whoami", "dev", "--json"]):
        result = cli(*args)
        first = assert_error_line(result, 1, notes=False)
        stderr = result.stderr
        assert "'dev'" in first and "SignatureDoesNotMatch" in first
        assert result.stdout == ""
        assert moto_auth_server.secret_access_key not in stderr


def test_whoami_without_a_secret_says_how_to_store_one(
    tmp_path: Path, moto_auth_server: MotoAuthServer
) -> None:
    cli = auth_cli(tmp_path, moto_auth_server, None)
    result = cli("whoami", "dev")
    assert "'dev'" in assert_error_line(result, 1, notes=False)
    stderr = result.stderr
    assert "sessman secret set dev" in stderr
    assert result.stdout == ""


def test_an_unknown_profile_exits_2(tmp_path: Path, moto_auth_server: MotoAuthServer) -> None:
    cli = auth_cli(tmp_path, moto_auth_server, None)
    for args in (["whoami", "nope"], ["open", "nope"], ["close", "nope"], ["check", "nope"]):
        result = cli(*args)
        assert_error_line(result, 2, notes=False)
        assert "'nope'" in result.stderr
        assert result.stdout == ""


# -- open, list, close on a server without authentication ------------------------------


def session_cli(tmp_path: Path, server: MotoServer, role: str) -> Cli:
    return write_cli(
        tmp_path,
        {
            "dev": {"access_key_id": "AKIAEXAMPLECLIDEV001", "tags": ["team"]},
            "admin": {
                "source_profile": "dev",
                "role_arn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
                "role_session_name": "alice",
                "tags": ["team"],
            },
            "nosecret": {"access_key_id": "AKIAEXAMPLECLINOSEC1"},
        },
        server.url,
        dev=FAKE_SECRET,
    )


def parse_z(text: str) -> datetime:
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text[:-1] + "+00:00")


def sessions_of(cli: Cli) -> dict[str, dict[str, Any]]:
    return {row["name"]: row["session"] for row in cli.json("list")}


def test_open_list_close_round_trip(tmp_path: Path, moto_server: MotoServer) -> None:
    cli = session_cli(tmp_path, moto_server, "CliOpen")
    assert sessions_of(cli)["dev"] == {"state": "closed", "expires": None}

    opened = cli.json("open", "admin", "dev", "--duration", "1800")
    assert [set(row) for row in opened] == [OPEN_KEYS, OPEN_KEYS]
    assert [row["name"] for row in opened] == ["admin", "dev"]
    admin, dev = opened
    assert admin["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/CliOpen/alice"
    assert dev["arn"] == MOTO_USER_ARN
    for row in opened:
        assert row["account"] == ACCOUNT and row["user_id"]
        expected = datetime.now(timezone.utc) + timedelta(seconds=1800)
        assert abs((parse_z(row["expires"]) - expected).total_seconds()) < 60

    listed = sessions_of(cli)
    assert listed["admin"] == {"state": "open", "expires": admin["expires"]}
    assert listed["dev"] == {"state": "open", "expires": dev["expires"]}
    assert listed["nosecret"] == {"state": "closed", "expires": None}

    assert cli.json("close", "dev") == [{"name": "dev", "was_open": True}]
    assert cli.json("close", "dev") == [{"name": "dev", "was_open": False}]
    assert sessions_of(cli)["dev"]["state"] == "closed"
    assert sessions_of(cli)["admin"]["state"] == "open"
    assert cli.json("close", "--all") == [{"name": "admin", "was_open": True}]
    assert cli.json("close", "--all") == []
    assert {s["state"] for s in sessions_of(cli).values()} == {"closed"}


def test_open_and_close_text_output(tmp_path: Path, moto_server: MotoServer) -> None:
    cli = session_cli(tmp_path, moto_server, "CliText")
    opened = cli("open", "--tag", "team")
    assert opened.exit_code == 0 and opened.stderr == ""
    assert "assumed-role/CliText/alice" in opened.stdout and MOTO_USER_ARN in opened.stdout
    closed = cli("close", "dev", "nosecret")
    assert closed.exit_code == 0
    assert closed.stdout.splitlines() == ["dev: closed", "nosecret: was not open"]


def test_open_reports_the_failed_profile_after_the_others(
    tmp_path: Path, moto_server: MotoServer
) -> None:
    cli = session_cli(tmp_path, moto_server, "CliPartial")
    result = cli("open", "dev", "nosecret", "--json")
    assert_error_line(result, 1, notes=False)
    stderr = result.stderr
    assert "'nosecret'" in stderr and "sessman secret set nosecret" in stderr
    opened = json.loads(result.stdout)
    assert [row["name"] for row in opened] == ["dev"]
    assert sessions_of(cli)["dev"]["state"] == "open"


def test_whoami_json_uses_the_open_session(tmp_path: Path, moto_server: MotoServer) -> None:
    cli = session_cli(tmp_path, moto_server, "CliWho")
    before = cli.json("whoami", "admin")
    assert set(before) == {"name", "account", "arn", "user_id"}
    assert before["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/CliWho/alice"
    assert cli.json("whoami", "dev")["arn"] == MOTO_USER_ARN


def test_check_json_and_exit_code(tmp_path: Path, moto_server: MotoServer) -> None:
    cli = session_cli(tmp_path, moto_server, "CliCheck")
    good = cli.json("check", "--tag", "team")
    assert good == [
        {
            "name": "dev",
            "ok": True,
            "account": ACCOUNT,
            "arn": MOTO_USER_ARN,
            "error": None,
            "code": None,
            "hint": None,
        },
        {
            "name": "admin",
            "ok": True,
            "account": ACCOUNT,
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/CliCheck/alice",
            "error": None,
            "code": None,
            "hint": None,
        },
    ]
    result = cli("check", "--json", "--workers", "2")  # every profile
    assert result.exit_code == 1
    rows = json.loads(result.stdout)
    assert [set(row) for row in rows] == [CHECK_KEYS] * 3
    assert [(row["name"], row["ok"]) for row in rows] == [
        ("dev", True),
        ("admin", True),
        ("nosecret", False),
    ]
    failed = rows[2]
    assert failed["account"] is None and failed["arn"] is None
    assert isinstance(failed["error"], str) and "'nosecret'" in failed["error"]
    assert failed["code"] == "SecretNotFound"
    assert failed["hint"] and "secret set nosecret" in failed["hint"]
    assert "secret set" not in failed["error"]  # the hint is its own field
    table = cli("check")
    assert table.exit_code == 1
    assert "FAILED" in table.stdout and "nosecret" in table.stdout


# -- MFA: one code for every role behind one device ----------------------------------


DEVICE = f"arn:aws:iam::{ACCOUNT}:mfa/alice"


def mfa_cli(tmp_path: Path, url: str) -> Cli:
    return write_cli(
        tmp_path,
        {
            "mfa-src": {"access_key_id": "AKIAEXAMPLEMFASRC001", "mfa_serial": DEVICE},
            "role-a": {
                "source_profile": "mfa-src",
                "role_arn": f"arn:aws:iam::{ACCOUNT}:role/MfaA",
            },
            "role-b": {
                "source_profile": "mfa-src",
                "role_arn": f"arn:aws:iam::{ACCOUNT}:role/MfaB",
            },
        },
        url,
        **{"mfa-src": FAKE_SECRET},
    )


def test_two_roles_behind_one_mfa_device_need_one_code(
    tmp_path: Path, recorder: RecordingProxy
) -> None:
    cli = mfa_cli(tmp_path, recorder.url)
    opened = cli.json("open", "role-a", "role-b", "--mfa-code", "123456")
    assert [row["arn"] for row in opened] == [
        f"arn:aws:sts::{ACCOUNT}:assumed-role/MfaA/sessman-role-a",
        f"arn:aws:sts::{ACCOUNT}:assumed-role/MfaB/sessman-role-b",
    ]
    tokens = [call for call in recorder.calls if call.action == "GetSessionToken"]
    assert len(tokens) == 1
    assert tokens[0].key == "AKIAEXAMPLEMFASRC001"  # signed with the long-term key, once
    assert (tokens[0].params["SerialNumber"], tokens[0].params["TokenCode"]) == (DEVICE, "123456")

    # The MFA session is kept as the source's open session ...
    stored = EncryptedFileKeyring().get_password("sessman", "mfa-src:session")
    assert stored is not None
    mfa_token = json.loads(stored)["SessionToken"]
    # ... and both roles were assumed with it, without sending the code again.
    assumed = [call for call in recorder.calls if call.action == "AssumeRole"]
    assert [call.params["RoleArn"] for call in assumed] == [
        f"arn:aws:iam::{ACCOUNT}:role/MfaA",
        f"arn:aws:iam::{ACCOUNT}:role/MfaB",
    ]
    assert [call.token for call in assumed] == [mfa_token, mfa_token]
    assert all("SerialNumber" not in call.params for call in assumed)
    assert sessions_of(cli)["mfa-src"]["state"] == "open"

    # A later run reuses the stored MFA session: no new code is needed.
    again = cli.json("open", "role-a")
    assert again[0]["arn"].endswith("/MfaA/sessman-role-a")
    assert recorder.signers("GetSessionToken") == ["AKIAEXAMPLEMFASRC001"]
    assert recorder.tokens("AssumeRole")[-1] == mfa_token


@pytest.mark.parametrize(
    "names",
    [
        ["role-a"],
        ["role-a", "role-b"],
    ],
)
def test_mfa_without_a_code_or_terminal_is_one_usage_error(
    tmp_path: Path, moto_server: MotoServer, names: list[str]
) -> None:
    cli = mfa_cli(tmp_path, moto_server.url)
    result = cli("open", *names)
    assert_error_line(result, 2, notes=False)
    stderr = result.stderr
    assert DEVICE in stderr and "--mfa-code" in stderr
    assert sessions_of(cli) == {
        name: {"state": "closed", "expires": None} for name in ("mfa-src", "role-a", "role-b")
    }


# -- a damaged state file ---------------------------------------------------------------


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_state_file_reads_as_closed_and_is_repaired(
    tmp_path: Path, moto_server: MotoServer, damage: str
) -> None:
    cli = session_cli(tmp_path, moto_server, f"CliDamaged{damage}")
    cli.json("open", "dev")
    state = cli.manager().state.path
    if damage == "garbage":
        state.write_bytes(b"\x00\xffnot json at all{{{")
    else:
        state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])

    result = cli("list", "--json")
    assert result.exit_code == 0
    assert {row["session"]["state"] for row in json.loads(result.stdout)} == {"closed"}
    notes = result.stderr.splitlines()
    assert len(notes) == 1, notes
    assert notes[0].startswith("sessman: note: ") and "damaged" in notes[0]
    assert str(state) in notes[0]

    reopened = cli("open", "dev", "--json")
    assert reopened.exit_code == 0
    assert json.loads(state.read_bytes())["sessions"]["dev"]["profile"] == "dev"
    assert sessions_of(cli)["dev"]["state"] == "open"  # and no note any more


def test_a_silent_endpoint_is_one_error_line_naming_it(
    tmp_path: Path, hanging_endpoint: str
) -> None:
    fast = {"read_timeout": 1, "connect_timeout": 1, "retries": {"max_attempts": 1}}
    cli = write_cli(
        tmp_path,
        {"slow": {"access_key_id": "AKIAEXAMPLECLISLOW01", **fast}},
        hanging_endpoint,
        slow=FAKE_SECRET,
    )
    result = cli("whoami", "slow", "--json")
    first = assert_error_line(result, 1, notes=False)
    assert hanging_endpoint in first and "read timeout of 1 s" in first
    assert result.stdout == ""
