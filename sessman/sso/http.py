"""JSON over HTTP(S) to the sso-oidc and portal APIs, with their errors and a rate limit.

Both APIs are plain REST-JSON without SigV4 (sso-oidc takes the client
secret in the body, the portal a bearer token in ``x-amz-sso_bearer_token``),
so the standard library is enough, and signing in or handing over SSO
credentials never imports boto3. Redirects are refused (they would carry the
bearer token to another host); responses are size-limited; errors name the
endpoint and the service's error code, never what the server echoed.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sessman.config import SsoSession
from sessman.errors import EndpointUnreachable, SessmanError

__all__ = [
    "Endpoint",
    "RateLimiter",
    "ServiceError",
    "oidc_endpoint",
    "portal_endpoint",
]

#: Largest answer read from either API (the biggest real one is a page of accounts).
_MAX_BODY = 1 << 20
#: HTTP statuses worth another attempt: throttling and server trouble.
_RETRYABLE = frozenset({429, 500, 502, 503, 504})
#: Identity Center's documented limit; populate stays under it.
REQUESTS_PER_SECOND = 20.0


def _domain(region: str) -> str:
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"


def oidc_endpoint(sso: SsoSession) -> str:
    """Base URL of sso-oidc for ``sso`` (its ``endpoint_url`` when set)."""
    return (sso.endpoint_url or f"https://oidc.{sso.region}.{_domain(sso.region)}").rstrip("/")


def portal_endpoint(sso: SsoSession) -> str:
    """Base URL of the portal API for ``sso`` (its ``endpoint_url`` when set)."""
    default = f"https://portal.sso.{sso.region}.{_domain(sso.region)}"
    return (sso.endpoint_url or default).rstrip("/")


class ServiceError(SessmanError):
    """The API answered with an error; ``code`` is its OAuth-style snake_case name.

    ``authorization_pending``, ``slow_down``, ``expired_token``,
    ``access_denied``, ``invalid_grant``, ``unauthorized`` (a portal 401),
    ``too_many_requests``, ...: the ``error`` member of the answer, else its
    ``__type`` or ``x-amzn-ErrorType`` without ``Exception``, else one named
    for the HTTP status.
    """

    def __init__(self, message: str, *, code: str, status: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.status = status


def _snake(name: str) -> str:
    name = name.split(":", 1)[0].rsplit("#", maxsplit=1)[-1].removesuffix("Exception")
    out = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
    return out if out.replace("_", "").isalnum() else ""


def _error_code(status: int, body: bytes, header: str | None) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("error", "__type", "code", "Code"):
            value = data.get(key)
            if isinstance(value, str) and value:
                code = value if key == "error" else _snake(value)
                if code and len(code) <= 64 and code.replace("_", "").isalnum():
                    return code.lower()
    if header:
        code = _snake(header)
        if code:
            return code
    return {401: "unauthorized", 403: "access_denied", 429: "too_many_requests"}.get(
        status, "server_error" if status >= 500 else f"http_{status}"
    )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: they would carry the bearer token to another URL."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect())


@dataclass(frozen=True)
class Endpoint:
    """Where one API is and how patiently to talk to it."""

    base: str
    timeout: float = 30.0
    attempts: int = 3
    sleep: Callable[[float], None] = time.sleep
    #: Most seconds spent waiting between attempts, in all (throttling, server trouble).
    patience: float = 10.0

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, str] | None = None,
        token: str | None = None,
        limiter: RateLimiter | None = None,
    ) -> dict[str, Any]:
        """One API call: the JSON object it answered, or ServiceError / EndpointUnreachable.

        Throttling (429) and server errors are tried again, up to ``attempts``
        in all, with exponential backoff, waiting no more than ``patience``
        seconds in all. An endpoint that cannot be reached (connection
        refused, unknown host, timeout) fails at once: waiting would not make
        it answer; only a connection the server dropped is tried once more.
        """
        url = self.base + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        headers = {"Accept": "application/json", "User-Agent": "sessman"}
        data = None
        if body is not None:
            data = json.dumps(dict(body)).encode()
            headers["Content-Type"] = "application/json"
        if token is not None:
            headers["x-amz-sso_bearer_token"] = token
        delay, waited = 0.5, 0.0
        for attempt in range(1, self.attempts + 1):
            if limiter is not None:
                limiter.wait()
            # The base is an http(s) URL: the profiles file's format allows no other scheme.
            request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
            try:
                with _OPENER.open(request, timeout=self.timeout) as response:
                    raw = response.read(_MAX_BODY + 1)
                    status = response.status
            except urllib.error.HTTPError as exc:
                raw = exc.read(_MAX_BODY) if exc.fp is not None else b""
                code = _error_code(exc.code, raw, exc.headers.get("x-amzn-ErrorType"))
                exc.close()
                pause = _retry_after(exc.headers.get("Retry-After"), delay)
                if (
                    exc.code in _RETRYABLE
                    and attempt < self.attempts
                    and waited + pause <= self.patience
                ):
                    self.sleep(pause)
                    waited += pause
                    delay *= 2
                    continue
                message = f"{self.base} answered {method} {path} with {code} (HTTP {exc.code})"
                raise ServiceError(message, code=code, status=exc.code) from None
            except (urllib.error.URLError, OSError, ValueError) as exc:
                dropped = isinstance(getattr(exc, "reason", exc), ConnectionResetError)
                if dropped and attempt == 1 and attempt < self.attempts:
                    self.sleep(0.2)  # the server closed a kept-alive connection: once more
                    continue
                reason = getattr(exc, "reason", exc)
                raise EndpointUnreachable(
                    f"cannot reach IAM Identity Center at {self.base} ({type(reason).__name__})",
                    hint="check the network, or endpoint_url of the sso session",
                ) from None
            return _json_object(raw, status, self.base, path)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _retry_after(header: str | None, default: float) -> float:
    try:
        value = float(header) if header is not None else default
    except ValueError:
        return default
    return min(max(value, 0.0), 30.0)


def _json_object(raw: bytes, status: int, base: str, path: str) -> dict[str, Any]:
    if len(raw) > _MAX_BODY:
        raise SessmanError(f"{base} answered {path} with more than {_MAX_BODY} bytes")
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise SessmanError(
            f"{base} did not answer {path} like IAM Identity Center (HTTP {status}, not JSON)",
            hint="check endpoint_url of the sso session",
        )
    return data


class RateLimiter:
    """At most ``per_second`` calls in any one-second window, spread evenly.

    Each :meth:`wait` returns no sooner than a fixed interval after the one
    before (a little over ``1/per_second``, so even a closed one-second window
    never holds more); it counts the calls, for reports.
    """

    def __init__(
        self,
        per_second: float = REQUESTS_PER_SECOND,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / per_second * 1.02
        self.count = 0
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            if now < self._next:
                self._sleep(self._next - now)
                now = self._clock()
            self._next = max(now, self._next) + self.interval
            self.count += 1
