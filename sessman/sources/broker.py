"""The credentials of every profile of one file: the open session first, else its source.

The :class:`Broker` is the :class:`~sessman.sources.base.Context` its
sources work in. It picks a profile's source by kind, hands out an open
session while it has time left, and opens new sessions: single-flight in
the process, under the profile's cross-process lock, verified with
GetCallerIdentity, then stored.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from sessman import credentials as cr
from sessman.config import Config, Profile
from sessman.credentials import (
    Credentials,
    Identity,
    TemporaryCredentials,
    check_mfa_code,
    translating,
)
from sessman.errors import SessmanError, UsageError
from sessman.fileformat import SESSION_DURATION
from sessman.loops import check as check_loop
from sessman.opensessions import OpenSessions
from sessman.refresh import RECHECK, check_min_ttl, refresh_windows
from sessman.results import SessionInfo
from sessman.stspool import StsPool

from .aws_profile import AwsProfileSource
from .base import Source
from .keys import KeysSource
from .role import RoleSource
from .sso import SsoSource

if TYPE_CHECKING:
    from botocore.client import BaseClient

    from sessman.secretstore import SecretStore
    from sessman.state import StateFile

__all__ = ["SOURCES", "Broker"]

#: The source of each kind of profile.
SOURCES: dict[str, type[Source]] = {
    "keys": KeysSource,
    "role": RoleSource,
    "sso": SsoSource,
    "aws-profile": AwsProfileSource,
}

MfaPrompt = Callable[[str], str] | Literal[False] | None


class Broker:
    """Current credentials and new sessions of the profiles of ``config``."""

    def __init__(
        self,
        config: Config,
        *,
        store: Callable[[], SecretStore],
        state: Callable[[], StateFile],
        sessions: OpenSessions,
        sts: StsPool,
        profile_lock: Callable[[str], AbstractContextManager[None]],
        mfa_prompt: MfaPrompt,
        lock: threading.RLock,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.aws_profiles: dict[str, Any] = {}
        self._store = store
        self._state = state
        self._sts = sts
        self._profile_lock = profile_lock
        self._mfa_prompt = mfa_prompt
        self._lock = lock
        self._flights: dict[str, threading.RLock] = {}

    # -- the context of the sources ------------------------------------------

    @property
    def store(self) -> SecretStore:
        return self._store()

    @property
    def state(self) -> StateFile:
        return self._state()

    def profile(self, name: str) -> Profile:
        return self.config.profile(name)

    def source(self, name: str) -> Source:
        """The source of profile ``name``'s credentials."""
        p = self.profile(name)
        return SOURCES[p.kind](p, self)

    def stored(
        self, name: str, *, margin: float, fresh: bool = False
    ) -> TemporaryCredentials | None:
        """The open session's credentials if they have more than ``margin`` s left."""
        return self.sessions.get(name, margin=margin, fresh=fresh)

    def remember(self, name: str, creds: TemporaryCredentials) -> None:
        """Keep credentials a source fetched as this process's copy of ``name``'s session."""
        with self._lock:
            self.sessions.remember(name, creds)

    def save(self, p: Profile, creds: TemporaryCredentials, identity: Identity) -> None:
        """Store a verified session of ``p`` (see :meth:`OpenSessions.save`)."""
        self.sessions.save(p.name, creds, identity)

    def flight(self, key: str) -> threading.RLock:
        """A lock per key, so concurrent requests for the same thing are single-flight."""
        with self._lock:
            lock = self._flights.get(key)
            if lock is None:
                lock = self._flights[key] = threading.RLock()
            return lock

    def profile_lock(self, name: str) -> AbstractContextManager[None]:
        """The cross-process lock of profile ``name`` (see :mod:`sessman.locks`)."""
        return self._profile_lock(name)

    def sts(self, p: Profile, creds: Credentials) -> BaseClient:
        """An STS client with explicit credentials and the profile's settings (shared)."""
        return self._sts.client(p, creds)

    def mfa_code(self, device: str, given: str | None) -> str:
        """The code for ``device``: the one given, else asked for (a UsageError without a prompt)."""
        if given:
            return check_mfa_code(given)
        prompt = self._mfa_prompt
        if prompt is None:  # the default: a hidden prompt when there is a terminal
            from sessman.prompts import ask_mfa_code, has_terminal

            prompt = ask_mfa_code if has_terminal() else False
        if prompt is not False:
            return check_mfa_code(prompt(device))
        raise UsageError(
            f"an MFA code for {device} is needed",
            hint="pass --mfa-code CODE (or mfa_code=...)",
        )

    def current(self, name: str) -> Credentials:
        """The credentials a session of ``name`` signs with right now."""
        p = self.profile(name)
        margin = refresh_windows(p)[0]
        stored = self.stored(name, margin=margin)
        if stored is not None:
            return stored
        return self.source(name).current(margin)

    def renew(self, name: str, min_ttl: float) -> None:
        """Renew ``name``'s open session for every process (stored, under its lock)."""
        self.open(name, min_ttl=min_ttl)

    # -- what the manager asks for ------------------------------------------

    def credentials(
        self, name: str, *, min_ttl: float, duration: int | None, mfa_code: str | None
    ) -> TemporaryCredentials:
        """An open session's credentials, opened first if needed: see :meth:`SessionManager.credentials`."""
        seconds = duration if duration is not None else self.profile(name).session_duration
        check_min_ttl(min_ttl, seconds)
        self.profile(name)
        stored = self.stored(name, margin=min_ttl)
        if stored is not None:
            return stored
        self.open(name, duration=duration, mfa_code=mfa_code, min_ttl=min_ttl)
        stored = self.stored(name, margin=0)
        if stored is None:  # pragma: no cover - open() just stored it
            raise SessmanError(f"profile {name!r}: the session could not be read back")
        return stored

    def open(
        self,
        name: str,
        *,
        duration: int | None = None,
        mfa_code: str | None = None,
        min_ttl: float | None = None,
    ) -> SessionInfo:
        """Open (or keep) a session of ``name``: see :meth:`SessionManager.open`."""
        p = self.profile(name)
        seconds = duration if duration is not None else p.session_duration
        if min_ttl is not None:
            check_min_ttl(min_ttl, seconds)
            if self.stored(name, margin=min_ttl) is not None:
                kept = self.kept(name, min_ttl)
                if kept is not None:
                    return kept
        low, high = SESSION_DURATION
        if not low <= seconds <= high:
            raise UsageError(f"duration must be {low}..{high} seconds, not {seconds}")
        if mfa_code is not None:
            check_mfa_code(mfa_code)
        if p.aws_profile is not None:  # before the lock, which a parent may hold
            check_loop(str(self.config.path), name, p.aws_profile)
        before = self.state.get(name)
        with self.flight(f"open:{name}"), self.profile_lock(name):
            # Another process (or thread) may have opened it while we waited:
            # use what it stored rather than open a second session.
            wanted = min_ttl if min_ttl is not None else seconds / 2
            after = self.state.get(name)
            if min_ttl is not None or (after is not None and after != before):
                kept = self.kept(name, wanted, fresh=True)
                if kept is not None:
                    return kept
            source = self.source(name)
            creds = source.open(seconds, mfa_code)
            with translating(p, after=source.STEP):
                identity = cr.caller_identity(self.sts(p, creds), name)
            self.save(p, creds, identity)
        return SessionInfo.of(identity, creds.expires)

    def kept(self, name: str, margin: float, *, fresh: bool = False) -> SessionInfo | None:
        """The open session of ``name`` if it has more than ``margin`` s left."""
        if self.stored(name, margin=margin, fresh=fresh) is None:
            return None
        record = self.state.get(name)
        if record is None:
            return None
        return SessionInfo.of(record.identity(), record.expires)

    def whoami(self, name: str) -> Identity:
        """GetCallerIdentity with the profile's current credentials."""
        p = self.profile(name)
        creds = self.current(name)
        with translating(p):
            return cr.caller_identity(self.sts(p, creds), name)

    def metadata(self, name: str) -> dict[str, str | None]:
        """What botocore's refreshable credentials ask for, on first use and near expiry."""
        creds = self.current(name)
        expires = creds.expires or datetime.now(timezone.utc) + RECHECK
        return {
            "access_key": creds.access_key_id,
            "secret_key": creds.secret_access_key,
            "token": creds.session_token,
            "expiry_time": expires.isoformat(),
        }

    def forget(self, name: str | None = None) -> None:
        """Drop botocore's credentials of ``name``'s AWS profile (of every profile when None)."""
        if name is None:
            self.aws_profiles.clear()
        else:
            self.aws_profiles.pop(name, None)
