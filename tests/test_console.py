"""`sessman console`: a federation sign-in URL from the right temporary credentials.

A stub of the federation endpoint (stdlib http.server, on loopback, reached
through SESSMAN_SIGNIN_ENDPOINT) checks the Session JSON it receives and
answers a sign-in token; STS is moto_server behind a FaultProxy, which
records which calls were made.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from support.cli import assert_error_line, cli, sessman
from support.fakes import FAKE_SECRET
from support.infra import MotoServer
from support.proxies import FaultProxy, proxying, serving

from sessman.errors import UsageError
from sessman.lifecycle.console import federation_endpoint
from sessman.manager import SessionManager

#: The secret moto's GetFederationToken always answers (the AWS docs example).
MOTO_FEDERATION_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
ROLE_ARN = "arn:aws:iam::123456789012:role/Admin"


class Stub(ThreadingHTTPServer):
    """The federation endpoint: getSigninToken checks the Session and answers a token."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _StubHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}/federation"
        self.requests: list[dict[str, str]] = []
        self.sessions: list[dict[str, Any]] = []
        self.answer: tuple[int, bytes] | None = None

    @property
    def token(self) -> str:
        return f"stub-signin-token-{len(self.requests)}"


class _StubHandler(BaseHTTPRequestHandler):
    server: Stub

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.server.requests.append(query)
        status, body = 400, b'{"error": "bad request"}'
        if parts.path == "/federation" and query.get("Action") == "getSigninToken":
            session = json.loads(query.get("Session", "{}"))
            if set(session) == {"sessionId", "sessionKey", "sessionToken"} and all(
                isinstance(v, str) and v for v in session.values()
            ):
                self.server.sessions.append(session)
                status, body = 200, json.dumps({"SigninToken": self.server.token}).encode()
        if self.server.answer is not None:
            status, body = self.server.answer
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stub]:
    with serving(Stub()) as server:
        monkeypatch.setenv("SESSMAN_SIGNIN_ENDPOINT", server.url)
        yield server


@pytest.fixture
def proxy(moto_server: MotoServer) -> Iterator[FaultProxy]:
    with proxying(moto_server.url) as fault_proxy:
        yield fault_proxy


class Console:
    """A profiles file (keys ``dev``, role ``admin``) on moto, and a CLI runner."""

    def __init__(self, tmp_path: Path, endpoint: str, region: str = "us-east-1") -> None:
        self.path = tmp_path / "profiles.yaml"
        document = {
            "version": 1,
            "defaults": {"region": region, "endpoint_url": endpoint},
            "profiles": {
                "dev": {"access_key_id": "AKIAEXAMPLECONSOLE01"},
                "admin": {"role_arn": ROLE_ARN, "source_profile": "dev"},
            },
        }
        self.path.write_text(yaml.safe_dump(document, sort_keys=False))
        assert self.cli("secret", "set", "dev", "--stdin", input=FAKE_SECRET + "\n").exit_code == 0

    def cli(self, *args: str, input: str | None = None) -> Any:
        return cli(
            *args,
            input=input,
            config=self.path,
            never=[FAKE_SECRET, MOTO_FEDERATION_SECRET],
            checked=True,
        )

    def url(self, *args: str) -> dict[str, str]:
        result = self.cli("console", *args, "--print")
        assert result.exit_code == 0, result.stderr
        lines = result.stdout.splitlines()
        assert len(lines) == 1, lines
        parts = urlsplit(lines[0])
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        query["_base"] = f"{parts.scheme}://{parts.netloc}{parts.path}"
        return query


@pytest.fixture
def console(tmp_path: Path, proxy: FaultProxy) -> Console:
    return Console(tmp_path, proxy.url)


def test_a_keys_profile_signs_in_through_get_federation_token(
    console: Console, stub: Stub, proxy: FaultProxy
) -> None:
    console.cli("open", "dev")  # an open GetSessionToken session must not be used
    proxy.calls.clear()
    login = console.url("dev")
    assert login["_base"] == stub.url and login["Action"] == "login"
    assert login["SigninToken"] == "stub-signin-token-1"
    assert login["Destination"] == "https://console.aws.amazon.com/console/home?region=us-east-1"
    assert login["Issuer"] == "sessman"
    assert proxy.actions() == ["GetFederationToken"]
    assert proxy.calls[0].key == "AKIAEXAMPLECONSOLE01"  # signed with the long-term key
    (getsignin,) = stub.requests
    assert getsignin["Action"] == "getSigninToken" and "SessionDuration" not in getsignin
    assert stub.sessions[0]["sessionKey"] == MOTO_FEDERATION_SECRET


def test_a_role_signs_in_with_its_session(console: Console, stub: Stub, proxy: FaultProxy) -> None:
    login = console.url("admin", "--duration", "7200", "--destination", "https://x.test/s3")
    assert login["Destination"] == "https://x.test/s3"
    assert "AssumeRole" in proxy.actions() and "GetFederationToken" not in proxy.actions()
    record = SessionManager.load(console.path).state.get("admin")
    assert record is not None and stub.sessions[0]["sessionId"] == record.access_key_id
    assert stub.requests[0]["SessionDuration"] == "7200"
    assert login["SigninToken"] == "stub-signin-token-1"


@pytest.mark.parametrize(
    ("region", "host"),
    [
        ("cn-north-1", "console.amazonaws.cn"),
        ("us-gov-west-1", "console.amazonaws-us-gov.com"),
        ("eu-central-1", "console.aws.amazon.com"),
    ],
)
def test_the_partition_decides_the_hosts(
    tmp_path: Path, stub: Stub, proxy: FaultProxy, region: str, host: str
) -> None:
    login = Console(tmp_path, proxy.url, region).url("admin")
    assert login["Destination"] == f"https://{host}/console/home?region={region}"
    signin = {"console.amazonaws.cn": "signin.amazonaws.cn"}.get(
        host,
        "signin.amazonaws-us-gov.com" if "gov" in host else "signin.aws.amazon.com",
    )
    assert federation_endpoint(region, {}) == f"https://{signin}/federation"


@pytest.mark.parametrize(
    "override",
    [
        "https://127.0.0.1:9/federation",
        "http://example.com/federation",
        "http://10.0.0.1/federation",
        "http://localhost:9/federation",
        "http://user@127.0.0.1:9/federation",
        "ftp://127.0.0.1/federation",
        "http://127.0.0.1:99999/federation",
        "http://127.0.0.1:9/federation?x=1",
        "http://127.0.0.1:9/federation#x",
        " http://127.0.0.1:9/federation",
        "http://127.0.0.1:9/federation\n",
    ],
)
def test_a_signin_endpoint_off_loopback_is_refused_before_any_call(
    console: Console, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch, override: str
) -> None:
    monkeypatch.setenv("SESSMAN_SIGNIN_ENDPOINT", override)
    result = console.cli("console", "dev", "--print")
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("sessman: error: SESSMAN_SIGNIN_ENDPOINT")
    assert "loopback" in lines[0]
    assert proxy.actions() == []
    with pytest.raises(UsageError):
        federation_endpoint("us-east-1", {"SESSMAN_SIGNIN_ENDPOINT": override})


def test_ipv6_loopback_is_accepted() -> None:
    url = "http://[::1]:8080/federation"
    assert federation_endpoint("us-east-1", {"SESSMAN_SIGNIN_ENDPOINT": url}) == url


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--destination", "console.aws.amazon.com"], "--destination"),
        (["--destination", "javascript:alert(1)"], "--destination"),
        (["--duration", "100"], "--duration"),
        (["--duration", "50000"], "--duration"),
    ],
)
def test_bad_options_are_usage_errors(
    console: Console, stub: Stub, proxy: FaultProxy, args: list[str], needle: str
) -> None:
    result = console.cli("console", "dev", "--print", *args)
    assert result.exit_code == 2
    assert_error_line(result, contains=needle, notes=False)
    assert proxy.actions() == [] and stub.requests == []


@pytest.mark.parametrize(
    ("answer", "needle"),
    [
        ((403, b'{"message": "no"}'), "refused the session (HTTP 403)"),
        ((200, b"<html>not json</html>"), "gave no sign-in token"),
        ((200, b'{"SigninToken": "has space"}'), "gave no sign-in token"),
    ],
)
def test_a_failing_signin_endpoint_is_one_line_exit_1(
    console: Console, stub: Stub, answer: tuple[int, bytes], needle: str
) -> None:
    stub.answer = answer
    result = console.cli("console", "dev", "--print")
    assert result.exit_code == 1 and result.stdout == ""
    assert_error_line(result, contains=needle, notes=False)


@pytest.mark.slow
def test_without_print_a_browser_is_opened(
    console: Console, stub: Stub, tmp_path: Path, moto_server: MotoServer
) -> None:
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser"
    browser.write_text(
        f"#!{sys.executable}\nimport sys\nopen({str(opened)!r}, 'w').write(sys.argv[1])\n"
    )
    browser.chmod(browser.stat().st_mode | stat.S_IXUSR)
    env = {**os.environ, "BROWSER": str(browser), "SESSMAN_SIGNIN_ENDPOINT": stub.url}
    proc = sessman("--config", str(console.path), "console", "dev", env=env)
    assert proc.returncode == 0, proc.stderr
    url = opened.read_text()
    assert url.startswith(stub.url + "?Action=login&") and "SigninToken=stub-signin-token-1" in url
    assert (
        "stub-signin-token" not in proc.stdout + proc.stderr
    )  # the token went to the browser only
    assert "opened the console" in proc.stderr


def test_a_role_behind_mfa_takes_the_code(tmp_path: Path, stub: Stub, proxy: FaultProxy) -> None:
    console = Console(tmp_path, proxy.url)
    document = yaml.safe_load(console.path.read_text())
    document["profiles"]["dev"]["mfa_serial"] = "arn:aws:iam::123456789012:mfa/alice"
    console.path.write_text(yaml.safe_dump(document, sort_keys=False))
    asked = console.cli("console", "admin", "--print")
    assert asked.exit_code == 2 and "--mfa-code" in asked.stderr and stub.requests == []
    login = console.url("admin", "--mfa-code", "123456")
    assert login["SigninToken"] == "stub-signin-token-1"
    assert [a for a in proxy.actions() if a != "GetCallerIdentity"] == [
        "GetSessionToken",
        "AssumeRole",
    ]
    keys = console.cli("console", "dev", "--print", "--mfa-code", "123456")
    assert keys.exit_code == 2 and "takes no MFA code" in keys.stderr


@pytest.mark.slow
def test_without_a_browser_the_url_is_not_shown(
    console: Console, stub: Stub, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    browser = bin_dir / "failing-browser"
    browser.write_text("#!/bin/sh\nexit 1\n")
    browser.chmod(0o700)
    env = {**os.environ, "BROWSER": str(browser), "PATH": str(bin_dir)}
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    proc = sessman("--config", str(console.path), "console", "dev", env=env)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "sessman: error: no web browser could be opened",
        f"hint: print the URL instead: sessman console dev --print --config {console.path}",
    ]
