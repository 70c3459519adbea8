"""The one exception tree of sessman.

Every error a user can cause is a :class:`SessmanError` whose message is fit to
show as it is, plus an optional hint (the next step) and the exit code the
command line uses::

    SessmanError                  (exit 1 unless a subclass says otherwise)
    ├── UsageError                (exit 2) a bad option or argument
    ├── ConfigError               (exit 2) the profiles file is wrong
    ├── ProfileNotFound           (exit 2) no such profile
    ├── SecretNotFound            (exit 1) no secret stored for a profile
    ├── KeyringUnavailable        (exit 1) the keyring is absent, locked or broken
    ├── AuthenticationFailed      (exit 1) AWS rejected the credentials
    ├── EndpointUnreachable       (exit 1) timeout or refused connection
    ├── UnsafePath                (exit 1) a file of sessman's is not private to you
    ├── MalformedValue            (exit 1) a value from outside has the wrong shape
    └── Interrupted               (exit 130) Ctrl-C

Foreign exceptions (botocore, keyring, OS errors) are translated where they
are caught, with ``raise ... from exc`` so the cause survives for debugging.
This module imports nothing from sessman.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationFailed",
    "ConfigError",
    "EndpointUnreachable",
    "Interrupted",
    "KeyringUnavailable",
    "MalformedValue",
    "ProfileNotFound",
    "SecretNotFound",
    "SessmanError",
    "UnsafePath",
    "UsageError",
]


class SessmanError(Exception):
    """Base of every error sessman raises on purpose.

    ``str(error)`` is the one-line message; ``hint`` is the next step for the
    user, or ``None``; ``exit_code`` is what the command line exits with.
    """

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(SessmanError):
    """A command was called with options or arguments that do not fit."""

    exit_code = 2


class ConfigError(SessmanError):
    """The profiles file cannot be used; the message names file, line and key."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        profile: str | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = ""
        if path is not None:
            where = path if line is None else f"{path}:{line}"
            where += ": "
        subject = []
        if profile is not None:
            subject.append(f"profile {profile!r}")
        if key is not None:
            subject.append(f"key {key!r}")
        about = (", ".join(subject) + ": ") if subject else ""
        super().__init__(f"{where}{about}{message}", hint=hint)
        self.path = path
        self.line = line
        self.profile = profile
        self.key = key


class ProfileNotFound(SessmanError):
    """The named profile is not in the profiles file."""

    exit_code = 2


class SecretNotFound(SessmanError):
    """No secret access key is stored for a profile that needs one."""


class KeyringUnavailable(SessmanError):
    """The keyring backend is absent, locked, or failed; names the backend."""


class AuthenticationFailed(SessmanError):
    """AWS rejected the credentials (bad signature, unknown key, expired token)."""


class EndpointUnreachable(SessmanError):
    """The AWS endpoint did not answer in time or refused the connection."""


class UnsafePath(SessmanError):
    """A file or directory of sessman's is not private to the current user.

    The message names the path, the hint the fix; ``problem`` and ``fix``
    are kept apart for layers that quote them in messages of their own.
    """

    def __init__(self, path: object, problem: str, fix: str) -> None:
        super().__init__(f"{path}: {problem}; sessman will not use it", hint=fix)
        self.path = path
        self.problem = problem
        self.fix = fix


class MalformedValue(SessmanError):
    """A value from outside (an endpoint, an imported file) has the wrong shape."""


class Interrupted(SessmanError):
    """The user pressed Ctrl-C; the command stops with one line."""

    exit_code = 130
