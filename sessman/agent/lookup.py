"""The agent's answer to ``credential-process``: a stored open session, or a miss.

The agent finds the profiles file, state directory and keyring file the
way the asking process would (its working directory and its ``SESSMAN_*``
variables; the home and XDG directories must be the agent's own), loads
the profiles through the same cache and reads the session with the same
:class:`~sessman.manager.SessionManager` code as the ordinary path. Any
doubt is a miss: the client then takes the ordinary path, which reports
errors, prompts for MFA and opens sessions. Nothing here opens a session
or talks to AWS.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from sessman.filekeyring import EncryptedFileKeyring
    from sessman.secretstore import SecretStore


__all__ = ["credential_process", "warm_up"]

FILE_KEYRING = "sessman.filekeyring.EncryptedFileKeyring"


def _refusal(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error": code, "message": message, **extra}


def warm_up() -> None:
    """Import what :func:`credential_process` needs, so the first hand-over is fast too."""
    import sessman.config_cache
    import sessman.exports
    import sessman.manager
    import sessman.secretstore  # noqa: F401


def _checked(request: dict[str, Any]) -> dict[str, Any] | None:
    """A refusal when the request is malformed, else ``None``."""
    env = request.get("env")
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in env.items()
    ):
        return _refusal("bad-request", "env must map names to strings")
    if not isinstance(request.get("profile"), str) or not isinstance(request.get("cwd"), str):
        return _refusal("bad-request", "credential_process needs profile and cwd")
    if request.get("config") is not None and not isinstance(request.get("config"), str):
        return _refusal("bad-request", "config must be a path or null")
    min_ttl = request.get("min_ttl")
    if min_ttl is not None and (
        isinstance(min_ttl, bool) or not isinstance(min_ttl, int | float) or not min_ttl >= 0
    ):
        return _refusal("bad-request", "min_ttl must be a number >= 0")
    return None


def _profiles_file(request: dict[str, Any], env: dict[str, str]) -> Path | None:
    """The profiles file the client would read, or ``None`` when there is none."""
    from sessman.locations import config_candidates

    cwd = Path(request["cwd"])
    given = request.get("config")
    candidates = [Path(given)] if given else config_candidates(env)
    for candidate in candidates:
        path = cwd / candidate.expanduser()
        if path.is_file():
            return path
    return None


class _Remembered:
    """The secrets the agent holds for one backend and service: a read-only store."""

    def __init__(
        self, recall: Callable[[str, str, str], str | None], backend: str, service: str
    ) -> None:
        self._recall = recall
        self.backend_name = backend
        self._service = service

    def get(self, user: str) -> str | None:
        return self._recall(self.backend_name, self._service, user)

    def put(self, user: str, secret: str) -> None:
        raise NotImplementedError("the agent's lookup only reads")

    def delete(self, user: str) -> bool:
        raise NotImplementedError("the agent's lookup only reads")

    def present(self, users: Iterable[str]) -> set[str]:
        return {u for u in users if self.get(u) is not None}


def _store(
    keyring: EncryptedFileKeyring | None,
    recall: Callable[[str, str, str], str | None],
    label: str,
    service: str,
    env: dict[str, str],
) -> SecretStore | None:
    """Where the client's secrets are, as the agent sees them; ``None``: not here."""
    from sessman.secretstore import KeyringStore

    from .client import backend_id

    if label == FILE_KEYRING:
        return None if keyring is None else KeyringStore(service, keyring)
    backend = backend_id(label, env)
    return None if backend is None else _Remembered(recall, backend, service)


def credential_process(
    keyring: EncryptedFileKeyring | None,
    recall: Callable[[str, str, str], str | None],
    request: dict[str, Any],
) -> dict[str, Any]:
    """The credentials of the stored session the request names (their fields), or a miss.

    The client writes the ``credential_process`` document from them
    (:func:`sessman.exports.process_document`): the agent never does.

    ``keyring`` is the agent's unlocked file keyring (if any); ``recall``
    what it holds of other backends.
    """
    from sessman.backends import backend_label, resolve_backend
    from sessman.config_cache import load_cached
    from sessman.errors import SessmanError
    from sessman.exports import process_fields, process_min_ttl
    from sessman.locations import keyring_file, state_dir
    from sessman.manager import SessionManager
    from sessman.yamlnodes import env_names

    bad = _checked(request)
    if bad is not None:
        return bad
    env: dict[str, str] = request["env"]
    for name in protocol.SHARED_VARIABLES:
        if name == "PYTHON_KEYRING_BACKEND" and env.get(name):
            continue  # named by the client: no resolution in the agent's environment
        if env.get(name) != os.environ.get(name):
            return _refusal("miss", f"{name} differs between the agent and the client")
    if keyring is not None and Path(os.path.abspath(keyring_file(env))) != keyring.path:
        keyring = None  # the client's file keyring is another file
    where = _profiles_file(request, env)
    if where is None:
        return _refusal("miss", "no profiles file")
    try:
        data = where.read_bytes()
    except OSError:
        return _refusal("miss", "the profiles file cannot be read")
    names = sorted(env_names(data.decode("utf-8", "replace")))
    if names and not request.get("env_complete"):
        return _refusal("need-env", "the profiles file references variables", names=names)
    state = Path(os.path.abspath(state_dir(env)))
    try:
        config = load_cached(where, state, env)
        label = config.keyring_backend or env.get("PYTHON_KEYRING_BACKEND")
        if not label:
            label = backend_label(resolve_backend(None, state_dir=state))
        store = _store(keyring, recall, label, config.keyring_service, env)
        if store is None:
            return _refusal("miss", f"the agent holds nothing of {label}")
        manager = SessionManager(config, store=store, state_dir=state, note=None)
        profile = manager.profile(request["profile"])
        min_ttl = request.get("min_ttl")
        ttl = process_min_ttl(profile) if min_ttl is None else float(min_ttl)
        if ttl >= profile.session_duration:
            return _refusal("miss", "min_ttl cannot be met")
        creds = manager.stored_credentials(profile.name, min_ttl=ttl)
    except SessmanError as exc:
        return _refusal("miss", " ".join(str(exc).split()))
    if creds is None:
        return _refusal("miss", "no open session with enough time left")
    return {"ok": True, "credentials": process_fields(creds)}
