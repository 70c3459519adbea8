"""A small local HTTP endpoint: one token, one JSON answer, nothing else.

This module knows nothing of credentials. :class:`Guard` decides who may
ask (the Host header first, against DNS rebinding, then the token in
constant time) and :class:`LoopbackServer` serves it on ``127.0.0.1`` with
the standard library's threading HTTP server. The answer itself comes from
a callable that must never block (it is called on every request), so what
it returns is prepared ahead by whoever owns the policy
(:mod:`sessman.credserver` for the credential server). A Unix-socket
server (the agent) can reuse :class:`Guard` and :class:`JsonHandler` with
``socketserver.ThreadingUnixStreamServer`` and ``hosts=None``.
"""

from __future__ import annotations

import hmac
import json
import sys
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ._log import get_logger

__all__ = ["LOOPBACK", "Answer", "Guard", "JsonHandler", "LoopbackServer", "json_answer"]

logger = get_logger(__name__)

LOOPBACK = "127.0.0.1"
#: A status code and a JSON body, ready to send.
Answer = tuple[int, bytes]
#: Seconds a connection may sit idle (or half-sent) before its thread lets go.
IDLE_TIMEOUT = 10.0


def json_answer(status: int, data: Any) -> Answer:
    """``data`` as a JSON answer with ``status``."""
    return status, json.dumps(data).encode()


def _refusal(status: int, code: str, message: str) -> Answer:
    return json_answer(status, {"Code": code, "Message": message})


FORBIDDEN_HOST = _refusal(403, "Forbidden", "this endpoint answers only to 127.0.0.1 or localhost")
UNAUTHORIZED = _refusal(401, "Unauthorized", "a missing or wrong Authorization token")
NOT_FOUND = _refusal(404, "NotFound", "no such path")
NOT_ALLOWED = _refusal(405, "MethodNotAllowed", "this endpoint answers only GET")

#: What a client that hangs up early, resets or times out causes: not worth a word.
DISCONNECTS = (ConnectionError, TimeoutError)


def loopback_hosts(port: int) -> frozenset[str]:
    """The Host headers a loopback server on ``port`` accepts."""
    return frozenset({LOOPBACK, f"{LOOPBACK}:{port}", "localhost", f"localhost:{port}"})


class Guard:
    """Who may ask, and what they get: Host checked first, then the token.

    ``hosts`` is the set of accepted Host headers (``None`` where there is
    no such thing to check, as on a Unix socket); ``answer`` gives the body
    for an authorised request to ``path`` and must not block.
    """

    def __init__(
        self,
        token: str,
        answer: Callable[[], Answer],
        *,
        hosts: Iterable[str] | None,
        path: str = "/",
    ) -> None:
        self._token = token.encode()
        self._answer = answer
        self._hosts = None if hosts is None else frozenset(h.lower() for h in hosts)
        self._path = path

    def __repr__(self) -> str:
        return f"Guard(path={self._path!r})"

    def handle(
        self, hosts: list[str], authorization: list[str], path: str, *, method: str = "GET"
    ) -> Answer:
        """The answer to a ``method`` request with these Host and Authorization headers.

        Any other method than GET gets 405, but only once the Host and the
        token have passed, so it tells a stranger nothing more than a GET.
        """
        if self._hosts is not None and (
            len(hosts) != 1 or hosts[0].strip().lower() not in self._hosts
        ):
            return FORBIDDEN_HOST
        given = (
            authorization[0].strip().encode("utf-8", "surrogateescape") if authorization else b""
        )
        # Compare even when the header is missing, so timing tells nothing.
        matches = hmac.compare_digest(given, self._token)
        if len(authorization) != 1 or not matches:
            return UNAUTHORIZED
        if method != "GET":
            return NOT_ALLOWED
        if path.partition("?")[0] != self._path:
            return NOT_FOUND
        return self._answer()


class JsonHandler(BaseHTTPRequestHandler):
    """Every method answered by the server's :class:`Guard`; no logging, no Server version.

    The standard handler answers a method it has no ``do_`` for with its
    own HTML 501 page, before any check; here every method goes through the
    guard (Host, then token) and only GET gets more than a refusal.
    """

    protocol_version = "HTTP/1.1"
    server_version = "sessman"
    sys_version = ""
    timeout = IDLE_TIMEOUT

    def do_GET(self) -> None:
        self._answer()

    def __getattr__(self, name: str) -> Any:
        # handle_one_request looks up ``do_<METHOD>``: every method has one.
        if name.startswith("do_"):
            return self._answer
        raise AttributeError(name)

    def _answer(self) -> None:
        guard: Guard = self.server.guard  # type: ignore[attr-defined]
        status, body = guard.handle(
            self.headers.get_all("Host") or [],
            self.headers.get_all("Authorization") or [],
            self.path,
            method=self.command,
        )
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if self.command != "GET":
            # A body it may have sent is unread: the connection cannot go on.
            self.close_connection = True
            self.send_header("Connection", "close")
            if status == NOT_ALLOWED[0]:
                self.send_header("Allow", "GET")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Say nothing: a request line is nobody's business on the child's terminal."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    guard: Guard

    def handle_error(self, request: object, client_address: object) -> None:
        """Never a traceback on the user's terminal (the default prints one).

        A client that hangs up early, resets or sends something that is not
        HTTP is its own business: nothing is said. Anything else is one line,
        naming only the exception's type (its text might quote a request).
        """
        exc = sys.exc_info()[1]
        if exc is None or isinstance(exc, DISCONNECTS):
            return
        logger.error("the credential server failed to answer a request (%s)", type(exc).__name__)


class LoopbackServer:
    """A :class:`Guard` served on ``127.0.0.1`` at a port the system picks.

    :meth:`start` serves from a background thread; :meth:`close` stops
    listening (the port is refused at once) and is safe to call twice.
    """

    def __init__(self, token: str, answer: Callable[[], Answer], *, path: str = "/") -> None:
        self._httpd = _Server((LOOPBACK, 0), JsonHandler, bind_and_activate=True)
        self.port: int = self._httpd.server_address[1]
        self._httpd.guard = Guard(token, answer, hosts=loopback_hosts(self.port), path=path)
        self.url = f"http://{LOOPBACK}:{self.port}{path}"
        self._thread: threading.Thread | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"LoopbackServer({self.url!r})"

    def start(self) -> None:
        """Answer requests from a daemon thread until :meth:`close`."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="sessman-http",
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        """Stop serving and close the listening socket."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()

    def __enter__(self) -> LoopbackServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
