"""The command line's options: ``--config``, ``--tag``, hints, ``--region``, env and exec.

``--config`` in either position, one rule for ``--tag``, hints that name only
options the command has and the profiles file in use, ``--region``, and what
``env`` and ``exec`` pass on.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from support.cli import assert_error_line, cli, sessman
from support.cli_files import (
    config_fixture,  # noqa: F401
    live_fixture,  # noqa: F401
)
from support.fakes import FAKE_SECRET
from support.infra import MotoServer


@pytest.fixture
def other(tmp_path: Path) -> Path:
    path = tmp_path / "other.yaml"
    path.write_text(
        "version: 1\nprofiles:\n  elsewhere:\n    region: eu-west-1\n"
        "    access_key_id: AKIAI44QH8DHBEXAMPLE\n"
    )
    return path


def names(stdout: str) -> list[str]:
    return [row["name"] for row in json.loads(stdout)]


@pytest.mark.parametrize("where", ["before", "after"])
def test_config_option_wins_over_the_variable_in_either_position(
    where: str, config: Path, other: Path
) -> None:
    env = {**os.environ, "SESSMAN_CONFIG": str(config)}
    args = (
        ["--config", str(other), "list", "--json"]
        if where == "before"
        else ["list", "--json", "--config", str(other)]
    )
    done = sessman(*args, env=env)
    assert done.returncode == 0, done.stderr
    assert names(done.stdout) == ["elsewhere"]
    # Without the option, the variable decides.
    assert names(sessman("list", "--json", env=env).stdout) == ["dev", "ops"]


@pytest.mark.parametrize(
    "args",
    [["list"], ["open"], ["close"], ["check"]],
    ids=lambda a: a[0],
)
def test_an_unknown_tag_is_the_same_usage_error_everywhere(args: list[str], config: Path) -> None:
    result = cli(*args, "--tag", "nope", "--config", str(config))
    assert result.exit_code == 2, result.output
    assert_error_line(result, contains="'nope'")
    assert "prod, team" in result.stderr  # the hint names the tags there are
    assert result.stdout == ""


def test_close_by_tag(config: Path) -> None:
    result = cli("close", "--tag", "prod", "--json", "--config", str(config))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [{"name": "ops", "was_open": False}]
    both = cli("close", "--tag", "team", "--all", "--config", str(config))
    assert both.exit_code == 2


def test_hints_only_name_options_the_command_has(config: Path) -> None:
    for command in ("open", "close"):
        result = cli(command, "--config", str(config))
        assert result.exit_code == 2
        line = assert_error_line(result)
        helped = cli(command, "--help")
        for word in (line + result.stderr).split():
            if word.startswith("--"):
                assert word.strip("().,") in helped.stdout, (command, word)


def test_hints_name_the_profiles_file_in_use(config: Path, tmp_path: Path) -> None:
    missing = cli("--config", "rel-missing.yaml", "list")  # relative to the test's cwd
    assert missing.exit_code == 2
    assert f"hint: create one with: sessman init {tmp_path / 'rel-missing.yaml'}\n" in (
        missing.stderr
    )
    for args in (["-c", str(config), "env", "dev"], ["env", "dev", "--config", str(config)]):
        no_secret = cli(*args)
        assert no_secret.exit_code != 0
        assert f"sessman secret set dev --config {config}\n" in no_secret.stderr
    doctor = cli("doctor", "--json", "-c", str(config))
    problems = {p["name"]: p["problems"] for p in json.loads(doctor.stdout)["profiles"]}
    assert f"no secret stored (sessman secret set dev --config {config})" in problems["dev"]
    fast = sessman("credential-process", "dev", "--config", str(config))  # the lean path
    assert fast.returncode == 1
    assert f"sessman secret set dev --config {config}\n" in fast.stderr
    # Files are named by absolute path.
    absent = cli("import", "dotenv", "nonexist.env", "-p", "x", "-c", str(config))
    assert absent.exit_code == 2
    assert_error_line(absent, contains=f"{tmp_path / 'nonexist.env'} does not exist")


# -- env and exec options -------------------------------------------------------


def test_region_option(live: Path) -> None:
    result = cli("env", "dev", "--region", "us-west-2", "--format", "json", "-c", str(live))
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["AWS_REGION"] == data["AWS_DEFAULT_REGION"] == "us-west-2"
    assert data["AWS_CREDENTIAL_EXPIRATION"].endswith("Z")
    done = sessman(
        "exec",
        "dev",
        "-r",
        "ca-central-1",
        "-c",
        str(live),
        "--",
        sys.executable,
        "-c",
        "import os; print(os.environ['AWS_REGION'])",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ca-central-1"
    for command in ("env", "exec"):
        bad = cli(command, "dev", "--region", "not a region'", "-c", str(live))
        assert bad.exit_code == 2
        assert_error_line(bad, contains="not a region")


def test_exec_gives_everything_after_the_command_name_to_the_command(
    live: Path, other: Path
) -> None:
    # Without --: the command's own -c and --query are its, not sessman's.
    show = "import sys; print(sys.argv[1:])"
    done = sessman(
        "exec",
        "dev",
        "-c",
        str(live),
        sys.executable,
        "-c",
        show,
        "-c",
        str(other),
        "--query",
        "Arn",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(["-c", str(other), "--query", "Arn"])
    # sessman's options still work between NAME and the command, and -- still works.
    done = sessman(
        "exec", "dev", "--region=us-east-2", "-c", str(live), "--", sys.executable, "-c",
        "import os; print(os.environ['AWS_REGION'])",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "us-east-2"


@pytest.mark.parametrize("extra", [[], ["--server"]])
def test_exec_checks_the_mfa_code_before_anything_runs(extra: list[str], config: Path) -> None:
    done = sessman(
        "exec", *extra, "dev", "--mfa-code", "12", "-c", str(config), "no-such-command-sessman"
    )
    assert done.returncode == 2
    assert_error_line(done, contains="six digits")


def test_env_unsets_what_would_change_the_credentials(
    live: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "stray")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_PAGER", "")
    result = cli("env", "dev", "-c", str(live))
    assert result.exit_code == 0, result.stderr
    unset = next(line for line in result.stdout.splitlines() if line.startswith("unset "))
    gone = unset.split()[1:]
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL_S3", "AWS_SECURITY_TOKEN"):
        assert name in gone
    assert "AWS_PAGER" not in gone and "AWS_ENDPOINT_URL" not in gone  # kept / set by dev
    assert "SESSMAN_EXEC" not in result.stdout
    assert "export AWS_CREDENTIAL_EXPIRATION='" in result.stdout


def test_dotenv_that_cannot_be_written_faithfully_is_an_error(
    tmp_path: Path, moto_server: MotoServer
) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(
        f"""\
version: 1
keyring_service: odd-{tmp_path.name}
defaults: {{region: eu-north-1}}
profiles:
  odd:
    access_key_id: AKIAV2CLIEXAMPLE0002
    endpoint_url: "{moto_server.url}/#frag"
"""
    )
    cli("secret", "set", "odd", "--stdin", "-c", str(path), input=FAKE_SECRET)
    result = cli("env", "odd", "--format", "dotenv", "-c", str(path))
    if result.exit_code == 0:  # pragma: no cover - moto would have to accept the odd URL
        pytest.fail(f"dotenv printed a value its readers change: {result.stdout}")
    if "dotenv" not in result.stderr:
        pytest.skip("moto did not answer at that endpoint; the formatter test covers it")
    assert result.exit_code == 1
    assert_error_line(result, contains=("AWS_ENDPOINT_URL", "dotenv"))
    assert result.stdout == ""
