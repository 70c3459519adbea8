"""Shapes of values that come from outside, checked before they are stored or printed.

An endpoint (a hostile or broken one: any ``endpoint_url``), an imported
``~/.aws/credentials`` or ``.env`` file can hand sessman any text. What it
stores in the keyring, writes into YAML or prints for a shell must look like
what it claims to be, so a newline, a quote or a control
character never reaches a shell, a YAML file or a terminal. A value that
fails is never quoted back: the error names the field and where it came
from.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import TypeGuard

from .errors import MalformedValue
from .fileformat import ACCESS_KEY_ID_PATTERN, ACCOUNT_PATTERN, REGION_PATTERN

__all__ = [
    "MAX_SESSION",
    "SECRET_ACCESS_KEY_PATTERN",
    "SECRET_ACCESS_KEY_TEXT",
    "MalformedValue",
    "aws_timestamp",
    "check",
    "expiration",
    "fits",
    "looks_secret",
    "malformed",
    "server_text",
]

#: Lengths and characters of a secret access key: AWS's have 40 characters of
#: base64, fakes and compatible services vary; never a quote, a space or a
#: control character. The one shape of a secret, from an endpoint, a file or a person.
_SHORTEST, _LONGEST = 16, 256
SECRET_ACCESS_KEY_PATTERN = rf"^[A-Za-z0-9/+=_.-]{{{_SHORTEST},{_LONGEST}}}$"
#: :data:`SECRET_ACCESS_KEY_PATTERN` said to a person.
SECRET_ACCESS_KEY_TEXT = f"{_SHORTEST}-{_LONGEST} characters of A-Z a-z 0-9 / + = _ . -"

_SHAPES: dict[str, re.Pattern[str]] = {
    # The shapes the profiles file also takes are the file format's own.
    "AccessKeyId": re.compile(ACCESS_KEY_ID_PATTERN),
    "SecretAccessKey": re.compile(SECRET_ACCESS_KEY_PATTERN),
    "SessionToken": re.compile(r"[A-Za-z0-9/+=_.-]{16,16384}"),
    "Account": re.compile(ACCOUNT_PATTERN),
    "Arn": re.compile(r"arn:aws[a-z-]*:[!-~]{1,2048}"),
    "UserId": re.compile(r"[!-~]{1,512}"),
    "region": re.compile(REGION_PATTERN),
}


#: Runs of base64 this long are keys or tokens (a secret key has 40 characters).
_TOKENISH = re.compile(r"[A-Za-z0-9/+=]{40,}")
_SERVER_TEXT_LIMIT = 300


def fits(value: object, field: str) -> TypeGuard[str]:
    """Whether ``value`` is a string shaped like ``field`` (``AccessKeyId``, ``SecretAccessKey``, ...)."""
    return isinstance(value, str) and _SHAPES[field].fullmatch(value) is not None


def check(field: str, value: object, source: str) -> str:
    """``value`` if it is a string shaped like ``field``, else :class:`MalformedValue`.

    ``source`` says where it came from ("the STS endpoint of profile 'dev'",
    "~/.aws/credentials, profile 'x'"); the value itself is never shown.
    """
    if fits(value, field):
        return value
    raise malformed(field, source)


#: The longest session AWS issues: GetSessionToken 36 hours (a role session 12).
MAX_SESSION = timedelta(hours=36)
#: How far the endpoint's clock may be ahead of this machine's.
_CLOCK_SKEW = timedelta(minutes=5)
_ISO_UTC = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:Z|\+00:00)", re.ASCII
)


#: What AWS secret keys and session tokens are made of (base64 letters).
_SECRETISH = re.compile(r"[A-Za-z0-9/+=]{32,}")


def looks_secret(text: str) -> bool:
    """Whether ``text`` has the look of a secret key or token, so it is quoted back nowhere.

    32 or more base64 letters with upper and lower case and a digit: a secret
    pasted into the wrong key of the profiles file, which an error line must
    not echo (a region, a name or a URL never looks like this).
    """
    return (
        _SECRETISH.fullmatch(text) is not None
        and any(c.isupper() for c in text)
        and any(c.islower() for c in text)
        and any(c.isdigit() for c in text)
    )


def aws_timestamp(moment: datetime) -> str:
    """``moment`` as AWS writes a time: ISO 8601 in UTC, to the second, with a ``Z``.

    The one writer of the text :func:`expiration` reads: credential_process
    and container documents, ``AWS_CREDENTIAL_EXPIRATION``, the AWS CLI's SSO
    cache and sessman's JSON output.
    """
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def expiration(value: object, source: str, *, now: datetime | None = None) -> datetime:
    """``value`` as an aware UTC datetime if it is a plausible expiry of new credentials.

    ``value`` is the ``Expiration`` of an STS answer: the text (ISO 8601 in
    UTC, as AWS writes it) or the datetime botocore parsed from it, which
    must carry a zone at UTC. It must be in the future and at most
    :data:`MAX_SESSION` ahead (plus a little clock skew); otherwise
    :class:`MalformedValue`, without the value.
    """
    when: datetime | None = None
    if isinstance(value, datetime):
        offset = value.utcoffset()
        when = value if offset is not None and not offset else None
    elif isinstance(value, str) and (match := _ISO_UTC.fullmatch(value)):
        year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
        micro = int((match.group(7) or "0").ljust(6, "0")[:6])
        try:
            when = datetime(year, month, day, hour, minute, second, micro, tzinfo=timezone.utc)
        except ValueError:  # 2026-02-30 and the like
            when = None
    if when is None:
        raise malformed("Expiration", source)
    when = when.astimezone(timezone.utc)
    now = now or datetime.now(timezone.utc)
    if when <= now:
        raise malformed("Expiration", source, "is already past")
    if when > now + MAX_SESSION + _CLOCK_SKEW:
        raise malformed("Expiration", source, "is more than 36 hours ahead")
    return when


def malformed(field: str, source: str, what: str = "is not shaped like one") -> MalformedValue:
    """The one error for a value from outside that is not what it claims (never quoted)."""
    return MalformedValue(
        f"{source} gave {_article(field)} {field} that {what}; it was not stored or shown",
        hint="check that the endpoint is the one you meant (endpoint_url) or fix the file",
    )


def _article(word: str) -> str:
    """The article before ``word``, as it is said: an AccessKeyId, an Arn, a UserId."""
    return "an" if word[:1].lower() in "aeio" else "a"


def server_text(text: object) -> str:
    """A server's error text, fit to quote in a one-line message.

    Whitespace collapsed, control characters replaced, anything shaped like
    a secret key or a token masked (a hostile endpoint may echo the token it
    was sent), and the length bounded.
    """
    line = " ".join(str(text).split())
    line = "".join(ch if ch.isprintable() else "?" for ch in line)
    line = _TOKENISH.sub("[…]", line)
    if len(line) > _SERVER_TEXT_LIMIT:
        line = line[:_SERVER_TEXT_LIMIT] + "…"
    return line
