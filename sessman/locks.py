"""Per-profile locks shared by every sessman process of a user.

Opening or renewing a session holds the profile's lock, so eight
``credential-process`` calls started at once make one STS session: the
first opens and stores it, the others wait and then use what it stored.
The lock is an ``flock`` on a file in ``<state dir>/locks``: the kernel
releases it when its holder exits or dies, so a lock left by a crashed
process is simply taken over, and a waiter waits exactly as long as the
holder is alive (no timeout that would open a second session on a busy
machine). Waiting can be interrupted with Ctrl-C.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from .errors import SessmanError

__all__ = ["lock_path", "profile_lock"]


def lock_path(state_dir: Path, service: str, profile: str) -> Path:
    """The lock file of ``profile`` of keyring service ``service``."""
    name = f"{quote(service, safe='')}--{quote(profile, safe='')}.lock"
    return state_dir / "locks" / name


@contextmanager
def profile_lock(state_dir: Path, service: str, profile: str) -> Iterator[None]:
    """Hold the cross-process lock of one profile for the block (blocking)."""
    import fcntl

    path = lock_path(state_dir, service, profile)
    try:
        _own_directory(path.parent)
        # Never through a symlink: the lock file is sessman's own.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise SessmanError(
            f"cannot create the lock file {path}: {exc.strerror or exc}",
            hint=f"check the owner and permissions of {path.parent}",
        ) from exc
    try:
        _check_owner(path, os.fstat(fd))
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def _own_directory(directory: Path) -> None:
    """Create ``directory`` 0700 (whatever the umask), or check the one that is there."""
    from .trust import make_dirs

    make_dirs(directory)  # every missing parent 0700 too
    info = os.lstat(directory)
    if not stat.S_ISDIR(info.st_mode):
        raise SessmanError(
            f"{directory} is not a directory", hint=f"remove it: sessman recreates {directory}"
        )
    _check_owner(directory, info)


def _check_owner(path: Path, info: os.stat_result) -> None:
    """Stop unless ``path`` is the current user's and not writable by group or others."""
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise SessmanError(
            f"{path} belongs to another user or is writable by others;"
            " sessman will not use it as a lock",
            hint=f"chmod {'600' if stat.S_ISREG(info.st_mode) else '700'} {path}"
            " (and chown it to yourself), or remove it",
        )
