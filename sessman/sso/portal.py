"""The portal API of IAM Identity Center: role credentials, accounts and their roles.

GetRoleCredentials turns the signed-in token into a role's temporary
credentials (the credential source of ``sso`` profiles); ListAccounts and
ListAccountRoles, every page, feed ``sessman sso populate``. Requests go to
the sso session's endpoint (its ``endpoint_url`` when set), never to the
profile's own ``endpoint_url``, which is for STS and the clients.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sessman.config import Config, Profile, SsoSession
from sessman.credentials import TemporaryCredentials
from sessman.errors import AuthenticationFailed, SessmanError
from sessman.fileformat import ACCOUNT_PATTERN, SSO_ROLE_NAME_PATTERN
from sessman.secretstore import SecretStore

from .http import Endpoint, RateLimiter, ServiceError, portal_endpoint
from .tokens import LoginRequired, access_token, forget_token

__all__ = ["Account", "accounts", "role_credentials", "roles"]

_ACCESS_KEY_ID = re.compile(r"^[A-Za-z0-9_+/=.-]{1,128}$")
#: Below this, an expiration is in seconds, not the milliseconds the API sends.
_MILLIS = 10**11
_ACCOUNT_ID = re.compile(ACCOUNT_PATTERN)
_ROLE_NAME = re.compile(SSO_ROLE_NAME_PATTERN)
#: Page size asked of ListAccounts / ListAccountRoles (the service's maximum).
_PAGE = 100


@dataclass(frozen=True)
class Account:
    """An account the signed-in user may enter, as ListAccounts names it."""

    id: str
    name: str


def _unauthorized(sso: SsoSession, store: SecretStore, exc: ServiceError) -> SessmanError:
    if exc.code in ("unauthorized", "expired_token", "invalid_token") or exc.status == 401:
        forget_token(sso, store)
        return LoginRequired(
            f"IAM Identity Center refused the sign-in of sso session {sso.name!r}"
            " (expired or revoked)",
            hint=f"sign in again: sessman sso login {sso.name}",
        )
    return exc


def role_credentials(config: Config, profile: Profile, store: SecretStore) -> TemporaryCredentials:
    """GetRoleCredentials of an ``sso`` profile's account and role."""
    assert profile.sso_session and profile.sso_account_id and profile.sso_role_name
    sso = config.sso_session(profile.sso_session)
    token = access_token(sso, store)
    portal = Endpoint(
        portal_endpoint(sso),
        timeout=float(profile.connect_timeout + profile.read_timeout),
        attempts=profile.retries.max_attempts,
    )
    try:
        answer = portal.call(
            "GET",
            "/federation/credentials",
            query={"role_name": profile.sso_role_name, "account_id": profile.sso_account_id},
            token=token,
        )
    except ServiceError as exc:
        error = _unauthorized(sso, store, exc)
        if error is exc and exc.code in ("forbidden", "access_denied"):
            raise AuthenticationFailed(
                f"profile {profile.name!r}: IAM Identity Center gives no role"
                f" {profile.sso_role_name!r} in account {profile.sso_account_id} to this sign-in",
                hint=f"list what it gives: sessman sso populate {sso.name} --dry-run",
            ) from None
        raise error from None
    return _credentials(answer, portal.base, profile.name)


def _credentials(answer: dict[str, Any], base: str, name: str) -> TemporaryCredentials:
    raw = answer.get("roleCredentials")
    try:
        if not isinstance(raw, dict):
            raise ValueError("roleCredentials")
        key_id, secret, token = (
            raw.get("accessKeyId"),
            raw.get("secretAccessKey"),
            raw.get("sessionToken"),
        )
        if not (isinstance(key_id, str) and _ACCESS_KEY_ID.match(key_id)):
            raise ValueError("accessKeyId")
        for value in (secret, token):
            if not isinstance(value, str) or not value or not value.isprintable() or " " in value:
                raise ValueError("secret")
        millis = raw.get("expiration")
        if isinstance(millis, bool) or not isinstance(millis, int | float):
            raise ValueError("expiration")
        seconds = millis / 1000 if millis >= _MILLIS else millis
        expires = datetime.fromtimestamp(seconds, timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise SessmanError(
            f"profile {name!r}: {base} answered GetRoleCredentials with malformed credentials",
            hint="check endpoint_url of the sso session",
        ) from None
    assert isinstance(secret, str) and isinstance(token, str)
    return TemporaryCredentials(key_id, secret, token, expires)


def _pages(
    portal: Endpoint,
    path: str,
    member: str,
    query: dict[str, str],
    token: str,
    limiter: RateLimiter,
) -> Iterator[dict[str, Any]]:
    """Every item of ``member`` over all pages (nextToken), one rate-limited call each."""
    next_token: str | None = None
    seen: set[str] = set()
    while True:
        params = dict(query, max_result=str(_PAGE))
        if next_token:
            params["next_token"] = next_token
        answer = portal.call("GET", path, query=params, token=token, limiter=limiter)
        items = answer.get(member) or []
        if not isinstance(items, list):
            raise SessmanError(f"{portal.base} answered {path} without a list of {member}")
        yield from (item for item in items if isinstance(item, dict))
        next_token = answer.get("nextToken")
        if not isinstance(next_token, str) or not next_token:
            return
        if next_token in seen:  # a server that pages in circles must not loop forever
            raise SessmanError(f"{portal.base} repeated a page token of {path}")
        seen.add(next_token)


def accounts(
    sso: SsoSession, store: SecretStore, limiter: RateLimiter, *, attempts: int = 8
) -> list[Account]:
    """Every account of the sign-in (ListAccounts, all pages)."""
    token = access_token(sso, store)
    portal = Endpoint(portal_endpoint(sso), attempts=attempts)
    found: dict[str, Account] = {}
    try:
        for item in _pages(portal, "/assignment/accounts", "accountList", {}, token, limiter):
            account_id = str(item.get("accountId", ""))
            if not _ACCOUNT_ID.match(account_id):
                raise SessmanError(f"{portal.base} listed a malformed account id")
            name = " ".join(str(item.get("accountName") or account_id).split())[:200]
            found.setdefault(account_id, Account(account_id, name))
    except ServiceError as exc:
        raise _unauthorized(sso, store, exc) from None
    return list(found.values())


def roles(
    sso: SsoSession,
    store: SecretStore,
    account: Account,
    limiter: RateLimiter,
    *,
    attempts: int = 8,
) -> list[str]:
    """The role names the sign-in has in ``account`` (ListAccountRoles, all pages)."""
    token = access_token(sso, store)
    portal = Endpoint(portal_endpoint(sso), attempts=attempts)
    names: list[str] = []
    query = {"account_id": account.id}
    try:
        for item in _pages(portal, "/assignment/roles", "roleList", query, token, limiter):
            role = str(item.get("roleName", ""))
            if not _ROLE_NAME.match(role):
                raise SessmanError(f"{portal.base} listed a malformed role name")
            if role not in names:
                names.append(role)
    except ServiceError as exc:
        raise _unauthorized(sso, store, exc) from None
    return names
