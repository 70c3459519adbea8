"""The command line's output: 80-column tables, ``doctor``, ``--help``, a piped ``check``.

Tables keep their important columns whole on an 80-column terminal, ``doctor``
tries each distinct endpoint, help shows no type placeholders and a piped
``check`` reports each profile on stderr.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from support.cli import cli, sessman
from support.cli_files import (
    live_fixture,  # noqa: F401
    on_terminal,
)
from support.fakes import FAKE_SECRET
from support.infra import MotoServer, refused_url

# -- tables -----------------------------------------------------------------------


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_list_open_and_check_fit_80_columns_without_cutting_what_matters(
    tmp_path: Path, moto_server: MotoServer
) -> None:
    path = tmp_path / "wide.yaml"
    name = "org-platform-production-eu-central"
    path.write_text(
        f"""\
version: 1
keyring_service: wide-{tmp_path.name}
defaults: {{region: ap-southeast-2, endpoint_url: "{moto_server.url}"}}
profiles:
  {name}:
    source_profile: base
    role_arn: arn:aws:iam::123456789012:role/OrganizationAccountAccessRole
    role_session_name: organization-prod-admin-session
    tags: [prod, organization, everything-else]
    description: A long description that would push the table far past eighty columns
  base:
    access_key_id: AKIAIOSFODNN7EXAMPLE
"""
    )
    cli("secret", "set", "base", "--stdin", "-c", str(path), input=FAKE_SECRET)
    opened = cli("open", name, "--json", "-c", str(path))
    assert opened.exit_code == 0, opened.stderr
    expires = json.loads(opened.stdout)[0]["expires"]
    arn = json.loads(opened.stdout)[0]["arn"]
    assert len(arn) > 80
    env = {**os.environ, "COLUMNS": "80", "LINES": "40", "TERM": "dumb"}

    def shown(args: list[str]) -> list[str]:
        code, text = on_terminal([*args, "--config", str(path)], b"", env)
        assert code == 0, text
        assert "…" not in text
        lines = [ANSI.sub("", line).rstrip() for line in text.replace("\r", "").splitlines()]
        # Every line fits, but for an ARN too long for any terminal: that one is whole.
        assert max(len(line) for line in lines if line.strip() != arn) <= 80, text
        return lines

    lines = shown(["list"])
    row = next(line for line in lines if line.startswith(name))
    for whole in ("open", expires[:16].replace("T", " ")):
        assert whole in row, (whole, row)
    for args in (["open", name], ["check"]):
        lines = shown(args)
        row = next(line for line in lines if line.startswith(name))
        assert "123456789012" in row
        if args[0] == "open":
            assert expires[:16] in row  # open again: maybe a second later
        # The ARN is never folded: it is one line of its own, under its row.
        assert lines[lines.index(row) + 1].strip() == arn


# -- doctor -----------------------------------------------------------------------


def test_doctor_tries_each_distinct_endpoint(
    tmp_path: Path, moto_server: MotoServer, hanging_endpoint: str
) -> None:
    closed = refused_url()
    path = tmp_path / "doctor.yaml"
    path.write_text(
        f"""\
version: 1
keyring_service: doctor-{tmp_path.name}
defaults: {{region: eu-north-1, endpoint_url: "{moto_server.url}"}}
profiles:
  up:
    access_key_id: AKIAV2CLIEXAMPLE0003
  up-too:
    source_profile: up
    role_arn: arn:aws:iam::123456789012:role/R
  down:
    access_key_id: AKIAV2CLIEXAMPLE0004
    endpoint_url: "{closed}"
  silent:
    access_key_id: AKIAV2CLIEXAMPLE0005
    endpoint_url: "{hanging_endpoint}"
"""
    )
    for name in ("up", "down", "silent"):
        cli("secret", "set", name, "--stdin", "-c", str(path), input=FAKE_SECRET)
    result = cli("doctor", "--json", "-c", str(path))
    report = json.loads(result.stdout)
    endpoints = {e["url"]: e for e in report["endpoints"]}
    assert set(endpoints) == {moto_server.url, closed, hanging_endpoint}  # each once
    assert endpoints[moto_server.url]["ok"] and endpoints[moto_server.url]["profiles"] == [
        "up",
        "up-too",
    ]
    assert not endpoints[closed]["ok"] and "cannot connect" in endpoints[closed]["error"]
    assert endpoints[hanging_endpoint]["ok"]  # it accepts connections
    problems = {p["name"]: p["problems"] for p in report["profiles"]}
    assert problems["up"] == [] and problems["silent"] == []
    assert problems["down"] and closed in problems["down"][0]
    assert result.exit_code == 1
    text = cli("doctor", "-c", str(path))
    assert f"profile down: endpoint {closed}" in text.stdout


# -- help -------------------------------------------------------------------------

COMMANDS = [
    ["init"], ["list"], ["show"], ["schema"], ["doctor"], ["open"], ["close"], ["whoami"],
    ["check"], ["exec"], ["env"], ["credential-process"], ["secret", "set"],
    ["secret", "delete"], ["import", "aws"], ["import", "dotenv"], ["console"], ["rotate"],
    ["generate", "organization"],
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_shows_no_type_placeholders(command: list[str]) -> None:
    result = cli(*command, "--help")
    assert result.exit_code == 0
    text = result.stdout
    for placeholder in ("{", "}", "<str>", "<path>", "<file>", "<text>", "<float", "<int"):
        assert placeholder not in text, (command, placeholder)
    usage = next(line for line in text.splitlines() if "Usage:" in line)
    if command[0] in ("show", "whoami", "exec", "env", "credential-process", "secret", "console"):
        assert " NAME" in usage


def test_piped_check_reports_each_profile_on_stderr(live: Path) -> None:
    done = sessman("check", "dev", "-c", str(live))
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == ["checked dev: ok (1/1)"]
    assert "dev" in done.stdout and "checked" not in done.stdout
