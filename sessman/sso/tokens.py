"""Signing in to IAM Identity Center, and keeping the resulting token fresh.

``sessman sso login`` runs the OAuth device authorization flow of sso-oidc:
RegisterClient (the registration is kept and reused until it expires),
StartDeviceAuthorization (the verification URL and user code are shown),
then CreateToken polled at the interval the service gives, slower after a
``slow_down``, until the user approves, the code expires or Ctrl-C.

The access token, the refresh token and the client registration are kept
in the keyring only (see :mod:`sessman.sso.storage`); :func:`access_token`
refreshes the token with the refresh token before it expires.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sessman.config import SsoSession
from sessman.errors import AuthenticationFailed, SessmanError
from sessman.model import DEFAULT_KEYRING_SERVICE
from sessman.secretstore import SecretStore

from .http import Endpoint, ServiceError, oidc_endpoint, portal_endpoint
from .storage import (
    Registration,
    Token,
    keyring_user,
    member,
    parse_time,
    read_entry,
    remove_aws_cache,
    save_entry,
    utc_in,
    write_aws_cache,
)

__all__ = [
    "LoginRequired",
    "LoginResult",
    "access_token",
    "can_open_browser",
    "forget_token",
    "login",
    "logout",
]

#: A token with less than this left is refreshed first (botocore's own window).
REFRESH_AHEAD = 15 * 60
#: A token this close to its end is not handed out, refreshable or not.
LAST_USE = 60
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


def _lock(name: str) -> threading.Lock:
    with _LOCKS_LOCK:
        return _LOCKS.setdefault(name, threading.Lock())


def _oidc(sso: SsoSession, sleep: Callable[[float], None] = time.sleep) -> Endpoint:
    return Endpoint(oidc_endpoint(sso), sleep=sleep)


def _login_hint(sso: SsoSession) -> str:
    return f"sign in with: sessman sso login {sso.name}"


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
            expires = parse_time(raw_expiry)
        else:
            expires = utc_in(90 * 86400)  # AWS registrations last 90 days
        return Registration(
            member(answer, "clientId"),
            member(answer, "clientSecret"),
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


def _open_browser(url: str) -> None:
    """Open ``url`` in a browser, its helpers' complaints kept off our stderr.

    With a display but no browser, ``xdg-open`` and ``gio`` print things like
    ``gio: ...: Operation not supported``; the URL and code are shown anyway,
    so the opener runs with stderr on /dev/null (its children inherit it).
    """
    import webbrowser

    sys.stderr.flush()
    saved = os.dup(2)
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
        finally:
            os.close(devnull)
        with contextlib.suppress(Exception):
            webbrowser.open(url, new=2)
    finally:
        os.dup2(saved, 2)
        os.close(saved)


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
        entry = read_entry(store, sso)
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
                replace(read_entry(store, sso), registration=registration).to_json(),
            )
        answer = _start(sso, oidc, registration)
    try:
        device_code = member(answer, "deviceCode")
        user_code = member(answer, "userCode")
        complete = member(answer, "verificationUriComplete", optional=True)
        uri = member(answer, "verificationUri", optional=complete is not None) or complete
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
        _open_browser(complete)
    show("Waiting for approval (Ctrl-C to stop)...")
    token = _poll(sso, oidc, registration, device_code, interval, clock() + lifetime, clock)
    with _lock(sso.name):
        before = read_entry(store, sso)
        entry = replace(before, registration=registration, token=token)
        entry = replace(entry, aws_cache=aws_cache)  # each login says whether it wants one
        store.put(keyring_user(sso.name), entry.to_json())
        cache = write_aws_cache(sso, entry) if entry.aws_cache else None
        if before.aws_cache and not aws_cache:
            # The file an earlier --aws-cache login wrote holds old tokens and the client
            # secret; a file sessman never wrote (the AWS CLI's own) is left alone.
            remove_aws_cache(sso)
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
            member(answer, "accessToken"),
            utc_in(seconds),
            member(answer, "refreshToken", optional=True),
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
        entry = read_entry(store, sso)
        token = entry.token
        if token is None:
            raise LoginRequired(f"sso session {sso.name!r} is not signed in", hint=_login_hint(sso))
        if token.remaining() > REFRESH_AHEAD:
            return token.access_token
        with _refresh_lock(sso, store):
            return _refreshed(sso, store)


@contextlib.contextmanager
def _refresh_lock(sso: SsoSession, store: SecretStore) -> Iterator[None]:
    """Hold the cross-process lock of ``sso``'s token (single-flight refresh).

    With refresh-token rotation only the first use of a refresh token works:
    processes refreshing at once would all but one end "expired". This reuses
    the per-profile flock of :mod:`sessman.locks` under the pseudo profile
    ``sso-session:<name>`` (no profile name holds a colon).
    """
    from sessman.locations import state_dir
    from sessman.locks import profile_lock

    service = getattr(store, "service", DEFAULT_KEYRING_SERVICE)
    with profile_lock(state_dir(), str(service), keyring_user(sso.name)):
        yield


def _refreshed(sso: SsoSession, store: SecretStore) -> str:
    """Under the refresh lock: the token another process refreshed, else refresh it now."""
    forget = getattr(store, "forget", None)
    if forget is not None:
        forget(keyring_user(sso.name))  # another process may have refreshed it meanwhile
    entry = read_entry(store, sso)
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
            save_entry(store, sso, replace(entry, token=fresh))
            return fresh.access_token
    if token.remaining() > LAST_USE:
        return token.access_token
    raise LoginRequired(
        f"the sign-in of sso session {sso.name!r} has expired", hint=_login_hint(sso)
    )


def forget_token(sso: SsoSession, store: SecretStore) -> None:
    """Drop the token the portal refused (revoked), keeping the client registration."""
    with _lock(sso.name):
        entry = read_entry(store, sso)
        if entry.token is not None:
            store.put(keyring_user(sso.name), replace(entry, token=None).to_json())


def logout(sso: SsoSession, store: SecretStore) -> dict[str, Any]:
    """Sign out: tell the portal (best effort), delete the keyring entry and our cache file."""
    with _lock(sso.name):
        entry = read_entry(store, sso)
        if entry.token is not None and entry.token.remaining() > 0:
            portal = Endpoint(portal_endpoint(sso), timeout=5.0, attempts=1)
            with contextlib.suppress(SessmanError):
                portal.call("POST", "/logout", token=entry.token.access_token)
        was = store.delete(keyring_user(sso.name))
        removed = remove_aws_cache(sso)
    return {
        "session": sso.name,
        "was_signed_in": entry.token is not None and was,
        "aws_cache_removed": removed,
    }
