"""Test helpers: real sessman managers and an in-memory keyring, no mocks.

A script that works across many AWS accounts is best tested the way it runs:
with real ``boto3`` sessions and clients, talking to moto instead of AWS.
This module gives you the two pieces that are hard to fake well, the
profiles and the keyring, without touching the user's keyring or files.

With pytest (the fixtures come with sessman, nothing to configure)::

    from moto import mock_aws
    from sessman import SessionManager
    from sessman.testing import make_manager

    PROFILES = {
        "hub": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "region": "us-east-1"},
        "dev": {
            "source_profile": "hub",
            "role_arn": "arn:aws:iam::111111111111:role/Admin",
            "region": "eu-west-1",
            "tags": ["team"],
        },
    }

    def test_buckets_per_account():
        with mock_aws():
            mgr = make_manager(PROFILES, {"hub": "any-secret"})
            mgr.client("dev", "s3").create_bucket(
                Bucket="dev-bucket",
                CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
            )
            found = mgr.map(lambda name, s: len(s.client("s3").list_buckets()["Buckets"]))
            assert {n: o.value for n, o in found.items()} == {"hub": 0, "dev": 1}

    def test_code_that_loads_its_own_profiles(sessman_keyring, tmp_path):
        # sessman_keyring: a fresh MemoryKeyring is *the* keyring for this
        # test (keyring.get_password, SessionManager.load, the CLI in-process)
        sessman_keyring.set_password("sessman", "hub", "any-secret")
        path = tmp_path / "profiles.yaml"
        path.write_text(
            "version: 1\\n"
            "profiles:\\n"
            "  hub: {access_key_id: AKIAIOSFODNN7EXAMPLE, region: us-east-1}\\n"
        )
        with mock_aws(), SessionManager.load(path) as mgr:
            assert mgr.whoami("hub").account == "123456789012"

    def test_with_the_factory(sessman_manager):
        mgr = sessman_manager(PROFILES, {"hub": "any-secret"})  # released after the test
        assert mgr.names(tag="team") == ["dev"]

What each piece does:

:func:`make_manager` ``(profiles, secrets=None, *, defaults=None,
keyring_service=None, keyring=None, mfa_prompt=None)``
    A real :class:`~sessman.SessionManager`. ``profiles`` is what the
    ``profiles:`` section of a file holds, validated by the same loader as a
    file (a bad profile raises :class:`~sessman.errors.ConfigError`);
    ``secrets`` maps profile names to their secret access keys, kept in a
    :class:`MemoryKeyring` (a fresh one unless ``keyring=`` is given). Open
    sessions' metadata goes to a private temporary directory, removed when the
    manager is garbage collected. Without ``endpoint_url`` in a profile, the
    clients go wherever boto3 sends them: use it under moto's ``mock_aws``
    (or give ``endpoint_url`` to a moto server or LocalStack).

:class:`MemoryKeyring`
    A ``keyring`` backend that keeps passwords in a dict (thread-safe, user
    names keep their case, ``priority = -1`` so keyring never picks it on its
    own). It passes keyring's ``BackendBasicTests``.

:func:`isolated_keyring`
    A context manager, for unittest and scripts: installs a fresh
    :class:`MemoryKeyring` as keyring's backend (and points sessman's state
    directory and file keyring at a temporary directory), yields it, and
    restores everything on exit.

pytest fixtures (plugin ``sessman``, loaded automatically):

``sessman_keyring``
    :func:`isolated_keyring` for one test; yields the :class:`MemoryKeyring`.
``sessman_manager``
    A factory with :func:`make_manager`'s signature (type:
    :class:`ManagerFactory`); its managers keep their secrets in the test's
    ``sessman_keyring`` and are released after the test.

Only this process sees a :class:`MemoryKeyring`: a ``sessman`` command run
as a subprocess sees an empty one. Under :func:`isolated_keyring` even a
profiles file that pins ``keyring_backend:`` uses the :class:`MemoryKeyring`,
so a test never reaches a real keyring.
"""

from __future__ import annotations

import functools
import inspect
import os
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from keyring.backend import KeyringBackend
from keyring.credentials import Credential, SimpleCredential
from keyring.errors import PasswordDeleteError

from .config import parse_config
from .errors import ConfigError
from .manager import SessionManager
from .secretstore import KeyringStore

__all__ = [
    "ManagerFactory",
    "MemoryKeyring",
    "isolated_keyring",
    "make_manager",
]

#: Where :func:`make_manager`'s configurations say they come from, in messages.
SOURCE = Path("<make_manager>")

#: What :func:`isolated_keyring` sets for the duration (and restores after).
_ISOLATED_ENV = ("PYTHON_KEYRING_BACKEND", "SESSMAN_STATE_DIR", "SESSMAN_KEYRING_FILE")


class MemoryKeyring(KeyringBackend):
    """An in-memory ``keyring`` backend for tests.

    Thread-safe; service and user names are kept exactly as given (no case
    folding). ``repr()`` shows how many entries it holds, never a value.
    """

    priority = -1  # never chosen by keyring on its own
    #: Its secrets are in this process only: a sessman agent never holds them.
    process_local = True

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._lock = threading.RLock()
        self._entries: dict[str, dict[str, str]] = {}

    def __repr__(self) -> str:
        with self._lock:
            count = sum(len(users) for users in self._entries.values())
        return f"<MemoryKeyring: {count} entries>"

    def get_password(self, service: str, username: str) -> str | None:
        with self._lock:
            return self._entries.get(service, {}).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._lock:
            self._entries.setdefault(service, {})[username] = password

    def delete_password(self, service: str, username: str) -> None:
        with self._lock:
            users = self._entries.get(service, {})
            if username not in users:
                raise PasswordDeleteError(f"no password for {username!r} in {service!r}")
            del users[username]
            if not users:
                del self._entries[service]

    def get_credential(self, service: str, username: str | None) -> Credential | None:
        """The credential of ``username``; with ``None``, the service's first one."""
        with self._lock:
            users = self._entries.get(service, {})
            if username is None:
                username = next(iter(users), None)
                if username is None:
                    return None
            password = users.get(username)
        return None if password is None else SimpleCredential(username, password)

    def usernames(self, service: str) -> set[str]:
        """Every user name with a password in ``service`` (one call, for listing)."""
        with self._lock:
            return set(self._entries.get(service, {}))


class ManagerFactory(Protocol):
    """The type of the ``sessman_manager`` fixture: :func:`make_manager`'s signature."""

    def __call__(
        self,
        profiles: Mapping[str, Mapping[str, Any]],
        secrets: Mapping[str, str] | None = None,
        *,
        defaults: Mapping[str, Any] | None = None,
        keyring_service: str | None = None,
        keyring: MemoryKeyring | None = None,
        mfa_prompt: Callable[[str], str] | None = None,
    ) -> SessionManager: ...


def make_manager(
    profiles: Mapping[str, Mapping[str, Any]],
    secrets: Mapping[str, str] | None = None,
    *,
    defaults: Mapping[str, Any] | None = None,
    keyring_service: str | None = None,
    keyring: MemoryKeyring | None = None,
    mfa_prompt: Callable[[str], str] | None = None,
) -> SessionManager:
    """A real :class:`SessionManager` over in-memory profiles and secrets.

    ``profiles`` and ``defaults`` are what those sections of a profiles file
    hold; ``keyring_service`` is the file's top-level key of that name. They
    are checked by the very loader that checks files, so anything a file may
    not say raises :class:`~sessman.errors.ConfigError` here too.
    ``secrets`` maps profile names to secret access keys; they are stored in
    ``keyring`` (default: a new :class:`MemoryKeyring`), never in the user's
    keyring. The state of open sessions lives in a private temporary
    directory, removed when the manager is garbage collected (or at exit).
    ``mfa_prompt(device) -> code`` answers MFA prompts.
    """
    directory = Path(tempfile.mkdtemp(prefix="sessman-testing-"))
    try:
        manager = _new_manager(
            profiles,
            secrets,
            defaults=defaults,
            keyring_service=keyring_service,
            keyring=keyring,
            mfa_prompt=mfa_prompt,
            state_dir=directory,
        )
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    weakref.finalize(manager, shutil.rmtree, directory, ignore_errors=True)
    return manager


def _new_manager(
    profiles: Mapping[str, Mapping[str, Any]],
    secrets: Mapping[str, str] | None,
    *,
    defaults: Mapping[str, Any] | None,
    keyring_service: str | None,
    keyring: MemoryKeyring | None,
    mfa_prompt: Callable[[str], str] | None,
    state_dir: Path,
) -> SessionManager:
    import yaml

    document: dict[str, Any] = {"version": 1}
    if keyring_service is not None:
        document["keyring_service"] = keyring_service
    if defaults is not None:
        document["defaults"] = _plain(defaults)
    document["profiles"] = _plain(profiles)
    try:
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"a value cannot be written in a profiles file: {exc}", path=str(SOURCE)
        ) from None
    config = parse_config(text, SOURCE)
    backend = MemoryKeyring() if keyring is None else keyring
    for name, secret in (secrets or {}).items():
        config.profile(name)  # ProfileNotFound, with "did you mean", for a typo
        if not isinstance(secret, str):
            raise TypeError(f"the secret of profile {name!r} must be a str")
        backend.set_password(config.keyring_service, name, secret)
    return SessionManager(
        config,
        store=KeyringStore(config.keyring_service, backend),
        state_dir=state_dir,
        mfa_prompt=mfa_prompt,
    )


def _plain(value: Any) -> Any:
    """Mappings as dicts and sequences as lists, so YAML can write them."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@contextmanager
def isolated_keyring() -> Iterator[MemoryKeyring]:
    """Make a fresh :class:`MemoryKeyring` *the* keyring until the block ends.

    ``keyring.get_keyring()`` returns it, and so does sessman's own backend
    resolution (``SessionManager.load``, the CLI run in-process), which it is
    passed to (:func:`sessman.backends.isolated_backend`), a pinned
    ``keyring_backend:`` notwithstanding; ``PYTHON_KEYRING_BACKEND`` names it. ``SESSMAN_STATE_DIR`` and
    ``SESSMAN_KEYRING_FILE`` point into a temporary directory, so nothing
    is written under the user's home. On exit the previous backend and
    variables come back and the directory is removed.
    """
    import keyring.core

    from ._keyring import chosen_backend, forget_chosen_backend
    from .backends import isolated_backend

    previous: KeyringBackend | None = chosen_backend()
    saved = {name: os.environ.get(name) for name in _ISOLATED_ENV}
    backend = MemoryKeyring()
    with tempfile.TemporaryDirectory(prefix="sessman-testing-") as tmp:
        os.environ["PYTHON_KEYRING_BACKEND"] = f"{__name__}.MemoryKeyring"
        os.environ["SESSMAN_STATE_DIR"] = str(Path(tmp) / "state")
        os.environ["SESSMAN_KEYRING_FILE"] = str(Path(tmp) / "keyring.enc")
        keyring.core.set_keyring(backend)
        try:
            with isolated_backend(backend):
                yield backend
        finally:
            if previous is None:
                # keyring had not chosen a backend yet: let it choose again later.
                forget_chosen_backend()
            else:
                keyring.core.set_keyring(previous)
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


@contextmanager
def _managed(shared: MemoryKeyring, state_dir: Path) -> Iterator[ManagerFactory]:
    """The ``sessman_manager`` fixture: managers on ``shared``, released at the end."""
    made: list[SessionManager] = []

    @functools.wraps(make_manager)
    def factory(*args: Any, **kwargs: Any) -> SessionManager:
        call = inspect.signature(make_manager).bind(*args, **kwargs)
        call.apply_defaults()
        if call.arguments["keyring"] is None:
            call.arguments["keyring"] = shared
        manager = _new_manager(*call.args, state_dir=state_dir, **call.kwargs)
        made.append(manager)
        return manager

    try:
        yield factory
    finally:
        for manager in made:
            manager.release()
