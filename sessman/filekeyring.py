"""An encrypted file keyring: sessman's default where no system keyring exists.

On a headless machine ``keyring`` finds no backend and resolves to
``keyring.backends.fail.Keyring``. :class:`EncryptedFileKeyring` is a real
``keyring`` backend (so ``keyring`` itself and other tools can use it too)
with a low priority: never chosen over a system keyring, always over the
failing one.

The store is one JSON file, mode 0600 (``$SESSMAN_KEYRING_FILE``, else
``keyring.enc`` in the user data directory)::

    {"format": "sessman-keyring", "version": 1,
     "kdf": {"name": "scrypt", "salt": b64, "n": 16384, "r": 8, "p": 1},
     "check": b64(nonce || AES-GCM(marker)),
     "entries": {service: {username: b64(nonce || AES-GCM(password))}}}

Service and user names are an index in plain text (they are not secret, and
keep their case), so :meth:`EncryptedFileKeyring.usernames` and a lookup that
finds nothing need no passphrase. Each value is AES-256-GCM encrypted with a
fresh nonce, its service and user name bound in as associated data so that
entries cannot be swapped. The key comes from the passphrase with scrypt,
once per process per (file salt, passphrase); ``check`` tells a wrong
passphrase from a damaged entry before anything is written.

The passphrase is ``$SESSMAN_KEYRING_PASSPHRASE``, else a hidden prompt on a
terminal (asked twice when the file is created), else an error that says to
set the variable. Every change is a read-modify-write under a lock on
``<file>.lock``, written atomically, so concurrent processes never lose each
other's entries. A file that is not a valid keyring is reported and never
overwritten.

Errors, all ``keyring`` errors with a one-line message naming the file and
the next step::

    keyring.errors.KeyringError
    └── FileKeyringError            the file cannot be read, written or locked
        ├── KeyringFileDamaged      not a sessman keyring file (never overwritten)
        └── PassphraseError         (also a keyring.errors.KeyringLocked)
            ├── PassphraseRequired  no variable and no terminal, or prompts differ
            └── WrongPassphrase     the passphrase does not open the file

This module imports ``cryptography``, ``filelock`` and ``platformdirs`` only
inside the functions that need them: ``keyring`` may import it while looking
for backends, and ``sessman credential-process`` pays for every import.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keyring.backend import KeyringBackend
from keyring.errors import KeyringError, KeyringLocked, PasswordDeleteError

from sessman._atomic import write_atomic

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
]

ENV_FILE = "SESSMAN_KEYRING_FILE"
"""Environment variable naming the keyring file (overrides the default)."""

ENV_PASSPHRASE = "SESSMAN_KEYRING_PASSPHRASE"
"""Environment variable holding the passphrase (else a prompt on a terminal)."""

_FORMAT = "sessman-keyring"
_VERSION = 1

# scrypt cost: about 40 ms and 16 MiB on the 2-core reference machine.
# `sessman credential-process` derives the key on every SDK credential fetch,
# so this is the price of one fetch; n=2**15 doubles it.
_SCRYPT_N = 2**14
_SCRYPT_R = 8
_SCRYPT_P = 1
_SALT_BYTES = 16
_KEY_BYTES = 32
_NONCE_BYTES = 12
_TAG_BYTES = 16

# Bounds for parameters read from a file: anything outside is damage, and
# they keep a garbled file from asking for gigabytes of memory.
_MAX_SCRYPT_MEMORY = 2**28  # 256 MiB = 128 * n * r
_MAX_SCRYPT_P = 16

_CHECK_MARKER = b"sessman-keyring passphrase check"
_CHECK_AAD = json.dumps([_FORMAT, _VERSION, "check"]).encode("ascii")

_LOCK_TIMEOUT_S = 30.0

# Derived keys, per (salt, n, r, p, SHA-256 of the passphrase), for this
# process only: never written anywhere. Small, because a process uses one file.
_KEY_CACHE: dict[tuple[bytes, int, int, int, bytes], bytes] = {}
_KEY_CACHE_MAX = 8
_KEY_LOCK = threading.Lock()


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


class FileKeyringError(KeyringError):
    """The keyring file cannot be read, written or locked; ``path`` names it."""

    def __init__(self, message: str, *, path: Path) -> None:
        super().__init__(message)
        self.path = path


class KeyringFileDamaged(FileKeyringError):
    """The file is not a sessman keyring this version can read; it is left as is."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"{path}: not a usable sessman keyring file ({reason}); it was left"
            " untouched: restore it from a backup, or move it away to start a new keyring.",
            path=path,
        )
        self.reason = reason


class PassphraseError(FileKeyringError, KeyringLocked):
    """The keyring file stays locked: no passphrase, or not the right one."""


class PassphraseRequired(PassphraseError):
    """No passphrase could be obtained (no variable, no terminal, prompts differ)."""


class WrongPassphrase(PassphraseError):
    """The passphrase does not open the keyring file; nothing was changed."""


# --------------------------------------------------------------------------
# The file format
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Kdf:
    """scrypt parameters of one keyring file."""

    salt: bytes
    n: int
    r: int
    p: int

    @classmethod
    def fresh(cls) -> _Kdf:
        """Parameters for a new file: a new random salt, today's cost."""
        return cls(os.urandom(_SALT_BYTES), _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)

    def to_json(self) -> dict[str, Any]:
        """The ``kdf`` object of the file."""
        salt = base64.b64encode(self.salt).decode("ascii")
        return {"name": "scrypt", "salt": salt, "n": self.n, "r": self.r, "p": self.p}


@dataclass
class _Document:
    """A parsed keyring file: KDF, passphrase check, and the encrypted entries."""

    kdf: _Kdf
    check: bytes
    entries: dict[str, dict[str, bytes]] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        """Serialise to the file format (ASCII JSON, stable order)."""
        entries = {
            service: {user: _b64(blob) for user, blob in sorted(users.items())}
            for service, users in sorted(self.entries.items())
        }
        doc = {
            "format": _FORMAT,
            "version": _VERSION,
            "kdf": self.kdf.to_json(),
            "check": _b64(self.check),
            "entries": entries,
        }
        return (json.dumps(doc, indent=2, ensure_ascii=True) + "\n").encode("ascii")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object, what: str, path: Path, min_len: int) -> bytes:
    """Decode a base64 field, or say which field of the file is damaged."""
    if not isinstance(value, str):
        raise KeyringFileDamaged(path, f"{what} is not a string")
    try:
        data = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise KeyringFileDamaged(path, f"{what} is not base64") from exc
    if len(data) < min_len:
        raise KeyringFileDamaged(path, f"{what} is too short")
    return data


def _parse(raw: bytes, path: Path) -> _Document:
    """Parse and validate the whole file, or raise :class:`KeyringFileDamaged`."""
    if not raw.strip():
        raise KeyringFileDamaged(path, "the file is empty")
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KeyringFileDamaged(path, "not valid JSON") from exc
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
        raise KeyringFileDamaged(path, f"no 'format': {_FORMAT!r} marker")
    version = doc.get("version")
    if version != _VERSION:
        if isinstance(version, int) and not isinstance(version, bool) and version > _VERSION:
            raise KeyringFileDamaged(
                path, f"format version {version} is newer than this sessman; upgrade sessman"
            )
        raise KeyringFileDamaged(path, f"unknown format version {version!r}")

    kdf = doc.get("kdf")
    if not isinstance(kdf, dict) or kdf.get("name") != "scrypt":
        raise KeyringFileDamaged(path, "'kdf' is not an scrypt description")
    n, r, p = kdf.get("n"), kdf.get("r"), kdf.get("p")
    if not (isinstance(n, int) and isinstance(r, int) and isinstance(p, int)) or any(
        isinstance(v, bool) for v in (n, r, p)
    ):
        raise KeyringFileDamaged(path, "scrypt n, r, p are not integers")
    if n < 2 or n & (n - 1) or r < 1 or not 1 <= p <= _MAX_SCRYPT_P:
        raise KeyringFileDamaged(path, "scrypt parameters out of range")
    if 128 * n * r > _MAX_SCRYPT_MEMORY:
        raise KeyringFileDamaged(path, "scrypt parameters out of range")
    salt = _unb64(kdf.get("salt"), "the scrypt salt", path, _SALT_BYTES)

    check = _unb64(doc.get("check"), "'check'", path, _NONCE_BYTES + _TAG_BYTES)

    raw_entries = doc.get("entries")
    if not isinstance(raw_entries, dict):
        raise KeyringFileDamaged(path, "'entries' is not an object")
    entries: dict[str, dict[str, bytes]] = {}
    for service, users in raw_entries.items():
        if not isinstance(users, dict):
            raise KeyringFileDamaged(path, f"entries of service {service!r} are not an object")
        entries[service] = {
            user: _unb64(
                blob, f"entry {user!r} of service {service!r}", path, _NONCE_BYTES + _TAG_BYTES
            )
            for user, blob in users.items()
        }
    return _Document(_Kdf(salt, n, r, p), check, entries)


def _read(path: Path) -> _Document | None:
    """The parsed file, or ``None`` when it does not exist. No lock: writes are atomic."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise FileKeyringError(
            f"{path}: cannot read the sessman keyring file ({exc.strerror or exc});"
            " check its permissions.",
            path=path,
        ) from exc
    return _parse(raw, path)


# --------------------------------------------------------------------------
# Cryptography
# --------------------------------------------------------------------------


def _entry_aad(service: str, username: str) -> bytes:
    """Associated data binding a value to its place, so entries cannot be swapped."""
    return json.dumps([_FORMAT, _VERSION, "entry", service, username]).encode("ascii")


def _derive_key(kdf: _Kdf, passphrase: str) -> bytes:
    """The AES key for ``kdf`` and ``passphrase``: scrypt once, then the process cache."""
    secret = passphrase.encode("utf-8")
    ident = (kdf.salt, kdf.n, kdf.r, kdf.p, hashlib.sha256(secret).digest())
    # One lock: threads asking at once derive the key once, not once each.
    with _KEY_LOCK:
        key = _KEY_CACHE.get(ident)
        if key is None:
            from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

            key = Scrypt(salt=kdf.salt, length=_KEY_BYTES, n=kdf.n, r=kdf.r, p=kdf.p).derive(secret)
            if len(_KEY_CACHE) >= _KEY_CACHE_MAX:
                _KEY_CACHE.clear()
            _KEY_CACHE[ident] = key
        return key


def _forget_key(kdf: _Kdf, passphrase: str) -> None:
    """Drop a key that turned out to be wrong from the process cache."""
    ident = (kdf.salt, kdf.n, kdf.r, kdf.p, hashlib.sha256(passphrase.encode("utf-8")).digest())
    _KEY_CACHE.pop(ident, None)


def _encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _decrypt(key: bytes, blob: bytes, aad: bytes) -> bytes | None:
    """The plaintext, or ``None`` when the key or the associated data do not match."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        return AESGCM(key).decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], aad)
    except InvalidTag:
        return None


# --------------------------------------------------------------------------
# Passphrase
# --------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class _Passphrase:
    """A passphrase and where it came from; its repr never shows the value."""

    value: str
    source: str  # "env", "argument" or "prompt"

    def __repr__(self) -> str:
        return f"<passphrase from {self.source}>"


def _stdin_is_terminal() -> bool:
    stdin = sys.stdin
    try:
        return stdin is not None and stdin.isatty()
    except (AttributeError, ValueError):  # replaced or closed stdin
        return False


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
    asked only when a value must be encrypted or decrypted.
    """

    priority = 0.1  # above fail.Keyring (0), below any real keyring

    def __init__(self, path: Path | None = None, passphrase: str | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # reads KEYRING_PROPERTY_*
        self._path = Path(path) if path is not None else None
        self._given = _Passphrase(passphrase, "argument") if passphrase is not None else None
        self._prompted: _Passphrase | None = None

    def __repr__(self) -> str:
        where = str(self._path) if self._path is not None else "default path"
        return f"<{type(self).__name__} {where}>"

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
        key = self._unlock(doc, self._passphrase(creating=False))
        plaintext = _decrypt(key, blob, _entry_aad(service, username))
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

    def set_password(self, service: str, username: str, password: str) -> None:
        """Store ``password``, creating the file (and asking twice) if it does not exist."""
        path = self.path
        peek = _read(path)  # a damaged file stops here, before any prompt
        passphrase = self._passphrase(creating=peek is None)
        if peek is not None:
            self._unlock(peek, passphrase)  # check it (and derive) before locking
        with self._locked():
            doc = _read(path)
            if doc is None:
                kdf = _Kdf.fresh()
                key = _derive_key(kdf, passphrase.value)
                doc = _Document(kdf, _encrypt(key, _CHECK_MARKER, _CHECK_AAD))
            else:
                key = self._unlock(doc, passphrase)
            blob = _encrypt(key, password.encode("utf-8"), _entry_aad(service, username))
            doc.entries.setdefault(service, {})[username] = blob
            self._write(doc)
        if passphrase.source == "prompt":
            self._prompted = passphrase

    def delete_password(self, service: str, username: str) -> None:
        """Remove an entry; no passphrase needed. Raises ``PasswordDeleteError`` if absent."""
        path = self.path
        if not self._has_entry(_read(path), service, username):
            raise self._not_found(service, username)
        with self._locked():
            doc = _read(path)
            if doc is None or not self._has_entry(doc, service, username):
                raise self._not_found(service, username)
            users = doc.entries[service]
            del users[username]
            if not users:
                del doc.entries[service]
            self._write(doc)

    # -- sessman API --------------------------------------------------------

    def usernames(self, service: str) -> set[str]:
        """The user names with a stored password for ``service``: one read, no passphrase."""
        doc = _read(self.path)
        if doc is None:
            return set()
        return set(doc.entries.get(service, {}))

    # -- internals ----------------------------------------------------------

    @staticmethod
    def _has_entry(doc: _Document | None, service: str, username: str) -> bool:
        return doc is not None and username in doc.entries.get(service, {})

    def _not_found(self, service: str, username: str) -> PasswordDeleteError:
        return PasswordDeleteError(
            f"{self.path}: no password stored for user {username!r} of service {service!r}."
        )

    def _passphrase(self, *, creating: bool) -> _Passphrase:
        """The passphrase: argument, variable, remembered prompt, or a new prompt."""
        if self._given is not None:
            return self._given
        env = os.environ.get(ENV_PASSPHRASE)
        if env:
            return _Passphrase(env, "env")
        if self._prompted is not None:
            return self._prompted
        if not _stdin_is_terminal():
            raise PassphraseRequired(
                f"{self.path}: the sessman keyring file needs a passphrase and there is no"
                f" terminal to ask for it; set {ENV_PASSPHRASE}.",
                path=self.path,
            )
        from .prompts import asking

        with asking():  # one prompt at a time; threads that waited use its answer
            if self._prompted is None:
                self._prompted = self._prompt(creating=creating)
            return self._prompted

    def _prompt(self, *, creating: bool) -> _Passphrase:
        import getpass

        action = (
            "New passphrase for the sessman keyring"
            if creating
            else "Passphrase of the sessman keyring"
        )
        try:
            first = getpass.getpass(f"{action} {self.path}: ")
            if not first:
                raise PassphraseRequired(
                    f"{self.path}: no passphrase typed; nothing was changed.", path=self.path
                )
            if creating and getpass.getpass("Repeat the passphrase: ") != first:
                raise PassphraseRequired(
                    f"{self.path}: the two passphrases typed differ; nothing was written."
                    " Try again.",
                    path=self.path,
                )
        except EOFError as exc:
            raise PassphraseRequired(
                f"{self.path}: no passphrase could be read from the terminal;"
                f" set {ENV_PASSPHRASE}.",
                path=self.path,
            ) from exc
        return _Passphrase(first, "prompt")

    def _unlock(self, doc: _Document, passphrase: _Passphrase) -> bytes:
        """The file's key for ``passphrase``, verified against the file's check value."""
        key = _derive_key(doc.kdf, passphrase.value)
        if _decrypt(key, doc.check, _CHECK_AAD) != _CHECK_MARKER:
            _forget_key(doc.kdf, passphrase.value)
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
        """Hold ``<file>.lock`` (creating the directory, mode 0700) for a modification."""
        from filelock import FileLock, Timeout

        path = self.path
        lock_path = path.with_name(path.name + ".lock")
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            lock = FileLock(lock_path, timeout=_LOCK_TIMEOUT_S, mode=0o600)
            lock.acquire()
        except Timeout as exc:
            raise FileKeyringError(
                f"{path}: another process held {lock_path} for {_LOCK_TIMEOUT_S:g} s; try again.",
                path=path,
            ) from exc
        except OSError as exc:
            raise FileKeyringError(
                f"{path}: cannot lock the sessman keyring file ({exc.strerror or exc});"
                f" check the permissions of {path.parent}.",
                path=path,
            ) from exc
        try:
            yield
        finally:
            lock.release()

    def _write(self, doc: _Document) -> None:
        try:
            write_atomic(self.path, doc.to_bytes(), mode=0o600)
        except OSError as exc:
            raise FileKeyringError(
                f"{self.path}: cannot write the sessman keyring file ({exc.strerror or exc});"
                " it was left as it was.",
                path=self.path,
            ) from exc
