"""A parsed copy of the profiles file, so hot paths skip YAML.

``sessman credential-process`` runs every time an SDK wants credentials;
importing PyYAML and validating every profile would be most of its cost.
The validated :class:`~sessman.config.Config` is kept as JSON in the state
directory, keyed by a hash of the file's bytes, the values of the
environment variables it references and sessman's version, so any change
to any of them parses the file again. The cache holds nothing the profiles
file does not (no secrets); a damaged or unwritable cache is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import asdict
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ._atomic import write_atomic
from .config import (
    Config,
    Profile,
    Retries,
    SsoSession,
    find_config,
    parse_config,
    read_profiles,
)

__all__ = ["load_cached"]

_ENV_REF = re.compile(rb"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def load_cached(
    path: str | os.PathLike[str] | None,
    cache_dir: Path,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Like :func:`~sessman.config.load_config`, through the cache in ``cache_dir``."""
    from . import __version__

    env = os.environ if env is None else env
    where = find_config(path)
    data = read_profiles(where)
    digest = hashlib.sha256(__version__.encode() + b"\0" + data)
    for name in sorted(set(_ENV_REF.findall(data))):
        value = env.get(name.decode())
        digest.update(b"\0" + name + b"=" + (b"\1" + value.encode() if value is not None else b""))
    key = digest.hexdigest()
    slot = hashlib.sha256(str(where.resolve()).encode()).hexdigest()[:32]
    cached = cache_dir / "config-cache" / f"{slot}.json"
    found = _read(cached, key, where)
    if found is not None:
        return found
    config = parse_config(data, where, env)
    payload = {"key": key, "config": _to_json(config)}
    with suppress(OSError):
        write_atomic(cached, json.dumps(payload).encode())
    return config


def _to_json(config: Config) -> dict[str, Any]:
    return {
        "keyring_service": config.keyring_service,
        "keyring_backend": config.keyring_backend,
        "profiles": [asdict(p) for p in config.profiles.values()],
        "sso_sessions": [asdict(s) for s in config.sso_sessions.values()],
    }


def _read(cached: Path, key: str, where: Path) -> Config | None:
    try:
        payload = json.loads(cached.read_bytes())
        if payload["key"] != key:
            return None
        data = payload["config"]
        profiles = {}
        for raw in data["profiles"]:
            fields = {**raw, "retries": Retries(**raw["retries"]), "tags": tuple(raw["tags"])}
            profiles[raw["name"]] = Profile(**fields)
        sso_sessions = {
            raw["name"]: SsoSession(
                **{**raw, "registration_scopes": tuple(raw["registration_scopes"])}
            )
            for raw in data["sso_sessions"]
        }
        return Config(
            path=where,
            keyring_service=data["keyring_service"],
            keyring_backend=data["keyring_backend"],
            profiles=MappingProxyType(profiles),
            sso_sessions=MappingProxyType(sso_sessions),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
