"""Which keyring backend sessman uses, and how that choice is made and remembered.

A pin in the profiles file (``keyring_backend:``), ``PYTHON_KEYRING_BACKEND``,
keyringrc.cfg, or the system keyring ``keyring`` resolves; where there is
none, sessman's encrypted file keyring. Resolving probes every installed
backend, so the answer is remembered in the state directory. A test harness
passes its own backend in (:func:`isolated_backend`); such a process-local
backend never reaches another process.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

from . import trust
from .errors import ConfigError, KeyringUnavailable, UnsafePath

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

__all__ = [
    "FILE_KEYRING",
    "backend_label",
    "cannot_keep_secrets",
    "isolated_backend",
    "process_local",
    "resolve_backend",
    "unavailable",
]

FILE_KEYRING = "sessman.filekeyring.EncryptedFileKeyring"
_CACHE_NAME = "keyring-backend.json"
#: Backends a test harness put in place of every other, the innermost last
#: (see :func:`isolated_backend`); empty outside tests.
_ISOLATED: list[KeyringBackend] = []


@contextmanager
def isolated_backend(backend: KeyringBackend) -> Iterator[KeyringBackend]:
    """Make :func:`resolve_backend` return ``backend`` until the block ends.

    A pinned ``keyring_backend:`` and ``PYTHON_KEYRING_BACKEND`` are ignored
    meanwhile: the test harness (:func:`sessman.testing.isolated_keyring`)
    passes its backend in, so that tests never reach a real keyring.
    """
    _ISOLATED.append(backend)
    try:
        yield backend
    finally:
        _ISOLATED.remove(backend)


def process_local(backend: KeyringBackend) -> bool:
    """Whether ``backend`` keeps its secrets in this process's memory only.

    Such a backend is one a test harness isolated, or one whose class says
    ``process_local = True``; no other process (a sessman agent) may hold
    its secrets.
    """
    isolated = any(b is backend for b in _ISOLATED)
    return isolated or getattr(type(backend), "process_local", False) is True


def backend_label(backend: KeyringBackend) -> str:
    """``module.Class`` of a backend: what users write in keyring_backend."""
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def unavailable(backend: str, action: str, exc: BaseException) -> KeyringUnavailable:
    """The one error for a keyring that would not do what was asked."""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    hint = (
        "unlock the keyring, or pin another backend with keyring_backend: in the"
        " profiles file (run `sessman doctor` for details)"
    )
    if "passphrase" in detail.lower():  # the file keyring's message says what to do
        from .agent.client import fallback_hint

        hint = fallback_hint() or (
            "set SESSMAN_KEYRING_PASSPHRASE to the keyring file's passphrase, or run on a terminal"
        )
    if isinstance(exc.__cause__, UnsafePath):  # the keyring file or its directory is not private
        hint = exc.__cause__.fix
    return KeyringUnavailable(f"keyring {backend} could not {action}: {detail}", hint=hint)


def resolve_backend(
    pinned: str | None = None,
    *,
    state_dir: Path | None = None,
    note: Callable[[str], None] | None = None,
) -> KeyringBackend:
    """Return the keyring backend sessman uses.

    ``pinned`` (``keyring_backend:`` in the profiles file) wins. Otherwise the
    one ``keyring`` resolves (``PYTHON_KEYRING_BACKEND``, keyringrc.cfg, the
    system keyring); where that is keyring's "fail" backend, sessman's
    encrypted file keyring, announced once through ``note``.

    Resolving probes every installed backend (about 130 ms here), so the
    answer is remembered in ``state_dir`` for as long as the environment that
    decides it (the variables and keyringrc.cfg) does not change.
    """
    import keyring.core

    if _ISOLATED:
        return _ISOLATED[-1]
    from_env = os.environ.get("PYTHON_KEYRING_BACKEND")
    if pinned:
        return _load(pinned, pinned=True)
    if from_env:
        return _load(from_env, pinned=False)
    fingerprint = _fingerprint()
    cache = state_dir / _CACHE_NAME if state_dir is not None else None
    if cache is not None:
        remembered = _read_cache(cache, fingerprint)
        if remembered is not None:
            try:
                return _load(remembered, pinned=False)
            except (KeyringUnavailable, ConfigError):
                pass
    backend = keyring.get_keyring()
    if _is_failing(backend):
        from .filekeyring import EncryptedFileKeyring

        backend = EncryptedFileKeyring()
    label = backend_label(backend)
    if label == FILE_KEYRING and note is not None:
        note(
            "no system keyring found; using sessman's encrypted file keyring"
            f" ({getattr(backend, 'path', '?')})"
        )
    if cache is not None:
        _write_cache(cache, fingerprint, label)
    return backend


#: Modules of backends that accept a secret and keep nothing (or always fail).
_NO_SECRETS_MODULES = frozenset({"keyring.backends.null", "keyring.backends.fail"})


def cannot_keep_secrets(backend: KeyringBackend) -> bool:
    """Whether ``backend`` throws secrets away or refuses them (null, fail, empty chain)."""
    return type(backend).__module__ in _NO_SECRETS_MODULES or _is_failing(backend)


def _is_failing(backend: KeyringBackend) -> bool:
    from keyring.backends import chainer, fail

    if isinstance(backend, fail.Keyring):
        return True
    return isinstance(backend, chainer.ChainerBackend) and not backend.backends


def _load(name: str, *, pinned: bool) -> KeyringBackend:
    import keyring.core

    if name == FILE_KEYRING:  # named by the user: viable even before its file exists
        from .filekeyring import EncryptedFileKeyring

        return EncryptedFileKeyring()
    try:
        return keyring.core.load_keyring(name)
    except (ImportError, AttributeError, ValueError, TypeError) as exc:
        message = f"cannot load keyring backend {name!r}: {exc}"
        if pinned:
            raise ConfigError(message, key="keyring_backend") from exc
        raise KeyringUnavailable(message) from exc
    except Exception as exc:  # the backend's own "not usable here" (RuntimeError, D-Bus)
        raise unavailable(name, "start", exc) from exc


def _fingerprint() -> str:
    from keyring.util import platform_

    rc = Path(platform_.config_root()) / "keyringrc.cfg"
    try:
        rc_stamp = str(rc.stat().st_mtime_ns)
    except OSError:
        rc_stamp = "-"
    parts = [
        sys.executable,
        os.environ.get("DBUS_SESSION_BUS_ADDRESS", ""),
        os.environ.get("XDG_CURRENT_DESKTOP", ""),
        os.environ.get("KEYRING_PROPERTY_PATH", ""),
        str(rc),
        rc_stamp,
    ]
    return "\x1f".join(parts)


def _read_cache(path: Path, fingerprint: str) -> str | None:
    try:
        raw = trust.read_private(path)
        data = json.loads(raw) if raw is not None else None
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("fingerprint") != fingerprint:
        return None
    backend = data.get("backend")
    return backend if isinstance(backend, str) and _installed_backend(backend) else None


def _installed_backend(name: str) -> bool:
    """Whether ``name`` is a class path of an installed backend that keeps secrets.

    A cached name is never imported blindly (importing a module runs it):
    only modules of ``keyring.backends``, of an installed ``keyring.backends``
    entry point, or sessman's own file keyring qualify, and the class must be
    a :class:`keyring.backend.KeyringBackend` subclass that can keep secrets.
    """
    import importlib
    from importlib.metadata import entry_points

    from keyring.backend import KeyringBackend

    module, _, cls_name = name.rpartition(".")
    if not module or not cls_name.isidentifier():
        return False
    allowed = module == FILE_KEYRING.rpartition(".")[0] or module.startswith("keyring.backends.")
    if not allowed:
        allowed = any(
            module == ep.module or module.startswith(ep.module + ".")
            for ep in entry_points(group="keyring.backends")
        )
    if not allowed or module in _NO_SECRETS_MODULES:
        return False
    try:
        cls = getattr(importlib.import_module(module), cls_name, None)
    except ImportError:
        return False
    return isinstance(cls, type) and issubclass(cls, KeyringBackend)


def _write_cache(path: Path, fingerprint: str, backend: str) -> None:
    payload = json.dumps({"fingerprint": fingerprint, "backend": backend}).encode()
    with suppress(OSError):  # only a cache: the next run resolves again
        trust.write_private(path, payload)
