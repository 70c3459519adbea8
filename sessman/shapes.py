"""Shapes of values that come from outside, checked before they are stored or printed.

An endpoint (a hostile or broken one: any ``endpoint_url``), an imported
``~/.aws/credentials`` or ``.env`` file can hand sessman any text. What it
stores in the keyring, writes into YAML or prints for a shell must look like
what it claims to be (SPEC section 1), so a newline, a quote or a control
character never reaches a shell, a YAML file or a terminal. A value that
fails is never quoted back: the error names the field and where it came
from.
"""

from __future__ import annotations

import re

from .errors import MalformedValue

__all__ = ["MalformedValue", "check", "server_text"]

_SHAPES: dict[str, re.Pattern[str]] = {
    "AccessKeyId": re.compile(r"[A-Z0-9]{16,128}"),
    "SecretAccessKey": re.compile(r"[A-Za-z0-9/+=_.-]{16,256}"),
    "SessionToken": re.compile(r"[A-Za-z0-9/+=_.-]{16,16384}"),
    "Account": re.compile(r"\d{12}"),
    "Arn": re.compile(r"arn:aws[a-z-]*:[!-~]{1,2048}"),
    "UserId": re.compile(r"[!-~]{1,512}"),
    "region": re.compile(r"[a-z]{2}(-[a-z]+)+-\d+"),
}


#: Runs of base64 this long are keys or tokens (a secret key has 40 characters).
_TOKENISH = re.compile(r"[A-Za-z0-9/+=]{40,}")
_SERVER_TEXT_LIMIT = 300


def check(field: str, value: object, source: str) -> str:
    """``value`` if it is a string shaped like ``field``, else :class:`MalformedValue`.

    ``source`` says where it came from ("the STS endpoint of profile 'dev'",
    "~/.aws/credentials, profile 'x'"); the value itself is never shown.
    """
    if isinstance(value, str) and _SHAPES[field].fullmatch(value):
        return value
    raise MalformedValue(
        f"{source} gave a {field} that is not shaped like one; it was not stored or shown",
        hint="check that the endpoint is the one you meant (endpoint_url) or fix the file",
    )


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
