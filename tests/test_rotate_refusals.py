"""`sessman rotate` and `delete_other`: what they refuse, and the sessions of the old key closed.

Against moto_server with signature checking, each test with its own IAM user:
refusals are one line with the documented code and change nothing; sessions
opened with the old key are closed by a rotation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from support.cli import assert_error_line, cli
from support.infra import MotoServer
from support.rotation import (
    PROFILES,
    Setup,
    iam_fixture,  # noqa: F401
    keys_of,
    make_user,
    setup_fixture,  # noqa: F401
)

from sessman.manager import SessionManager

# -- refusals ------------------------------------------------------------------------------


def test_refusals_are_one_line_with_the_documented_code(setup: Setup, iam: Any) -> None:
    text = setup.path.read_text().replace(
        "  # a trailing comment\n",
        "  admin:\n    role_arn: arn:aws:iam::123456789012:role/Admin\n    source_profile: dev\n",
    )
    setup.path.write_text(text)
    for args, code, needle in (
        (["rotate", "admin"], 2, "only a profile with access_key_id"),
        (["rotate", "nope"], 2, "no profile 'nope'"),
        (["rotate"], 2, "Missing argument"),
    ):
        result = setup.cli(*args)
        assert result.exit_code == code, (args, result.stderr)
        assert result.stderr.startswith("sessman: error: ") and needle in result.stderr
        assert len(result.stderr.splitlines()) <= 2
    assert setup.manager().store.delete("dev")
    missing = setup.cli("rotate", "dev")
    assert missing.exit_code == 1 and "sessman secret set dev" in missing.stderr
    assert setup.proxy.actions() == []  # nothing reached AWS


def test_a_role_on_an_aws_profile_gets_a_hint_that_works(setup: Setup) -> None:
    text = setup.path.read_text().replace(
        "  # a trailing comment\n",
        "  ext:\n    aws_profile: corp\n"
        "  via-ext:\n    role_arn: arn:aws:iam::123456789012:role/Admin\n"
        "    source_profile: ext\n"
        "  via-dev:\n    role_arn: arn:aws:iam::123456789012:role/Admin\n"
        "    source_profile: dev\n",
    )
    setup.path.write_text(text)
    for name in ("ext", "via-ext"):
        result = setup.cli("rotate", name)
        assert result.exit_code == 2, result.stderr
        lines = result.stderr.splitlines()
        assert len(lines) == 2 and lines[0].startswith("sessman: error: "), lines
        assert "is a aws" not in lines[0] and "sessman rotate" not in lines[1], lines
        assert "'corp'" in lines[1] and "AWS CLI" in lines[1]
    assert (
        setup.cli("rotate", "ext")
        .stderr.splitlines()[0]
        .endswith(
            "is an aws-profile profile: only a profile with access_key_id has a long-term key"
            " to rotate"
        )
    )
    via_dev = setup.cli("rotate", "via-dev").stderr.splitlines()
    assert via_dev[1] == (
        f"hint: rotate the key it comes from: sessman rotate dev --config {setup.path}"
    )
    assert setup.proxy.actions() == []


def test_a_key_id_from_a_variable_is_a_usage_error_even_without_a_secret(
    setup: Setup, iam: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEV_KEY", setup.user.key_id)
    setup.path.write_text(setup.path.read_text().replace(setup.user.key_id, "${DEV_KEY}"))
    assert setup.manager().store.delete("dev")
    result = setup.cli("rotate", "dev")
    assert result.exit_code == 2, result.stderr
    assert "not written literally" in result.stderr.splitlines()[0]
    assert "secret" not in result.stderr
    assert setup.proxy.actions() == []  # nothing reached AWS, not even STS


def test_delete_other_refuses_the_stored_key_and_strangers(setup: Setup, iam: Any) -> None:
    for key_id, code, needle in (
        (setup.user.key_id, 2, "is the key profile 'dev' uses"),
        ("not-a-key", 2, "is not an access key id"),
        ("AKIAEXAMPLENOTHERS00", 1, "is not an access key of IAM user"),
    ):
        result = setup.cli("rotate", "dev", "--delete-other", key_id)
        assert result.exit_code == code, (key_id, result.stderr)
        assert_error_line(result, contains=needle, notes=False)
    assert keys_of(iam, setup.user.name) == {setup.user.key_id: "Active"}
    assert "DeleteAccessKey" not in setup.proxy.actions()


def test_a_key_id_from_a_variable_is_refused_before_any_change(
    setup: Setup, iam: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEV_KEY", setup.user.key_id)
    setup.path.write_text(setup.path.read_text().replace(setup.user.key_id, "${DEV_KEY}"))
    result = setup.cli("rotate", "dev")
    assert result.exit_code == 2
    assert "access_key_id" in result.stderr and "not written literally" in result.stderr
    assert "CreateAccessKey" not in setup.proxy.actions()
    assert keys_of(iam, setup.user.name) == {setup.user.key_id: "Active"}


# -- sessions opened with the old key ----------------------------------------------------------


def test_sessions_opened_with_the_old_key_are_closed(
    tmp_path: Path, moto_server: MotoServer
) -> None:
    """On moto without auth (where sessions work): the key's and its roles' sessions close."""
    iam = boto3.client(
        "iam",
        region_name="us-east-1",
        endpoint_url=moto_server.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    user = make_user(iam)
    path = tmp_path / "profiles.yaml"
    path.write_text(
        PROFILES.format(url=moto_server.url, key=user.key_id).replace(
            "  # a trailing comment\n",
            "  admin:\n    role_arn: arn:aws:iam::123456789012:role/Admin\n"
            "    source_profile: dev\n"
            f"  twin:\n    access_key_id: {user.key_id}\n",
        )
    )

    def ok(*args: str, input: str | None = None) -> Any:
        result = cli(*args, input=input, config=path)
        assert result.exit_code == 0, result.stderr
        return result

    for name in ("dev", "twin"):
        ok("secret", "set", name, "--stdin", input=user.secret + "\n")
    ok("open", "dev", "admin")
    data = json.loads(ok("rotate", "dev", "--json").stdout)
    assert data["profiles"] == ["dev", "twin"]
    assert data["closed"] == ["dev", "admin"]
    states = {r["name"]: r["session"]["state"] for r in json.loads(ok("list", "--json").stdout)}
    assert states == {"dev": "closed", "admin": "closed", "twin": "closed"}
    manager = SessionManager.load(path)
    assert {manager.profile(n).access_key_id for n in ("dev", "twin")} == {
        data["new_access_key_id"]
    }
    assert manager.store.get("dev") == manager.store.get("twin") != user.secret
    assert keys_of(iam, user.name) == {data["new_access_key_id"]: "Active"}
