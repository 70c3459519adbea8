"""A fake of IAM Identity Center's sso-oidc and portal APIs (moto has neither).

Stdlib ``http.server`` on loopback, serving both APIs on one URL (what an
sso session's ``endpoint_url`` points at), as FACTS.md describes them:

- ``POST /client/register``, ``/device_authorization``, ``/token`` (the
  device-code grant answers what ``polls`` scripts: ``pending``,
  ``slow_down``, ``expired``, ``denied``, then a token; the ``refresh_token``
  grant swaps a refresh token for a new access token), ``/logout``;
- ``GET /federation/credentials`` (real credentials: an AssumeRole against
  moto_server, so what sessman hands over works there), ``/assignment/accounts``
  and ``/assignment/roles`` (paged by ``page_size``), with the bearer token in
  ``x-amz-sso_bearer_token``; an unknown or expired token is 401;
  ``throttle_every`` answers every Nth listing request 429.

Every request is recorded (time, method, path), so tests can count polls and
measure the request rate. Secrets it issues are recognisable, so tests can
grep for them.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

__all__ = ["SsoFake", "sso_fake"]

USER_CODE = "SESS-MANX"
VERIFICATION_URI = "https://device.sso.example.invalid/"


@dataclass
class SsoFake:
    """State and script of the fake; tests change it between calls."""

    moto_url: str
    url: str = ""
    #: What successive device-code polls answer before the token (consumed).
    polls: list[str] = field(default_factory=list)
    interval: float = 0.05
    token_lifetime: int = 3600
    issue_refresh_token: bool = True
    #: Refresh-token rotation: a refresh token works once (then invalid_grant).
    rotate_refresh_tokens: bool = False
    #: account id -> (account name, [role names])
    assignments: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    page_size: int = 2
    throttle_every: int = 0
    credential_lifetime: int = 3600
    #: path -> (status, body, headers): answered instead of the normal handler.
    override: dict[str, tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=dict)
    #: path -> (status, body): answered once, instead of the normal handler.
    fail_once: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    #: bearer tokens seen, by path.
    bearer: dict[str, list[str]] = field(default_factory=dict)
    requests: list[tuple[float, str, str]] = field(default_factory=list)
    registrations: int = 0
    refreshes: int = 0
    role_credentials: int = 0
    issued: list[str] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    _tokens: dict[str, float] = field(default_factory=dict)
    _refresh: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _listings: int = 0

    def secrets(self) -> list[str]:
        """Every token and client secret the fake handed out."""
        return list(self.issued)

    def paths(self, path: str) -> list[float]:
        """Times of the requests to ``path``."""
        return [t for t, _, p in self.requests if p == path]

    # -- the handlers ---------------------------------------------------------

    def _new(self, kind: str) -> str:
        value = f"SSOFAKE{kind}{len(self.issued):04d}SECRETVALUE"
        self.issued.append(value)
        return value

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if path == "/client/register":
            self.registrations += 1
            return 200, {
                "clientId": f"client-{self.registrations}",
                "clientSecret": self._new("CLIENTSECRET"),
                "clientIdIssuedAt": int(time.time()),
                "clientSecretExpiresAt": int(time.time()) + 90 * 86400,
            }
        if path == "/device_authorization":
            return 200, {
                "deviceCode": "device-code-1",
                "userCode": USER_CODE,
                "verificationUri": VERIFICATION_URI,
                "verificationUriComplete": f"{VERIFICATION_URI}?user_code={USER_CODE}",
                "expiresIn": 600,
                "interval": self.interval,
            }
        if path == "/token":
            return self._token(body)
        if path == "/logout":
            return 200, {}
        return 404, {"__type": "NotFoundException"}

    def _token(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        grant = body.get("grantType")
        if grant == "refresh_token":
            if body.get("refreshToken") not in self._refresh:
                return 400, {"__type": "InvalidGrantException", "error": "invalid_grant"}
            self.refreshes += 1
            if self.rotate_refresh_tokens:
                self._refresh.discard(body["refreshToken"])
            return 200, self._issue()
        if grant != "urn:ietf:params:oauth:grant-type:device_code":
            return 400, {
                "__type": "UnsupportedGrantTypeException",
                "error": "unsupported_grant_type",
            }
        step = self.polls.pop(0) if self.polls else "ok"
        errors = {
            "pending": ("AuthorizationPendingException", "authorization_pending"),
            "slow_down": ("SlowDownException", "slow_down"),
            "expired": ("ExpiredTokenException", "expired_token"),
            "denied": ("AccessDeniedException", "access_denied"),
        }
        if step in errors:
            kind, code = errors[step]
            return 400, {"__type": kind, "error": code}
        return 200, self._issue()

    def _issue(self) -> dict[str, Any]:
        token = self._new("ACCESSTOKEN")
        self._tokens[token] = time.time() + self.token_lifetime
        answer: dict[str, Any] = {
            "accessToken": token,
            "tokenType": "Bearer",
            "expiresIn": self.token_lifetime,
        }
        if self.issue_refresh_token:
            refresh = self._new("REFRESHTOKEN")
            self._refresh.add(refresh)
            answer["refreshToken"] = refresh
        return answer

    def get(
        self, path: str, query: dict[str, str], token: str | None
    ) -> tuple[int, dict[str, Any]]:
        if token is None or token in self.revoked or self._tokens.get(token, 0) < time.time():
            return 401, {"__type": "UnauthorizedException", "message": "Session token not found"}
        if path.startswith("/assignment/"):
            self._listings += 1
            if self.throttle_every and self._listings % self.throttle_every == 0:
                return 429, {"__type": "TooManyRequestsException"}
        if path == "/federation/credentials":
            return self._credentials(query)
        if path == "/assignment/accounts":
            items = [
                {"accountId": a, "accountName": name, "emailAddress": f"{a}@example.invalid"}
                for a, (name, _) in sorted(self.assignments.items())
            ]
            return 200, self._page(items, query, "accountList")
        if path == "/assignment/roles":
            account = query.get("account_id", "")
            roles = self.assignments.get(account, ("", []))[1]
            items = [{"roleName": r, "accountId": account} for r in roles]
            return 200, self._page(items, query, "roleList")
        return 404, {"__type": "NotFoundException"}

    def _page(
        self, items: list[dict[str, Any]], query: dict[str, str], member: str
    ) -> dict[str, Any]:
        start = int(query.get("next_token") or 0)
        end = start + self.page_size
        page: dict[str, Any] = {member: items[start:end]}
        if end < len(items):
            page["nextToken"] = str(end)
        return page

    def _credentials(self, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        account, role = query.get("account_id", ""), query.get("role_name", "")
        if role not in self.assignments.get(account, ("", []))[1]:
            return 403, {"__type": "ForbiddenException", "message": "No access"}
        import boto3

        self.role_credentials += 1
        sts = boto3.session.Session(
            aws_access_key_id="fake", aws_secret_access_key="fake", region_name="us-east-1"
        ).client("sts", endpoint_url=self.moto_url)
        creds = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/{role}",
            RoleSessionName="sso-user",
            DurationSeconds=self.credential_lifetime,
        )["Credentials"]
        sts.close()
        return 200, {
            "roleCredentials": {
                "accessKeyId": creds["AccessKeyId"],
                "secretAccessKey": creds["SecretAccessKey"],
                "sessionToken": creds["SessionToken"],
                "expiration": int(creds["Expiration"].timestamp() * 1000),
            }
        }


def _handler(fake: SsoFake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _answer(
            self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
        ) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if status >= 400 and "__type" in body:
                self.send_header("x-amzn-ErrorType", str(body["__type"]))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                body = {}
            path = urlparse(self.path).path
            with fake.lock:
                fake.requests.append((time.monotonic(), "POST", path))
                if path in fake.override:
                    self._answer(*fake.override[path])
                    return
                if path in fake.fail_once:
                    self._answer(*fake.fail_once.pop(path))
                    return
                status, answer = fake.post(path, body if isinstance(body, dict) else {})
            self._answer(status, answer)

        def do_GET(self) -> None:
            parsed = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
            token = self.headers.get("x-amz-sso_bearer_token")
            with fake.lock:
                fake.requests.append((time.monotonic(), "GET", parsed.path))
                fake.bearer.setdefault(parsed.path, []).append(token or "")
            if parsed.path in fake.override:
                self._answer(*fake.override[parsed.path])
                return
            status, answer = fake.get(parsed.path, query, token)
            self._answer(status, answer)

    return Handler


@pytest.fixture
def sso_fake(moto_server: Any) -> Iterator[SsoFake]:
    """A running fake of sso-oidc and the portal on loopback, backed by moto_server."""
    fake = SsoFake(moto_url=moto_server.url)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="sso-fake", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
