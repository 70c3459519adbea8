"""A parsed copy of the profiles file, so hot paths skip YAML.

``sessman credential-process`` runs every time an SDK wants credentials;
importing PyYAML and validating every profile would be most of its cost.
The validated :class:`~sessman.config.Config` is kept as JSON in the state
directory. A cache is an optimisation, never a source of truth, so an entry is used only when all of these hold:

- its key matches: sessman's version, the SHA-256 of the file's bytes, and
  the names and values of the ``${VAR}`` the loader really expanded (not a
  regex over the bytes);
- its HMAC matches, under a random per-user key kept (0600) beside it: a
  key anyone who can read the profiles file can compute is no protection,
  so an entry forged without that key is ignored;
- every value passes the loader's own check of its declared field
  (:func:`sessman.fieldcheck.problem`), the rules across keys hold (one
  credential source, known source profiles) and the file's path is the one
  asked for.

Anything else (a damaged, forged or foreign entry) falls back to parsing the
file. The cache holds nothing the profiles file does not (no secrets).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import MISSING, asdict, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

from . import fileformat as fmt
from . import trust
from .config import Config, Profile, Retries, find_config, parse_config_tracked, read_profiles
from .fieldcheck import problem

__all__ = ["load_cached"]

_KEY_FILE = "cache.key"
_PROFILE_FIELDS = {f.name for f in fields(Profile)}
_REQUIRED = {f.name for f in fields(Profile) if f.default is MISSING}
_SPECS = {f.name: f for f in fmt.PROFILE_FIELDS}
#: The credential source of each kind an entry may hold: not sso, whose
#: sessions an entry never holds (such a config is not kept).
_SOURCES = {kind: source for source, kind in fmt.SOURCE_KINDS.items() if kind != "sso"}


def _ok(spec: fmt.Field, value: Any) -> bool:
    """Whether ``value`` passes the loader's check of ``spec``."""
    return problem(spec, value) is None


def load_cached(
    path: str | os.PathLike[str] | None,
    cache_dir: Path,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Like :func:`~sessman.config.load_config`, through the cache in ``cache_dir``."""
    env = os.environ if env is None else env
    where = find_config(path)
    data = read_profiles(where)
    try:  # the state dir itself: refused (UnsafePath) before anything is made in it
        trust.check_dir(cache_dir)
    except OSError:  # unusable (not a directory, ...): only a cache, so go without
        return parse_config_tracked(data, where, env)[0]
    directory = cache_dir / "config-cache"
    slot = hashlib.sha256(str(where).encode()).hexdigest()[:32]
    cached = directory / f"{slot}.json"
    found = _read(cached, _secret(directory, create=False), data, env, where)
    if found is not None:
        return found
    config, expanded = parse_config_tracked(data, where, env)
    if config.sso_sessions:  # not kept: the entry's re-check knows no sso sessions
        return config
    secret = _secret(directory, create=True)  # only once there is something to keep
    if secret is not None:
        names = sorted(expanded)
        body = {"key": _key(data, names, env), "env": names, "config": _to_json(config)}
        payload = json.dumps(body, sort_keys=True)
        entry = {"mac": _mac(secret, payload), "body": payload}
        with suppress(OSError):
            trust.write_private(cached, json.dumps(entry).encode())
    return config


def _key(data: bytes, names: list[str], env: Mapping[str, str]) -> str:
    """What the entry depends on: version, file bytes, expanded variables."""
    from ._version import __version__

    digest = hashlib.sha256(__version__.encode() + b"\0" + hashlib.sha256(data).digest())
    for name in names:
        value = env.get(name)
        digest.update(
            b"\0" + name.encode() + (b"=\1" + value.encode() if value is not None else b"")
        )
    return digest.hexdigest()


def _mac(secret: bytes, payload: str) -> str:
    return hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()


def _secret(directory: Path, *, create: bool) -> bytes | None:
    """The per-user HMAC key of the cache (made if ``create``); ``None`` if there is none."""
    path = directory / _KEY_FILE
    if not create and not directory.exists():
        return None
    try:
        raw = trust.read_private(path)
        if raw is None and create:
            trust.write_private(path, os.urandom(32).hex().encode())
            raw = trust.read_private(path)
    except OSError:
        return None
    return bytes.fromhex(raw.decode()) if raw and len(raw) == 64 else None


def _to_json(config: Config) -> dict[str, Any]:
    return {
        "path": str(config.path),
        "keyring_service": config.keyring_service,
        "keyring_backend": config.keyring_backend,
        "profiles": [asdict(p) for p in config.profiles.values()],
        "sso_sessions": [asdict(s) for s in config.sso_sessions.values()],
    }


def _read(
    cached: Path, secret: bytes | None, data: bytes, env: Mapping[str, str], where: Path
) -> Config | None:
    if secret is None:
        return None
    try:
        raw = trust.read_private(cached)
        if raw is None:
            return None
        entry = json.loads(raw)
        payload = entry["body"]
        if not isinstance(payload, str) or not hmac.compare_digest(
            str(entry["mac"]), _mac(secret, payload)
        ):
            return None
        body = json.loads(payload)
        names = body["env"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            return None
        if body["key"] != _key(data, names, env):
            return None
        return _config(body["config"], where)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _config(data: dict[str, Any], where: Path) -> Config | None:
    """The cached Config, re-checked as the loader checks it; ``None`` on any doubt."""
    if data["path"] != str(where):
        return None
    service, backend = data["keyring_service"], data["keyring_backend"]
    top = {f.name: f for f in fmt.TOP_FIELDS}
    if not _ok(top["keyring_service"], service) or not (
        backend is None or _ok(top["keyring_backend"], backend)
    ):
        return None
    profiles: dict[str, Profile] = {}
    for raw in data["profiles"]:
        if set(raw) != _PROFILE_FIELDS:
            return None
        retries = raw["retries"]
        if set(retries) != {"mode", "max_attempts"} or not _ok(_SPECS["retries"], retries):
            return None
        tags = raw["tags"]
        if not isinstance(tags, list) or not _ok(_SPECS["tags"], tags):
            return None
        profile = Profile(**{**raw, "retries": Retries(**retries), "tags": tuple(tags)})
        if not _profile_ok(profile) or profile.name in profiles:
            return None
        profiles[profile.name] = profile
    for p in profiles.values():
        if p.source_profile is not None and p.source_profile not in profiles:
            return None
    if not profiles:
        return None
    return Config(
        path=where,
        keyring_service=service,
        keyring_backend=backend,
        profiles=MappingProxyType(profiles),
    )


def _profile_ok(p: Profile) -> bool:
    if not isinstance(p.name, str) or not re.fullmatch(fmt.PROFILE_NAME_PATTERN, p.name):
        return False
    source = _SOURCES.get(p.kind)
    if source is None or any(
        (getattr(p, s) is not None) != (s == source) for s in fmt.CREDENTIAL_SOURCES
    ):
        return False
    if (p.kind == "role") != (p.source_profile is not None):
        return False
    for key, needs in fmt.DEPENDENCIES.items():  # the declared rules across keys
        if getattr(p, key) is not None and any(getattr(p, n) is None for n in needs):
            return False
    for key, others in fmt.EXCLUSIONS.items():
        if getattr(p, key) is not None and any(getattr(p, o) is not None for o in others):
            return False
    for name in _PROFILE_FIELDS - {"name", "kind", "retries", "tags"}:
        value = getattr(p, name)
        if value is None:
            if name in _REQUIRED:
                return False
            continue
        spec = _SPECS.get(name)
        if spec is None or not _ok(spec, value):
            return False
    return True
