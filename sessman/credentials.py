"""Where credentials come from: long-term keys, STS sessions, roles and MFA.

This module speaks to STS and knows the shapes of credentials; it keeps no
state of its own (the manager caches). Every botocore error that means
something to a user is translated here, in :func:`translate`, keeping the
cause.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .config import Profile
from .errors import (
    AuthenticationFailed,
    ConfigError,
    EndpointUnreachable,
    SessmanError,
    UsageError,
)
from .shapes import check, expiration, malformed, server_text

if TYPE_CHECKING:
    from botocore.client import BaseClient

__all__ = [
    "AUTH_ERROR_CODES",
    "Identity",
    "Keys",
    "TemporaryCredentials",
    "assume_role",
    "caller_identity",
    "check_mfa_code",
    "get_session_token",
    "translate",
    "translating",
]

#: Error codes with which AWS says "these credentials are no good".
AUTH_ERROR_CODES = frozenset(
    {
        "SignatureDoesNotMatch",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "AccessDenied",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "AuthFailure",
        "MissingAuthenticationToken",
        "IncompleteSignature",
    }
)


@dataclass(frozen=True)
class Keys:
    """Credentials without an expiry: a long-term access key pair."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)

    @property
    def expires(self) -> datetime | None:
        return None


@dataclass(frozen=True)
class TemporaryCredentials:
    """Credentials from STS, valid until ``expires`` (aware, UTC)."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expires: datetime

    def remaining(self, now: datetime | None = None) -> float:
        """Seconds left before expiry."""
        return (self.expires - (now or datetime.now(timezone.utc))).total_seconds()

    def to_json(self) -> str:
        """The form kept in the keyring (see :mod:`sessman.secretstore`)."""
        return json.dumps(
            {
                "AccessKeyId": self.access_key_id,
                "SecretAccessKey": self.secret_access_key,
                "SessionToken": self.session_token,
                "Expiration": self.expires.astimezone(timezone.utc).isoformat(),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> TemporaryCredentials | None:
        """Parse the keyring form; ``None`` when it is damaged."""
        try:
            data = json.loads(text)
            expires = datetime.fromisoformat(str(data["Expiration"]).replace("Z", "+00:00"))
            values = (data["AccessKeyId"], data["SecretAccessKey"], data["SessionToken"])
        except (ValueError, KeyError, TypeError):
            return None
        if expires.tzinfo is None or not all(isinstance(v, str) and v for v in values):
            return None
        return cls(values[0], values[1], values[2], expires)

    @classmethod
    def from_sts(cls, data: dict[str, Any]) -> TemporaryCredentials:
        """From the ``Credentials`` member of an STS response, every value shape-checked."""
        source = "the STS endpoint"
        return cls(
            check("AccessKeyId", data["AccessKeyId"], source),
            check("SecretAccessKey", data["SecretAccessKey"], source),
            check("SessionToken", data["SessionToken"], source),
            expiration(data["Expiration"], source),
        )


Credentials = Keys | TemporaryCredentials


@dataclass(frozen=True)
class Identity:
    """Who a set of credentials is (GetCallerIdentity)."""

    name: str
    account: str
    arn: str
    user_id: str


def check_mfa_code(code: str) -> str:
    """``code`` if it has the shape of an MFA code (six digits), else a UsageError."""
    code = code.strip()
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        raise UsageError(
            f"an MFA code is six digits; {len(code)} character(s) given",
            hint="type the code your MFA device shows now",
        )
    return code


def translate(exc: BaseException, profile: Profile, *, after: str | None = None) -> BaseException:
    """Map a botocore exception to the sessman error it means, or return it as is.

    ``after`` names the step that succeeded before this one failed (e.g.
    ``GetSessionToken`` before the temporary credentials were verified), so
    the hint points at the step that failed, not at the secret that worked.
    """
    from botocore import exceptions as bx

    contacted = getattr(exc, "kwargs", {}).get("endpoint_url")
    endpoint = contacted or profile.endpoint_url or f"AWS in {profile.region}"
    if isinstance(exc, SessmanError):
        return exc
    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        code = server_text(error.get("Code", ""))
        message = server_text(error.get("Message", ""))
        operation = getattr(exc, "operation_name", None) or "the request"
        if after is not None:
            kind = AuthenticationFailed if code in AUTH_ERROR_CODES else SessmanError
            return kind(
                f"profile {profile.name!r}: {after} succeeded, but {operation} with the"
                f" temporary credentials it returned failed ({code}: {message})",
                hint=f"{endpoint} does not accept the temporary credentials it issued;"
                " check the endpoint (a local emulator may need a setting for STS sessions)",
            )
        if code in AUTH_ERROR_CODES:
            return AuthenticationFailed(
                f"profile {profile.name!r}: AWS rejected the credentials in {operation}"
                f" ({code}: {message})",
                hint=_auth_hint(profile, code, operation),
            )
        return SessmanError(f"profile {profile.name!r}: {operation}: {code}: {message}")
    from botocore.parsers import ResponseParserError

    attempts = profile.retries.max_attempts
    tries = f" ({attempts} attempts)" if attempts > 1 else ""
    if isinstance(exc, ResponseParserError):
        return EndpointUnreachable(
            f"profile {profile.name!r}: {endpoint} did not answer like an AWS endpoint",
            hint="check endpoint_url in the profile",
        )
    if isinstance(exc, bx.ReadTimeoutError):
        return EndpointUnreachable(
            f"profile {profile.name!r}: {endpoint} did not answer within the read timeout"
            f" of {profile.read_timeout:g} s{tries}",
            hint="raise read_timeout in the profile, or check the endpoint",
        )
    if isinstance(exc, bx.ConnectTimeoutError):
        return EndpointUnreachable(
            f"profile {profile.name!r}: could not connect to {endpoint} within the connect"
            f" timeout of {profile.connect_timeout:g} s{tries}",
            hint="check the network or endpoint_url",
        )
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectionClosedError):
        return EndpointUnreachable(
            f"profile {profile.name!r}: cannot reach {endpoint} ({type(exc).__name__})",
            hint="check the network or endpoint_url",
        )
    if isinstance(exc, bx.ProfileNotFound):
        return ConfigError(
            f"AWS profile {profile.aws_profile!r} is not in ~/.aws/config",
            profile=profile.name,
            key="aws_profile",
        )
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return AuthenticationFailed(
            f"profile {profile.name!r}: botocore found no credentials for AWS profile"
            f" {profile.aws_profile!r}",
            hint="check it with: aws sts get-caller-identity --profile " + str(profile.aws_profile),
        )
    if isinstance(exc, bx.BotoCoreError):
        from .loops import relayed

        return relayed(str(exc)) or SessmanError(f"profile {profile.name!r}: {exc}")
    return exc


def _auth_hint(profile: Profile, code: str, operation: str) -> str:
    """The next step for a rejection of ``operation``: about the step that failed."""
    if operation == "GetSessionToken" and code.startswith("AccessDenied"):
        return (
            "the key was accepted but the session was refused: check the MFA code (it"
            " changes every 30 s) and mfa_serial, or the key's permission to call STS"
        )
    if operation == "AssumeRole" and code.startswith("AccessDenied"):
        return (
            f"the source credentials were accepted but may not assume {profile.role_arn}:"
            " check the role's trust policy (and external_id, MFA)"
        )
    if code.startswith("AccessDenied"):
        return (
            f"the credentials of profile {profile.name!r} were accepted but lack permission:"
            " check its IAM policies (for a role: the trust policy and the source profile)"
        )
    if code.startswith("Expired"):
        return f"renew it with: sessman open {profile.name}"
    if profile.kind == "sso":
        return f"sign in again: sessman sso login {profile.sso_session}"
    if profile.kind == "keys":
        return (
            "check access_key_id and store the right secret:"
            f" sessman secret set {profile.name} --force"
        )
    return "check the role's trust policy and the source profile's credentials"


@contextmanager
def translating(profile: Profile, *, after: str | None = None) -> Iterator[None]:
    """Run a block of AWS calls, raising sessman errors for what botocore raised."""
    try:
        yield
    except Exception as exc:
        translated = translate(exc, profile, after=after)
        if translated is exc:
            raise
        raise translated from exc


def get_session_token(
    sts: BaseClient,
    *,
    duration: int,
    mfa_serial: str | None = None,
    mfa_code: str | None = None,
) -> TemporaryCredentials:
    """GetSessionToken, with MFA when ``mfa_serial`` is given."""
    params: dict[str, Any] = {"DurationSeconds": duration}
    if mfa_serial is not None:
        params.update(SerialNumber=mfa_serial, TokenCode=mfa_code)
    with _unparsable_expiration():
        response = sts.get_session_token(**params)
    return TemporaryCredentials.from_sts(response["Credentials"])


def assume_role(
    sts: BaseClient,
    profile: Profile,
    *,
    duration: int,
    mfa_code: str | None = None,
    session_name: Callable[[], str] | None = None,
) -> TemporaryCredentials:
    """AssumeRole of ``profile.role_arn`` with the client's credentials.

    ``mfa_code`` is sent with the profile's ``mfa_serial`` only when the
    caller could not satisfy MFA with an MFA session of the source.
    """
    assert profile.role_arn is not None
    params: dict[str, Any] = {
        "RoleArn": profile.role_arn,
        "RoleSessionName": profile.role_session_name
        or (session_name() if session_name else f"sessman-{profile.name}")[:64],
        "DurationSeconds": duration,
    }
    if profile.external_id is not None:
        params["ExternalId"] = profile.external_id
    if mfa_code is not None and profile.mfa_serial is not None:
        params.update(SerialNumber=profile.mfa_serial, TokenCode=mfa_code)
    with _unparsable_expiration():
        response = sts.assume_role(**params)
    return TemporaryCredentials.from_sts(response["Credentials"])


@contextmanager
def _unparsable_expiration() -> Iterator[None]:
    """The shape error for an STS answer whose timestamp botocore could not parse.

    botocore raises a bare ``ValueError`` (quoting the text) for a timestamp
    it cannot read; in the answers of GetSessionToken and AssumeRole the
    only timestamp is ``Expiration``.
    """
    try:
        yield
    except ValueError as exc:
        raise malformed("Expiration", "the STS endpoint") from exc


def caller_identity(sts: BaseClient, name: str) -> Identity:
    """GetCallerIdentity of the client's credentials."""
    response = sts.get_caller_identity()
    source = f"the STS endpoint of profile {name!r}"
    return Identity(
        name=name,
        account=check("Account", response["Account"], source),
        arn=check("Arn", response["Arn"], source),
        user_id=check("UserId", response["UserId"], source),
    )
