"""No command leaks a secret: every command, every path, every place a secret could go.

Every command runs, on its success and its error paths, as a table and as
``--json``, once plainly and once with ``SESSMAN_DEBUG=1`` (tracebacks on),
against a real ``moto_server``, a signature-checking ``moto_auth_server``, a
silent socket and a closed port, with the recognisable long-term secret
``FAKE_SECRET`` stored through ``secret set`` and both ``import`` commands.
Then stdout, stderr, exception text (with its causes), every log record
(captured at DEBUG), every file under the test's directory (profiles files,
state directory, HOME, the keyring file) are searched for the long-term
secret and the keyring passphrase, raw, URL-encoded and in base64 at every
alignment: zero hits. The temporary credentials of every session that was
open at some point (read back from the keyring after each command) may be in
the output of ``env``, ``credential-process`` and ``exec``'s child only.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support.cli import all_bytes_under, assert_error_line, cli, sessman
from support.fakes import FAKE_SECRET, PASSPHRASE
from support.infra import MotoAuthServer, MotoServer, refused_url
from support.leaks import hits

from sessman.filekeyring import EncryptedFileKeyring

SERVICE = "leaks"
NEVER = (FAKE_SECRET, PASSPHRASE)


PROFILES = """\
version: 1
keyring_service: {service}
defaults:
  region: eu-west-1
  endpoint_url: {moto}
  connect_timeout: 1
  read_timeout: 5
  retries: {{mode: standard, max_attempts: 1}}
profiles:
  dev:
    description: keys on moto
    access_key_id: AKIALEAKSEXAMPLE0001
    tags: [fleet]
  ops:
    source_profile: dev
    role_arn: arn:aws:iam::123456789012:role/Leaks
    role_session_name: leaker
    tags: [fleet]
  rejected:
    access_key_id: {auth_key}
    endpoint_url: {auth_url}
    tags: [fleet]
  nosecret:
    access_key_id: AKIALEAKSEXAMPLE0002
  slow:
    access_key_id: AKIALEAKSEXAMPLE0003
    endpoint_url: {hanging}
    read_timeout: 1
    tags: [fleet]
  refused:
    access_key_id: AKIALEAKSEXAMPLE0004
    endpoint_url: {refused}
"""


@dataclass
class Run:
    """What one command showed: its streams and the exception it raised, if any."""

    label: str
    code: int
    stdout: str
    stderr: str
    handover: bool
    exception: str = ""


@dataclass
class World:
    """A profiles file with every kind of profile, and what each command showed."""

    root: Path
    config: Path
    inputs: Path
    debug: bool
    runs: list[Run] = field(default_factory=list)
    temporary: set[str] = field(default_factory=set)
    files: list[bytes] = field(default_factory=list)

    def snapshot(self) -> None:
        """Keep every file the commands wrote (not the user's inputs), to search later."""
        self.files.append(all_bytes_under(*(p for p in self.root.iterdir() if p != self.inputs)))

    def remember_sessions(self) -> None:
        """Add the temporary credentials now in the keyring to the ones to look for."""
        ring = EncryptedFileKeyring(Path(self.root / "keyring.enc"), passphrase=PASSPHRASE)
        for user in ring.usernames(SERVICE):
            if user.endswith(":session"):
                data = json.loads(ring.get_password(SERVICE, user) or "{}")
                self.temporary |= {data["SecretAccessKey"], data["SessionToken"]}

    def check(self, label: str, code: int, expected: int, stderr: str) -> None:
        if self.debug and expected != 0:
            assert code != 0, f"{label}: exit {code}"
            return
        assert code == expected, f"{label}: exit {code}, expected {expected}: {stderr}"
        if expected != 0 and not label.startswith(("check", "doctor")):
            assert_error_line(stderr)  # check and doctor report in their table instead

    def cli(
        self,
        *args: str,
        expected: int = 0,
        stdin: str | None = None,
        handover: bool = False,
        config: Path | None = None,
    ) -> Run:
        label = " ".join(args)
        result = cli(*args, "--config", str(config or self.config), input=stdin)
        error = result.exception
        text = ""
        if error is not None and not isinstance(error, SystemExit):
            assert self.debug, f"{label}: {error!r} escaped without SESSMAN_DEBUG"
            text = "".join(traceback.format_exception(error)) + repr(error)
        self.check(label, result.exit_code, expected, result.stderr)
        run = Run(label, result.exit_code, result.stdout, result.stderr, handover, text)
        self.runs.append(run)
        self.remember_sessions()
        return run

    def process(self, *args: str, expected: int = 0, handover: bool = False) -> Run:
        label = "process: " + " ".join(args)
        done = sessman(*args, "--config", str(self.config), timeout=60)
        self.check(label, done.returncode, expected, done.stderr)
        run = Run(label, done.returncode, done.stdout, done.stderr, handover)
        self.runs.append(run)
        self.remember_sessions()
        return run


@pytest.fixture
def world(
    tmp_path: Path,
    moto_server: MotoServer,
    moto_auth_server: MotoAuthServer,
    hanging_endpoint: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:
    debug = bool(request.param)
    if debug:
        monkeypatch.setenv("SESSMAN_DEBUG", "1")
    inputs = tmp_path / "inputs"  # what the user hands in: holds the secret on purpose
    inputs.mkdir()
    (inputs / "credentials").write_text(
        f"[imported]\naws_access_key_id = AKIALEAKSIMPORT00001\naws_secret_access_key = {FAKE_SECRET}\n"
    )
    (inputs / "dotenv").write_text(
        f"AWS_ACCESS_KEY_ID=AKIALEAKSDOTENV00001\nAWS_SECRET_ACCESS_KEY='{FAKE_SECRET}'\n"
    )
    (inputs / "dotenv-no-id").write_text(f"AWS_SECRET_ACCESS_KEY={FAKE_SECRET}\n")
    (inputs / "secret-in-file.yaml").write_text(
        "version: 1\ndefaults: {region: eu-west-1}\nprofiles:\n  dev:\n"
        f"    access_key_id: AKIALEAKSEXAMPLE0001\n    aws_secret_access_key: {FAKE_SECRET}\n"
    )
    (inputs / "secret-as-key-id.yaml").write_text(
        "version: 1\ndefaults: {region: eu-west-1}\nprofiles:\n"
        f"  dev:\n    access_key_id: {FAKE_SECRET}\n"
    )
    (inputs / "unterminated.yaml").write_text(
        "version: 1\ndefaults: {region: eu-west-1}\nprofiles:\n"
        f'  dev:\n    access_key_id: AKIALEAKSEXAMPLE0001\n    description: "{FAKE_SECRET}\n'
    )
    config = tmp_path / "profiles.yaml"
    config.write_text(
        PROFILES.format(
            service=SERVICE,
            moto=moto_server.url,
            auth_key=moto_auth_server.access_key_id,
            auth_url=moto_auth_server.url,
            hanging=hanging_endpoint,
            refused=refused_url(),
        )
    )
    # For commands whose own --config would land after `exec ... --`: no
    # ./profiles.yaml lookup, which sessman never does.
    monkeypatch.setenv("SESSMAN_CONFIG", str(config))
    yield World(tmp_path, config, inputs, debug)


def run_every_command(w: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command, on its success and error paths."""
    secret = FAKE_SECRET + "\n"
    w.cli("init", str(w.root / "starter.yaml"))
    w.cli("init", str(w.root / "starter.yaml"), expected=1)
    w.cli("schema")
    w.cli("list")  # nothing stored yet
    w.cli("secret", "set", "dev", "--stdin", stdin=secret)
    w.cli("secret", "set", "dev", "--stdin", stdin=secret, expected=1)
    w.cli("secret", "set", "dev", "--stdin", "--force", stdin=secret)
    for name in ("rejected", "slow", "refused"):
        w.cli("secret", "set", name, "--stdin", stdin=secret)
    w.cli("secret", "set", "nosecret", "--stdin", stdin=FAKE_SECRET + "!?\n", expected=2)
    w.cli("secret", "set", "ops", "--stdin", stdin=secret, expected=2)
    w.cli("secret", "set", "nope", "--stdin", stdin=secret, expected=2)
    credentials = str(w.inputs / "credentials")
    w.cli("import", "aws", "--credentials", credentials, "--profile", "imported")
    w.cli("import", "aws", "--credentials", credentials, "--profile", "imported", expected=1)
    w.cli("import", "aws", "--credentials", credentials, "--profile", "other", expected=2)
    w.cli("import", "dotenv", str(w.inputs / "dotenv"), "--profile", "fromenv")
    w.cli("import", "dotenv", str(w.inputs / "dotenv-no-id"), "--profile", "x", expected=2)

    for json_ in ([], ["--json"]):
        w.cli("list", *json_)
        w.cli("show", "dev", *json_)
        w.cli("show", "imported", *json_)
        w.cli("doctor", *json_, expected=1)  # nosecret has no secret: a problem
        w.cli("show", "nope", *json_, expected=2)
        w.cli("open", "dev", "ops", *json_)
        w.cli("open", "imported", "fromenv", *json_)
        w.cli("whoami", "dev", *json_)
        w.cli("whoami", "ops", *json_)
        w.cli("whoami", "rejected", *json_, expected=1)  # SignatureDoesNotMatch
        w.cli("whoami", "nope", *json_, expected=2)
        w.cli("open", "rejected", *json_, expected=1)
        w.cli("open", "nosecret", *json_, expected=1)
        w.cli("open", "refused", *json_, expected=1)
        w.cli("check", *json_, expected=1)  # every profile, slow and refused included
    w.cli("check", "--tag", "fleet", "--workers", "2", expected=1)
    w.cli("open", "slow", expected=1)
    w.cli("whoami", "slow", "--json", expected=1)

    # The three commands whose job is handing over temporary credentials.
    w.cli("env", "dev", handover=True)
    w.cli("env", "ops", "--format", "json", handover=True)
    w.cli("env", "fromenv", "--format", "dotenv", "--min-ttl", "3500", handover=True)
    w.cli("credential-process", "imported", handover=True)
    w.cli("credential-process", "nosecret", expected=1)
    w.cli("env", "nope", expected=2)
    w.process("credential-process", "ops", handover=True)
    w.process("credential-process", "nosecret", expected=1)
    w.process("credential-process", "rejected", expected=1)
    child = (
        "import os; e = os.environ; "
        "print(e['AWS_ACCESS_KEY_ID'], e['AWS_SECRET_ACCESS_KEY'], e['AWS_SESSION_TOKEN'])"
    )
    w.process("exec", "ops", "--", sys.executable, "-c", child, handover=True)
    w.process("exec", "nosecret", "--", sys.executable, "-c", child, expected=1)
    w.process("open", "rejected", "--json", expected=1)
    w.snapshot()  # sessions of every kind are open now

    # The keyring passphrase wrong, then missing (no terminal to ask on).
    monkeypatch.setenv("SESSMAN_KEYRING_PASSPHRASE", "not the passphrase at all")
    w.cli("list", "--json")  # the index needs no passphrase
    w.cli("secret", "set", "nosecret", "--stdin", stdin=secret, expected=1)
    w.cli("credential-process", "fromenv", expected=1)
    w.cli("close", "fromenv", expected=1)  # a wrong passphrase deletes nothing
    w.cli("open", "dev", expected=1)
    monkeypatch.delenv("SESSMAN_KEYRING_PASSPHRASE")
    w.cli("credential-process", "dev", expected=1)
    w.cli("whoami", "imported", expected=1)
    monkeypatch.setenv("SESSMAN_KEYRING_PASSPHRASE", PASSPHRASE)

    # Profiles files that are wrong, some of them holding the secret.
    for bad in ("secret-in-file.yaml", "secret-as-key-id.yaml", "unterminated.yaml"):
        for command in (["list"], ["open", "dev"], ["show", "dev", "--json"]):
            w.cli(*command, expected=2, config=w.inputs / bad)
        w.cli("doctor", "--json", expected=2, config=w.inputs / bad)

    w.cli("close", "dev", "--json")
    w.cli("close", "--all")
    w.cli("close", "--all", "--json")
    w.cli("close", "nope", expected=2)
    w.cli("secret", "delete", "fromenv")
    w.cli("secret", "delete", "fromenv")
    w.cli("secret", "delete", "nope", expected=2)
    w.cli("list", "--json")
    w.snapshot()


@pytest.mark.slow
@pytest.mark.parametrize("world", [False, True], ids=["plain", "debug"], indirect=True)
def test_no_command_leaks_a_secret(
    world: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    run_every_command(world, monkeypatch)
    w = world
    records = caplog.records
    assert len(w.runs) > 80
    assert any(r.code == 0 for r in w.runs) and any(r.code == 1 for r in w.runs)
    assert any(r.code == 2 for r in w.runs)
    if w.debug:  # tracebacks were really produced, and scanned
        assert sum("Traceback" in r.exception + r.stderr for r in w.runs) > 10
    assert records and any(r.name.startswith("botocore") for r in records)
    # Temporary credentials of keys sessions (static in moto) and roles (random).
    assert len(w.temporary) >= 4

    handed = [r for r in w.runs if r.handover]
    assert handed and all(r.code == 0 for r in handed)
    assert any(t in r.stdout for r in handed for t in w.temporary)  # the scan can see them

    files = b"\n".join(w.files)
    assert b'"format": "sessman-sessions"' in files and b'"sessman-keyring"' in files
    assert b'"ops:session"' in files and b'"fromenv"' in files  # open sessions, imports
    never = set(NEVER)
    assert hits(files, never) == []
    for r in w.runs:
        where = f"{r.label} (exit {r.code})"
        assert hits(r.stdout, never) == [], f"stdout of {where}"
        assert hits(r.stderr, never) == [], f"stderr of {where}"
        assert hits(r.exception, never) == [], f"exception of {where}"
        if not r.handover:
            assert hits(r.stdout, w.temporary) == [], f"stdout of {where}"
        assert hits(r.stderr + r.exception, w.temporary) == [], f"stderr of {where}"
    assert hits(files, w.temporary) == []
    for record in records:
        text = record.getMessage()
        if record.exc_info:
            text += "".join(traceback.format_exception(*record.exc_info))
        assert hits(text, never) == [], f"log record of {record.name}"
        if not record.name.startswith(("botocore.", "urllib3.")) or record.levelno > logging.DEBUG:
            assert hits(text, w.temporary) == [], f"log record of {record.name}"
    assert not [r for r in records if r.name.startswith("sessman")]
