"""The credential server's timing and policy, and clients that misbehave.

Bad timing variables are one clear error and the timing fits the session
length; the server's policy is driven in-process with a fetch that blocks
or fails; clients that hang up early or send other methods are handled
without a traceback.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from support.cli import assert_error_line, cli
from support.fakes import FAKE_SECRET
from support.server import (
    WAIT,
    config_fixture,  # noqa: F401
    get,
    refused,
)

from sessman._http import LoopbackServer, _Server
from sessman.credentials import TemporaryCredentials
from sessman.credserver import (
    CredentialServer,
    RenewingCredentials,
    Timing,
    TokenFile,
    served_duration,
    timing,
)
from sessman.errors import SessmanError, UsageError
from sessman.testing import make_manager

# -- bad input ---------------------------------------------------------------------


def test_bad_timing_variables_are_one_clear_error(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad_values = [("SESSMAN_SERVER_RENEW_AHEAD", v) for v in ("soon", "inf", "nan")]
    bad_values += [("SESSMAN_SERVER_RETRY", v) for v in ("-1", "inf", "nan", "1e300", "43201")]
    for name, value in bad_values:
        monkeypatch.setenv(name, value)
        bad = cli("exec", "--server", "ops", "-c", str(config), "--", "true")
        assert bad.exit_code == 2, bad.stderr
        assert_error_line(bad, contains=name)
        monkeypatch.setenv("SESSMAN_SERVER_RENEW_AHEAD", "897")
        monkeypatch.setenv("SESSMAN_SERVER_RETRY", "1")
    monkeypatch.setenv("SESSMAN_SERVER_RENEW_AHEAD", "900")
    impossible = cli("serve", "ops", "-c", str(config))
    assert impossible.exit_code == 2
    assert_error_line(impossible, contains="900")
    unknown = cli("exec", "--server", "nope", "-c", str(config), "--", "true")
    assert unknown.exit_code == 2
    assert_error_line(unknown, contains="nope")


def test_timing_fits_the_session_length() -> None:
    assert timing(3600, {}) == Timing(1200, 30)
    assert timing(900, {}) == Timing(450, 30)  # half a short session, not every request
    assert timing(900, {"SESSMAN_SERVER_RENEW_AHEAD": "10", "SESSMAN_SERVER_RETRY": "2"}) == Timing(
        10, 2
    )
    with pytest.raises(UsageError):
        timing(900, {"SESSMAN_SERVER_RENEW_AHEAD": "0"})
    # A retry the clock cannot wait for is refused, not an OverflowError in the thread.
    for value in ("inf", "-inf", "nan", "1e300", "43201"):
        with pytest.raises(UsageError, match="SESSMAN_SERVER_RETRY"):
            timing(900, {"SESSMAN_SERVER_RETRY": value})
    assert timing(900, {"SESSMAN_SERVER_RETRY": "43200"}).retry == 43200


def test_chained_roles_are_renewed_within_the_one_hour_cap() -> None:
    manager = make_manager(
        {
            "base": {"access_key_id": "AKIAHANDOVEREXAMPLE1", "region": "eu-north-1"},
            "first": {
                "source_profile": "base",
                "role_arn": "arn:aws:iam::123456789012:role/First",
                "region": "eu-north-1",
                "session_duration": 7200,
            },
            "second": {
                "source_profile": "first",
                "role_arn": "arn:aws:iam::123456789012:role/Second",
                "region": "eu-north-1",
                "session_duration": 7200,
            },
        }
    )
    with manager:
        assert served_duration(manager, "first") == 7200
        assert served_duration(manager, "second") == 3600
        assert served_duration(manager, "base") == manager.profile("base").session_duration


# -- the policy, in-process --------------------------------------------------------


def fake_credentials(number: int, seconds: float) -> TemporaryCredentials:
    return TemporaryCredentials(
        f"ASIAFAKE{number:012d}",
        f"secret-{number}",
        f"token-{number}",
        datetime.now(timezone.utc) + timedelta(seconds=seconds),
    )


def test_requests_never_wait_on_a_renewal_and_failures_are_said_once() -> None:
    """A renewal that hangs, then fails, then succeeds: requests are answered throughout."""
    release = threading.Event()
    calls: list[int] = []
    notes: list[str] = []

    def fetch() -> tuple[TemporaryCredentials, str | None]:
        calls.append(1)
        if len(calls) == 2:
            release.wait(WAIT)  # STS hangs on the first renewal
        if 2 <= len(calls) <= 5:
            raise SessmanError("profile 'x': cannot reach STS")
        return fake_credentials(len(calls), 60), "123456789012"

    renewing = RenewingCredentials("x", fetch, Timing(ahead=59.9, retry=0.05), note=notes.append)
    with CredentialServer(renewing) as server:
        token = server.token_file.read_text()
        headers = {"Host": server.url.split("/")[2], "Authorization": token}
        deadline = time.monotonic() + WAIT
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(calls) == 2 and not release.is_set()
        # The renewal is stuck: a request is still answered, with the current keys.
        status, body = get(server.url, headers)
        assert status == 200 and json.loads(body)["AccessKeyId"] == "ASIAFAKE000000000001"
        release.set()
        while len(calls) < 7 and time.monotonic() < deadline:
            time.sleep(0.01)
        status, body = get(server.url, headers)
        assert status == 200 and json.loads(body)["AccessKeyId"] != "ASIAFAKE000000000001"
    assert len(calls) >= 7
    assert len([n for n in notes if "failed" in n]) == 1, notes
    assert "cannot reach STS" in notes[0] and "serving the current ones" in notes[0]
    assert "renewed again" in notes[1]
    assert renewing.renewals >= 2
    assert refused(server.url)


def test_expired_credentials_are_not_served() -> None:
    calls: list[int] = []
    notes: list[str] = []

    def fetch() -> tuple[TemporaryCredentials, str | None]:
        calls.append(1)
        if len(calls) > 1:
            raise OSError("no route to STS: secret-1")  # its text is never shown
        return fake_credentials(1, 0.5), None

    renewing = RenewingCredentials("x", fetch, Timing(ahead=0.1, retry=0.05), note=notes.append)
    with CredentialServer(renewing) as server:
        headers = {"Host": server.url.split("/")[2], "Authorization": server.token_file.read_text()}
        status, body = get(server.url, headers)
        assert status == 200 and "AccountId" not in json.loads(body)
        deadline = time.monotonic() + WAIT
        while len(notes) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        status, body = get(server.url, headers)
        assert status == 503 and b"secret-1" not in body
    assert len(notes) == 2, notes
    assert "failed (OSError)" in notes[0] and "expired" in notes[1]
    assert not any("secret-1" in note for note in notes)


def test_the_http_part_is_separate_from_credentials() -> None:
    with LoopbackServer("t0ken", lambda: (200, b'{"ok": true}'), path="/x") as server:
        assert server.url.endswith("/x")
        host = server.url.split("/")[2]
        assert get(server.url, {"Host": host, "Authorization": "t0ken"}) == (200, b'{"ok": true}')
        assert get(server.url, {"Host": host})[0] == 401
        two = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        two.putrequest("GET", "/x", skip_host=True)
        two.putheader("Host", host)
        two.putheader("Host", "evil.example")
        two.putheader("Authorization", "t0ken")
        two.endheaders()
        assert two.getresponse().status == 403
        two.close()
    assert "t0ken" not in repr(server)


def test_other_commands_do_not_load_the_server() -> None:
    code = "import sys, sessman.cli.app; print(sorted({'http.server', 'sessman.credserver'} & set(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def test_the_token_file_prefers_a_private_runtime_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    private = TokenFile()
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o777)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(shared))
    elsewhere = TokenFile()
    try:
        assert private.path.parent.parent == runtime
        assert elsewhere.path.parent.parent != shared
        for made in (private, elsewhere):
            assert stat.S_IMODE(made.path.stat().st_mode) == 0o600
            assert stat.S_IMODE(made.path.parent.stat().st_mode) == 0o700
            assert made.path.read_text() == made.token and "\n" not in made.token
            assert made.token not in repr(made)
    finally:
        private.remove()
        elsewhere.remove()
    assert not private.path.parent.exists() and not elsewhere.path.parent.exists()


# -- clients that misbehave ----------------------------------------------------------


@contextlib.contextmanager
def served_in_process(
    answer: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[LoopbackServer, threading.Semaphore]]:
    """A LoopbackServer (token ``t0ken``) and a semaphore released once per connection handled."""
    handled = threading.Semaphore(0)
    original = _Server.shutdown_request

    def counted(self: _Server, request: Any) -> None:
        original(self, request)
        handled.release()

    monkeypatch.setattr(_Server, "shutdown_request", counted)
    with LoopbackServer("t0ken", answer) as server:
        yield server, handled


def hang_up(port: int, data: bytes, *, reset: bool, after: threading.Event | None = None) -> None:
    """Send ``data`` and go away without reading: a reset (RST) or a plain close."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(data)
    if reset:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()
    if after is not None:
        after.set()


#: The start of a TLS ClientHello: what `curl https://127.0.0.1:PORT/` sends.
CLIENT_HELLO = bytes.fromhex("16030100f8010000f40303") + bytes(range(32)) + b"\x00\x3e\x13\x02"


def test_clients_that_hang_up_early_are_not_reported(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    gone = threading.Event()

    def answer() -> tuple[int, bytes]:
        gone.wait(WAIT)  # answer only once the client has left: the write must fail
        return 200, b"x" * (4 << 20)

    with served_in_process(answer, monkeypatch) as (server, handled):
        request = f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nAuthorization: t0ken\r\n\r\n"
        cases = [
            (request.encode(), True, gone),  # curl -m 0.002: reset while the answer is made
            (request.encode(), False, gone),  # a GET closed before reading the answer
            (CLIENT_HELLO, True, None),  # https:// to an http:// port
            (CLIENT_HELLO, False, None),
            (b"GET / HTTP/1.1\r\nHost: 127.0", True, None),  # a reset mid-request
        ]
        for data, reset, after in cases:
            gone.clear()
            hang_up(server.port, data, reset=reset, after=after)
            assert handled.acquire(timeout=WAIT)
        # Still serving.
        gone.set()
        assert get(server.url, {"Host": server.url.split("/")[2]})[0] == 401
    err = capfd.readouterr().err
    assert err == "", err


def test_a_failing_answer_is_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    def answer() -> tuple[int, bytes]:
        raise RuntimeError(f"broken with {FAKE_SECRET}")

    with served_in_process(answer, monkeypatch) as (server, handled):
        with pytest.raises((http.client.HTTPException, ConnectionError)):
            get(server.url, {"Host": server.url.split("/")[2], "Authorization": "t0ken"})
        assert handled.acquire(timeout=WAIT)
    err = capfd.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("sessman: ") and "RuntimeError" in err
    assert "Traceback" not in err and FAKE_SECRET not in err


def request(server: LoopbackServer, method: str, headers: dict[str, str]) -> tuple[int, Any, bytes]:
    """``method`` on the server's path with exactly ``headers``: status, headers, body."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.putrequest(method, "/", skip_host=True, skip_accept_encoding=True)
        for key, value in headers.items():
            conn.putheader(key, value)
        body = b'{"a": 1}' if method in ("POST", "PUT") else b""
        if body:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def test_other_methods_are_guarded_then_refused() -> None:
    with LoopbackServer("t0ken", lambda: (200, b'{"secret": 1}')) as server:
        host = server.url.split("/")[2]
        for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "BREW"):
            # The Host first (DNS rebinding), then the token, as for GET.
            for headers, expected in (
                ({"Host": "evil.example", "Authorization": "t0ken"}, 403),
                ({"Host": host}, 401),
                ({"Host": host, "Authorization": "t0ken"}, 405),
            ):
                status, found, body = request(server, method, headers)
                assert status == expected, (method, headers, status)
                assert found["Content-Type"] == "application/json", method
                assert b"secret" not in body and b"<html" not in body.lower()
                if method == "HEAD":
                    assert body == b""
                else:
                    assert json.loads(body)["Code"]
            assert found["Allow"] == "GET"
        assert get(server.url, {"Host": host, "Authorization": "t0ken"})[0] == 200
