"""``sessman import aws`` as a new user runs it: after ``init``, with roles, and hostile files."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from support.cli import assert_error_line, cli
from support.fakes import FAKE_SECRET

OTHER_SECRET = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"


def write_aws(home: Path, credentials: str, config: str = "") -> None:
    aws = home / ".aws"
    (aws / "credentials").write_text(credentials)
    (aws / "config").write_text(config)


def started(tmp_path: Path) -> Path:
    """A profiles file written by ``sessman init``: it has a ``default`` profile."""
    path = tmp_path / "profiles.yaml"
    result = cli("init", str(path))
    assert result.exit_code == 0, result.stderr
    return path


def test_after_init_default_is_skipped_then_renamed(tmp_path: Path, clean_env: Path) -> None:
    write_aws(
        clean_env,
        f"[default]\naws_access_key_id = AKIAIMPORTEXAMPLE001\naws_secret_access_key = {FAKE_SECRET}\n"
        "[temp]\naws_access_key_id = ASIATEMPEXAMPLE00003\n"
        f"aws_secret_access_key = {OTHER_SECRET}\naws_session_token = token\n",
        "[default]\nregion = eu-west-1\n",
    )
    config = started(tmp_path)
    before = config.read_bytes()
    refused = cli("import", "aws", "-c", str(config))
    assert refused.exit_code == 1
    assert_error_line(refused, contains=("'default'", "already exists"))
    assert "--rename" in refused.stderr
    assert "skipped 'temp': temporary credentials" in refused.stderr
    assert config.read_bytes() == before

    done = cli("import", "aws", "--rename", "default=personal", "--json", "-c", str(config))
    assert done.exit_code == 0, done.stderr
    report = json.loads(done.stdout)
    assert [(e["name"], e["kind"]) for e in report["imported"]] == [("personal", "keys")]
    assert report["skipped"] == [
        {"name": "temp", "reason": "temporary credentials (aws_session_token): they expire"}
    ]
    shown = json.loads(cli("show", "personal", "--json", "-c", str(config)).stdout)
    assert shown["region"] == "eu-west-1" and shown["access_key_id"] == "AKIA…E001"
    assert FAKE_SECRET not in config.read_text() + done.stdout


def test_role_profiles_of_the_config_file(tmp_path: Path, clean_env: Path) -> None:
    write_aws(
        clean_env,
        f"[base]\naws_access_key_id = AKIAIMPORTEXAMPLE001\naws_secret_access_key = {FAKE_SECRET}\n",
        "[profile base]\nregion = eu-central-1\n"
        "[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/Admin\nsource_profile = base\n"
        "mfa_serial = arn:aws:iam::123456789012:mfa/me\nduration_seconds = 7200\n"
        "external_id = ext-1\nregion = us-east-2\n"
        "[profile orphan]\nrole_arn = arn:aws:iam::123456789012:role/X\nsource_profile = nowhere\n"
        "[profile ec2]\nrole_arn = arn:aws:iam::123456789012:role/Y\n"
        "credential_source = Ec2InstanceMetadata\n"
        "[profile sso]\nsso_session = corp\nsso_account_id = 123456789012\n",
    )
    config = started(tmp_path)
    done = cli("import", "aws", "--json", "-c", str(config))
    assert done.exit_code == 0, done.stderr
    report = json.loads(done.stdout)
    assert [(e["name"], e["kind"]) for e in report["imported"]] == [
        ("base", "keys"),
        ("admin", "role"),
    ]
    reasons = {s["name"]: s["reason"] for s in report["skipped"]}
    assert set(reasons) == {"orphan", "ec2", "sso"}
    assert "'nowhere' is not imported" in reasons["orphan"]
    assert "credential_source" in reasons["ec2"]
    assert "aws_profile: sso" in reasons["sso"]
    admin = json.loads(cli("show", "admin", "--json", "-c", str(config)).stdout)
    assert admin["kind"] == "role" and admin["source_profile"] == "base"
    assert admin["role_arn"] == "arn:aws:iam::123456789012:role/Admin"
    assert admin["session_duration"] == 7200 and admin["region"] == "us-east-2"
    assert admin["mfa_serial"] == "arn:aws:iam::123456789012:mfa/me"
    # The role's source follows a rename.
    write_aws(
        clean_env,
        f"[default]\naws_access_key_id = AKIAIMPORTEXAMPLE002\naws_secret_access_key = {OTHER_SECRET}\n",
        "[profile ops]\nrole_arn = arn:aws:iam::123456789012:role/Ops\nsource_profile = default\n",
    )
    renamed = cli("import", "aws", "--rename", "default=work", "--json", "-c", str(config))
    assert renamed.exit_code == 0, renamed.stderr
    ops = json.loads(cli("show", "ops", "--json", "-c", str(config)).stdout)
    assert ops["source_profile"] == "work"
    # A role names the file it comes from: the config file, not the credentials file.
    assert admin["description"] == f"imported from {clean_env / '.aws' / 'config'}"
    # Run again: the first reason a role is skipped is that its name is taken.
    again = cli("import", "aws", "--rename", "default=work", "-c", str(config))
    assert again.exit_code == 1
    assert "skipped 'ops': a profile 'ops' already exists" in again.stderr
    # ...and a role whose source is skipped says why the source was.
    again = cli(
        "import", "aws", "--rename", "default=work", "--rename", "ops=ops2", "-c", str(config)
    )
    assert again.exit_code == 1
    line = next(x for x in again.stderr.splitlines() if "skipped 'ops'" in x)
    assert "'default' is not imported" in line and "a profile 'work' already exists" in line


def test_hostile_values_cannot_add_yaml(tmp_path: Path, clean_env: Path) -> None:
    # configparser joins indented continuation lines with newlines.
    write_aws(
        clean_env,
        "[multi]\naws_access_key_id = AKIAIMPORTEXAMPLE001\n  injected: true\n"
        f"aws_secret_access_key = {FAKE_SECRET}\n"
        f'[quoted]\naws_access_key_id = AKIAIMPORTEXAMPLE002\naws_secret_access_key = {OTHER_SECRET}\nregion = "eu-west-1"\n'
        f"[good]\naws_access_key_id = AKIAIMPORTEXAMPLE003\naws_secret_access_key = {OTHER_SECRET}\n",
        "[profile evil]\nrole_arn = arn:aws:iam::123456789012:role/E\nsource_profile = good\n"
        "external_id = x\n  keyring_backend: keyring.backends.null.Keyring\n",
    )
    odd = tmp_path / 'cre"ds\nversion: 2'
    odd.write_text((clean_env / ".aws" / "credentials").read_text())
    config = started(tmp_path)
    done = cli("import", "aws", "--credentials", str(odd), "--json", "-c", str(config))
    assert done.exit_code == 0, done.stderr
    report = json.loads(done.stdout)
    assert [e["name"] for e in report["imported"]] == ["good"]
    reasons = {s["name"]: s["reason"] for s in report["skipped"]}
    assert set(reasons) == {"multi", "quoted", "evil"}
    data = yaml.safe_load(config.read_text())
    assert set(data) == {"version", "keyring_service", "defaults", "profiles"}
    assert data["version"] == 1
    assert data["profiles"]["good"]["description"] == f"imported from {odd}"
    assert "injected" not in json.dumps(data)


def test_bad_rename(tmp_path: Path, clean_env: Path) -> None:
    write_aws(
        clean_env,
        f"[a]\naws_access_key_id = AKIAIMPORTEXAMPLE001\naws_secret_access_key = {FAKE_SECRET}\n",
    )
    config = started(tmp_path)
    for bad in ("a", "a=", "a=bad name", "=b"):
        result = cli("import", "aws", "--rename", bad, "-c", str(config))
        assert result.exit_code == 2, (bad, result.output)
        assert_error_line(result, contains="--rename")
    missing = cli("import", "aws", "--rename", "zz=b", "-c", str(config))
    assert missing.exit_code == 2
    assert_error_line(missing, contains="zz")
