"""A sign-in URL for the AWS console, made from a profile's temporary credentials.

The federation protocol: send the session (access key id, secret, token) to
the partition's federation endpoint (``Action=getSigninToken``), get a
sign-in token back, and build an ``Action=login`` URL around it. Credentials
from GetSessionToken cannot sign in, so a keys profile goes through
GetFederationToken; a role (or any profile with temporary credentials) uses
its session. ``SESSMAN_SIGNIN_ENDPOINT`` replaces the federation endpoint
for tests, and only with a plain-HTTP loopback URL, since it receives the
session's credentials.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from sessman.credentials import Keys, TemporaryCredentials, translating
from sessman.errors import EndpointUnreachable, SecretNotFound, SessmanError, UsageError

from ._clients import client_with
from .partition import partition_of

if TYPE_CHECKING:
    from sessman.config import Profile
    from sessman.manager import SessionManager

__all__ = ["CONSOLE_DURATION", "ENDPOINT_VARIABLE", "federation_endpoint", "signin_url"]

ENDPOINT_VARIABLE = "SESSMAN_SIGNIN_ENDPOINT"
#: The policy passed to GetFederationToken: without one the federated user
#: may do nothing; with it, exactly what the IAM user may do.
ALLOW_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)
ISSUER = "sessman"
_TOKEN = re.compile(r"^[\x21-\x7e]{1,8192}$")
#: The console session's own bounds, in seconds (SessionDuration of the
#: federation endpoint's getSigninToken): an AWS limit of the console, not
#: the profiles file's session_duration, even where the numbers agree.
CONSOLE_DURATION = (900, 43200)
#: Temporary credentials with less than this left are renewed before sign-in.
MIN_TTL = 120


def federation_endpoint(region: str, environ: Mapping[str, str] | None = None) -> str:
    """The federation endpoint for ``region``'s partition, or the checked override."""
    env = os.environ if environ is None else environ
    override = env.get(ENDPOINT_VARIABLE)
    if not override:
        return partition_of(region).federation
    refusal = UsageError(
        f"{ENDPOINT_VARIABLE}={override!r} is refused: it must be an http:// URL on a"
        " loopback address (127.0.0.1 or [::1]), since it receives the session's credentials",
        hint=f"unset {ENDPOINT_VARIABLE} to use the AWS sign-in endpoint",
    )
    if override != override.strip():  # urlsplit would quietly drop some of it
        raise refusal
    try:
        parts = urlsplit(override)
        host = ipaddress.ip_address(parts.hostname or "")
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise refusal from None
    if (
        parts.scheme != "http"
        or not host.is_loopback
        or parts.username
        or parts.query
        or parts.fragment
    ):
        raise refusal
    return override


def _destination(destination: str | None, p: Profile) -> str:
    if destination is None:
        return partition_of(p.region).console_home(p.region)
    parts = urlsplit(destination)
    if parts.scheme not in ("https", "http") or not parts.hostname or re.search(r"\s", destination):
        raise UsageError(
            f"--destination {destination!r} is not an absolute http(s) URL",
            hint="for example: --destination https://console.aws.amazon.com/s3/home",
        )
    return destination


def signin_url(
    manager: SessionManager,
    name: str,
    *,
    destination: str | None = None,
    duration: int | None = None,
    mfa_code: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The ``Action=login`` URL that opens the console as profile ``name``.

    The URL holds a sign-in token that works for 15 minutes: treat it as a
    secret. ``duration`` is the console session's length (:data:`CONSOLE_DURATION`);
    ``mfa_code`` is used when a role's session has to be opened first.
    """
    p = manager.profile(name)
    low, high = CONSOLE_DURATION
    if duration is not None and not low <= duration <= high:
        raise UsageError(f"--duration must be {low}..{high} seconds, not {duration}")
    endpoint = federation_endpoint(p.region, environ)
    target = _destination(destination, p)
    query = {}
    if p.kind == "keys":
        if mfa_code is not None:
            raise UsageError(
                f"profile {name!r} signs in through GetFederationToken, which takes no MFA code",
                hint=f"sign in without --mfa-code: sessman console {name}",
            )
        creds = _federation_token(manager, p, duration or p.session_duration)
    else:
        ttl = min(MIN_TTL, p.session_duration // 2)
        creds = manager.credentials(name, min_ttl=ttl, mfa_code=mfa_code)
        if duration is not None:
            query["SessionDuration"] = str(duration)
    session = json.dumps(
        {
            "sessionId": creds.access_key_id,
            "sessionKey": creds.secret_access_key,
            "sessionToken": creds.session_token,
        }
    )
    direct = endpoint != partition_of(p.region).federation  # the loopback stub
    token = _signin_token(
        endpoint, {"Action": "getSigninToken", **query, "Session": session}, p, direct=direct
    )
    login = {"Action": "login", "Issuer": ISSUER, "Destination": target, "SigninToken": token}
    return f"{endpoint}?{urlencode(login)}"


def _federation_token(manager: SessionManager, p: Profile, seconds: int) -> TemporaryCredentials:
    """GetFederationToken with the long-term key (an open session cannot call it)."""
    assert p.access_key_id is not None
    secret = manager.store.get(p.name)
    if not secret:
        raise SecretNotFound(
            f"no secret access key stored for profile {p.name!r}",
            hint=f"store one with: sessman secret set {p.name}",
        )
    sts = client_with(manager, p.name, "sts", Keys(p.access_key_id, secret))
    with translating(p):
        response = sts.get_federation_token(
            Name=f"sessman-{p.name}"[:32], DurationSeconds=seconds, Policy=ALLOW_ALL
        )
        return TemporaryCredentials.from_sts(response["Credentials"])


def _signin_token(endpoint: str, query: Mapping[str, str], p: Profile, *, direct: bool) -> str:
    """GET ``Action=getSigninToken``; never follows a redirect, never echoes a body."""
    import urllib.error
    import urllib.request

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
    if direct:  # a loopback stub: never through a proxy
        handlers.append(urllib.request.ProxyHandler({}))
    opener = urllib.request.build_opener(*handlers)
    host = urlsplit(endpoint).netloc
    try:
        with opener.open(f"{endpoint}?{urlencode(query)}", timeout=p.read_timeout) as response:
            body = response.read(65536)
    except urllib.error.HTTPError as exc:
        raise SessmanError(
            f"profile {p.name!r}: the sign-in endpoint {host} refused the session"
            f" (HTTP {exc.code})",
            hint="console sign-in needs credentials from a role or GetFederationToken",
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise EndpointUnreachable(
            f"profile {p.name!r}: cannot reach the sign-in endpoint {host}"
            f" ({type(reason).__name__})",
            hint="check the network",
        ) from None
    try:
        token = json.loads(body)["SigninToken"]
    except (ValueError, KeyError, TypeError):
        token = None
    if not isinstance(token, str) or not _TOKEN.match(token):
        raise SessmanError(f"profile {p.name!r}: the sign-in endpoint {host} gave no sign-in token")
    return token
