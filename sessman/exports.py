"""What other programs are handed: environment variables and credential_process JSON.

Shared by ``exec``, ``env`` and ``credential-process``; pure functions of a
profile and its temporary credentials, so the lean credential-process path
can use them without the rest of the command line.
"""

from __future__ import annotations

import json

TYPE_CHECKING = False  # typing itself costs the credential-process fast path
if TYPE_CHECKING:
    from collections.abc import Mapping

    from .config import Profile
    from .credentials import TemporaryCredentials

__all__ = [
    "EXEC_MARKER",
    "KEPT",
    "PROCESS_FIELDS",
    "child_environment",
    "process_document",
    "process_fields",
    "process_json",
    "process_min_ttl",
    "to_unset",
    "variables",
]

#: Set by ``exec`` only (never printed by ``env``), so a shell that evaluated
#: ``sessman env`` can still run ``sessman exec``; ``exec`` refuses to nest.
EXEC_MARKER = "SESSMAN_EXEC"

#: The ``AWS_*`` variables a child may keep from its parent: they change how
#: output looks, which CA is trusted or how often to retry, never which
#: credentials are used or where requests go. Every other ``AWS_*`` variable
#: goes (an allow-list, so a variable a future SDK adds goes too).
KEPT = frozenset(
    {
        "AWS_DEFAULT_OUTPUT",
        "AWS_PAGER",
        "AWS_CLI_AUTO_PROMPT",
        "AWS_CLI_FILE_ENCODING",
        "AWS_CA_BUNDLE",
        "AWS_MAX_ATTEMPTS",
        "AWS_RETRY_MODE",
        "AWS_REQUEST_CHECKSUM_CALCULATION",
        "AWS_RESPONSE_CHECKSUM_VALIDATION",
        "AWS_SDK_UA_APP_ID",
    }
)

#: Unset by ``env`` even when its own environment lacks them: the shell that
#: evaluates the output may hold them unexported, or from an earlier ``env``.
_ALWAYS_UNSET = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_SECURITY_TOKEN")

#: Never handed to a child: it unlocks the long-term keys.
_PRIVATE = frozenset({"SESSMAN_KEYRING_PASSPHRASE"})


def _goes(name: str) -> bool:
    return (name.startswith("AWS_") and name not in KEPT) or name in _PRIVATE


def to_unset(parent: Mapping[str, str], handed: Mapping[str, str]) -> list[str]:
    """What ``env`` unsets so the shell ends with exactly ``handed`` of the AWS variables."""
    names = dict.fromkeys(_ALWAYS_UNSET)
    names.update(dict.fromkeys(n for n in sorted(parent) if _goes(n) and n not in _PRIVATE))
    return [n for n in names if n not in handed]


def child_environment(parent: Mapping[str, str], handed: Mapping[str, str]) -> dict[str, str]:
    """``exec``'s environment: the parent's without what :func:`to_unset` drops, plus ``handed``."""
    env = {k: v for k, v in parent.items() if not _goes(k)}
    env.update(handed)
    env[EXEC_MARKER] = handed.get("SESSMAN_PROFILE", "1")
    return env


def process_min_ttl(profile: Profile) -> float:
    """credential-process's default --min-ttl: the renewal rule of :mod:`sessman.refresh`.

    botocore runs the helper again on every request once expiry is under 15
    minutes away, so it is handed :data:`~sessman.refresh.RENEW_AHEAD` at least.
    """
    from .refresh import renew_ahead  # not at import: the credential-process fast path

    return renew_ahead(profile.session_duration)


def _iso(creds: TemporaryCredentials) -> str:
    from .shapes import aws_timestamp  # not at import: the credential-process fast path

    return aws_timestamp(creds.expires)


def variables(
    profile: Profile, creds: TemporaryCredentials, *, region: str | None = None
) -> dict[str, str]:
    """The environment a program needs to act as ``profile`` (in ``region`` when given)."""
    region = region or profile.region
    env = {
        "AWS_ACCESS_KEY_ID": creds.access_key_id,
        "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
        "AWS_SESSION_TOKEN": creds.session_token,
        "AWS_CREDENTIAL_EXPIRATION": _iso(creds),
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }
    if profile.endpoint_url:
        env["AWS_ENDPOINT_URL"] = profile.endpoint_url
    env["SESSMAN_PROFILE"] = profile.name
    return env


#: The credential fields of the ``credential_process`` document, in its order.
PROCESS_FIELDS = ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")


def process_fields(creds: TemporaryCredentials) -> dict[str, str]:
    """The credential fields of the document: what the agent hands back over its socket."""
    return {
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key,
        "SessionToken": creds.session_token,
        "Expiration": _iso(creds),
    }


def process_document(fields: Mapping[str, str]) -> str:
    """The ``credential_process`` document of ``fields``: the one place it is written.

    ``Version`` is the integer 1; ``fields`` are :data:`PROCESS_FIELDS`
    (from :func:`process_fields`, here or in the agent).
    """
    return json.dumps({"Version": 1, **{name: fields[name] for name in PROCESS_FIELDS}})


def process_json(creds: TemporaryCredentials) -> str:
    """The ``credential_process`` document of ``creds``."""
    return process_document(process_fields(creds))
