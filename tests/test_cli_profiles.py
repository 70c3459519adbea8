"""The profile commands through argv: init, list, show, --version, --help, and every
bad profiles file ending in one ``sessman: error:`` line and exit 2.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from support.bad_files import BAD_FILES, Bad
from support.cli import assert_error_line, cli, hint_line, sessman
from support.fakes import FAKE_SECRET
from support.profiles import EXAMPLE, KEY_ID, keys_profile, y

from sessman import __version__

LIST_KEYS = {"name", "kind", "region", "tags", "description", "secret", "session"}
SHOW_KEYS = {
    "name",
    "kind",
    "region",
    "endpoint_url",
    "access_key_id",
    "source_profile",
    "role_arn",
    "aws_profile",
    "connect_timeout",
    "read_timeout",
    "retries",
    "max_pool_connections",
    "session_duration",
    "tags",
    "description",
}


@pytest.fixture
def example(tmp_path: Path) -> Path:
    path = tmp_path / "example.yaml"
    path.write_bytes(EXAMPLE.read_bytes())
    return path


# -- bad profiles files ------------------------------------------------------------


@pytest.mark.parametrize("placement", ["before", "after"])
@pytest.mark.parametrize("bad", BAD_FILES, ids=lambda b: b.id)
def test_bad_file_is_one_error_line_and_exit_2(
    bad: Bad, placement: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in bad.env.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "profiles.yaml"
    path.write_bytes(bad.text if isinstance(bad.text, bytes) else bad.text.encode())
    before = path.read_bytes()
    args = ["--config", str(path), "list"] if placement == "before" else ["list", "-c", str(path)]
    result = cli(*args)
    line = assert_error_line(result, 2, stdout="", notes=False)
    where = f"{path}:{bad.line}: " if bad.line is not None else f"{path}: "
    assert line.startswith(f"sessman: error: {where}"), line
    if bad.profile is not None:
        assert f"profile {bad.profile!r}" in line
    if bad.key is not None:
        assert f"key {bad.key!r}" in line
    assert bad.message in line
    if bad.hint is not None:
        assert bad.hint in hint_line(result)
    assert FAKE_SECRET not in result.output
    assert path.read_bytes() == before


@pytest.mark.parametrize("command", [["show", "a"], ["doctor"], ["open", "a"], ["whoami", "a"]])
def test_other_commands_report_a_bad_file_the_same_way(command: list[str], tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(y("profiles:", "  a:", f"    access_key_id: {KEY_ID}", "    regoin: x"))
    result = cli("--config", str(path), *command)
    if command == ["doctor"]:  # doctor reports the error, and exits 2 like every command
        assert result.exit_code == 2
        assert f"{path}:4: profile 'a', key 'regoin': unknown key" in result.stdout
        return
    line = assert_error_line(result, 2, stdout="", notes=False)
    assert f"{path}:4: profile 'a', key 'regoin'" in line
    assert hint_line(result) == "hint: did you mean 'region'?"


def test_sessman_config_variable_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "env.yaml"
    path.write_text(y("profiles:", "  a:", "    region: us-east-1"))
    monkeypatch.setenv("SESSMAN_CONFIG", str(path))
    line = assert_error_line(cli("list"), 2, stdout="", notes=False)
    assert f"{path}:2: profile 'a': has no credential source" in line


def test_missing_file_given_names_it_and_suggests_init(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    result = cli("list", "--config", str(path))
    assert str(path) in assert_error_line(result, 2, stdout="", notes=False)
    assert "sessman init" in hint_line(result)
    assert not path.exists()


def test_missing_file_discovered_names_the_paths_tried(clean_env: Path) -> None:
    result = cli("list")
    line = assert_error_line(result, 2, stdout="", notes=False)
    assert "profiles.yaml" in line
    assert str(clean_env / ".config" / "sessman" / "profiles.yaml") in line
    assert "sessman init" in hint_line(result)


@pytest.mark.parametrize("placement", ["before", "after"])
def test_directory_instead_of_a_file(placement: str, tmp_path: Path) -> None:
    folder = tmp_path / "profiles.d"
    folder.mkdir()
    args = (
        ["--config", str(folder), "list"] if placement == "before" else ["list", "-c", str(folder)]
    )
    assert str(folder) in assert_error_line(cli(*args), 2, stdout="", notes=False)
    assert list(folder.iterdir()) == []


def test_unknown_option_is_a_usage_error() -> None:
    result = cli("list", "--bogus")
    assert "--bogus" in assert_error_line(result, 2, stdout="", notes=False)
    assert "sessman list --help" in hint_line(result)


@pytest.mark.parametrize(
    "bad",
    [b for b in BAD_FILES if b.id in ("unknown-profile-key", "secret-access-key-in-profile")],
    ids=lambda b: b.id,
)
def test_bad_file_in_a_real_process(bad: Bad, tmp_path: Path) -> None:
    path = tmp_path / "profiles.yaml"
    path.write_text(str(bad.text))
    before = path.read_bytes()
    proc = sessman("--config", str(path), "list")
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"sessman: error: {path}:{bad.line}: profile 'a'")
    assert lines[1].startswith("hint: ")
    assert bad.hint is not None
    assert bad.hint in lines[1]
    assert FAKE_SECRET not in proc.stderr
    assert "Traceback" not in proc.stderr
    assert path.read_bytes() == before


def test_missing_file_in_a_real_process(tmp_path: Path) -> None:
    proc = sessman("list")
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("sessman: error: no profiles file found (tried ")
    assert "sessman init" in lines[1]


# -- init --------------------------------------------------------------------------


def test_init_writes_a_private_commented_file_that_loads(tmp_path: Path) -> None:
    path = tmp_path / "new" / "profiles.yaml"
    result = cli("init", str(path))
    assert result.exit_code == 0, result.stderr
    assert str(path) in result.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert text.count("\n#") + text.count("  #") >= 5  # commented
    listed = cli("--config", str(path), "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["kind"], r["secret"]) for r in rows] == [("default", "keys", "missing")]
    table = cli("list", "--config", str(path))
    assert table.exit_code == 0, table.stderr
    assert "default" in table.stdout


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "profiles.yaml"
    assert cli("init", str(path)).exit_code == 0
    mine = y("# my own file", "profiles:", *keys_profile("mine"))
    path.write_text(mine)
    result = cli("init", str(path))
    line = assert_error_line(result, 1, stdout="", notes=False)
    assert str(path) in line
    assert "already exists" in line
    assert "--force" in hint_line(result)
    assert path.read_text() == mine
    assert [p.name for p in path.parent.iterdir()] == ["profiles.yaml"]  # no temp file left
    forced = cli("init", str(path), "--force")
    assert forced.exit_code == 0, forced.stderr
    assert path.read_text() != mine
    assert "default:" in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("placement", ["before", "after"])
def test_init_with_config_option(placement: str, tmp_path: Path) -> None:
    path = tmp_path / "via-option.yaml"
    args = ["--config", str(path), "init"] if placement == "before" else ["init", "-c", str(path)]
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    assert path.is_file()
    assert cli("--config", str(path), "show", "default").exit_code == 0


def test_init_without_path_writes_the_discovered_location(clean_env: Path) -> None:
    result = cli("init")
    assert result.exit_code == 0, result.stderr
    target = clean_env / ".config" / "sessman" / "profiles.yaml"
    assert target.is_file()
    assert not Path("profiles.yaml").exists()
    listed = cli("list", "--json")  # found without --config
    assert listed.exit_code == 0, listed.stderr
    assert [r["name"] for r in json.loads(listed.stdout)] == ["default"]


# -- list --------------------------------------------------------------------------


def test_list_json_shape(example: Path) -> None:
    result = cli("--config", str(example), "list", "--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows] == ["dev", "prod-admin", "sso", "local"]
    for row in rows:
        assert set(row) >= LIST_KEYS
        assert set(row["session"]) >= {"state", "expires"}
        assert row["session"] == {"state": "closed", "expires": None}
    by_name = {r["name"]: r for r in rows}
    assert {n: r["kind"] for n, r in by_name.items()} == {
        "dev": "keys",
        "prod-admin": "role",
        "sso": "aws-profile",
        "local": "keys",
    }
    assert {n: r["secret"] for n, r in by_name.items()} == {
        "dev": "missing",
        "prod-admin": None,
        "sso": None,
        "local": "missing",
    }
    assert by_name["prod-admin"]["region"] == "us-east-1"
    assert by_name["dev"]["region"] == "eu-central-1"
    assert by_name["dev"]["tags"] == ["sandbox"]
    assert by_name["dev"]["description"] == "Developer sandbox"
    assert by_name["sso"]["description"] is None


def test_list_shows_a_stored_secret_without_showing_it(example: Path) -> None:
    stored = cli("--config", str(example), "secret", "set", "dev", "--stdin", input=FAKE_SECRET)
    assert stored.exit_code == 0, stored.stderr
    result = cli("list", "--config", str(example), "--json")
    assert result.exit_code == 0, result.stderr
    secrets = {r["name"]: r["secret"] for r in json.loads(result.stdout)}
    assert secrets == {"dev": "stored", "prod-admin": None, "sso": None, "local": "missing"}
    table = cli("list", "--config", str(example))
    assert table.exit_code == 0, table.stderr
    dev_line = next(line for line in table.stdout.splitlines() if line.strip().startswith("dev "))
    assert "stored" in dev_line
    for out in (result.output, table.output):
        assert FAKE_SECRET not in out
    assert FAKE_SECRET.encode() not in example.read_bytes()


def test_list_table(example: Path) -> None:
    result = cli("list", "--config", str(example))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    header = next(line for line in lines if "NAME" in line)
    for column in ("KIND", "REGION", "SECRET", "SESSION", "TAGS", "DESCRIPTION"):
        assert column in header
    sso = next(line for line in lines if line.strip().startswith("sso "))
    assert "aws-profile" in sso
    assert "n/a" in sso
    assert "closed" in sso
    assert "Developer sandbox" in result.stdout


@pytest.mark.parametrize(("tag", "names"), [("prod", ["prod-admin"]), ("sandbox", ["dev"])])
def test_list_by_tag(tag: str, names: list[str], example: Path) -> None:
    result = cli("--config", str(example), "list", "--tag", tag, "--json")
    assert result.exit_code == 0, result.stderr
    assert [r["name"] for r in json.loads(result.stdout)] == names


# -- show --------------------------------------------------------------------------


def test_show_json_shape_and_masking(example: Path) -> None:
    result = cli("--config", str(example), "show", "dev", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= SHOW_KEYS
    assert data["access_key_id"] == "AKIA…MPLE"
    assert KEY_ID not in result.stdout
    assert data["retries"] == {"mode": "standard", "max_attempts": 5}
    assert (data["region"], data["connect_timeout"], data["read_timeout"]) == (
        "eu-central-1",
        15,
        15,
    )
    assert data["max_pool_connections"] == 10
    assert data["session_duration"] == 3600
    assert (data["kind"], data["tags"], data["description"]) == (
        "keys",
        ["sandbox"],
        "Developer sandbox",
    )
    assert data["role_arn"] is None
    assert data["source_profile"] is None
    assert data["aws_profile"] is None
    assert data["endpoint_url"] is None


def test_show_role_profile_with_defaults_merged(example: Path) -> None:
    result = cli("show", "prod-admin", "--json", "--config", str(example))
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["kind"] == "role"
    assert data["access_key_id"] is None
    assert data["source_profile"] == "dev"
    assert data["role_arn"] == "arn:aws:iam::123456789012:role/Admin"
    assert (data["region"], data["read_timeout"], data["connect_timeout"]) == ("us-east-1", 30, 15)


def test_show_text_masks_the_key_id(example: Path) -> None:
    stored = cli("--config", str(example), "secret", "set", "local", "--stdin", input=FAKE_SECRET)
    assert stored.exit_code == 0, stored.stderr
    result = cli("--config", str(example), "show", "local")
    assert result.exit_code == 0, result.stderr
    assert "AKIA…MPLE" in result.stdout
    assert "AKIALOCALEXAMPLE" not in result.stdout
    assert "http://127.0.0.1:5000" in result.stdout
    assert FAKE_SECRET not in result.output


def test_show_unknown_profile_suggests_a_name(example: Path) -> None:
    result = cli("--config", str(example), "show", "dve")
    line = assert_error_line(result, 2, stdout="", notes=False)
    assert "'dve'" in line
    assert hint_line(result) == "hint: did you mean 'dev'?"


def test_show_unknown_profile_without_near_miss(example: Path) -> None:
    line = assert_error_line(
        cli("--config", str(example), "show", "zzzzzz"), 2, stdout="", notes=False
    )
    assert "'zzzzzz'" in line


# -- version and help --------------------------------------------------------------


def test_version() -> None:
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout == f"sessman {__version__}\n"
    assert result.stderr == ""


def test_help_lists_the_commands() -> None:
    result = cli("--help")
    assert result.exit_code == 0
    assert result.stderr == ""
    for command in ("init", "list", "show", "schema", "doctor", "--config", "--version"):
        assert command in result.stdout


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("list", ["--tag", "--json", "--config"]),
        ("show", ["--json", "--config"]),
        ("init", ["--force", "--config"]),
    ],
)
def test_command_help(command: str, options: list[str]) -> None:
    result = cli(command, "--help")
    assert result.exit_code == 0
    for option in options:
        assert option in result.stdout


def test_help_in_a_real_process() -> None:
    proc = sessman("--help")
    assert proc.returncode == 0
    assert "list" in proc.stdout
    assert proc.stderr == ""
    version = sessman("--version")
    assert version.stdout == f"sessman {__version__}\n"
