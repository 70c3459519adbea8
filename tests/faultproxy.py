"""A loopback proxy in front of moto_server that can reject chosen requests.

moto accepts a new access key at once and never fails where a test wants it
to; real AWS takes seconds to accept a new key, and any call can fail. The
proxy forwards each request unchanged (Host included, so signatures still
verify upstream) unless its ``rule`` answers with an AWS error instead. It
records the action and the signing key of every request.
"""

from __future__ import annotations

import http.client
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

__all__ = ["Call", "FaultProxy", "Reject", "proxying"]


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
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
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
        signed = re.search(r"Credential=([^/,]+)/", self.headers.get("Authorization", ""))
        key = signed.group(1) if signed else ""
        with self.server.lock:
            reject = self.server.rule(action, key) if self.server.rule else None
            self.server.calls.append(Call(action, key, reject is not None))
        if reject is not None:
            self._send(reject.status, [("Content-Type", "text/xml")], _error_xml(reject))
            return
        upstream = http.client.HTTPConnection(*self.server.upstream, timeout=30)
        try:
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower() not in ("connection", "content-length", "expect")
            }
            upstream.request("POST", self.path, body, headers)
            response = upstream.getresponse()
            payload = response.read()
        finally:
            upstream.close()
        kept = [
            (k, v)
            for k, v in response.getheaders()
            if k.lower() not in ("connection", "content-length", "transfer-encoding")
        ]
        self._send(response.status, kept, payload)

    def _send(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        self.send_response_only(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

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
    proxy = FaultProxy(upstream)
    thread = threading.Thread(target=proxy.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join()
