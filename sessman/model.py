"""The values a profiles file is read into: frozen, validated, never a secret.

:mod:`sessman.config` makes them from YAML; everything else reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from .errors import ProfileNotFound, UsageError
from .fileformat import PROFILE_FIELDS, SSO_SESSION_FIELDS, TOP_FIELDS, Field

__all__ = [
    "BUILTIN_DEFAULTS",
    "DEFAULT_KEYRING_SERVICE",
    "DEFAULT_SSO_SCOPES",
    "Config",
    "Kind",
    "Profile",
    "Retries",
    "SsoSession",
    "did_you_mean",
]

#: What a profile gets when neither it nor ``defaults:`` says otherwise (each
#: field's ``default`` in :mod:`sessman.fileformat`).
BUILTIN_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {f.name: f.default for f in PROFILE_FIELDS if f.default is not None}
)

#: The kinds of :data:`sessman.fileformat.SOURCE_KINDS`, typed for mypy
#: (tests/test_declared_once.py holds the two equal).
Kind = Literal["keys", "role", "aws-profile", "sso"]


def _default(fields: tuple[Field, ...], name: str) -> Any:
    return next(f.default for f in fields if f.name == name)


#: The keyring service of a file that names none (``keyring_service``'s default).
DEFAULT_KEYRING_SERVICE: str = _default(TOP_FIELDS, "keyring_service")
#: Scopes of an IAM Identity Center client registration when the file names
#: none (``registration_scopes``'s default).
DEFAULT_SSO_SCOPES: tuple[str, ...] = _default(SSO_SESSION_FIELDS, "registration_scopes")
#: The retry policy of a profile that names none (``retries``'s default).
_RETRIES: Mapping[str, Any] = BUILTIN_DEFAULTS["retries"]


@dataclass(frozen=True)
class Retries:
    """Retry policy: ``max_attempts`` counts every attempt, the first included."""

    mode: str = _RETRIES["mode"]
    max_attempts: int = _RETRIES["max_attempts"]


@dataclass(frozen=True)
class SsoSession:
    """An IAM Identity Center sign-in (``sso_sessions:``): where and how to log in."""

    name: str
    start_url: str
    region: str
    registration_scopes: tuple[str, ...] = DEFAULT_SSO_SCOPES
    endpoint_url: str | None = None


@dataclass(frozen=True)
class Profile:
    """One validated profile, with ``defaults:`` and the built-in defaults merged in.

    Its fields are its name, its kind and exactly the keys
    :data:`sessman.fileformat.PROFILE_FIELDS` declares (typed here for mypy;
    tests/test_fileformat.py holds the two equal).
    """

    name: str
    kind: Kind
    region: str
    connect_timeout: float
    read_timeout: float
    retries: Retries
    max_pool_connections: int
    session_duration: int
    description: str | None = None
    tags: tuple[str, ...] = ()
    access_key_id: str | None = None
    role_arn: str | None = None
    source_profile: str | None = None
    external_id: str | None = None
    mfa_serial: str | None = None
    role_session_name: str | None = None
    sso_session: str | None = None
    sso_account_id: str | None = None
    sso_role_name: str | None = None
    aws_profile: str | None = None
    endpoint_url: str | None = None
    generated_by: str | None = None


@dataclass(frozen=True)
class Config:
    """A whole profiles file: where it is, its keyring settings and its profiles."""

    path: Path
    keyring_service: str = DEFAULT_KEYRING_SERVICE
    keyring_backend: str | None = None
    profiles: Mapping[str, Profile] = field(default_factory=lambda: MappingProxyType({}))
    sso_sessions: Mapping[str, SsoSession] = field(default_factory=lambda: MappingProxyType({}))

    def sso_session(self, name: str) -> SsoSession:
        """The ``sso_sessions:`` entry ``name``, or a usage error listing the others."""
        try:
            return self.sso_sessions[name]
        except KeyError:
            known = ", ".join(self.sso_sessions) or "none"
            raise UsageError(
                f"no sso session {name!r} in {self.path} (sso_sessions: {known})",
                hint=did_you_mean(name, self.sso_sessions),
            ) from None

    def profile(self, name: str) -> Profile:
        """Return the profile called ``name`` or raise :class:`ProfileNotFound`."""
        try:
            return self.profiles[name]
        except KeyError:
            raise ProfileNotFound(
                f"no profile {name!r} in {self.path}", hint=did_you_mean(name, self.profiles)
            ) from None

    def names(self, tag: str | None = None) -> list[str]:
        """Profile names in file order, only those tagged ``tag`` when given."""
        return [n for n, p in self.profiles.items() if tag is None or tag in p.tags]


def did_you_mean(word: str, choices: Any) -> str | None:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None
