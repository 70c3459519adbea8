"""The profiles file loader: every rule, good files, and fuzzing.

``BAD_FILES`` and ``GOOD_FILES`` (tests/support/) are the shared corpus: the
command-line tests (test_cli_profiles.py) and the JSON Schema tests
(test_schema.py) use them too.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.bad_files import BAD_FILES, Bad
from support.cli import python
from support.fakes import FAKE_SECRET
from support.fuzz import FUZZ, FUZZ_ENV, base_document, documents, dump, mutate, mutations
from support.profiles import EXAMPLE, GOOD_FILES, KEY_ID, Good, keys_profile, y

from sessman.config import Config, Profile, Retries, load_config, parse_config
from sessman.errors import ConfigError, ProfileNotFound, SessmanError
from sessman.manager import SessionManager


def _write(tmp_path: Path, text: str | bytes, name: str = "profiles.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


# -- bad files ----------------------------------------------------------------


def test_the_corpus_is_big_and_distinct() -> None:
    assert len(BAD_FILES) >= 25
    assert len({b.id for b in BAD_FILES}) == len(BAD_FILES)
    assert len({b.text for b in BAD_FILES}) == len(BAD_FILES)


@pytest.mark.parametrize("bad", BAD_FILES, ids=lambda b: b.id)
def test_bad_file_is_a_config_error_naming_file_line_profile_key(
    bad: Bad, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in bad.env.items():
        monkeypatch.setenv(name, value)
    path = _write(tmp_path, bad.text)
    before = path.read_bytes()
    with pytest.raises(ConfigError) as info:
        load_config(path)
    exc = info.value
    assert (exc.path, exc.line, exc.profile, exc.key) == (str(path), bad.line, bad.profile, bad.key)
    assert exc.exit_code == 2
    where = f"{path}:{bad.line}: " if bad.line is not None else f"{path}: "
    assert str(exc).startswith(where), str(exc)
    if bad.profile is not None:
        assert f"profile {bad.profile!r}" in str(exc)
    if bad.key is not None:
        assert f"key {bad.key!r}" in str(exc)
    assert bad.message in str(exc)
    if bad.hint is not None:
        assert exc.hint is not None
        assert bad.hint in exc.hint
    for shown in (str(exc), repr(exc), exc.hint or ""):
        assert FAKE_SECRET not in shown
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "bad",
    [b for b in BAD_FILES if b.id in ("unknown-profile-key", "source-cycle", "no-profiles")],
    ids=lambda b: b.id,
)
def test_session_manager_load_refuses_bad_files_too(bad: Bad, tmp_path: Path) -> None:
    path = _write(tmp_path, bad.text)
    with pytest.raises(ConfigError) as info:
        SessionManager.load(path)
    assert info.value.line == bad.line


def test_the_secret_really_is_in_the_files_whose_errors_must_not_show_it() -> None:
    # Guards the "never echoed" assertions above against a corpus that lost its secrets.
    carrying = [b for b in BAD_FILES if FAKE_SECRET in str(b.text) or FAKE_SECRET in b.env.values()]
    assert len(carrying) >= 7


def test_missing_file_given_explicitly(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.path == str(path)
    assert "not found" in str(info.value)
    assert info.value.hint is not None
    assert "sessman init" in info.value.hint
    assert not path.exists()


def test_missing_file_discovered_names_every_path_tried(clean_env: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config()
    message = str(info.value)
    assert "profiles.yaml" in message
    assert str(clean_env / ".config" / "sessman" / "profiles.yaml") in message
    assert info.value.hint is not None
    assert "sessman init" in info.value.hint


def test_directory_instead_of_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "profiles.yaml"
    folder.mkdir()
    with pytest.raises(ConfigError) as info:
        load_config(folder)
    assert info.value.path == str(folder)
    assert "directory" in str(info.value)


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    # libyaml's composer recursion overflows the C stack (a segfault) past ~20,000
    # levels; in a child process, so that a regression fails this test only.
    code = (
        "import sys; from pathlib import Path\n"
        "from sessman.config import parse_config\n"
        "from sessman.errors import ConfigError\n"
        "for text in ('[' * 100_000, 'profiles: ' + '[' * 40_000 + ']' * 40_000):\n"
        "    try:\n"
        "        parse_config(text, Path('deep.yaml'))\n"
        "    except ConfigError as exc:\n"
        "        print(exc.path, exc.line)\n"
    )
    proc = python(code)
    assert proc.returncode == 0, proc.stderr
    # Which layer stops it (libyaml's own limit or sessman's) and its wording vary
    # between PyYAML releases; the behaviour does not: a ConfigError naming the line.
    assert proc.stdout.splitlines() == ["deep.yaml 1"] * 2


def test_deeply_nested_merge_keys_are_an_error_not_a_crash() -> None:
    depth = 3000
    text = y("profiles:", "  a: " + "{<<: " * depth + "{region: us-east-1}" + "}" * depth)
    with pytest.raises(ConfigError) as info:
        parse_config(text, Path("merge.yaml"))
    assert (info.value.path, info.value.line) == ("merge.yaml", 2)


def test_patterns_match_the_whole_value() -> None:
    # "$" in a Python regex also matches before a final newline.
    text = y("profiles:", "  a:", f"    access_key_id: {KEY_ID}", '    region: "us-east-1\\n"')
    with pytest.raises(ConfigError, match="not a valid region"):
        parse_config(text, Path("nl.yaml"))
    text = y("profiles:", *keys_profile("a", '    tags: ["x\\n"]'))
    with pytest.raises(ConfigError, match="invalid tag"):
        parse_config(text, Path("nl.yaml"))


def test_parse_config_takes_the_environment_explicitly(monkeypatch: pytest.MonkeyPatch) -> None:
    text = y("profiles:", "  a:", f"    access_key_id: {KEY_ID}", "    region: ${R}")
    monkeypatch.setenv("R", "eu-north-1")
    assert parse_config(text, Path("x"), env={"R": "sa-east-1"}).profile("a").region == "sa-east-1"
    with pytest.raises(ConfigError, match=r"\$\{R\} is not set"):
        parse_config(text, Path("x"), env={})
    assert parse_config(text, Path("x")).profile("a").region == "eu-north-1"


# -- good files -----------------------------------------------------------------


@pytest.mark.parametrize("good", GOOD_FILES, ids=lambda g: g.id)
def test_good_file_loads(good: Good, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in good.env.items():
        monkeypatch.setenv(name, value)
    path = _write(tmp_path, good.text)
    cfg = load_config(path)
    assert isinstance(cfg, Config)
    assert cfg.path == path
    assert cfg.profiles
    good.check(cfg)


def test_example_file_has_four_profiles_of_each_kind() -> None:
    cfg = load_config(EXAMPLE)
    assert {n: p.kind for n, p in cfg.profiles.items()} == {
        "dev": "keys",
        "prod-admin": "role",
        "sso": "aws-profile",
        "local": "keys",
    }
    admin = cfg.profile("prod-admin")
    assert (admin.region, admin.read_timeout, admin.connect_timeout) == ("us-east-1", 30, 15)
    assert admin.retries == Retries("standard", 5)
    assert cfg.profile("dev").region == "eu-central-1"
    assert cfg.profile("local").endpoint_url == "http://127.0.0.1:5000"
    assert cfg.names(tag="prod") == ["prod-admin"]


def test_utf8_bom_and_crlf_are_accepted(tmp_path: Path) -> None:
    text = y("profiles:", *keys_profile("a", "    description: café")).replace("\n", "\r\n")
    path = _write(tmp_path, "\ufeff".encode() + text.encode("utf-8"))
    assert load_config(path).profile("a").description == "café"


def test_profiles_are_frozen_and_lookups_fail_clearly(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, y("profiles:", *keys_profile("dev"))))
    profile = cfg.profile("dev")
    assert isinstance(profile, Profile)
    with pytest.raises(dataclasses.FrozenInstanceError):
        profile.region = "eu-west-1"  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.profiles["x"] = profile  # type: ignore[index]
    with pytest.raises(ProfileNotFound) as info:
        cfg.profile("dve")
    assert isinstance(info.value, SessmanError)
    assert info.value.exit_code == 2
    assert info.value.hint == "did you mean 'dev'?"


def test_discovery_order(clean_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = clean_env / ".config" / "sessman" / "profiles.yaml"
    user.parent.mkdir(parents=True)
    user.write_text(y("profiles:", *keys_profile("user")))
    assert load_config().names() == ["user"]
    (tmp_path / "profiles.yaml").write_text(y("profiles:", *keys_profile("local")))
    assert load_config().names() == ["user"]  # never ./profiles.yaml of the cwd
    env_file = _write(tmp_path, y("profiles:", *keys_profile("env")), "elsewhere.yaml")
    monkeypatch.setenv("SESSMAN_CONFIG", str(env_file))
    assert load_config().names() == ["env"]
    assert SessionManager.load().names() == ["env"]


def test_loading_does_not_modify_or_create_files(tmp_path: Path) -> None:
    path = _write(tmp_path, EXAMPLE.read_text(encoding="utf-8"))
    before = sorted(p.name for p in tmp_path.rglob("*"))
    load_config(path)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert path.read_text(encoding="utf-8") == EXAMPLE.read_text(encoding="utf-8")


# -- fuzzing ---------------------------------------------------------------------


def assert_loader_total(text: str | bytes) -> Config | None:
    """The loader returns a Config or raises ConfigError; nothing else."""
    try:
        cfg = parse_config(text, Path("fuzz.yaml"), env=FUZZ_ENV)
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.yaml")
        assert exc.exit_code == 2
        return None
    assert isinstance(cfg, Config)
    assert cfg.profiles
    for profile in cfg.profiles.values():
        assert profile.kind in ("keys", "role", "aws-profile")
        assert 1 <= profile.retries.max_attempts <= 20
    return cfg


@FUZZ
@given(st.binary(max_size=400))
def test_fuzz_random_bytes(data: bytes) -> None:
    assert_loader_total(data)


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("ab:- \n\t[]{},&*!<>|'\"#%@`?$")), max_size=80))
def test_fuzz_random_yaml_characters(text: str) -> None:
    assert_loader_total(text)


@FUZZ
@given(documents)
def test_fuzz_random_documents(doc: Any) -> None:
    assert_loader_total(dump(doc))
    assert_loader_total(dump({"profiles": doc}))


@FUZZ
@given(mutations)
def test_fuzz_mutated_valid_document(steps: list[tuple[str, int, str, Any]]) -> None:
    assert assert_loader_total(dump(base_document())) is not None
    assert_loader_total(dump(mutate(base_document(), steps)))


def test_mutations_do_change_the_document() -> None:
    doc = mutate(base_document(), [("rename", 5, "regoin", None)])
    assert doc != base_document()
    with pytest.raises(ConfigError):
        parse_config(dump(mutate(base_document(), [("drop", 1, "", None)] * 2)), Path("m"))


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("SESSMAN_KEYRING_PASSPHRASE", "endpoint_url"),
        ("AWS_SECRET_ACCESS_KEY", "description"),
        ("AWS_SESSION_TOKEN", "region"),
        ("GITHUB_TOKEN", "description"),
        ("db_password", "description"),
    ],
)
def test_a_variable_that_holds_a_secret_is_never_expanded(name: str, key: str) -> None:
    """A shared profiles file cannot copy a secret of the environment into a value."""
    reference = "${" + name + "}"
    value = f"https://collect.example/{reference}" if key == "endpoint_url" else reference
    text = y("profiles:", "  a:", f"    access_key_id: {KEY_ID}", f'    {key}: "{value}"')
    with pytest.raises(ConfigError) as caught:
        parse_config(text, Path("x.yaml"), env={name: FAKE_SECRET})
    assert f"${{{name}}} names a variable that holds a secret" in str(caught.value)
    assert FAKE_SECRET not in str(caught.value) + str(caught.value.hint)


@pytest.mark.parametrize("key", ["region", "endpoint_url", "connect_timeout", "mfa_serial"])
def test_a_secret_pasted_into_a_plain_key_is_not_quoted_back(key: str) -> None:
    region = [] if key == "region" else ["    region: eu-west-1"]
    text = y(
        "profiles:", "  a:", f"    access_key_id: {KEY_ID}", *region, f'    {key}: "{FAKE_SECRET}"'
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(text, Path("x.yaml"), env={})
    assert f"key '{key}'" in str(caught.value)
    assert FAKE_SECRET not in str(caught.value) + str(caught.value.hint)


def test_a_plain_value_is_still_quoted_in_its_error() -> None:
    text = y("profiles:", "  a:", f"    access_key_id: {KEY_ID}", '    region: "Europe"')
    with pytest.raises(ConfigError, match="'Europe'"):
        parse_config(text, Path("x.yaml"), env={})
