"""Signing in to IAM Identity Center, and the tokens that result, kept in the keyring.

``sessman sso login`` runs the OAuth device authorization flow of sso-oidc:
RegisterClient (the registration is kept and reused until it expires),
StartDeviceAuthorization (the verification URL and user code are shown),
then CreateToken polled at the interval the service gives, slower after a
``slow_down``, until the user approves, the code expires or Ctrl-C.

The access token, the refresh token and the client registration are one
JSON entry of the keyring (user ``sso-session:<name>:token``, which no
profile's entry can be, as profile names hold no colon); never a plain file,
unless ``--aws-cache`` asks for the standard ``~/.aws/sso/cache`` file for
tools that read only that. :func:`access_token` refreshes the token with the
refresh token before it expires.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sessman._atomic import write_atomic
from sessman.config import SsoSession
from sessman.errors import AuthenticationFailed, SessmanError
from sessman.secrets import SecretStore

from .http import Endpoint, ServiceError, oidc_endpoint, portal_endpoint

__all__ = [
    "LoginRequired",
    "LoginResult",
    "Token",
    "access_token",
    "aws_cache_path",
    "keyring_user",
    "login",
    "logout",
]

#: A token with less than this left is refreshed first (botocore's own window).
REFRESH_AHEAD = 15 * 60
#: A token this close to its end is not handed out, refreshable or not.
LAST_USE = 60
#: A client registration this close to its end is replaced, not reused.
REGISTRATION_MARGIN = 60 * 60
#: RFC 8628: what a slow_down adds to the polling interval, and its default.
SLOW_DOWN = 5.0
DEFAULT_INTERVAL = 5.0
#: Lifetime assumed for a token whose answer omits expiresIn (the service always sends it).
DEFAULT_TOKEN_LIFETIME = 3600.0
_GRANT_DEVICE = "urn:ietf:params:oauth:grant-type:device_code"
_USER_CODE = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_URL = re.compile(r"^https?://[!-~]+$")
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_LOCK = threading.Lock()


class LoginRequired(AuthenticationFailed):
    """No usable IAM Identity Center login: never signed in, expired or revoked."""


def keyring_user(name: str) -> str:
    """Keyring user name of sso session ``name``'s tokens and client registration."""
    return f"sso-session:{name}:token"


def _utc(seconds: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(seconds=seconds)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: Any) -> datetime:
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("naive time")
    return moment.astimezone(timezone.utc)


def _text(data: Mapping[str, Any], key: str, *, optional: bool = False) -> Any:
    """A non-empty printable string member of an answer or entry (shape check, SPEC 1)."""
    value = data.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value or len(value) > 16384 or not value.isprintable():
        raise ValueError(key)
    return value


@dataclass(frozen=True)
class Token:
    """An access token of the portal, and what renews it."""

    access_token: str = field(repr=False)
    expires: datetime
    refresh_token: str | None = field(default=None, repr=False)

    def remaining(self) -> float:
        return (self.expires - datetime.now(timezone.utc)).total_seconds()


@dataclass(frozen=True)
class Registration:
    """A client registration of sso-oidc, valid for one endpoint and set of scopes."""

    client_id: str
    client_secret: str = field(repr=False)
    expires: datetime
    endpoint: str
    scopes: tuple[str, ...]

    def fits(self, sso: SsoSession) -> bool:
        """Whether it may be used for ``sso`` now (same endpoint and scopes, not ending)."""
        left = (self.expires - datetime.now(timezone.utc)).total_seconds()
        return (
            self.endpoint == oidc_endpoint(sso)
            and self.scopes == sso.registration_scopes
            and left > REGISTRATION_MARGIN
        )


@dataclass(frozen=True)
class Entry:
    """The keyring entry of one sso session: its token (for one start URL) and registration."""

    start_url: str
    region: str
    token: Token | None = None
    registration: Registration | None = None
    aws_cache: bool = False

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "format": "sessman-sso",
            "startUrl": self.start_url,
            "region": self.region,
            "awsCache": self.aws_cache,
        }
        if self.token is not None:
            data.update(
                accessToken=self.token.access_token,
                expiresAt=_iso(self.token.expires),
                refreshToken=self.token.refresh_token,
            )
        if self.registration is not None:
            r = self.registration
            data["registration"] = {
                "clientId": r.client_id,
                "clientSecret": r.client_secret,
                "expiresAt": _iso(r.expires),
                "endpoint": r.endpoint,
                "scopes": list(r.scopes),
            }
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str, sso: SsoSession) -> Entry:
        """The entry for ``sso``; a damaged entry, or one of another portal, holds nothing."""
        empty = cls(sso.start_url, sso.region)
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("format") != "sessman-sso":
                return empty
            registration = None
            raw = data.get("registration")
            if isinstance(raw, dict):
                scopes = raw.get("scopes")
                if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
                    raise ValueError("scopes")
                registration = Registration(
                    _text(raw, "clientId"),
                    _text(raw, "clientSecret"),
                    _parse_time(raw.get("expiresAt")),
                    _text(raw, "endpoint"),
                    tuple(scopes),
                )
            token = None
            if (
                "accessToken" in data
                and data.get("startUrl") == sso.start_url
                and data.get("region") == sso.region
            ):
                token = Token(
                    _text(data, "accessToken"),
                    _parse_time(data.get("expiresAt")),
                    _text(data, "refreshToken", optional=True),
                )
        except (ValueError, TypeError, OverflowError):
            return empty
        return cls(sso.start_url, sso.region, token, registration, data.get("awsCache") is True)


def _read(store: SecretStore, sso: SsoSession) -> Entry:
    text = store.get(keyring_user(sso.name))
    return Entry.from_json(text, sso) if text else Entry(sso.start_url, sso.region)


def _save(store: SecretStore, sso: SsoSession, entry: Entry) -> None:
    store.put(keyring_user(sso.name), entry.to_json())
    if entry.aws_cache and entry.token is not None:
        write_aws_cache(sso, entry)


def _lock(name: str) -> threading.Lock:
    with _LOCKS_LOCK:
        return _LOCKS.setdefault(name, threading.Lock())


def _oidc(sso: SsoSession, sleep: Callable[[float], None] = time.sleep) -> Endpoint:
    return Endpoint(oidc_endpoint(sso), sleep=sleep)


def _login_hint(sso: SsoSession) -> str:
    return f"sign in with: sessman sso login {sso.name}"


# -- the standard cache file --------------------------------------------------


def aws_cache_path(sso: SsoSession) -> Path:
    """``~/.aws/sso/cache/<sha1 of the session name>.json``, where botocore looks for it."""
    digest = hashlib.sha1(sso.name.encode("utf-8")).hexdigest()  # noqa: S324 - a file name
    return Path(os.path.expanduser("~")) / ".aws" / "sso" / "cache" / f"{digest}.json"


def write_aws_cache(sso: SsoSession, entry: Entry) -> Path:
    """Write the token in the AWS CLI's cache format (0600, atomic)."""
    assert entry.token is not None
    data: dict[str, Any] = {
        "startUrl": sso.start_url,
        "region": sso.region,
        "accessToken": entry.token.access_token,
        "expiresAt": _iso(entry.token.expires),
    }
    if entry.registration is not None:
        data.update(
            clientId=entry.registration.client_id,
            clientSecret=entry.registration.client_secret,
            registrationExpiresAt=_iso(entry.registration.expires),
        )
    if entry.token.refresh_token is not None:
        data["refreshToken"] = entry.token.refresh_token
    path = aws_cache_path(sso)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(path, json.dumps(data, indent=2).encode(), mode=0o600)
    return path


def _remove_aws_cache(sso: SsoSession) -> bool:
    """Remove the cache file of ``sso`` if it is one for the same start URL."""
    path = aws_cache_path(sso)
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    if not isinstance(data, dict) or data.get("startUrl") != sso.start_url:
        return False
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return True


# -- login ---------------------------------------------------------------------


@dataclass(frozen=True)
class LoginResult:
    """A finished sign-in: until when the token is good (no secrets)."""

    session: str
    start_url: str
    expires: datetime
    refreshable: bool
    aws_cache: Path | None


def _register(sso: SsoSession, oidc: Endpoint) -> Registration:
    answer = oidc.call(
        "POST",
        "/client/register",
        body={
            "clientName": "sessman",
            "clientType": "public",
            "scopes": list(sso.registration_scopes),
        },
    )
    try:
        raw_expiry = answer.get("clientSecretExpiresAt")
        if isinstance(raw_expiry, int | float) and not isinstance(raw_expiry, bool):
            expires = datetime.fromtimestamp(raw_expiry, timezone.utc)  # epoch seconds, as AWS
        elif isinstance(raw_expiry, str):
            expires = _parse_time(raw_expiry)
        else:
            expires = _utc(90 * 86400)  # AWS registrations last 90 days
        return Registration(
            _text(answer, "clientId"),
            _text(answer, "clientSecret"),
            expires,
            oidc.base,
            sso.registration_scopes,
        )
    except (ValueError, TypeError, OverflowError, OSError):
        raise _malformed(oidc, "RegisterClient") from None


def _malformed(endpoint: Endpoint, what: str) -> SessmanError:
    return SessmanError(
        f"{endpoint.base} answered {what} with something that is not IAM Identity Center's"
        " answer; nothing was stored",
        hint="check endpoint_url of the sso session",
    )


def can_open_browser(env: Mapping[str, str] | None = None) -> bool:
    """Whether a browser is configured: BROWSER, a display, or a desktop OS."""
    env = os.environ if env is None else env
    if env.get("BROWSER"):
        return True
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def login(
    sso: SsoSession,
    store: SecretStore,
    *,
    show: Callable[[str], None],
    browser: bool = True,
    aws_cache: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> LoginResult:
    """Sign in with the device flow and store the token; see the module docstring.

    ``show`` gets the lines for the user (the verification URL and code);
    ``browser`` opens the URL where one is configured. Nothing is read from
    stdin. KeyboardInterrupt propagates (the registration is already kept).
    """
    oidc = _oidc(sso, sleep)
    with _lock(sso.name):
        entry = _read(store, sso)
        registration = entry.registration
        if registration is None or not registration.fits(sso):
            registration = _register(sso, oidc)
            entry = replace(entry, registration=registration)
            store.put(keyring_user(sso.name), entry.to_json())
    try:
        answer = _start(sso, oidc, registration)
    except ServiceError as exc:
        if exc.code not in ("invalid_client", "unauthorized_client"):
            raise
        # The service forgot the registration (revoked, or a restarted fake): once more.
        registration = _register(sso, oidc)
        with _lock(sso.name):
            store.put(
                keyring_user(sso.name),
                replace(_read(store, sso), registration=registration).to_json(),
            )
        answer = _start(sso, oidc, registration)
    try:
        device_code = _text(answer, "deviceCode")
        user_code = _text(answer, "userCode")
        complete = _text(answer, "verificationUriComplete", optional=True)
        uri = _text(answer, "verificationUri", optional=complete is not None) or complete
        complete = complete or uri
        raw_interval, raw_lifetime = answer.get("interval"), answer.get("expiresIn")
        interval = DEFAULT_INTERVAL if raw_interval is None else float(raw_interval)
        lifetime = 600.0 if raw_lifetime is None else float(raw_lifetime)
        if not (_USER_CODE.match(user_code) and _URL.match(uri) and _URL.match(complete)):
            raise ValueError("shape")
        if not (0 <= interval <= 60 and 0 < lifetime <= 86400):
            raise ValueError("times")
    except (ValueError, TypeError):
        raise _malformed(oidc, "StartDeviceAuthorization") from None
    show(f"Sign in to IAM Identity Center (sso session {sso.name!r}, {sso.start_url}):")
    show(f"  open {uri}")
    show(f"  and enter the code {user_code}")
    if complete != uri:
        show(f"  (or open {complete})")
    if browser and can_open_browser():
        import webbrowser

        with contextlib.suppress(Exception):
            webbrowser.open(complete, new=2)
    show("Waiting for approval (Ctrl-C to stop)...")
    token = _poll(sso, oidc, registration, device_code, interval, clock() + lifetime, clock)
    with _lock(sso.name):
        entry = replace(_read(store, sso), registration=registration, token=token)
        entry = replace(entry, aws_cache=aws_cache)  # each login says whether it wants one
        store.put(keyring_user(sso.name), entry.to_json())
        cache = write_aws_cache(sso, entry) if entry.aws_cache else None
    return LoginResult(
        sso.name, sso.start_url, token.expires, token.refresh_token is not None, cache
    )


def _start(sso: SsoSession, oidc: Endpoint, registration: Registration) -> dict[str, Any]:
    """StartDeviceAuthorization: the device code, the user code and where to enter it."""
    return oidc.call(
        "POST",
        "/device_authorization",
        body={
            "clientId": registration.client_id,
            "clientSecret": registration.client_secret,
            "startUrl": sso.start_url,
        },
    )


def _poll(
    sso: SsoSession,
    oidc: Endpoint,
    registration: Registration,
    device_code: str,
    interval: float,
    deadline: float,
    clock: Callable[[], float],
) -> Token:
    body = {
        "clientId": registration.client_id,
        "clientSecret": registration.client_secret,
        "grantType": _GRANT_DEVICE,
        "deviceCode": device_code,
    }
    while True:
        if clock() + interval > deadline:
            raise SessmanError(
                f"the code of sso session {sso.name!r} expired before it was approved",
                hint=f"run it again: sessman sso login {sso.name}",
            )
        oidc.sleep(interval)
        try:
            answer = oidc.call("POST", "/token", body=body)
        except ServiceError as exc:
            if exc.code == "authorization_pending":
                continue
            if exc.code == "slow_down":
                interval += SLOW_DOWN
                continue
            if exc.code == "expired_token":
                raise SessmanError(
                    f"the code of sso session {sso.name!r} expired before it was approved",
                    hint=f"run it again: sessman sso login {sso.name}",
                ) from None
            if exc.code == "access_denied":
                raise AuthenticationFailed(
                    f"the sign-in to sso session {sso.name!r} was denied",
                    hint=f"run it again and approve it: sessman sso login {sso.name}",
                ) from None
            raise
        return _token(answer, oidc, "CreateToken")


def _token(answer: Mapping[str, Any], oidc: Endpoint, what: str) -> Token:
    try:
        raw = answer.get("expiresIn")
        seconds = DEFAULT_TOKEN_LIFETIME if raw is None else float(raw)
        if not 0 < seconds <= 7 * 86400:
            raise ValueError("expiresIn")
        return Token(
            _text(answer, "accessToken"),
            _utc(seconds),
            _text(answer, "refreshToken", optional=True),
        )
    except (ValueError, TypeError):
        raise _malformed(oidc, what) from None


# -- using and refreshing the token ----------------------------------------------


def access_token(sso: SsoSession, store: SecretStore) -> str:
    """A valid access token of ``sso``, refreshed first when it is near its end.

    Raises :class:`LoginRequired` (with the ``sessman sso login`` hint) when
    there is none, or it expired and cannot be refreshed.
    """
    with _lock(sso.name):
        entry = _read(store, sso)
        token = entry.token
        if token is None:
            raise LoginRequired(f"sso session {sso.name!r} is not signed in", hint=_login_hint(sso))
        if token.remaining() > REFRESH_AHEAD:
            return token.access_token
        registration = entry.registration
        if token.refresh_token is not None and registration is not None:
            oidc = _oidc(sso)
            try:
                answer = oidc.call(
                    "POST",
                    "/token",
                    body={
                        "clientId": registration.client_id,
                        "clientSecret": registration.client_secret,
                        "grantType": "refresh_token",
                        "refreshToken": token.refresh_token,
                    },
                )
                fresh = _token(answer, oidc, "CreateToken (refresh)")
            except ServiceError:
                fresh = None  # refused (expired, revoked): below, the old one or a login
            if fresh is not None:
                if fresh.refresh_token is None:
                    fresh = replace(fresh, refresh_token=token.refresh_token)
                _save(store, sso, replace(entry, token=fresh))
                return fresh.access_token
        if token.remaining() > LAST_USE:
            return token.access_token
        raise LoginRequired(
            f"the sign-in of sso session {sso.name!r} has expired", hint=_login_hint(sso)
        )


def forget_token(sso: SsoSession, store: SecretStore) -> None:
    """Drop the token the portal refused (revoked), keeping the client registration."""
    with _lock(sso.name):
        entry = _read(store, sso)
        if entry.token is not None:
            store.put(keyring_user(sso.name), replace(entry, token=None).to_json())


def logout(sso: SsoSession, store: SecretStore) -> dict[str, Any]:
    """Sign out: tell the portal (best effort), delete the keyring entry and our cache file."""
    with _lock(sso.name):
        entry = _read(store, sso)
        if entry.token is not None and entry.token.remaining() > 0:
            portal = Endpoint(portal_endpoint(sso), timeout=5.0, attempts=1)
            with contextlib.suppress(SessmanError):
                portal.call("POST", "/logout", token=entry.token.access_token)
        was = store.delete(keyring_user(sso.name))
        removed = _remove_aws_cache(sso)
    return {
        "session": sso.name,
        "was_signed_in": entry.token is not None and was,
        "aws_cache_removed": removed,
    }
