"""A loopback HTTP reverse proxy that adds a fixed delay to every request.

A local endpoint answers in a few milliseconds, so fanning out over threads
gains little against it; a real AWS round trip across regions is closer to
100 ms. The benchmarks put this proxy between boto3 and ``moto_server`` to
make latency, not CPU, dominate, the way it does against AWS.

Requests are forwarded unchanged (method, path, query, headers including
``Host``, body), so a SigV4 signature made for the proxy's address stays
valid upstream. Each connection is served by its own thread, so 32 workers
wait out their delays at the same time.

Library use::

    with LatencyProxy("http://127.0.0.1:5000", delay=0.1) as proxy:
        client = session.client("sts", endpoint_url=proxy.url)

Command line::

    python -m bench.latency_proxy http://127.0.0.1:5000 --delay 0.1 --port 8080
"""

from __future__ import annotations

import argparse
import http.client
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

__all__ = ["LatencyProxy", "main"]

# Headers that describe one hop, not the message (RFC 9110 section 7.6.1).
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        # Not hop-by-hop, but this proxy answers it itself; SigV4 never signs it.
        "expect",
    }
)
_UPSTREAM_TIMEOUT = 60.0


class _ProxyServer(ThreadingHTTPServer):
    """A threaded server that knows its upstream and its delay."""

    daemon_threads = True
    # The default backlog of 5 drops SYNs when 32 workers connect at once,
    # and a dropped SYN costs a 1 s retransmit: far more than the delay.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], upstream: str, delay: float) -> None:
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"Upstream must be an http(s) URL, got {upstream!r}")
        self.upstream_https = parts.scheme == "https"
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or (443 if self.upstream_https else 80)
        self.delay = delay
        self.actions: list[str] = []  # the Action of each query-protocol request
        self.actions_lock = threading.Lock()
        super().__init__(address, _ForwardingHandler)


class _ForwardingHandler(BaseHTTPRequestHandler):
    """Sleeps ``delay``, forwards the request upstream, relays the answer."""

    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's pool expects
    server: _ProxyServer

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _upstream(self) -> http.client.HTTPConnection:
        srv = self.server
        cls = http.client.HTTPSConnection if srv.upstream_https else http.client.HTTPConnection
        return cls(srv.upstream_host, srv.upstream_port, timeout=_UPSTREAM_TIMEOUT)

    def _forward(self) -> None:
        body = self._read_body()
        action = parse_qs(body.decode("latin-1")).get("Action", [""])[0]
        with self.server.actions_lock:
            self.server.actions.append(action)
        time.sleep(self.server.delay)
        conn = self._upstream()
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                    conn.putheader(name, value)
            if body or self.command in ("POST", "PUT", "PATCH"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            payload = response.read()
        except OSError as exc:
            self.send_error(502, f"Upstream unreachable: {exc}")
            return
        finally:
            conn.close()
        # HEAD keeps the upstream's Content-Length (the size a GET would get);
        # statuses that never carry a body get neither a length nor a body.
        has_body = self.command != "HEAD" and response.status not in (204, 304)
        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            lower = name.lower()
            if lower in _HOP_BY_HOP or (lower == "content-length" and has_body):
                continue
            self.send_header(name, value)
        if has_body:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if has_body:
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _forward

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: one line per request would drown the benchmark output."""


class LatencyProxy:
    """A running proxy on loopback that delays each request by ``delay`` seconds.

    Use it as a context manager (or call :meth:`start` and :meth:`stop`);
    ``url`` is the address clients should use instead of the upstream.
    """

    def __init__(
        self, upstream_url: str, delay: float = 0.1, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self._server = _ProxyServer((host, port), upstream_url, delay)
        self._thread: threading.Thread | None = None
        bound_host, bound_port = self._server.server_address[:2]
        self.port: int = int(bound_port)
        self.url = f"http://{bound_host!s}:{self.port}"
        self.delay = delay

    def count(self, *actions: str) -> int:
        """How many requests so far were one of ``actions`` (STS, IAM: query protocol)."""
        with self._server.actions_lock:
            return sum(1 for a in self._server.actions if a in actions)

    def start(self) -> LatencyProxy:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="latency-proxy", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> LatencyProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """Run the proxy in the foreground until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.latency_proxy",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("upstream", help="upstream base URL, e.g. http://127.0.0.1:5000")
    parser.add_argument("--delay", type=float, default=0.1, help="seconds per request")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)
    server = _ProxyServer((args.host, args.port), args.upstream, args.delay)
    host, port = server.server_address[:2]
    print(f"http://{host!s}:{port} -> {args.upstream} (+{args.delay * 1000:.0f} ms)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
