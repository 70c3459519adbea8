"""Atomic, private file writes: the one way sessman writes user data.

With the two primitives they need and :mod:`sessman.trust` builds on:
directories made 0700 whatever the umask, and no symlink where sessman
keeps a file of its own.
"""

from __future__ import annotations

import contextlib
import glob
import os
import stat
import tempfile
import time
from pathlib import Path

from .errors import UnsafePath

__all__ = ["link_refused", "make_dirs", "refuse_symlink", "write_atomic"]


def make_dirs(path: Path) -> None:
    """Create ``path`` and its missing parents, each mode 0700 whatever the umask."""
    missing: list[Path] = []
    current = path
    while not os.path.lexists(current) and current != current.parent:
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            continue  # another process made it a moment ago: it is checked, not chmodded
        os.chmod(directory, 0o700)  # the umask may have taken bits away, never added


def link_refused(path: Path) -> UnsafePath:
    """The refusal of a symlink where sessman keeps a file of its own."""
    return UnsafePath(
        path,
        "this is a symlink where sessman keeps a file of its own; it was left untouched",
        f"remove the link: rm {path}",
    )


def refuse_symlink(path: Path) -> None:
    """Refuse a symlink at ``path`` (lstat: the link itself, never its target)."""
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISLNK(os.lstat(path).st_mode):
            raise link_refused(path)


def write_atomic(
    path: Path,
    data: bytes,
    *,
    mode: int = 0o600,
    overwrite: bool = True,
    follow_symlinks: bool = True,
) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file.

    The data goes to a temporary file in the same directory, is fsynced, gets
    ``mode`` and is renamed over ``path``; the directory is fsynced too, so a
    crash at any point leaves either the old content or the new one. With
    ``overwrite=False`` the file is linked into place instead, which fails
    with :class:`FileExistsError` when ``path`` exists, even if another
    process created it a moment ago.

    A symlink at ``path`` is written through (a dotfiles repository: never
    replaced by a file) when ``follow_symlinks`` is true, and refused with
    :class:`~sessman.errors.UnsafePath` otherwise. Missing parent
    directories are made 0700 whatever the umask; existing ones are left
    alone.
    """
    if follow_symlinks:
        path = Path(os.path.realpath(path)) if path.is_symlink() else path
    else:
        refuse_symlink(path)
    make_dirs(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
            os.unlink(tmp)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _remove_stale(path)
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


#: A temporary file this old was left by a writer that was killed mid-write.
STALE_SECONDS = 600


def _remove_stale(path: Path) -> None:
    """Delete temporary files of ``path`` that killed writers left behind."""
    now = time.time()
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        with contextlib.suppress(OSError):
            if now - leftover.stat().st_mtime > STALE_SECONDS:
                leftover.unlink()
