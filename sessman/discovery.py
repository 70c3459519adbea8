"""Where the profiles file is, and reading it safely.

``--config`` / ``SESSMAN_CONFIG`` / the user config dir, never the current
directory; a file another user could change is refused.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ConfigError
from .locations import config_candidates

__all__ = ["MAX_BYTES", "find_config", "read_profiles"]

MAX_BYTES = 16 * 1024 * 1024


def find_config(path: str | os.PathLike[str] | None = None) -> Path:
    """Return the profiles file to use: ``path``, else the first candidate that exists."""
    if path is not None:
        return Path(path).expanduser().absolute()
    candidates = config_candidates()
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise ConfigError(
        f"no profiles file found (tried {tried})",
        hint="create one with: sessman init  (or pass --config PATH, or set SESSMAN_CONFIG)",
    )


def read_profiles(where: Path) -> bytes:
    """The bytes of the profiles file at ``where``, or a ConfigError saying why not.

    A file (or directory) that another user could change is refused with
    :class:`~sessman.errors.UnsafePath` (see :func:`sessman.trust.check_profiles_file`).
    """
    from .trust import check_profiles_file

    try:
        with open(where, "rb") as fh:
            st = os.fstat(fh.fileno())
            check_profiles_file(where, st)
            data = fh.read(MAX_BYTES + 1) if st.st_size <= MAX_BYTES else b""
            if st.st_size > MAX_BYTES or len(data) > MAX_BYTES:
                raise ConfigError(f"file is larger than {MAX_BYTES // 2**20} MiB", path=str(where))
    except FileNotFoundError:
        raise ConfigError(
            "profiles file not found", path=str(where), hint="create one with: sessman init"
        ) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a profiles file", path=str(where)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=str(where)) from None
    return data
