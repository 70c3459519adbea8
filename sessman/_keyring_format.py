"""The file format of sessman's encrypted file keyring, and its cryptography.

Version 2 (written by this sessman)::

    {"format": "sessman-keyring", "version": 2,
     "kdf": {"name": "argon2id", "salt": b64, "memory_kib": 19456,
             "iterations": 2, "lanes": 1},
     "check": b64(nonce || AES-GCM(marker)),
     "header_sha256": hex SHA-256 of [format, version, kdf, check],
     "entries": {service: {username: b64(nonce || AES-GCM(password))}},
     "index_mac": b64 HMAC-SHA256 of the entries, under a key from the passphrase}

- Argon2id (RFC 9106) at OWASP's minimum or more (m = 19 MiB, t = 2, p = 1);
  the parameters are stored, and a file asking for less is refused.
- ``header_sha256`` is not secret: a damaged header (salt, parameters,
  check) is reported as damage, never as a wrong passphrase.
- ``index_mac`` authenticates the index (which service and user names
  exist, and which blob is whose): a removed, added or swapped entry is
  detected whenever the passphrase is used. Each value is also AES-256-GCM
  encrypted with its service and user name as associated data.

Version 1 (scrypt N=2^14, no header checksum, no index MAC) is still read;
the backend re-encrypts such a file in version 2 on its next write.

Errors, all ``keyring`` errors with a one-line message naming the file and
the next step::

    keyring.errors.KeyringError
    └── FileKeyringError            the file cannot be read, written or locked
        ├── KeyringFileDamaged      not a sessman keyring file (never overwritten)
        └── PassphraseError         (also a keyring.errors.KeyringLocked)
            ├── PassphraseRequired  no variable and no terminal, or prompts differ
            └── WrongPassphrase     the passphrase does not open the file

``cryptography`` is imported only inside the functions that need it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keyring.errors import KeyringError, KeyringLocked

FORMAT = "sessman-keyring"
VERSION = 2
LEGACY_VERSION = 1

# Argon2id: OWASP's minimum for data at rest, about 21 ms here. It is paid
# once per process (``sessman credential-process`` pays it per SDK fetch).
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_ITERATIONS = 2
ARGON2_LANES = 1
# Upper bounds for parameters read from a file: a garbled or hostile file
# must not ask for gigabytes of memory or minutes of work.
_MAX_ARGON2_MEMORY_KIB = 1024 * 1024
_MAX_ARGON2_ITERATIONS = 64
_MAX_ARGON2_LANES = 16
_MAX_SCRYPT_MEMORY = 2**28  # version 1: 256 MiB = 128 * n * r
_MAX_SCRYPT_P = 16

SALT_BYTES = 16
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16

CHECK_MARKER = b"sessman-keyring passphrase check"
_INDEX_LABEL = b"sessman-keyring index"

# Derived keys per (KDF description, SHA-256 of the passphrase), for this
# process only: never written anywhere. Small: a process uses one file.
_KEY_CACHE: dict[tuple[str, bytes], bytes] = {}
_KEY_CACHE_MAX = 8
_KEY_LOCK = threading.Lock()


def forget_keys() -> None:
    """Drop every derived key this process holds (the agent's ``lock``)."""
    with _KEY_LOCK:
        _KEY_CACHE.clear()


# -- errors --------------------------------------------------------------------


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


# -- the document ----------------------------------------------------------------


@dataclass(frozen=True)
class Kdf:
    """Key derivation of one file: Argon2id (version 2) or scrypt (version 1)."""

    name: str
    salt: bytes
    params: tuple[int, ...]  # argon2id: memory_kib, iterations, lanes; scrypt: n, r, p

    @classmethod
    def fresh(cls) -> Kdf:
        """Parameters for a new file: a new random salt, today's cost."""
        params = (ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, ARGON2_LANES)
        return cls("argon2id", os.urandom(SALT_BYTES), params)

    @property
    def current(self) -> bool:
        """Whether this is what a new file gets (else re-encrypt on the next write)."""
        return self.name == "argon2id" and self.params >= (
            ARGON2_MEMORY_KIB,
            ARGON2_ITERATIONS,
            ARGON2_LANES,
        )

    def to_json(self) -> dict[str, Any]:
        """The ``kdf`` object of the file."""
        names = ("memory_kib", "iterations", "lanes") if self.name == "argon2id" else "nrp"
        return {
            "name": self.name,
            "salt": b64(self.salt),
            **dict(zip(names, self.params, strict=True)),
        }

    def derive(self, passphrase: str) -> bytes:
        """The AES key for ``passphrase``: derived once, then the process cache."""
        secret = passphrase.encode("utf-8")
        ident = (json.dumps(self.to_json(), sort_keys=True), hashlib.sha256(secret).digest())
        # One lock: threads asking at once derive the key once, not once each.
        with _KEY_LOCK:
            key = _KEY_CACHE.get(ident)
            if key is None:
                key = self._derive(secret)
                if len(_KEY_CACHE) >= _KEY_CACHE_MAX:
                    _KEY_CACHE.clear()
                _KEY_CACHE[ident] = key
            return key

    def forget(self, passphrase: str) -> None:
        """Drop a key that turned out to be wrong from the process cache."""
        secret = passphrase.encode("utf-8")
        ident = (json.dumps(self.to_json(), sort_keys=True), hashlib.sha256(secret).digest())
        _KEY_CACHE.pop(ident, None)

    def _derive(self, secret: bytes) -> bytes:
        if self.name == "argon2id":
            from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

            memory, iterations, lanes = self.params
            return Argon2id(
                salt=self.salt,
                length=KEY_BYTES,
                iterations=iterations,
                lanes=lanes,
                memory_cost=memory,
            ).derive(secret)
        from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

        n, r, p = self.params
        return Scrypt(salt=self.salt, length=KEY_BYTES, n=n, r=r, p=p).derive(secret)


@dataclass
class Document:
    """A parsed keyring file: version, KDF, passphrase check, encrypted entries."""

    version: int
    kdf: Kdf
    check: bytes
    entries: dict[str, dict[str, bytes]] = field(default_factory=dict)
    index_mac: bytes | None = None

    @classmethod
    def new(cls, passphrase: str) -> tuple[Document, bytes]:
        """An empty version-2 document for ``passphrase``, and its key."""
        kdf = Kdf.fresh()
        key = kdf.derive(passphrase)
        return cls(VERSION, kdf, encrypt(key, CHECK_MARKER, check_aad(VERSION, kdf))), key

    def to_bytes(self, key: bytes) -> bytes:
        """Serialise as version 2 (ASCII JSON, stable order), the index MAC made with ``key``."""
        assert self.version == VERSION
        entries = _entries_json(self.entries)
        doc = {
            "format": FORMAT,
            "version": VERSION,
            "kdf": self.kdf.to_json(),
            "check": b64(self.check),
            "header_sha256": header_sha256(self.kdf, self.check),
            "entries": entries,
            "index_mac": b64(index_mac(key, entries)),
        }
        return (json.dumps(doc, indent=2, ensure_ascii=True) + "\n").encode("ascii")

    def verify_index(self, key: bytes, path: Path) -> None:
        """Raise :class:`KeyringFileDamaged` if the entries are not the ones written."""
        if self.version == LEGACY_VERSION:
            return  # version 1 had no index MAC; rewritten as version 2 on the next write
        expected = index_mac(key, _entries_json(self.entries))
        if self.index_mac is None or not hmac.compare_digest(expected, self.index_mac):
            raise KeyringFileDamaged(path, "its index of entries fails authentication")


def _entries_json(entries: dict[str, dict[str, bytes]]) -> dict[str, dict[str, str]]:
    return {
        service: {user: b64(blob) for user, blob in sorted(users.items())}
        for service, users in sorted(entries.items())
    }


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def header_sha256(kdf: Kdf, check: bytes) -> str:
    text = json.dumps([FORMAT, VERSION, kdf.to_json(), b64(check)], sort_keys=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def index_mac(key: bytes, entries: dict[str, dict[str, str]]) -> bytes:
    """HMAC of the whole index, under a subkey of the file key."""
    subkey = hmac.new(key, _INDEX_LABEL, hashlib.sha256).digest()
    text = json.dumps(entries, sort_keys=True, ensure_ascii=True)
    return hmac.new(subkey, text.encode("ascii"), hashlib.sha256).digest()


def check_aad(version: int, kdf: Kdf) -> bytes:
    if version == LEGACY_VERSION:
        return json.dumps([FORMAT, LEGACY_VERSION, "check"]).encode("ascii")
    return json.dumps([FORMAT, version, "check", kdf.to_json()], sort_keys=True).encode("ascii")


def entry_aad(version: int, service: str, username: str) -> bytes:
    """Associated data binding a value to its place, so entries cannot be swapped."""
    return json.dumps([FORMAT, version, "entry", service, username]).encode("ascii")


def encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def decrypt(key: bytes, blob: bytes, aad: bytes) -> bytes | None:
    """The plaintext, or ``None`` when the key or the associated data do not match."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except InvalidTag:
        return None


# -- parsing ---------------------------------------------------------------------


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


def _ints(kdf: dict[str, Any], names: tuple[str, ...], path: Path) -> tuple[int, ...]:
    values = tuple(kdf.get(n) for n in names)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise KeyringFileDamaged(path, f"{kdf.get('name')} parameters are not integers")
    return values  # type: ignore[return-value]


def _kdf(doc: dict[str, Any], version: int, path: Path) -> Kdf:
    kdf = doc.get("kdf")
    if not isinstance(kdf, dict):
        raise KeyringFileDamaged(path, "'kdf' is not an object")
    if version == LEGACY_VERSION:
        if kdf.get("name") != "scrypt":
            raise KeyringFileDamaged(path, "'kdf' is not an scrypt description")
        n, r, p = _ints(kdf, ("n", "r", "p"), path)
        if n < 2 or n & (n - 1) or r < 1 or not 1 <= p <= _MAX_SCRYPT_P:
            raise KeyringFileDamaged(path, "scrypt parameters out of range")
        if 128 * n * r > _MAX_SCRYPT_MEMORY:
            raise KeyringFileDamaged(path, "scrypt parameters out of range")
        params: tuple[int, ...] = (n, r, p)
    else:
        if kdf.get("name") != "argon2id":
            raise KeyringFileDamaged(path, "'kdf' is not an argon2id description")
        memory, iterations, lanes = _ints(kdf, ("memory_kib", "iterations", "lanes"), path)
        if memory < ARGON2_MEMORY_KIB or iterations < ARGON2_ITERATIONS or lanes < ARGON2_LANES:
            raise KeyringFileDamaged(
                path, "argon2id parameters below the minimum (m=19 MiB, t=2, p=1)"
            )
        if (
            memory > _MAX_ARGON2_MEMORY_KIB
            or iterations > _MAX_ARGON2_ITERATIONS
            or lanes > _MAX_ARGON2_LANES
            or memory < 8 * lanes
        ):
            raise KeyringFileDamaged(path, "argon2id parameters out of range")
        params = (memory, iterations, lanes)
    salt = _unb64(kdf.get("salt"), f"the {kdf['name']} salt", path, SALT_BYTES)
    return Kdf(str(kdf["name"]), salt, params)


def parse(raw: bytes, path: Path) -> Document:
    """Parse and validate the whole file, or raise :class:`KeyringFileDamaged`."""
    if not raw.strip():
        raise KeyringFileDamaged(path, "the file is empty")
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise KeyringFileDamaged(path, "not valid JSON") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise KeyringFileDamaged(path, f"no 'format': {FORMAT!r} marker")
    version = doc.get("version")
    if version not in (VERSION, LEGACY_VERSION) or isinstance(version, bool):
        if isinstance(version, int) and not isinstance(version, bool) and version > VERSION:
            raise KeyringFileDamaged(
                path, f"format version {version} is newer than this sessman; upgrade sessman"
            )
        raise KeyringFileDamaged(path, f"unknown format version {version!r}")

    kdf = _kdf(doc, version, path)
    check = _unb64(doc.get("check"), "'check'", path, NONCE_BYTES + TAG_BYTES)
    mac = None
    if version == VERSION:
        stored = doc.get("header_sha256")
        if not isinstance(stored, str) or not hmac.compare_digest(
            stored, header_sha256(kdf, check)
        ):
            raise KeyringFileDamaged(path, "its header checksum does not match")
        mac = _unb64(doc.get("index_mac"), "'index_mac'", path, 32)

    raw_entries = doc.get("entries")
    if not isinstance(raw_entries, dict):
        raise KeyringFileDamaged(path, "'entries' is not an object")
    entries: dict[str, dict[str, bytes]] = {}
    for service, users in raw_entries.items():
        if not isinstance(users, dict):
            raise KeyringFileDamaged(path, f"entries of service {service!r} are not an object")
        entries[service] = {
            user: _unb64(
                blob, f"entry {user!r} of service {service!r}", path, NONCE_BYTES + TAG_BYTES
            )
            for user, blob in users.items()
        }
    return Document(version, kdf, check, entries, mac)
