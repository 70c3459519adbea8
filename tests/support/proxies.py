"""Loopback proxies in front of moto_server, and ``serving`` to run any local server.

moto accepts a new access key at once and never fails where a test wants it
to; real AWS takes seconds to accept a new key, and any call can fail.
``FaultProxy`` forwards each request unchanged (Host included, so signatures
still verify upstream) unless its ``rule`` answers with an AWS error instead;
it records the action and the signing key of every request.
``RecordingProxy`` forwards every STS call and records which action was
signed by which key, with which session token and parameters.
"""

from __future__ import annotations

import http.client
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

import pytest

from support.infra import MotoServer

__all__ = [
    "Call",
    "FaultProxy",
    "RecordedCall",
    "RecordingProxy",
    "Reject",
    "proxying",
    "recorder",
    "serving",
]

ServerT = TypeVar("ServerT", bound=ThreadingHTTPServer)


@contextmanager
def serving(server: ServerT) -> Iterator[ServerT]:
    """Serve ``server`` in a thread for the duration of the block."""
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _upstream_address(upstream: str) -> tuple[str, int]:
    parts = urlsplit(upstream)
    return (parts.hostname or "127.0.0.1", parts.port or 80)


def _signing_key(handler: BaseHTTPRequestHandler) -> str:
    """The access key id in the request's SigV4 ``Authorization`` header ("" if none)."""
    signed = re.search(r"Credential=([^/,]+)/", handler.headers.get("Authorization", ""))
    return signed.group(1) if signed else ""


def _forward(
    handler: BaseHTTPRequestHandler, upstream: tuple[str, int], body: bytes
) -> tuple[int, list[tuple[str, str]], bytes]:
    """POST ``body`` to ``upstream`` with the request's headers; status, headers and payload."""
    connection = http.client.HTTPConnection(*upstream, timeout=30)
    try:
        headers = {
            k: v
            for k, v in handler.headers.items()
            if k.lower() not in ("connection", "content-length", "expect")
        }
        connection.request("POST", handler.path, body, headers)
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    kept = [
        (k, v)
        for k, v in response.getheaders()
        if k.lower() not in ("connection", "content-length", "transfer-encoding")
    ]
    return response.status, kept, payload


def _send(
    handler: BaseHTTPRequestHandler, status: int, headers: list[tuple[str, str]], payload: bytes
) -> None:
    handler.send_response_only(status)
    for name, value in headers:
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    handler.wfile.write(payload)


@dataclass(frozen=True)
class Call:
    """One request that reached the proxy: its Action and the key that signed it."""

    action: str
    key: str
    rejected: bool


@dataclass(frozen=True)
class Reject:
    """The AWS error the proxy answers with instead of forwarding."""

    code: str
    message: str
    status: int = 403


Rule = Callable[[str, str], "Reject | None"]


class FaultProxy(ThreadingHTTPServer):
    """Forwards to ``upstream``; ``rule(action, key)`` may reject a request instead."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        self.upstream = _upstream_address(upstream)
        self.rule: Rule | None = None
        self.calls: list[Call] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)
        host, port = self.server_address[:2]
        self.url = f"http://{host!s}:{port}"

    def actions(self, *, key: str | None = None, rejected: bool | None = None) -> list[str]:
        """The actions seen, optionally only those signed by ``key`` or (not) rejected."""
        return [
            c.action
            for c in self.calls
            if (key is None or c.key == key) and (rejected is None or c.rejected == rejected)
        ]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FaultProxy

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        params = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        action = params.get("Action") or self.headers.get("X-Amz-Target", "").rpartition(".")[2]
        key = _signing_key(self)
        with self.server.lock:
            reject = self.server.rule(action, key) if self.server.rule else None
            self.server.calls.append(Call(action, key, reject is not None))
        if reject is not None:
            _send(self, reject.status, [("Content-Type", "text/xml")], _error_xml(reject))
            return
        _send(self, *_forward(self, self.server.upstream, body))

    def log_message(self, format: str, *args: object) -> None:
        pass


def _error_xml(reject: Reject) -> bytes:
    return (
        "<ErrorResponse><Error><Type>Sender</Type>"
        f"<Code>{reject.code}</Code><Message>{reject.message}</Message>"
        "</Error><RequestId>faultproxy</RequestId></ErrorResponse>"
    ).encode()


@contextmanager
def proxying(upstream: str) -> Iterator[FaultProxy]:
    """A FaultProxy to ``upstream``, served in a thread for the block."""
    with serving(FaultProxy(upstream)) as proxy:
        yield proxy


@dataclass(frozen=True)
class RecordedCall:
    """One STS request as the recording proxy saw it."""

    action: str
    key: str  # the access key id that signed it
    token: str | None = field(repr=False)  # the session token sent with it
    params: dict[str, str] = field(repr=False)


class RecordingProxy(ThreadingHTTPServer):
    """A proxy in front of moto that records each STS call: which action, signed by which key."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        self.upstream = _upstream_address(upstream)
        self.calls: list[RecordedCall] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Forward)
        host, port = self.server_address[:2]
        self.url = f"http://{host!s}:{port}"

    def signers(self, action: str) -> list[str]:
        """The access key ids that signed each ``action`` call, in order."""
        return [call.key for call in self.calls if call.action == action]

    def tokens(self, action: str) -> list[str | None]:
        """The session tokens sent with each ``action`` call, in order."""
        return [call.token for call in self.calls if call.action == action]


class _Forward(BaseHTTPRequestHandler):
    """Records each call, then forwards it to moto unchanged."""

    protocol_version = "HTTP/1.1"
    server: RecordingProxy

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        params = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        with self.server.lock:
            self.server.calls.append(
                RecordedCall(
                    params.get("Action", ""),
                    _signing_key(self),
                    self.headers.get("X-Amz-Security-Token"),
                    params,
                )
            )
        _send(self, *_forward(self, self.server.upstream, body))

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def recorder(moto_server: MotoServer) -> Iterator[RecordingProxy]:
    """A RecordingProxy in front of moto_server (a fixture: conftest.py makes it everyone's)."""
    with serving(RecordingProxy(moto_server.url)) as proxy:
        yield proxy
