"""SessionManager: one boto3 Session per profile, built, cached, opened and closed.

The manager owns the caches (sessions, clients, role and MFA credentials)
and the locks that make them safe under threads; where credentials come
from is :mod:`sessman.credentials`, where secrets live is
:mod:`sessman.secretstore`, what is open is :mod:`sessman.state`. boto3 and
botocore are imported only when a session is first built, so listing,
showing and handing over stored credentials never pay for them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from . import credentials as cr
from ._botocore import (
    LOCK,
    ManagerCredentials,
    close_client,
    core_session,
    profile_session,
    shared_loader,
)
from .config import Config, Profile
from .credentials import (
    Credentials,
    Identity,
    Keys,
    TemporaryCredentials,
    check_mfa_code,
    translating,
)
from .errors import SecretNotFound, SessmanError, UsageError
from .fanout import fan_out
from .locations import state_dir as default_state_dir
from .locks import profile_lock
from .loops import check as check_loop
from .opensessions import OpenSessions
from .refresh import RECHECK, REFRESH_MARGIN, check_min_ttl, refresh_windows
from .results import Outcome, ProfileStatus, SessionInfo
from .secretstore import SecretStore, log_note, open_store, session_user
from .state import StateFile
from .stspool import StsPool

if TYPE_CHECKING:
    import boto3
    from botocore.client import BaseClient
    from botocore.config import Config as BotocoreConfig

__all__ = ["Outcome", "ProfileStatus", "SessionInfo", "SessionManager"]

T = TypeVar("T")


class SessionManager:
    """Sessions, clients and credentials for the profiles of one profiles file.

    Thread-safe: many threads may ask for the same session, client or
    credentials at once; each is built or fetched once.
    """

    def __init__(
        self,
        config: Config,
        *,
        store: SecretStore | None = None,
        state_dir: Path | None = None,
        mfa_prompt: Callable[[str], str] | Literal[False] | None = None,
        note: Callable[[str], None] | None = log_note,
    ) -> None:
        self.config = config
        self._store = store
        self._state_dir = state_dir
        self._state: StateFile | None = None
        self._mfa_prompt = mfa_prompt
        self._note = note
        self._lock = threading.RLock()
        self._flights: dict[str, threading.RLock] = {}
        self._sessions: dict[str, boto3.Session] = {}
        self._clients: dict[tuple[str, str, str, str | None, str], Any] = {}
        self._open = OpenSessions(config, lambda: self.store, lambda: self.state)
        self._aws_profiles: dict[str, Any] = {}
        self._sts_pool = StsPool(self.botocore_config)

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None, **options: Any) -> SessionManager:
        """A manager for the profiles file at ``path`` (default: discovered, SPEC 1)."""
        from .config_cache import load_cached

        state = options.get("state_dir") or default_state_dir()
        return cls(load_cached(path, state), **options)

    def __repr__(self) -> str:
        return f"SessionManager({str(self.config.path)!r}, profiles={len(self.config.profiles)})"

    def __enter__(self) -> SessionManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # -- profiles ---------------------------------------------------------

    def names(self, tag: str | None = None) -> list[str]:
        """Profile names in file order (only those tagged ``tag`` when given)."""
        return self.config.names(tag)

    def profile(self, name: str) -> Profile:
        """The validated profile ``name`` (:class:`~sessman.errors.ProfileNotFound` if none)."""
        return self.config.profile(name)

    @property
    def store(self) -> SecretStore:
        """Where secrets live: resolved on first use (see :mod:`sessman.secretstore`)."""
        with self._lock:
            if self._store is None:
                self._store = open_store(
                    self.config.keyring_service,
                    self.config.keyring_backend,
                    state_dir=self.state_dir,
                    note=self._note,
                )
            return self._store

    @property
    def state_dir(self) -> Path:
        return self._state_dir if self._state_dir is not None else default_state_dir()

    @property
    def state(self) -> StateFile:
        """The open sessions' metadata for this file's keyring service."""
        with self._lock:
            if self._state is None:
                self._state = StateFile(
                    self.state_dir, self.config.keyring_service, warn=self._note
                )
            return self._state

    def status(self, names: Iterable[str] | None = None) -> dict[str, ProfileStatus]:
        """Secret and session state of profiles, in O(1) keyring round trips."""
        from .listing import statuses

        wanted = [self.profile(n) for n in (self.names() if names is None else names)]
        return statuses(self.config, wanted, self.state.read(), self.store)

    # -- sessions and clients -----------------------------------------------

    def botocore_config(self, name: str) -> BotocoreConfig:
        """The ``botocore.config.Config`` made from the profile's settings."""
        from botocore.config import Config as BotocoreConfig

        from ._version import __version__

        p = self.profile(name)
        return BotocoreConfig(
            region_name=p.region,
            connect_timeout=p.connect_timeout,
            read_timeout=p.read_timeout,
            retries={"mode": p.retries.mode, "total_max_attempts": p.retries.max_attempts},
            max_pool_connections=p.max_pool_connections,
            user_agent_extra=f"sessman/{__version__}",
        )

    def session(self, name: str) -> boto3.Session:
        """The one ``boto3.Session`` of profile ``name``, built on first use."""
        with self._lock:
            existing = self._sessions.get(name)
            if existing is not None:
                return existing
        with self._flight(f"session:{name}"):
            with self._lock:
                existing = self._sessions.get(name)
            if existing is None:
                existing = self._build_session(self.profile(name))
                with self._lock:
                    self._sessions[name] = existing
            return existing

    def client(self, name: str, service: str, *, region: str | None = None) -> Any:
        """A cached client of ``service`` with the profile's Config and endpoint_url."""
        return self._cached(name, service, region, "client")

    def resource(self, name: str, service: str, *, region: str | None = None) -> Any:
        """A cached boto3 resource of ``service``, like :meth:`client`."""
        return self._cached(name, service, region, "resource")

    def _cached(self, name: str, service: str, region: str | None, kind: str) -> Any:
        p = self.profile(name)
        key = (name, service, region or p.region, p.endpoint_url, kind)
        with self._lock:
            found = self._clients.get(key)
            if found is not None:
                return found
        session = self.session(name)
        # boto3 Sessions are not thread-safe: build a profile's clients one at a time.
        with self._flight(f"session:{name}"):
            with self._lock:
                found = self._clients.get(key)
            if found is None:
                factory = session.client if kind == "client" else session.resource
                found = factory(service, region_name=key[2], endpoint_url=p.endpoint_url)
                with self._lock:
                    self._clients[key] = found
            return found

    def _build_session(self, p: Profile) -> boto3.Session:
        from botocore.credentials import CredentialResolver

        core = core_session()
        loader = shared_loader()
        core.set_default_client_config(self.botocore_config(p.name))
        core.register_component(
            "credential_provider",
            CredentialResolver([ManagerCredentials(self._metadata, p.name, refresh_windows(p))]),
        )
        with LOCK:
            before = len(loader.search_paths)
            session = profile_session(core, p.region, p.endpoint_url)
            # boto3 appends its data path to the loader on every Session.
            del loader.search_paths[before:]
        return session

    # -- credentials ------------------------------------------------------

    def credentials(
        self,
        name: str,
        *,
        min_ttl: float = 0,
        duration: int | None = None,
        mfa_code: str | None = None,
    ) -> TemporaryCredentials:
        """Temporary credentials of an open session with at least ``min_ttl`` s left.

        Opens (or renews) the session first when needed, so the long-term key
        is never handed out. With a valid stored session this imports neither
        boto3 nor botocore.
        """
        seconds = duration if duration is not None else self.profile(name).session_duration
        check_min_ttl(min_ttl, seconds)
        stored = self._stored_session(name, margin=min_ttl)
        if stored is not None:
            return stored
        self.open(name, duration=duration, mfa_code=mfa_code, min_ttl=min_ttl)
        stored = self._stored_session(name, margin=0)
        if stored is None:  # pragma: no cover - open() just stored it
            raise SessmanError(f"profile {name!r}: the session could not be read back")
        return stored

    def stored_credentials(self, name: str, *, min_ttl: float = 0) -> TemporaryCredentials | None:
        """The open session's credentials if more than ``min_ttl`` s are left; never opens one."""
        return self._stored_session(name, margin=min_ttl)

    def _stored_session(
        self, name: str, *, margin: float, fresh: bool = False
    ) -> TemporaryCredentials | None:
        """The open session's credentials if they have more than ``margin`` s left."""
        self.profile(name)
        return self._open.get(name, margin=margin, fresh=fresh)

    def _long_term(self, p: Profile) -> Keys:
        assert p.access_key_id is not None
        secret = self.store.get(p.name)
        if not secret:
            raise SecretNotFound(
                f"no secret access key stored for profile {p.name!r}",
                hint=f"store one with: sessman secret set {p.name}",
            )
        return Keys(p.access_key_id, secret)

    def _current(self, name: str) -> Credentials:
        """The credentials a session of ``name`` signs with right now."""
        p = self.profile(name)
        # A role is re-assumed when half of it (at most 15 minutes) is left; an
        # open keys session (maybe an MFA session) is used to its last minute,
        # then the long-term key.
        margin = refresh_windows(p)[0]
        stored = self._stored_session(name, margin=margin)
        if stored is not None:
            return stored
        if p.kind == "keys":
            return self._long_term(p)
        if p.kind == "role":
            with self._flight(f"role:{name}"):
                stored = self._stored_session(name, margin=margin)
                if stored is None and self.state.get(name) is not None:
                    # An open session is renewed for every process: stored, locked.
                    self.open(name, min_ttl=margin)
                    stored = self._stored_session(name, margin=0)
                if stored is None:
                    stored = self._assume(p, mfa_code=None, duration=p.session_duration)
                    with self._lock:
                        self._open.remember(name, stored)
                return stored
        if p.kind == "sso":
            with self._flight(f"sso:{name}"):
                stored = self._stored_session(name, margin=REFRESH_MARGIN)
                if stored is None:
                    stored = self._sso_credentials(p)
                    with self._lock:
                        self._open.remember(name, stored)
                return stored
        return self._aws_profile_credentials(p)

    def _sso_credentials(self, p: Profile) -> TemporaryCredentials:
        """GetRoleCredentials of an ``sso`` profile (see :mod:`sessman.sso.portal`)."""
        from .sso.portal import role_credentials

        return role_credentials(self.config, p, self.store)

    def _aws_profile_credentials(self, p: Profile) -> Credentials:
        from .awsprofile import credentials_of

        with self._flight(f"aws-profile:{p.name}"):
            return credentials_of(self.config, p, self._aws_profiles)

    def _sts(self, p: Profile, creds: Credentials) -> BaseClient:
        """An STS client with explicit credentials and the profile's settings (shared)."""
        return self._sts_pool.client(p, creds)

    def _mfa_code(self, device: str, given: str | None) -> str:
        if given:
            return check_mfa_code(given)
        prompt = self._mfa_prompt
        if prompt is None:  # the default (SPEC 4): a hidden prompt when there is a terminal
            from .prompts import ask_mfa_code, has_terminal

            prompt = ask_mfa_code if has_terminal() else False
        if prompt is not False:
            return check_mfa_code(prompt(device))
        raise UsageError(
            f"an MFA code for {device} is needed",
            hint="pass --mfa-code CODE (or mfa_code=...)",
        )

    def _source_credentials(self, role: Profile, mfa_code: str | None) -> Credentials:
        """Credentials that may assume ``role``: the source's, with MFA where asked.

        With an MFA device (the role's or its source's) and a keys source, this
        is an MFA session of the source (GetSessionToken once per device, kept
        as the source's open session), so roles behind one device share a code.
        """
        assert role.source_profile is not None
        source = self.profile(role.source_profile)
        device = role.mfa_serial or source.mfa_serial
        if device is None or source.kind != "keys":
            return self._current(source.name)
        margin = min(float(REFRESH_MARGIN), source.session_duration / 2)
        with self._flight(f"mfa:{device}"), self._profile_lock(source.name):
            stored = self._stored_session(source.name, margin=margin, fresh=True)
            if stored is not None:
                return stored
            keys = self._long_term(source)
            code = self._mfa_code(device, mfa_code)
            with translating(source):
                creds = cr.get_session_token(
                    self._sts(source, keys),
                    duration=source.session_duration,
                    mfa_serial=device,
                    mfa_code=code,
                )
            with translating(source, after="GetSessionToken"):
                identity = cr.caller_identity(self._sts(source, creds), source.name)
            self._save(source, creds, identity)
            return creds

    def _assume(self, p: Profile, *, mfa_code: str | None, duration: int) -> TemporaryCredentials:
        source_creds = self._source_credentials(p, mfa_code)
        source = self.profile(p.source_profile or "")
        direct_mfa = None
        if p.mfa_serial is not None and source.kind != "keys":
            direct_mfa = self._mfa_code(p.mfa_serial, mfa_code)
        with translating(p):
            return cr.assume_role(
                self._sts(p, source_creds), p, duration=duration, mfa_code=direct_mfa
            )

    def _metadata(self, name: str) -> dict[str, str | None]:
        """What botocore's refreshable credentials ask for, on first use and near expiry."""
        creds = self._current(name)
        expires = creds.expires or datetime.now(timezone.utc) + RECHECK
        return {
            "access_key": creds.access_key_id,
            "secret_key": creds.secret_access_key,
            "token": creds.session_token,
            "expiry_time": expires.isoformat(),
        }

    # -- open, whoami, close ----------------------------------------------

    def open(
        self,
        name: str,
        *,
        duration: int | None = None,
        mfa_code: str | None = None,
        min_ttl: float | None = None,
    ) -> SessionInfo:
        """Get temporary credentials from STS, verify and store them (SPEC 4).

        With ``min_ttl``, a session already open with more than that many
        seconds left is kept and returned instead.
        """
        p = self.profile(name)
        seconds = duration if duration is not None else p.session_duration
        if min_ttl is not None:
            check_min_ttl(min_ttl, seconds)
            if self._stored_session(name, margin=min_ttl) is not None:
                kept = self._kept(name, min_ttl)
                if kept is not None:
                    return kept
        if not 900 <= seconds <= 43200:
            raise UsageError(f"duration must be 900..43200 seconds, not {seconds}")
        if mfa_code is not None:
            check_mfa_code(mfa_code)
        if p.aws_profile is not None:  # before the lock, which a parent may hold
            check_loop(str(self.config.path), name, p.aws_profile)
        before = self.state.get(name)
        with self._flight(f"open:{name}"), self._profile_lock(name):
            # Another process (or thread) may have opened it while we waited:
            # use what it stored rather than open a second session.
            wanted = min_ttl if min_ttl is not None else seconds / 2
            after = self.state.get(name)
            if min_ttl is not None or (after is not None and after != before):
                kept = self._kept(name, wanted, fresh=True)
                if kept is not None:
                    return kept
            if p.kind == "role":
                creds = self._assume(p, mfa_code=mfa_code, duration=seconds)
                step = "AssumeRole"
            else:
                creds = self._session_token(p, seconds, mfa_code)
                step = "GetSessionToken"
            with translating(p, after=step):
                identity = cr.caller_identity(self._sts(p, creds), name)
            self._save(p, creds, identity)
        return SessionInfo(name, identity.account, identity.arn, identity.user_id, creds.expires)

    def _kept(self, name: str, margin: float, *, fresh: bool = False) -> SessionInfo | None:
        """The open session of ``name`` if it has more than ``margin`` s left."""
        if self._stored_session(name, margin=margin, fresh=fresh) is None:
            return None
        record = self.state.get(name)
        if record is None:
            return None
        return SessionInfo(name, record.account, record.arn, record.user_id, record.expires)

    def _profile_lock(self, name: str) -> AbstractContextManager[None]:
        """The cross-process lock of profile ``name`` (see :mod:`sessman.locks`)."""
        return profile_lock(self.state_dir, self.config.keyring_service, name)

    def _session_token(
        self, p: Profile, seconds: int, mfa_code: str | None
    ) -> TemporaryCredentials:
        base: Credentials = (
            self._long_term(p)
            if p.kind == "keys"
            else self._sso_credentials(p)
            if p.kind == "sso"
            else self._aws_profile_credentials(p)
        )
        if base.session_token is not None:  # already temporary (SSO, credential_process)
            expires = datetime.now(timezone.utc) + timedelta(seconds=seconds)
            if base.expires is not None:  # they cannot outlive their own expiry
                expires = min(expires, base.expires)
            return TemporaryCredentials(
                base.access_key_id, base.secret_access_key, base.session_token, expires
            )
        code = self._mfa_code(p.mfa_serial, mfa_code) if p.mfa_serial else None
        with translating(p):
            return cr.get_session_token(
                self._sts(p, base), duration=seconds, mfa_serial=p.mfa_serial, mfa_code=code
            )

    def _save(self, p: Profile, creds: TemporaryCredentials, identity: Identity) -> None:
        self._open.save(p.name, creds, identity)

    def whoami(self, name: str) -> Identity:
        """GetCallerIdentity with the profile's current credentials."""
        p = self.profile(name)
        creds = self._current(name)
        with translating(p):
            return cr.caller_identity(self._sts(p, creds), name)

    def close(self, name: str) -> bool:
        """End a session: close its clients, forget it and its stored credentials.

        Returns whether a session was open. Closing what is closed is fine.
        """
        self.profile(name)
        self._drop(name)
        record = self.state.get(name)
        deleted = self.store.delete(session_user(name))
        removed = self.state.remove(name) if record is not None else False
        return deleted or removed

    def open_names(self) -> list[str]:
        """Profiles of this file with a recorded session (open or expired)."""
        records = self.state.read()
        return [n for n in self.names() if n in records]

    def _drop(self, name: str) -> None:
        with self._lock:
            self._sessions.pop(name, None)
            creds = self._open.forget(name)
            self._aws_profiles.pop(name, None)
            doomed = [k for k in self._clients if k[0] == name]
            clients = [self._clients.pop(k) for k in doomed]
        if creds is not None:  # STS clients that signed with this session's credentials go too
            self._sts_pool.drop(creds)
        for c in clients:
            close_client(c)

    def release(self) -> None:
        """Free in-process resources (clients, caches); stored sessions stay open."""
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
            self._sessions.clear()
            self._open.clear()
            self._aws_profiles.clear()
        self._sts_pool.drop()
        for c in clients:
            close_client(c)

    # -- many accounts ----------------------------------------------------

    def map(
        self,
        fn: Callable[[str, boto3.Session], T],
        names: Iterable[str] | None = None,
        *,
        tag: str | None = None,
        max_workers: int = 16,
        progress: Callable[[Outcome[T]], None] | None = None,
    ) -> dict[str, Outcome[T]]:
        """Run ``fn(name, session)`` for many profiles in threads.

        Returns ``{name: Outcome}`` in the order of ``names``; one profile's
        failure is its own outcome and never stops the others. ``progress``
        is called with each outcome as it completes.
        """
        chosen = list(self.names(tag) if names is None else names)
        if names is not None and tag is not None:
            chosen = [n for n in chosen if tag in self.profile(n).tags]
        for n in chosen:
            self.profile(n)
        if max_workers < 1:
            raise UsageError("max_workers must be at least 1")

        def run(name: str) -> Outcome[T]:
            p = self.profile(name)
            try:
                # sessman's own failures become SessmanError subclasses here...
                with translating(p):
                    self._current(name)  # a profile without credentials fails on its own
                    session = self.session(name)
            except Exception as exc:
                return Outcome(name, False, error=exc)
            try:
                # ...while what the user's fn raises is returned as it was raised.
                return Outcome(name, True, fn(name, session))
            except Exception as exc:
                return Outcome(name, False, error=exc)

        if not chosen:
            return {}
        done: dict[str, Outcome[T]] = {}
        for outcome in fan_out(run, chosen, max_workers):
            done[outcome.name] = outcome
            if progress is not None:
                progress(outcome)
        return {n: done[n] for n in chosen}

    def _flight(self, key: str) -> threading.RLock:
        """A lock per key, so concurrent requests for the same thing are single-flight."""
        with self._lock:
            lock = self._flights.get(key)
            if lock is None:
                lock = self._flights[key] = threading.RLock()
            return lock
