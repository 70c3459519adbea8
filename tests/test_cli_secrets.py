"""secret set/delete and import, through the command line, against real keyrings."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support.cli import all_bytes_under, assert_error_line, cli, sessman
from support.fakes import FAKE_SECRET, PASSPHRASE

OTHER_SECRET = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"

PROFILES = """\
# my accounts
version: 1
keyring_service: sessman-test
defaults:
  region: eu-west-1   # Ireland
profiles:
  dev:
    access_key_id: AKIAIOSFODNN7EXAMPLE
  Prod:
    access_key_id: AKIAI44QH8DHBEXAMPLE
  admin:
    source_profile: dev
    role_arn: arn:aws:iam::123456789012:role/Admin
# trailing comment
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "profiles.yaml"
    path.write_text(PROFILES)
    return path


def secret_column(config: Path) -> dict[str, str | None]:
    result = cli("list", "--json", "--config", str(config))
    assert result.exit_code == 0, result.stderr
    return {row["name"]: row["secret"] for row in json.loads(result.stdout)}


def test_set_list_replace_delete(config: Path, tmp_path: Path) -> None:
    assert secret_column(config) == {"dev": "missing", "Prod": "missing", "admin": None}

    result = cli(
        "secret", "set", "dev", "--stdin", "--config", str(config), input=FAKE_SECRET + "\n"
    )
    assert result.exit_code == 0, result.stderr
    assert secret_column(config) == {"dev": "stored", "Prod": "missing", "admin": None}

    again = cli(
        "secret", "set", "dev", "--stdin", "--config", str(config), input=OTHER_SECRET + "\n"
    )
    assert again.exit_code == 1
    assert_error_line(again, contains=("already stored", "dev"))
    assert "--force" in again.stderr

    forced = cli(
        "secret", "set", "dev", "--stdin", "--force", "--config", str(config), input=OTHER_SECRET
    )
    assert forced.exit_code == 0, forced.stderr
    from sessman import SessionManager

    assert SessionManager.load(config).store.get("dev") == OTHER_SECRET

    deleted = cli("secret", "delete", "dev", "--config", str(config))
    assert deleted.exit_code == 0
    assert secret_column(config)["dev"] == "missing"
    assert cli("secret", "delete", "dev", "--config", str(config)).exit_code == 0


def test_the_refused_replacement_keeps_the_old_secret(config: Path) -> None:
    cli("secret", "set", "dev", "--stdin", "--config", str(config), input=FAKE_SECRET)
    cli("secret", "set", "dev", "--stdin", "--config", str(config), input=OTHER_SECRET)
    from sessman import SessionManager

    assert SessionManager.load(config).store.get("dev") == FAKE_SECRET


def test_names_keep_their_case(config: Path) -> None:
    assert (
        cli("secret", "set", "Prod", "--stdin", "-c", str(config), input=FAKE_SECRET).exit_code == 0
    )
    assert secret_column(config) == {"dev": "missing", "Prod": "stored", "admin": None}


@pytest.mark.parametrize(
    ("args", "stdin", "code", "needle"),
    [
        (["secret", "set", "admin", "--stdin"], FAKE_SECRET, 2, "role"),
        (["secret", "set", "nope", "--stdin"], FAKE_SECRET, 2, "nope"),
        (["secret", "set", "dev", "--stdin"], "", 2, "no secret on standard input"),
        (["secret", "set", "dev", "--stdin"], "\n", 2, "empty"),
        (["secret", "set", "dev", "--stdin"], "not a secret!", 2, "does not look like"),
        (["secret", "delete", "nope"], None, 2, "nope"),
    ],
)
def test_bad_input_is_one_line_and_stores_nothing(
    config: Path, args: list[str], stdin: str | None, code: int, needle: str
) -> None:
    result = cli(*args, "--config", str(config), input=stdin)
    assert result.exit_code == code
    assert_error_line(result, contains=needle)
    assert secret_column(config)["dev"] == "missing"


def test_secret_never_leaves_the_keyring(config: Path, tmp_path: Path) -> None:
    outputs = []
    for args in (
        ["secret", "set", "dev", "--stdin"],
        ["secret", "set", "dev", "--stdin"],
        ["list"],
        ["list", "--json"],
        ["show", "dev"],
        ["show", "dev", "--json"],
        ["doctor", "--json"],
    ):
        result = cli(*args, "--config", str(config), input=FAKE_SECRET)
        outputs += [result.stdout, result.stderr]
    text = "\n".join(outputs)
    stored = all_bytes_under(tmp_path)
    for form in (FAKE_SECRET, base64.b64encode(FAKE_SECRET.encode()).decode()):
        assert form not in text
        assert form.encode() not in stored
    keyring_file = Path(os.environ["SESSMAN_KEYRING_FILE"])
    assert stat.S_IMODE(keyring_file.stat().st_mode) == 0o600


def test_wrong_passphrase_is_harmless(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert (
        cli("secret", "set", "dev", "--stdin", "-c", str(config), input=FAKE_SECRET).exit_code == 0
    )
    keyring_file = Path(os.environ["SESSMAN_KEYRING_FILE"])
    before = keyring_file.read_bytes()
    monkeypatch.setenv("SESSMAN_KEYRING_PASSPHRASE", "not the passphrase")
    result = cli("secret", "set", "Prod", "--stdin", "-c", str(config), input=OTHER_SECRET)
    assert result.exit_code == 1
    assert_error_line(result, contains="passphrase")
    assert keyring_file.read_bytes() == before
    monkeypatch.setenv("SESSMAN_KEYRING_PASSPHRASE", PASSPHRASE)
    from sessman import SessionManager

    assert SessionManager.load(config).store.get("dev") == FAKE_SECRET


def test_no_passphrase_and_no_terminal(config: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SESSMAN_KEYRING_PASSPHRASE"}
    done = sessman("secret", "set", "dev", "--stdin", "-c", str(config), input=FAKE_SECRET, env=env)
    assert done.returncode == 1
    assert_error_line(done, contains="SESSMAN_KEYRING_PASSPHRASE")
    assert FAKE_SECRET not in done.stdout + done.stderr


@pytest.mark.slow  # real processes: left out of make unit
def test_twelve_processes_storing_at_once_lose_nothing(tmp_path: Path) -> None:
    names = [f"acct{i:02d}" for i in range(12)]
    body = "".join(
        f"  {n}:\n    access_key_id: AKIAIOSFODNN7EXAMP{i:02d}\n" for i, n in enumerate(names)
    )
    config = tmp_path / "many.yaml"
    config.write_text("defaults: {region: us-east-1}\nprofiles:\n" + body)

    def store(i: int) -> subprocess.CompletedProcess[str]:
        secret = f"{FAKE_SECRET[:-2]}{i:02d}"
        return sessman("secret", "set", names[i], "--stdin", "-c", str(config), input=secret)

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(store, range(12)))
    assert [r.returncode for r in results] == [0] * 12, [r.stderr for r in results]
    from sessman import SessionManager

    store_ = SessionManager.load(config).store
    assert [store_.get(n) for n in names] == [f"{FAKE_SECRET[:-2]}{i:02d}" for i in range(12)]


# -- import ---------------------------------------------------------------


def test_import_aws_appends_profiles_and_keeps_comments(config: Path, tmp_path: Path) -> None:
    aws = tmp_path / "home" / ".aws"
    (aws / "credentials").write_text(
        "[default]\naws_access_key_id = AKIAIMPORTEXAMPLE001\n"
        f"aws_secret_access_key = {FAKE_SECRET}\n\n"
        "[work]\naws_access_key_id = AKIAIMPORTEXAMPLE002\n"
        f"aws_secret_access_key = {OTHER_SECRET}\n\n"
        "[temp]\naws_access_key_id = ASIATEMPEXAMPLE0003\naws_secret_access_key = x\n"
        "aws_session_token = y\n"
    )
    (aws / "config").write_text("[profile work]\nregion = ap-southeast-2\n")
    result = cli("import", "aws", "--config", str(config))
    assert result.exit_code == 0, result.stderr
    text = config.read_text()
    assert text.startswith(PROFILES.split("# trailing comment", maxsplit=1)[0])
    assert "# trailing comment" in text and "# my accounts" in text and "# Ireland" in text
    assert FAKE_SECRET not in text and OTHER_SECRET not in text + result.stdout + result.stderr
    assert "temp" not in text
    shown = json.loads(cli("show", "work", "--json", "-c", str(config)).stdout)
    assert shown["region"] == "ap-southeast-2"
    assert secret_column(config) == {
        "dev": "missing",
        "Prod": "missing",
        "admin": None,
        "default": "stored",
        "work": "stored",
    }

    before = config.read_bytes()
    again = cli("import", "aws", "--config", str(config))
    assert again.exit_code == 1
    assert_error_line(again, contains="already exists")
    assert config.read_bytes() == before


def test_import_aws_one_profile_and_unknown_profile(config: Path, tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.write_text(
        f"[a]\naws_access_key_id = AKIAIMPORTEXAMPLE001\naws_secret_access_key = {FAKE_SECRET}\n"
        f"[b]\naws_access_key_id = AKIAIMPORTEXAMPLE002\naws_secret_access_key = {OTHER_SECRET}\n"
    )
    unknown = cli(
        "import", "aws", "--credentials", str(creds), "--profile", "zz", "-c", str(config)
    )
    assert unknown.exit_code == 2
    assert_error_line(unknown, contains="zz")
    ok = cli("import", "aws", "--credentials", str(creds), "--profile", "b", "-c", str(config))
    assert ok.exit_code == 0, ok.stderr
    names = list(secret_column(config))
    assert "b" in names and "a" not in names


def test_import_dotenv_with_the_seed_article_names(config: Path, tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# from the article\nAWS_ACCESS_KEY=AKIADOTENVEXAMPLE01\n"
        f'AWS_SECRET_KEY="{FAKE_SECRET}"\nexport AWS_REGION=us-west-2\n'
    )
    result = cli("import", "dotenv", str(dotenv), "--profile", "fromenv", "-c", str(config))
    assert result.exit_code == 0, result.stderr
    shown = json.loads(cli("show", "fromenv", "--json", "-c", str(config)).stdout)
    assert shown["region"] == "us-west-2"
    assert shown["access_key_id"] == "AKIA…LE01"
    assert secret_column(config)["fromenv"] == "stored"
    from sessman import SessionManager

    assert SessionManager.load(config).store.get("fromenv") == FAKE_SECRET


@pytest.mark.parametrize(
    ("content", "profile", "code", "needle"),
    [
        ("AWS_ACCESS_KEY_ID=AKIADOTENVEXAMPLE01\n", "x", 2, "AWS_SECRET_ACCESS_KEY"),
        (f"AWS_SECRET_ACCESS_KEY={FAKE_SECRET}\n", "x", 2, "AWS_ACCESS_KEY_ID"),
        (
            f"AWS_ACCESS_KEY_ID=AKIADOTENVEXAMPLE01\nAWS_SECRET_ACCESS_KEY={FAKE_SECRET}\n",
            "dev",
            1,
            "already exists",
        ),
        (
            f"AWS_ACCESS_KEY_ID=AKIADOTENVEXAMPLE01\nAWS_SECRET_ACCESS_KEY={FAKE_SECRET}\n",
            "../x",
            2,
            "profile name",
        ),
    ],
)
def test_import_dotenv_refusals(
    config: Path, tmp_path: Path, content: str, profile: str, code: int, needle: str
) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(content)
    before = config.read_bytes()
    result = cli("import", "dotenv", str(dotenv), "--profile", profile, "-c", str(config))
    assert result.exit_code == code
    assert_error_line(result, contains=needle)
    assert FAKE_SECRET not in result.stdout + result.stderr
    assert config.read_bytes() == before


def test_import_of_a_missing_file(config: Path, tmp_path: Path) -> None:
    result = cli(
        "import", "dotenv", str(tmp_path / "nope.env"), "--profile", "x", "-c", str(config)
    )
    assert result.exit_code == 2
    assert_error_line(result, contains="does not exist")


# -- the freedesktop Secret Service -----------------------------------------


@pytest.mark.secretservice
def test_cli_on_a_real_secret_service(secret_service: object, tmp_path: Path) -> None:
    config = tmp_path / "ss.yaml"
    config.write_text(
        PROFILES.replace(
            "keyring_service: sessman-test",
            f"keyring_service: sessman-ss-{tmp_path.name}\n"
            "keyring_backend: keyring.backends.SecretService.Keyring",
        )
    )
    result = cli("secret", "set", "Prod", "--stdin", "-c", str(config), input=FAKE_SECRET)
    assert result.exit_code == 0, result.stderr
    assert "SecretService" in result.stdout
    assert secret_column(config) == {"dev": "missing", "Prod": "stored", "admin": None}
    assert cli("secret", "delete", "Prod", "-c", str(config)).exit_code == 0
    assert secret_column(config)["Prod"] == "missing"


@pytest.mark.secretservice
def test_listing_asks_the_secret_service_once(secret_service: object) -> None:
    from keyring.backends.SecretService import Keyring

    from sessman.secretstore import KeyringStore

    class Counting(Keyring):
        priority = -1
        gets = 0

        def get_password(self, service: str, username: str) -> str | None:
            type(self).gets += 1
            value: str | None = super().get_password(service, username)  # type: ignore[no-untyped-call]
            return value

    store = KeyringStore("sessman-count", Counting())  # type: ignore[no-untyped-call]
    names = [f"p{i}" for i in range(20)]
    for name in names[:5]:
        store.put(name, FAKE_SECRET)
    fresh = KeyringStore("sessman-count", Counting())  # type: ignore[no-untyped-call]
    assert fresh.present(names) == set(names[:5])
    assert Counting.gets == 0


def test_absent_secret_service_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "ss.yaml"
    config.write_text(
        PROFILES.replace(
            "keyring_service: sessman-test",
            "keyring_service: x\nkeyring_backend: keyring.backends.SecretService.Keyring",
        )
    )
    env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path}/no-bus"}
    done = sessman("secret", "set", "dev", "--stdin", "-c", str(config), input=FAKE_SECRET, env=env)
    assert done.returncode == 1
    assert_error_line(done, contains="SecretService")
    assert FAKE_SECRET not in done.stdout + done.stderr


def test_a_keyring_backend_that_does_not_exist(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(
        PROFILES.replace("keyring_service: sessman-test", "keyring_backend: no.such.Backend")
    )
    result = cli("secret", "set", "dev", "--stdin", "-c", str(config), input=FAKE_SECRET)
    assert result.exit_code == 2
    assert_error_line(result, contains="no.such.Backend")
