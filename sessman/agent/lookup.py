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
    from sessman.filekeyring import EncryptedFileKeyring

__all__ = ["credential_process", "warm_up"]

FILE_KEYRING = "sessman.filekeyring.EncryptedFileKeyring"


def _refusal(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error": code, "message": message, **extra}


def warm_up() -> None:
    """Import what :func:`credential_process` needs, so the first hand-over is fast too."""
    import sessman.config_cache
    import sessman.handover
    import sessman.manager
    import sessman.secrets  # noqa: F401


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


def credential_process(keyring: EncryptedFileKeyring, request: dict[str, Any]) -> dict[str, Any]:
    """The ``credential_process`` JSON of the stored session the request names, or a miss."""
    from sessman.config import _ENV_RE
    from sessman.config_cache import load_cached
    from sessman.errors import SessmanError
    from sessman.handover import process_json, process_min_ttl
    from sessman.locations import keyring_file, state_dir
    from sessman.manager import SessionManager
    from sessman.secrets import KeyringStore, backend_label, resolve_backend

    bad = _checked(request)
    if bad is not None:
        return bad
    env: dict[str, str] = request["env"]
    for name in protocol.SHARED_VARIABLES:
        if env.get(name) != os.environ.get(name) and env.get(name) != FILE_KEYRING:
            return _refusal("miss", f"{name} differs between the agent and the client")
    if Path(os.path.abspath(keyring_file(env))) != Path(os.path.abspath(keyring.path)):
        return _refusal("miss", "another keyring file")
    where = _profiles_file(request, env)
    if where is None:
        return _refusal("miss", "no profiles file")
    try:
        data = where.read_bytes()
    except OSError:
        return _refusal("miss", "the profiles file cannot be read")
    names = sorted(set(_ENV_RE.findall(data.decode("utf-8", "replace"))))
    if names and not request.get("env_complete"):
        return _refusal("need-env", "the profiles file references variables", names=names)
    state = Path(os.path.abspath(state_dir(env)))
    try:
        config = load_cached(where, state, env)
        if config.keyring_backend not in (None, FILE_KEYRING):
            return _refusal("miss", "the profiles file pins another keyring")
        resolves = env.get("PYTHON_KEYRING_BACKEND") != FILE_KEYRING and not config.keyring_backend
        if resolves and backend_label(resolve_backend(None, state_dir=state)) != FILE_KEYRING:
            return _refusal("miss", "this machine resolves another keyring")
        store = KeyringStore(config.keyring_service, keyring)
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
    return {"ok": True, "document": process_json(creds)}
