"""Where SSO tokens live: one keyring entry per sso session, and the AWS CLI's cache file.

The entry (user ``sso-session:<name>:token``, which no profile's entry can
be, as profile names hold no colon) is JSON holding the access token, its
refresh token and the client registration; it is the only copy unless a
login asked for ``--aws-cache``, the standard ``~/.aws/sso/cache`` file
(0600, atomic) for tools that read only that. Everything read back is
shape-checked; a damaged entry, or one of another portal, holds nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sessman._atomic import write_atomic
from sessman.config import SsoSession
from sessman.secretstore import SecretStore
from sessman.shapes import aws_timestamp

from .http import oidc_endpoint

__all__ = [
    "Entry",
    "Registration",
    "Token",
    "aws_cache_path",
    "keyring_user",
    "member",
    "parse_time",
    "read_entry",
    "remove_aws_cache",
    "save_entry",
    "utc_in",
    "write_aws_cache",
]

#: A client registration this close to its end is replaced, not reused.
REGISTRATION_MARGIN = 60 * 60


def keyring_user(name: str) -> str:
    """Keyring user name of sso session ``name``'s tokens and client registration."""
    return f"sso-session:{name}:token"


def utc_in(seconds: float) -> datetime:
    """An aware UTC datetime ``seconds`` from now."""
    return datetime.now(timezone.utc) + timedelta(seconds=seconds)


def parse_time(value: Any) -> datetime:
    """An aware UTC datetime from ISO 8601 text; ValueError for anything else."""
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("naive time")
    return moment.astimezone(timezone.utc)


def member(data: Mapping[str, Any], key: str, *, optional: bool = False) -> Any:
    """A non-empty printable string member of an answer or entry (a shape check)."""
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
                expiresAt=aws_timestamp(self.token.expires),
                refreshToken=self.token.refresh_token,
            )
        if self.registration is not None:
            r = self.registration
            data["registration"] = {
                "clientId": r.client_id,
                "clientSecret": r.client_secret,
                "expiresAt": aws_timestamp(r.expires),
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
                    member(raw, "clientId"),
                    member(raw, "clientSecret"),
                    parse_time(raw.get("expiresAt")),
                    member(raw, "endpoint"),
                    tuple(scopes),
                )
            token = None
            if (
                "accessToken" in data
                and data.get("startUrl") == sso.start_url
                and data.get("region") == sso.region
            ):
                token = Token(
                    member(data, "accessToken"),
                    parse_time(data.get("expiresAt")),
                    member(data, "refreshToken", optional=True),
                )
        except (ValueError, TypeError, OverflowError):
            return empty
        return cls(sso.start_url, sso.region, token, registration, data.get("awsCache") is True)


def read_entry(store: SecretStore, sso: SsoSession) -> Entry:
    text = store.get(keyring_user(sso.name))
    return Entry.from_json(text, sso) if text else Entry(sso.start_url, sso.region)


def save_entry(store: SecretStore, sso: SsoSession, entry: Entry) -> None:
    store.put(keyring_user(sso.name), entry.to_json())
    if entry.aws_cache and entry.token is not None:
        write_aws_cache(sso, entry)


# -- the standard cache file ----------------------------------------------------


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
        "expiresAt": aws_timestamp(entry.token.expires),
    }
    if entry.registration is not None:
        data.update(
            clientId=entry.registration.client_id,
            clientSecret=entry.registration.client_secret,
            registrationExpiresAt=aws_timestamp(entry.registration.expires),
        )
    if entry.token.refresh_token is not None:
        data["refreshToken"] = entry.token.refresh_token
    path = aws_cache_path(sso)
    write_atomic(path, json.dumps(data, indent=2).encode(), mode=0o600)
    return path


def remove_aws_cache(sso: SsoSession) -> bool:
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
