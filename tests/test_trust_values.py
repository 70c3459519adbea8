"""Hostile values from outside: an STS endpoint's answers, imported files, the YAML itself.

A hostile endpoint (any ``endpoint_url``) answered with a session token
holding a newline and shell text, and sessman stored it and handed it to
shells; a multi-line value in ``~/.aws/credentials`` became top-level YAML
through ``import aws``; a few hundred bytes of merge keys took minutes to
load; a tags error printed a ``${VAR}`` value after expansion. Each test
failed on that code.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from support.cli import assert_error_line, cli, python
from support.fakes import FAKE_SECRET, PASSPHRASE
from support.proxies import serving

from sessman.filekeyring import EncryptedFileKeyring

EVIL = "export SESSMAN_PWNED=1"
_CREDENTIALS = """<{action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <{action}Result>
    <Credentials>
      <AccessKeyId>{key}</AccessKeyId>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <SessionToken>{token}</SessionToken>
      <Expiration>{expiration}</Expiration>
    </Credentials>
  </{action}Result>
  <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>
</{action}Response>"""
_IDENTITY = """<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>{arn}</Arn><UserId>AIDAHOSTILE</UserId><Account>123456789012</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>"""


class HostileSts(ThreadingHTTPServer):
    """An endpoint that answers STS calls with values of its choosing."""

    daemon_threads = True

    def __init__(self, key: str, token: str, arn: str, expiration: str | None = None) -> None:
        self.answers = {"key": key, "token": token, "arn": arn}
        #: ``None``: an hour from the time of each answer, as STS says it.
        self.expiration = expiration
        super().__init__(("127.0.0.1", 0), _Answer)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class _Answer(BaseHTTPRequestHandler):
    server: HostileSts

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        action = parse_qs(body.decode()).get("Action", [""])[0]
        a = self.server.answers
        if action == "GetCallerIdentity":
            text = _IDENTITY.format(arn=a["arn"])
        else:
            expiration = self.server.expiration or in_hours(1)
            text = _CREDENTIALS.format(
                action=action, key=a["key"], token=a["token"], expiration=expiration
            )
        payload = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        return None


def in_hours(hours: float) -> str:
    """A time ``hours`` from now, written the way STS writes it."""
    when = datetime.now(timezone.utc) + timedelta(hours=hours)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


GOOD_KEY = "ASIAHOSTILEEXAMPLE01"
GOOD_TOKEN = "FQoGZXIvYXdzEBYaDHostileButWellFormedToken0123456789"
GOOD_ARN = "arn:aws:iam::123456789012:user/hostile"


@pytest.fixture(
    params=[
        {"token": f"abc\n{EVIL}"},
        {"key": f"ASIA'; {EVIL}; '"},
        {"arn": f"arn:aws:iam::123456789012:user/x\n{EVIL}"},
    ],
    ids=["token", "key", "arn"],
)
def hostile_sts(request: pytest.FixtureRequest) -> Iterator[HostileSts]:
    answers = {"key": GOOD_KEY, "token": GOOD_TOKEN, "arn": GOOD_ARN, **request.param}
    with serving(HostileSts(**answers)) as server:
        yield server


def test_malformed_sts_answers_are_neither_stored_nor_printed(
    tmp_path: Path, hostile_sts: HostileSts
) -> None:
    config = tmp_path / "p.yaml"
    config.write_text(
        "keyring_service: shapes\n"
        f"defaults: {{region: us-east-1, endpoint_url: '{hostile_sts.url}'}}\n"
        "profiles:\n  dev: {access_key_id: AKIASHAPESEXAMPLE001}\n"
    )
    stored = cli("--config", str(config), "secret", "set", "dev", "--stdin", input=FAKE_SECRET)
    assert stored.exit_code == 0, stored.stderr
    for args in (["open", "dev"], ["env", "dev"], ["credential-process", "dev"]):
        result = cli("--config", str(config), *args)
        assert result.exit_code == 1, (args, result.stdout)
        assert_error_line(result, contains="not shaped like one")
        assert EVIL not in result.stdout + result.stderr
        assert FAKE_SECRET not in result.stdout + result.stderr
    ring = EncryptedFileKeyring(Path(os.environ["SESSMAN_KEYRING_FILE"]), passphrase=PASSPHRASE)
    assert ring.usernames("shapes") == {"dev"}  # no session was stored


def test_a_multi_line_credentials_value_cannot_inject_yaml(clean_env: Path, tmp_path: Path) -> None:
    config = tmp_path / "p.yaml"
    original = "defaults: {region: eu-west-1}\nprofiles:\n  dev:\n    access_key_id: AKIAIOSFODNN7EXAMPLE\n"
    config.write_text(original)
    credentials = clean_env / ".aws" / "credentials"
    credentials.write_text(
        "[evil]\n"
        "aws_access_key_id = AKIAIMPORTEXAMPLE001\n"
        "  keyring_backend: antigravity.Keyring\n"
        f"aws_secret_access_key = {FAKE_SECRET}\n"
    )
    result = cli("--config", str(config), "import", "aws", "--profile", "evil")
    # The profile is skipped with a note saying why; nothing else was asked for,
    # so nothing is imported (exit 1) and the file is unchanged.
    assert result.exit_code == 1, result.stdout
    assert "skipped 'evil'" in result.stderr and "not shaped like" in result.stderr
    assert "keyring_backend" not in result.stdout + result.stderr
    assert config.read_text() == original
    assert FAKE_SECRET not in result.stdout + result.stderr


def test_a_tags_error_quotes_what_was_written_not_the_expansion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEAM", "not a tag; " + FAKE_SECRET)
    config = tmp_path / "p.yaml"
    config.write_text(
        "defaults: {region: eu-west-1}\n"
        "profiles:\n  dev: {access_key_id: AKIAIOSFODNN7EXAMPLE, tags: ['${TEAM}']}\n"
    )
    result = cli("--config", str(config), "list")
    assert result.exit_code == 2
    assert_error_line(result, contains="${TEAM}")
    assert FAKE_SECRET not in result.stderr


def test_merge_keys_are_expanded_once(tmp_path: Path) -> None:
    lines = ["  p0: &a0 {access_key_id: AKIAIOSFODNN7EXAMPLE, region: eu-west-1}"]
    for i in range(1, 16):  # 8^15 visits if each alias were expanded again
        lines.append(f"  p{i}: &a{i} {{<<: [{', '.join([f'*a{i - 1}'] * 8)}]}}")
    config = tmp_path / "p.yaml"
    config.write_text("profiles:\n" + "\n".join(lines) + "\n")
    assert len(config.read_bytes()) < 1500
    code = (
        "import sys; from pathlib import Path; from sessman.config import load_config\n"
        "print(len(load_config(Path(sys.argv[1])).profiles))"
    )
    done = python(code, str(config), timeout=120)  # generous: milliseconds; the old loader, hours
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == 16


class EchoingSts(ThreadingHTTPServer):
    """An endpoint that refuses every call, echoing the request's signature line back."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Echo)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class _Echo(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        echoed = f"the token you sent was {FAKE_SECRET}\n{EVIL}"
        payload = (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
            f"<Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>{echoed}</Message>"
            "</Error><RequestId>1</RequestId></ErrorResponse>"
        ).encode()
        self.send_response(403)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        return None


def test_a_server_error_never_echoes_a_secret_or_a_second_line(tmp_path: Path) -> None:
    with serving(EchoingSts()) as server:
        config = tmp_path / "p.yaml"
        config.write_text(
            "keyring_service: echo\n"
            f"defaults: {{region: us-east-1, endpoint_url: '{server.url}'}}\n"
            "profiles:\n  dev: {access_key_id: AKIASHAPESEXAMPLE001}\n"
        )
        stored = cli("--config", str(config), "secret", "set", "dev", "--stdin", input=FAKE_SECRET)
        assert stored.exit_code == 0, stored.stderr
        result = cli("--config", str(config), "whoami", "dev")
    assert result.exit_code == 1
    line = assert_error_line(result, contains=("InvalidClientTokenId", "the token you sent was"))
    assert FAKE_SECRET not in result.stderr
    assert EVIL in line  # kept, but on the one error line, never a line of its own


def hostile_profiles(tmp_path: Path, url: str) -> Path:
    config = tmp_path / "p.yaml"
    config.write_text(
        "keyring_service: shapes\n"
        f"defaults: {{region: us-east-1, endpoint_url: '{url}', retries: {{max_attempts: 1}}}}\n"
        "profiles:\n  dev: {access_key_id: AKIASHAPESEXAMPLE001}\n"
        "  admin: {source_profile: dev, role_arn: 'arn:aws:iam::123456789012:role/Admin'}\n"
    )
    stored = cli("--config", str(config), "secret", "set", "dev", "--stdin", input=FAKE_SECRET)
    assert stored.exit_code == 0, stored.stderr
    return config


@pytest.mark.parametrize(
    "expiration",
    [
        f"{in_hours(1)}\n{EVIL}",  # was: "unexpected builtins.ValueError ... report it"
        "2020-01-01T00:00:00Z",  # already past: was accepted by `open`
        "2099-01-01T00:00:00Z",  # far beyond AWS's longest session: was accepted
        in_hours(40),  # GetSessionToken's longest is 36 hours
        "next tuesday",
    ],
    ids=["newline", "past", "2099", "40h", "words"],
)
def test_a_hostile_expiration_is_refused_without_being_shown(
    tmp_path: Path, expiration: str
) -> None:
    with serving(HostileSts(GOOD_KEY, GOOD_TOKEN, GOOD_ARN, expiration)) as server:
        config = hostile_profiles(tmp_path, server.url)
        for args in (["open", "dev"], ["credential-process", "admin"], ["env", "dev"]):
            result = cli("--config", str(config), *args)
            assert result.exit_code == 1, (args, result.stdout, result.stderr)
            assert_error_line(result, contains=("gave an Expiration that", "not stored or shown"))
            for part in expiration.split():
                assert part not in result.stdout + result.stderr
            assert FAKE_SECRET not in result.stdout + result.stderr
    ring = EncryptedFileKeyring(Path(os.environ["SESSMAN_KEYRING_FILE"]), passphrase=PASSPHRASE)
    assert ring.usernames("shapes") == {"dev"}  # no session was stored


def test_an_expiration_in_the_next_36_hours_is_accepted(tmp_path: Path) -> None:
    with serving(HostileSts(GOOD_KEY, GOOD_TOKEN, GOOD_ARN, in_hours(35.5))) as server:
        config = hostile_profiles(tmp_path, server.url)
        result = cli("--config", str(config), "open", "dev")
    assert result.exit_code == 0, result.stderr


def test_shape_errors_use_the_right_article(tmp_path: Path) -> None:
    with serving(HostileSts(f"ASIA'; {EVIL}; '", GOOD_TOKEN, GOOD_ARN)) as server:
        config = hostile_profiles(tmp_path, server.url)
        result = cli("--config", str(config), "open", "dev")
    assert result.exit_code == 1
    assert_error_line(result, contains="gave an AccessKeyId that is not shaped like one")
