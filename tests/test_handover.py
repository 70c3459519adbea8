"""exec, env, credential-process, check and doctor, with programs nobody here wrote.

The AWS CLI and a separate boto3 process authenticate through
``sessman credential-process``; bash evaluates ``sessman env``; commands run
under ``sessman exec``; all against a real moto_server over HTTP.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.cli import assert_error_line, cli, python, sessman
from support.fakes import FAKE_SECRET

BIN = Path(sys.executable).parent


@pytest.fixture
def config(tmp_path: Path, moto_server: object, hanging_endpoint: str) -> Path:
    url = moto_server.url  # type: ignore[attr-defined]
    path = tmp_path / "profiles.yaml"
    path.write_text(
        f"""\
version: 1
keyring_service: handover-{tmp_path.name}
defaults:
  region: eu-north-1
  endpoint_url: {url}
  connect_timeout: 2
  read_timeout: 5
  retries: {{mode: standard, max_attempts: 1}}
profiles:
  dev:
    access_key_id: AKIAHANDOVEREXAMPLE1
    tags: [fleet]
  ops:
    source_profile: dev
    role_arn: arn:aws:iam::123456789012:role/Ops
    role_session_name: tester
    tags: [fleet]
  nosecret:
    access_key_id: AKIAI44QH8DHBEXAMPLE
    tags: [fleet]
  slow:
    access_key_id: AKIAIOSFODNN7EXAMPLE
    endpoint_url: {hanging_endpoint}
    read_timeout: 1
    connect_timeout: 1
    tags: [fleet]
"""
    )
    for name in ("dev", "slow"):
        stored = cli("secret", "set", name, "--stdin", "-c", str(path), input=FAKE_SECRET)
        assert stored.exit_code == 0, stored.stderr
    return path


def process_json(config: Path, name: str, *extra: str) -> dict[str, object]:
    done = sessman("credential-process", name, "--config", str(config), *extra)
    assert done.returncode == 0, done.stderr
    data: dict[str, object] = json.loads(done.stdout)
    return data


def test_credential_process_hands_over_temporary_credentials(config: Path) -> None:
    keys = process_json(config, "dev")
    assert keys["Version"] == 1
    assert set(keys) == {"Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}
    assert keys["AccessKeyId"] != "AKIAHANDOVEREXAMPLE1"
    assert keys["SecretAccessKey"] != FAKE_SECRET
    assert keys["SessionToken"]
    assert str(keys["Expiration"]).endswith("Z")
    # A role: it opened a session, and the next call reuses it.
    first = process_json(config, "ops")
    assert process_json(config, "ops")["AccessKeyId"] == first["AccessKeyId"]
    listed = {r["name"]: r for r in json.loads(cli("list", "--json", "-c", str(config)).stdout)}
    assert listed["ops"]["session"]["state"] == "open"
    assert listed["dev"]["session"]["state"] == "open"
    # A session with less time left than --min-ttl is renewed.
    short = cli("open", "ops", "--duration", "900", "--json", "-c", str(config))
    assert short.exit_code == 0, short.stderr
    kept = process_json(config, "ops", "--min-ttl", "600")
    renewed = process_json(config, "ops", "--min-ttl", "1000")
    assert renewed["AccessKeyId"] != kept["AccessKeyId"] != first["AccessKeyId"]
    # A minimum no session can meet is refused, not renewed on every call.
    impossible = sessman("credential-process", "ops", "--min-ttl", "3600", "-c", str(config))
    assert impossible.returncode == 2
    assert_error_line(impossible, contains="3600")


def test_credential_process_on_an_open_session_imports_no_boto3(config: Path) -> None:
    process_json(config, "dev")  # opens the session
    done = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "sessman",
            "credential-process",
            "dev",
            "-c",
            str(config),
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert "keyring" in imported and "json" in imported  # the check can see imports
    for heavy in ("boto3", "botocore", "pydantic", "typer", "rich"):
        assert heavy not in imported


def test_credential_process_errors(config: Path) -> None:
    missing = sessman("credential-process", "nosecret", "-c", str(config))
    assert missing.returncode == 1
    assert_error_line(missing, contains=("nosecret", "secret"))
    assert missing.stdout == ""
    unknown = sessman("credential-process", "nope", "-c", str(config))
    assert unknown.returncode == 2
    assert_error_line(unknown, contains="nope")


def aws_config(tmp_path: Path, config: Path, url: str) -> dict[str, str]:
    aws = tmp_path / "aws-config"
    aws.write_text(
        "[profile viasessman]\n"
        f"credential_process = {sys.executable} -m sessman credential-process ops --config {config}\n"
        "region = eu-north-1\n"
        f"endpoint_url = {url}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=str(aws), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    return env


def test_the_aws_cli_authenticates_through_credential_process(
    config: Path, tmp_path: Path, moto_server: object
) -> None:
    url = moto_server.url  # type: ignore[attr-defined]
    env = aws_config(tmp_path, config, url)
    done = subprocess.run(
        [
            str(BIN / "aws"),
            "sts",
            "get-caller-identity",
            "--profile",
            "viasessman",
            "--endpoint-url",
            url,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    identity = json.loads(done.stdout)
    assert identity["Arn"] == "arn:aws:sts::123456789012:assumed-role/Ops/tester"
    assert FAKE_SECRET not in done.stdout + done.stderr


def test_a_separate_boto3_process_authenticates_through_credential_process(
    config: Path, tmp_path: Path, moto_server: object
) -> None:
    env = aws_config(tmp_path, config, moto_server.url)  # type: ignore[attr-defined]
    code = (
        "import boto3\n"
        "s = boto3.Session(profile_name='viasessman')\n"
        "c = s.get_credentials().get_frozen_credentials()\n"
        "print(s.client('sts').get_caller_identity()['Arn'], c.token is not None)\n"
    )
    done = python(code, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["arn:aws:sts::123456789012:assumed-role/Ops/tester", "True"]


def test_env_is_evaluated_by_bash(config: Path, moto_server: object) -> None:
    handed = process_json(config, "dev")
    script = (
        f'eval "$({sys.executable} -m sessman env dev --config {config})" && '
        'printf "%s\\n" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN" '
        '"$AWS_REGION" "$AWS_DEFAULT_REGION" "$AWS_ENDPOINT_URL" "$SESSMAN_PROFILE"'
    )
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        handed["AccessKeyId"],
        handed["SecretAccessKey"],
        handed["SessionToken"],
        "eu-north-1",
        "eu-north-1",
        moto_server.url,  # type: ignore[attr-defined]
        "dev",
    ]


@pytest.mark.parametrize(
    ("fmt", "first"),
    [
        ("fish", "set -gx AWS_ACCESS_KEY_ID '"),
        ("powershell", "$Env:AWS_ACCESS_KEY_ID = '"),
        ("dotenv", "AWS_ACCESS_KEY_ID="),
    ],
)
def test_env_formats(config: Path, fmt: str, first: str) -> None:
    handed = process_json(config, "dev")
    result = cli("env", "dev", "--format", fmt, "-c", str(config))
    assert result.exit_code == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if "AWS_ACCESS_KEY_ID" in line]
    assert len(lines) == 1
    assert lines[0].startswith(first) and str(handed["AccessKeyId"]) in lines[0]
    setter = first.split("AWS_", maxsplit=1)[0]
    sets = [line for line in result.stdout.splitlines() if line.startswith(setter)]
    assert len(sets) == 8


def test_env_json_and_bad_format(config: Path) -> None:
    result = cli("env", "dev", "--format", "json", "-c", str(config))
    data = json.loads(result.stdout)
    assert data["SESSMAN_PROFILE"] == "dev" and data["AWS_REGION"] == "eu-north-1"
    bad = cli("env", "dev", "--format", "cmd", "-c", str(config))
    assert bad.exit_code == 2
    assert_error_line(bad, contains="cmd")


def test_exec_runs_the_command_with_the_profile_and_its_exit_code(config: Path) -> None:
    env = {**os.environ, "AWS_PROFILE": "stray", "AWS_ACCESS_KEY_ID": "AKIASTRAYPARENTKEY00"}
    assert env["SESSMAN_KEYRING_PASSPHRASE"]
    code = (
        "import os, sys; e = os.environ; "
        "print(e['AWS_ACCESS_KEY_ID'], e['SESSMAN_PROFILE'], e['AWS_REGION'], "
        "'AWS_PROFILE' in e or 'SESSMAN_KEYRING_PASSPHRASE' in e, "
        "e['AWS_SECRET_ACCESS_KEY'] == " + repr(FAKE_SECRET) + "); sys.exit(7)"
    )
    done = sessman("exec", "dev", "-c", str(config), "--", sys.executable, "-c", code, env=env)
    assert done.returncode == 7, done.stderr
    key, profile, region, has_profile, long_term = done.stdout.split()
    assert key not in {"AKIASTRAYPARENTKEY00", "AKIAHANDOVEREXAMPLE1"}
    assert (profile, region, has_profile, long_term) == ("dev", "eu-north-1", "False", "False")


def test_exec_refuses_nesting_and_unknown_commands(config: Path) -> None:
    nested = sessman(
        "exec", "dev", "-c", str(config), "--", "true", env={**os.environ, "SESSMAN_EXEC": "dev"}
    )
    assert nested.returncode == 2
    assert_error_line(nested, contains="already inside")
    missing = sessman("exec", "dev", "-c", str(config), "--", "no-such-command-sessman")
    assert missing.returncode == 127
    assert_error_line(missing, contains="no-such-command-sessman")


def test_exec_forwards_signals(config: Path) -> None:
    process_json(config, "dev")  # open first, so the child starts quickly
    code = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(42))\n"
        "print('ready', flush=True)\n"
        "time.sleep(30)\n"
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sessman",
            "exec",
            "dev",
            "-c",
            str(config),
            "--",
            sys.executable,
            "-c",
            code,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 42
    proc.stdout.close()
    assert proc.stderr is not None
    proc.stderr.close()


def test_check_isolates_broken_and_slow_accounts(config: Path) -> None:
    started = time.monotonic()
    result = cli("check", "--tag", "fleet", "--json", "--workers", "4", "-c", str(config))
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert list(rows) == ["dev", "ops", "nosecret", "slow"]
    assert set(rows["dev"]) == {"name", "ok", "account", "arn", "error", "code", "hint"}
    assert rows["dev"]["ok"] and rows["dev"]["account"] == "123456789012"
    assert rows["ops"]["arn"] == "arn:aws:sts::123456789012:assumed-role/Ops/tester"
    assert not rows["nosecret"]["ok"] and "secret set nosecret" in rows["nosecret"]["hint"]
    assert not rows["slow"]["ok"] and "timeout" in rows["slow"]["error"]
    assert rows["slow"]["account"] is None
    assert elapsed < 15


def test_check_all_good_exits_zero(config: Path) -> None:
    result = cli("check", "dev", "ops", "-c", str(config))
    assert result.exit_code == 0, result.stderr
    assert "ok" in result.stdout and "Ops/tester" in result.stdout


def test_doctor(config: Path) -> None:
    result = cli("doctor", "--json", "-c", str(config))
    report = json.loads(result.stdout)
    assert {"version", "python", "boto3", "config", "state_dir", "keyring", "profiles"} <= set(
        report
    )
    assert report["config"] == {"path": str(config), "ok": True, "error": None}
    assert (
        report["keyring"]["ok"] is True and "EncryptedFileKeyring" in report["keyring"]["backend"]
    )
    problems = {p["name"]: p["problems"] for p in report["profiles"]}
    assert problems["dev"] == [] and problems["ops"] == []
    assert problems["nosecret"] and "secret" in problems["nosecret"][0]
    assert result.exit_code == 1


def test_doctor_on_a_broken_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("profiles: [1, 2]\n")
    result = cli("doctor", "--json", "-c", str(bad))
    report = json.loads(result.stdout)
    assert report["config"]["ok"] is False and "mapping" in report["config"]["error"]
    assert result.exit_code == 2


def test_an_endpoint_that_is_not_aws(tmp_path: Path) -> None:
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        path = tmp_path / "web.yaml"
        path.write_text(
            "defaults: {region: us-east-1, retries: {max_attempts: 1}}\nprofiles:\n"
            f"  web: {{access_key_id: AKIAIOSFODNN7EXAMPLE, endpoint_url: 'http://127.0.0.1:{server.server_port}'}}\n"
        )
        assert (
            cli("secret", "set", "web", "--stdin", "-c", str(path), input=FAKE_SECRET).exit_code
            == 0
        )
        result = cli("whoami", "web", "-c", str(path))
        assert result.exit_code == 1
        assert_error_line(result, contains="did not answer like an AWS endpoint")
    finally:
        server.shutdown()
        server.server_close()


def test_doctor_with_a_wrong_passphrase_still_lists_problems(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSMAN_KEYRING_PASSPHRASE", "not the passphrase")
    result = cli("doctor", "--json", "-c", str(config))
    report = json.loads(result.stdout)
    assert report["keyring"]["ok"] is False and "passphrase" in report["keyring"]["error"]
    problems = {p["name"]: p["problems"] for p in report["profiles"]}
    assert problems["nosecret"] and problems["dev"] == []
    assert result.exit_code == 1


def test_doctor_without_a_profiles_file_still_checks_the_keyring(tmp_path: Path) -> None:
    result = cli("doctor", "--json", "-c", str(tmp_path / "none.yaml"))
    report = json.loads(result.stdout)
    assert report["config"]["ok"] is False and "not found" in report["config"]["error"]
    assert (
        report["keyring"]["ok"] is True and "EncryptedFileKeyring" in report["keyring"]["backend"]
    )
    assert result.exit_code == 2


def test_env_is_evaluated_by_fish(config: Path) -> None:
    fish = shutil.which("fish")
    if fish is None:
        if os.environ.get("CI") == "true":
            pytest.fail("fish is not installed (scripts/system-deps.sh installs it)")
        pytest.skip("fish is not installed")
    handed = process_json(config, "dev")
    script = (
        f"{sys.executable} -m sessman env dev --format fish --config {config} | source; "
        "and printf '%s\\n' $AWS_ACCESS_KEY_ID $AWS_SECRET_ACCESS_KEY $AWS_SESSION_TOKEN $SESSMAN_PROFILE"
    )
    done = subprocess.run(
        [fish, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        handed["AccessKeyId"],
        handed["SecretAccessKey"],
        handed["SessionToken"],
        "dev",
    ]
