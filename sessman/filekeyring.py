"""An encrypted file keyring: sessman's default where no system keyring exists.

On a headless machine ``keyring`` finds no backend and resolves to
``keyring.backends.fail.Keyring``. :class:`EncryptedFileKeyring` is a real
``keyring`` backend (so ``keyring`` itself and other tools can use it too)
with a low priority: never chosen over a system keyring. Installed as a
``keyring.backends`` entry point, it is viable only where its file exists
or ``$SESSMAN_KEYRING_FILE`` is set, so installing sessman never makes it
the keyring of other programs on a machine that has none.

The store is one file, mode 0600 (``$SESSMAN_KEYRING_FILE``, else
``keyring.enc`` in the user data directory), in a directory that only its
owner may write (:mod:`sessman.trust`); its format and cryptography are in
:mod:`sessman._keyring_format` (Argon2id, AES-256-GCM per entry, a header
checksum and an authenticated index). Service and user names are an index
in plain text (they are not secret, and keep their case), so
:meth:`EncryptedFileKeyring.usernames` and a lookup that finds nothing need
no passphrase. Every write and every delete verifies the passphrase first:
a wrong passphrase changes nothing. A file of the old format is read, and
re-encrypted in the current one on the next write.

The passphrase is ``$SESSMAN_KEYRING_PASSPHRASE``, else a hidden prompt on a
terminal (asked twice when the file is created), else an error that says to
set the variable. Every change is a read-modify-write under a lock on
``<file>.lock``, written atomically, so concurrent processes never lose each
other's entries. A file that is not a valid keyring is reported and never
overwritten.

This module imports ``cryptography``, ``filelock`` and ``platformdirs`` only
inside the functions that need them: ``keyring`` may import it while looking
for backends, and ``sessman credential-process`` pays for every import.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keyring.backend import KeyringBackend
from keyring.compat import properties
from keyring.errors import PasswordDeleteError

from sessman import _keyring_format as kf
from sessman._keyring_format import (
    FileKeyringError,
    KeyringFileDamaged,
    PassphraseError,
    PassphraseRequired,
    WrongPassphrase,
)

__all__ = [
    "ENV_FILE",
    "ENV_PASSPHRASE",
    "EncryptedFileKeyring",
    "FileKeyringError",
    "KeyringFileDamaged",
    "PassphraseError",
    "PassphraseRequired",
    "WrongPassphrase",
    "default_keyring_path",
    "forget_keys",
]

ENV_FILE = "SESSMAN_KEYRING_FILE"
"""Environment variable naming the keyring file (overrides the default)."""

ENV_PASSPHRASE = "SESSMAN_KEYRING_PASSPHRASE"
"""Environment variable holding the passphrase (else a prompt on a terminal)."""

_LOCK_TIMEOUT_S = 30.0
_CLASS_PATH = f"{__name__}.EncryptedFileKeyring"

#: What :meth:`EncryptedFileKeyring._via_agent` returns when the agent did nothing.
_NOT_HANDLED: Any = object()


def _read(path: Path) -> kf.Document | None:
    """The parsed file, or ``None`` when it does not exist. No lock: writes are atomic."""
    from sessman.trust import UnsafePath, read_private

    try:
        raw = read_private(path)
    except UnsafePath as exc:
        raise FileKeyringError(
            f"{path}: cannot read the sessman keyring file ({exc.path}: {exc.problem};"
            f" fix: {exc.fix})",
            path=path,
        ) from exc
    except OSError as exc:
        raise FileKeyringError(
            f"{path}: cannot read the sessman keyring file ({exc.strerror or exc});"
            " check its permissions.",
            path=path,
        ) from exc
    return None if raw is None else kf.parse(raw, path)


def forget_keys() -> None:
    """Drop every derived key this process holds (the agent's ``lock``)."""
    kf.forget_keys()


@dataclass(frozen=True, repr=False)
class _Passphrase:
    """A passphrase and where it came from; its repr never shows the value."""

    value: str
    source: str  # "env", "argument" or "prompt"

    def __repr__(self) -> str:
        return f"<passphrase from {self.source}>"


def default_keyring_path() -> Path:
    """``$SESSMAN_KEYRING_FILE``, else ``keyring.enc`` in sessman's user data dir."""
    from .locations import keyring_file

    return keyring_file()


# --------------------------------------------------------------------------
# The backend
# --------------------------------------------------------------------------


class EncryptedFileKeyring(KeyringBackend):
    """A ``keyring`` backend storing AES-GCM encrypted passwords in one file.

    ``path`` defaults to :func:`default_keyring_path` (resolved on first use);
    ``passphrase`` defaults to ``$SESSMAN_KEYRING_PASSPHRASE`` or a prompt,
    asked only when a value must be encrypted or decrypted, and before every
    change.
    """

    @properties.classproperty
    def priority(cls) -> float:
        """Above fail.Keyring (0), below any real keyring; not viable unless chosen.

        Chosen means: its file exists, ``$SESSMAN_KEYRING_FILE`` is set, or
        ``$PYTHON_KEYRING_BACKEND`` names it. Otherwise installing sessman
        would make it the keyring of every program on a machine without one.
        """
        named = os.environ.get("PYTHON_KEYRING_BACKEND") == _CLASS_PATH
        if not (named or os.environ.get(ENV_FILE) or default_keyring_path().exists()):
            raise RuntimeError(f"no sessman keyring file here and {ENV_FILE} is not set")
        return 0.1

    def __init__(self, path: Path | None = None, passphrase: str | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # reads KEYRING_PROPERTY_*
        self._path = Path(path) if path is not None else None
        self._given = _Passphrase(passphrase, "argument") if passphrase is not None else None
        self._prompted: _Passphrase | None = None

    def __repr__(self) -> str:
        where = str(self._path) if self._path is not None else "default path"
        return f"<{type(self).__name__} {where}>"

    __str__ = __repr__  # keyring's str() asks for the priority, which may say "not here"

    @property
    def path(self) -> Path:
        """The keyring file."""
        # Not remembered: keyring keeps one backend instance per process, and
        # it must follow SESSMAN_KEYRING_FILE as it is now.
        return self._path if self._path is not None else default_keyring_path()

    # -- keyring API --------------------------------------------------------

    def get_password(self, service: str, username: str) -> str | None:
        """The stored password, or ``None``; asks for the passphrase only on a hit."""
        doc = _read(self.path)
        if doc is None:
            return None
        blob = doc.entries.get(service, {}).get(username)
        if blob is None:
            return None
        handled = self._via_agent("get", service, username)
        if handled is not _NOT_HANDLED:
            return handled  # type: ignore[no-any-return]
        key = self._unlock(doc, self._passphrase(creating=False))
        doc.verify_index(key, self.path)
        return self._plaintext(doc, key, service, username, blob)

    def set_password(self, service: str, username: str, password: str) -> None:
        """Store ``password``, creating the file (and asking twice) if it does not exist."""
        path = self.path
        peek = _read(path)  # a damaged file stops here, before any prompt
        if peek is not None and self._via_agent("put", service, username, password) is not (
            _NOT_HANDLED
        ):
            return
        passphrase = self._passphrase(creating=peek is None)
        if peek is not None:
            self._unlock(peek, passphrase)  # check it (and derive) before locking
        with self._locked():
            doc = _read(path)
            if doc is None:
                doc, key = kf.Document.new(passphrase.value)
            else:
                doc, key = self._current(doc, self._unlock(doc, passphrase), passphrase)
            aad = kf.entry_aad(doc.version, service, username)
            doc.entries.setdefault(service, {})[username] = kf.encrypt(
                key, password.encode("utf-8"), aad
            )
            self._write(doc, key)
        if passphrase.source == "prompt":
            self._prompted = passphrase

    def delete_password(self, service: str, username: str) -> None:
        """Remove an entry, after checking the passphrase. ``PasswordDeleteError`` if absent."""
        path = self.path
        peek = _read(path)
        if not self._has_entry(peek, service, username):
            raise self._not_found(service, username)
        assert peek is not None
        if self._via_agent("delete", service, username) is not _NOT_HANDLED:
            return
        passphrase = self._passphrase(creating=False)
        self._unlock(peek, passphrase)  # a wrong passphrase deletes nothing
        with self._locked():
            doc = _read(path)
            if doc is None or not self._has_entry(doc, service, username):
                raise self._not_found(service, username)
            doc, key = self._current(doc, self._unlock(doc, passphrase), passphrase)
            users = doc.entries[service]
            del users[username]
            if not users:
                del doc.entries[service]
            self._write(doc, key)

    # -- sessman API --------------------------------------------------------

    def usernames(self, service: str) -> set[str]:
        """The user names with a stored password for ``service``: one read, no passphrase."""
        doc = _read(self.path)
        if doc is None:
            return set()
        return set(doc.entries.get(service, {}))

    def verify(self) -> None:
        """Check that the passphrase opens the file (deriving its key once); the agent's unlock."""
        doc = _read(self.path)
        if doc is not None:
            self._unlock(doc, self._passphrase(creating=False))

    # -- internals ----------------------------------------------------------

    def _via_agent(self, op: str, service: str, username: str, password: str | None = None) -> Any:
        """Let a running, unlocked sessman agent do ``op``; :data:`_NOT_HANDLED` if it cannot.

        The seam between the keyring and the agent: the agent opens this
        same file with this same class, so the format and its cryptography
        stay here. A passphrase given to this instance wins over the agent.
        """
        if self._given is not None:
            return _NOT_HANDLED
        from sessman.agent.client import NOT_HANDLED, AgentError, keyring_op

        try:
            result = keyring_op(op, str(self.path), service, username, password)
        except AgentError as exc:
            if exc.code == "absent":
                raise self._not_found(service, username) from exc
            raise FileKeyringError(exc.message, path=self.path) from exc
        return _NOT_HANDLED if result is NOT_HANDLED else result

    @staticmethod
    def _has_entry(doc: kf.Document | None, service: str, username: str) -> bool:
        return doc is not None and username in doc.entries.get(service, {})

    def _not_found(self, service: str, username: str) -> PasswordDeleteError:
        return PasswordDeleteError(
            f"{self.path}: no password stored for user {username!r} of service {service!r}."
        )

    def _plaintext(
        self, doc: kf.Document, key: bytes, service: str, username: str, blob: bytes
    ) -> str:
        plaintext = kf.decrypt(key, blob, kf.entry_aad(doc.version, service, username))
        if plaintext is None:
            raise KeyringFileDamaged(
                self.path, f"entry {username!r} of service {service!r} fails authentication"
            )
        try:
            return plaintext.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise KeyringFileDamaged(
                self.path, f"entry {username!r} of service {service!r} is not text"
            ) from exc

    def _current(
        self, doc: kf.Document, key: bytes, passphrase: _Passphrase
    ) -> tuple[kf.Document, bytes]:
        """``doc`` with its index verified, re-encrypted in today's format if older."""
        doc.verify_index(key, self.path)
        if doc.version == kf.VERSION and doc.kdf.current:
            return doc, key
        new, new_key = kf.Document.new(passphrase.value)
        for service, users in doc.entries.items():
            for user, blob in users.items():
                plaintext = self._plaintext(doc, key, service, user, blob).encode("utf-8")
                aad = kf.entry_aad(new.version, service, user)
                new.entries.setdefault(service, {})[user] = kf.encrypt(new_key, plaintext, aad)
        return new, new_key

    def _passphrase(self, *, creating: bool) -> _Passphrase:
        """The passphrase: argument, variable, remembered prompt, or a new prompt."""
        if self._given is not None:
            return self._given
        env = os.environ.get(ENV_PASSPHRASE)
        if env:
            return _Passphrase(env, "env")
        if self._prompted is not None:
            return self._prompted
        from .prompts import asking, has_terminal

        if not has_terminal():
            raise PassphraseRequired(
                f"{self.path}: the sessman keyring file needs a passphrase and there is no"
                f" terminal to ask for it; set {ENV_PASSPHRASE}.",
                path=self.path,
            )
        with asking():  # one prompt at a time; threads that waited use its answer
            if self._prompted is None:
                self._prompted = self._prompt(creating=creating)
            return self._prompted

    def _prompt(self, *, creating: bool) -> _Passphrase:
        from .prompts import PassphrasesDiffer, ask_passphrase

        action = (
            "New passphrase for the sessman keyring"
            if creating
            else "Passphrase of the sessman keyring"
        )
        try:
            first = ask_passphrase(f"{action} {self.path}: ", new=creating)
        except PassphrasesDiffer:
            raise PassphraseRequired(
                f"{self.path}: the two passphrases typed differ; nothing was written. Try again.",
                path=self.path,
            ) from None
        except EOFError as exc:
            raise PassphraseRequired(
                f"{self.path}: no passphrase could be read from the terminal;"
                f" set {ENV_PASSPHRASE}.",
                path=self.path,
            ) from exc
        if not first:
            raise PassphraseRequired(
                f"{self.path}: no passphrase typed; nothing was changed.", path=self.path
            )
        return _Passphrase(first, "prompt")

    def _unlock(self, doc: kf.Document, passphrase: _Passphrase) -> bytes:
        """The file's key for ``passphrase``, verified against the file's check value."""
        key = doc.kdf.derive(passphrase.value)
        if kf.decrypt(key, doc.check, kf.check_aad(doc.version, doc.kdf)) != kf.CHECK_MARKER:
            doc.kdf.forget(passphrase.value)
            if self._prompted is passphrase:
                self._prompted = None  # asked again next time, not reused
            next_step = {
                "env": f"check {ENV_PASSPHRASE}",
                "prompt": "try again",
                "argument": "check the passphrase passed in",
            }[passphrase.source]
            raise WrongPassphrase(
                f"{self.path}: wrong passphrase for the sessman keyring file ({next_step});"
                " the file was not changed.",
                path=self.path,
            )
        if passphrase.source == "prompt":
            self._prompted = passphrase
        return key

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold ``<file>.lock`` (in a private directory, made 0700) for a modification."""
        from filelock import Timeout

        from sessman.trust import UnsafePath, locked

        path = self.path
        lock_path = path.with_name(path.name + ".lock")
        try:
            with locked(lock_path, timeout=_LOCK_TIMEOUT_S):
                yield
        except Timeout as exc:
            raise FileKeyringError(
                f"{path}: another process held {lock_path} for {_LOCK_TIMEOUT_S:g} s; try again.",
                path=path,
            ) from exc
        except UnsafePath as exc:
            raise FileKeyringError(
                f"{path}: cannot lock the sessman keyring file ({exc.path}: {exc.problem};"
                f" fix: {exc.fix})",
                path=path,
            ) from exc
        except OSError as exc:
            raise FileKeyringError(
                f"{path}: cannot lock the sessman keyring file ({exc.strerror or exc});"
                f" check the permissions of {path.parent}.",
                path=path,
            ) from exc

    def _write(self, doc: kf.Document, key: bytes) -> None:
        from sessman.trust import UnsafePath, write_private

        try:
            write_private(self.path, doc.to_bytes(key), mode=0o600)
        except UnsafePath as exc:
            raise FileKeyringError(
                f"{self.path}: cannot write the sessman keyring file ({exc.path}:"
                f" {exc.problem}; fix: {exc.fix}); it was left as it was",
                path=self.path,
            ) from exc
        except OSError as exc:
            raise FileKeyringError(
                f"{self.path}: cannot write the sessman keyring file ({exc.strerror or exc});"
                " it was left as it was.",
                path=self.path,
            ) from exc
