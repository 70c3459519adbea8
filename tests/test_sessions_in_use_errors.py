"""Sessions that hold up in real use: loops, endpoints, the user's exceptions, MFA codes, hints, Ctrl-C.

Everything runs against a real ``moto.server`` over HTTP, with a recording
proxy in front of it that counts the STS calls made:
a ``credential_process`` loop set up through a real ``~/.aws/config``, errors
that name the endpoint and the step that failed, and SIGINT sent to real
subprocesses waiting on an endpoint that never answers.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from support.cli import assert_error_line, cli, sessman, store_secret
from support.infra import MotoServer
from support.proxies import RecordingProxy
from support.sessions_in_use import ACCOUNT, ROLE_ARN, interrupt, write_config

from sessman.errors import AuthenticationFailed, SessmanError
from sessman.manager import SessionManager

# -- aws_profile delegation loops --------------------------------------------------------


def test_a_credential_process_loop_ends_at_once_naming_the_chain(
    tmp_path: Path, moto_server: MotoServer, clean_env: Path
) -> None:
    config = write_config(
        tmp_path / "profiles.yaml",
        moto_server.url,
        {"looped": {"aws_profile": "via-sessman"}},
    )
    (clean_env / ".aws" / "config").write_text(
        "[profile via-sessman]\n"
        f"credential_process = {sys.executable} -m sessman credential-process looped"
        f" --config {config}\n"
    )
    started = time.monotonic()
    done = sessman("credential-process", "looped", "--config", str(config), timeout=60)
    elapsed = time.monotonic() - started
    assert done.returncode == 2, done.stderr
    line = assert_error_line(done, contains=("aws_profile loop", "'looped'", "'via-sessman'"))
    assert "custom-process" not in line  # the child's error, relayed as ours
    assert elapsed < 30  # one level of children, not processes without end

    # The same loop entered from the AWS CLI ends just as fast.
    aws = Path(sys.executable).with_name("aws")
    started = time.monotonic()
    done = subprocess.run(
        [str(aws), "sts", "get-caller-identity", "--profile", "via-sessman"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "aws_profile loop" in done.stderr and "Traceback" not in done.stderr
    assert time.monotonic() - started < 30


def test_a_three_hop_loop_names_the_aws_profile_that_closes_it(
    tmp_path: Path, moto_server: MotoServer, clean_env: Path
) -> None:
    config = write_config(
        tmp_path / "profiles.yaml",
        moto_server.url,
        {"loop3a": {"aws_profile": "hop-b"}, "loop3b": {"aws_profile": "hop-a"}},
    )
    run = f"{sys.executable} -m sessman credential-process"
    (clean_env / ".aws" / "config").write_text(
        f"[profile hop-b]\ncredential_process = {run} loop3b --config {config}\n"
        f"[profile hop-a]\ncredential_process = {run} loop3a --config {config}\n"
    )
    done = sessman("credential-process", "loop3a", "--config", str(config), timeout=90)
    assert done.returncode == 2, done.stderr
    line = assert_error_line(done, contains=("'loop3a'", "'hop-b'", "'loop3b'", "'hop-a'"))
    assert line.startswith("sessman: error: aws_profile loop: "), line  # nothing before it
    (hint,) = [h for h in done.stderr.splitlines() if h.startswith("hint: ")]
    assert "AWS profile 'hop-a' in ~/.aws/config runs sessman for profile 'loop3a'" in hint


# -- session(name) carries the profile's endpoint and Config -------------------------------


def test_session_clients_reach_the_profile_endpoint(
    tmp_path: Path, recorder: RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # never used
    config = write_config(
        tmp_path / "profiles.yaml",
        recorder.url,
        {"dev": {"access_key_id": "AKIAEXAMPLEENDPOINT1", "read_timeout": 7}},
    )
    store_secret(config, "dev")
    with SessionManager.load(config) as manager:
        session = manager.session("dev")
        sts = session.client("sts")
        assert sts.meta.endpoint_url == recorder.url
        assert sts.meta.config.read_timeout == 7
        assert sts.get_caller_identity()["Account"] == ACCOUNT
        s3 = session.resource("s3")
        assert s3.meta.client.meta.endpoint_url == recorder.url
        # An explicit endpoint still wins.
        other = session.client("sts", endpoint_url="http://127.0.0.1:10")
        assert other.meta.endpoint_url == "http://127.0.0.1:10"
    assert recorder.signers("GetCallerIdentity") == ["AKIAEXAMPLEENDPOINT1"]


def test_errors_name_the_endpoint_actually_contacted(
    tmp_path: Path, hanging_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # never contacted
    config = write_config(
        tmp_path / "profiles.yaml",
        hanging_endpoint,
        {"slow": {"access_key_id": "AKIAEXAMPLESLOWEND01"}},
        read_timeout=1,
        retries={"mode": "standard", "max_attempts": 1},
    )
    store_secret(config, "slow")
    done = sessman("whoami", "slow", "--config", str(config))
    assert done.returncode == 1
    line = assert_error_line(done, contains=hanging_endpoint)
    assert "127.0.0.1:9/" not in line and "127.0.0.1:9 " not in line


# -- map: the user's exceptions as raised ------------------------------------------------


def test_map_returns_the_users_own_exception_as_raised(
    tmp_path: Path, moto_server: MotoServer
) -> None:
    from botocore.exceptions import ClientError

    config = write_config(
        tmp_path / "profiles.yaml",
        moto_server.url,
        {
            "dev": {"access_key_id": "AKIAEXAMPLEMAPUSER01"},
            "nosecret": {"access_key_id": "AKIAEXAMPLEMAPUSER02"},
        },
    )
    store_secret(config, "dev")
    raised: list[BaseException] = []

    def head(_name: str, session: Any) -> None:
        try:
            session.client("s3").head_bucket(Bucket="no-such-bucket-sessman")
        except ClientError as exc:
            raised.append(exc)
            raise

    with SessionManager.load(config) as manager:
        outcomes = manager.map(head)
    assert outcomes["dev"].error is raised[0]
    assert isinstance(outcomes["dev"].error, ClientError)
    assert isinstance(outcomes["nosecret"].error, SessmanError)


# -- MFA codes and prompts ---------------------------------------------------------------


@pytest.mark.parametrize("command", ["open", "whoami", "env", "credential-process", "check"])
def test_a_malformed_mfa_code_is_a_usage_error_before_any_call(
    tmp_path: Path, recorder: RecordingProxy, command: str
) -> None:
    config = write_config(
        tmp_path / "profiles.yaml",
        recorder.url,
        {
            "src": {
                "access_key_id": "AKIAEXAMPLEMFASHAPE1",
                "mfa_serial": f"arn:aws:iam::{ACCOUNT}:mfa/shape",
            },
            "role": {"source_profile": "src", "role_arn": ROLE_ARN},
        },
    )
    store_secret(config, "src")
    done = sessman(command, "role", "--mfa-code", "12345", "--config", str(config))
    assert done.returncode == 2, done.stderr
    assert_error_line(done, contains="six digits")
    assert recorder.calls == []


@pytest.mark.parametrize("command", ["whoami", "env", "credential-process"])
def test_commands_that_may_open_a_session_take_mfa_code(
    tmp_path: Path, recorder: RecordingProxy, command: str
) -> None:
    device = f"arn:aws:iam::{ACCOUNT}:mfa/everywhere"
    config = write_config(
        tmp_path / "profiles.yaml",
        recorder.url,
        {
            "src": {"access_key_id": "AKIAEXAMPLEMFAEVERY1", "mfa_serial": device},
            "role": {"source_profile": "src", "role_arn": ROLE_ARN},
        },
    )
    store_secret(config, "src")
    missing = sessman(command, "role", "--config", str(config))
    assert missing.returncode == 2
    assert_error_line(missing, contains=device)
    assert "--mfa-code" in missing.stderr
    done = sessman(command, "role", "--mfa-code", "123456", "--config", str(config))
    assert done.returncode == 0, done.stderr
    (call,) = [c for c in recorder.calls if c.action == "GetSessionToken"]
    assert (call.params["SerialNumber"], call.params["TokenCode"]) == (device, "123456")


# -- hints name the step that failed --------------------------------------------------------


def test_a_failed_check_of_temporary_credentials_names_that_step(
    tmp_path: Path, moto_auth_server: Any
) -> None:
    # moto's signature-checking server issues session tokens it then rejects.
    config = write_config(
        tmp_path / "profiles.yaml",
        moto_auth_server.url,
        {"dev": {"access_key_id": moto_auth_server.access_key_id}},
    )
    stored = cli(
        "secret",
        "set",
        "dev",
        "--stdin",
        "-c",
        str(config),
        input=moto_auth_server.secret_access_key,
    )
    assert stored.exit_code == 0, stored.stderr
    with SessionManager.load(config) as manager, pytest.raises(SessmanError) as failed:
        manager.open("dev")
    assert isinstance(failed.value, AuthenticationFailed)
    assert "GetSessionToken succeeded" in str(failed.value)
    assert "GetCallerIdentity" in str(failed.value)
    assert failed.value.hint is not None and "secret set" not in failed.value.hint


# -- Ctrl-C -------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv",
    [
        ["credential-process", "hung"],
        ["whoami", "hung"],
        ["open", "hung"],
        ["check", "hung", "hung2", "--workers", "1"],
    ],
)
def test_ctrl_c_while_the_endpoint_hangs_is_one_line_and_130(
    tmp_path: Path, hanging_endpoint: str, argv: list[str]
) -> None:
    config = write_config(
        tmp_path / "profiles.yaml",
        hanging_endpoint,
        {
            "hung": {"access_key_id": "AKIAEXAMPLEHUNG00001"},
            "hung2": {"access_key_id": "AKIAEXAMPLEHUNG00002"},
        },
        read_timeout=60,
        retries={"mode": "standard", "max_attempts": 1},
    )
    store_secret(config, "hung")
    store_secret(config, "hung2")
    code, err, seconds = interrupt([*argv, "--config", str(config)])
    assert code == 130, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == ["sessman: error: interrupted"], err
    assert seconds < 5  # about a second; generous for a loaded machine
