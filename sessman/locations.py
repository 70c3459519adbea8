"""Where sessman keeps its files, and the environment variables that move them.

Nothing is created here; callers create directories when they first write.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["config_candidates", "keyring_file", "state_dir"]

APP = "sessman"


def config_candidates(env: Mapping[str, str] | None = None) -> list[Path]:
    """The profiles file used when no ``--config`` is given, as an absolute path.

    ``SESSMAN_CONFIG`` when set, else the one in the user config directory.
    Never the current directory: a ``profiles.yaml`` in a cloned repository
    must not decide where the user's credentials are sent.
    """
    env = os.environ if env is None else env
    if env.get("SESSMAN_CONFIG"):
        return [Path(env["SESSMAN_CONFIG"]).expanduser().absolute()]
    import platformdirs

    return [(platformdirs.user_config_path(APP) / "profiles.yaml").absolute()]


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """Directory of the open sessions' metadata (``SESSMAN_STATE_DIR`` overrides)."""
    env = os.environ if env is None else env
    if env.get("SESSMAN_STATE_DIR"):
        return Path(env["SESSMAN_STATE_DIR"]).expanduser().absolute()
    import platformdirs

    return platformdirs.user_state_path(APP)


def keyring_file(env: Mapping[str, str] | None = None) -> Path:
    """The encrypted file keyring (``SESSMAN_KEYRING_FILE`` overrides)."""
    env = os.environ if env is None else env
    if env.get("SESSMAN_KEYRING_FILE"):
        return Path(env["SESSMAN_KEYRING_FILE"]).expanduser().absolute()
    import platformdirs

    return platformdirs.user_data_path(APP) / "keyring.enc"
