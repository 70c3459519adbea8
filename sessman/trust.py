"""The trust rules of sessman's own files, in one place.

Every reader and writer of the state directory, the caches, the lock files
and the file keyring goes through here, so that another local user can
neither read what sessman keeps nor redirect what it writes:

- directories sessman creates are made 0700 by sessman itself, whatever the
  umask (parents that already exist are left alone);
- before a read or a write, the directory (and the file, when it exists)
  must belong to the current user and must not be writable by group or
  others; otherwise :class:`UnsafePath` (exit 1) names the path and the fix;
- a symlink is never followed: files are opened with ``O_NOFOLLOW`` and a
  symlink where sessman writes is refused, never written through or over.

Only the profiles file, which the user names, may be a symlink; it is read
by :mod:`sessman.config`, which asks :func:`check_profiles_file` about it:
it may also belong to root, and is refused only when another user could
change it (it decides where requests signed with the user's keys go).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from ._atomic import link_refused, make_dirs, refuse_symlink, write_atomic
from .errors import UnsafePath

__all__ = [
    "UnsafePath",
    "check_dir",
    "check_profiles_file",
    "locked",
    "make_dirs",
    "private_dir",
    "read_private",
    "refuse_symlink",
    "write_private",
]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
#: The biggest file of its own sessman reads (state, caches, keyring).
MAX_BYTES = 64 * 1024 * 1024


def _uid() -> int:
    return os.geteuid()


def _check_stat(path: Path, st: os.stat_result, what: str) -> None:
    """Refuse ``st`` unless it belongs to us and only we may write it."""
    private = "700" if what == "directory" else "600"
    if st.st_uid != _uid():
        raise UnsafePath(
            path,
            f"this {what} belongs to uid {st.st_uid}, not to you (uid {_uid()})",
            f"move it away, or chown it to yourself and chmod {private} {path}",
        )
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        mode = stat.S_IMODE(st.st_mode)
        fix = f"chmod {private} {path}"
        if st.st_mode & stat.S_ISVTX:  # a shared directory such as /tmp: not to be chmodded
            fix = f"keep sessman's files in a private directory, not in {path}"
        raise UnsafePath(path, f"this {what} is writable by other users (mode {mode:04o})", fix)


def check_dir(path: Path) -> None:
    """Refuse a directory that is not ours or that others may write.

    A missing directory passes (it is made private when first written); a
    path that is not a directory is an ``OSError`` like any unusable path.
    When ``path`` itself is a symlink, the link must be ours (or root's: a
    link another user planted is refused, whatever it points to) and its
    target is checked like any directory.
    """
    try:
        link = os.lstat(path)
        st = os.stat(path) if stat.S_ISLNK(link.st_mode) else link
    except FileNotFoundError:
        return
    if stat.S_ISLNK(link.st_mode) and link.st_uid not in (_uid(), 0):
        raise UnsafePath(
            path,
            f"this symlink was made by uid {link.st_uid}, not by you (uid {_uid()})",
            f"remove the link (rm {path}) and let sessman make the directory",
        )
    if not stat.S_ISDIR(st.st_mode):
        raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(path))
    _check_stat(path, st, "directory")


def private_dir(path: Path) -> Path:
    """``path`` as a directory of sessman's own: created 0700, ours, not writable by others."""
    make_dirs(path)
    check_dir(path)
    return path


def check_profiles_file(where: Path, st: os.stat_result) -> None:
    """Refuse the profiles file ``where`` (``st``: its opened target) if others may change it.

    The file (a symlink the user named is followed: its target counts) must
    belong to the user or to root and not be writable by group or others;
    the directory of the target, and that of the link, must not let another
    user replace it: owned by the user or root, and not writable by group or
    others unless it has the sticky bit (``/tmp``).
    """
    real = Path(os.path.realpath(where))
    owners = (_uid(), 0)
    if st.st_uid not in owners:
        raise UnsafePath(
            real,
            f"this profiles file belongs to uid {st.st_uid}, not to you (uid {_uid()}),"
            " so its owner decides where your requests go",
            f"copy it to a file of your own (cp {real} ~/my-profiles.yaml) and use that,"
            f" or chown it to yourself and chmod go-w {real}",
        )
    if _writable_by_others(st):
        raise UnsafePath(
            real,
            f"this profiles file is writable by other users (mode {stat.S_IMODE(st.st_mode):04o}),"
            " so they decide where your requests go",
            f"chmod go-w {real}",
        )
    for directory in dict.fromkeys((real.parent, where.absolute().parent)):
        try:
            dst = os.stat(directory)
        except OSError:
            continue  # the file was opened through it a moment ago; nothing to check
        if dst.st_uid not in owners:
            raise UnsafePath(
                directory,
                f"the directory of the profiles file belongs to uid {dst.st_uid}, not to you"
                f" (uid {_uid()}): its owner can replace the file",
                "keep the profiles file in a directory of your own",
            )
        if _writable_by_others(dst) and not dst.st_mode & stat.S_ISVTX:
            mode = stat.S_IMODE(dst.st_mode)
            raise UnsafePath(
                directory,
                f"the directory of the profiles file is writable by other users (mode"
                f" {mode:04o}): they can replace the file",
                f"chmod go-w {directory}",
            )


def _writable_by_others(st: os.stat_result) -> bool:
    """Whether a user other than you may write it: other-writable, or group-writable
    for a group that is not your own private group (a Debian-style user private
    group, where ``umask 002`` makes 0664 files and 0775 directories)."""
    if st.st_mode & stat.S_IWOTH:
        return True
    return bool(st.st_mode & stat.S_IWGRP) and not _private_group(st.st_gid)


def _private_group(gid: int) -> bool:
    """Whether ``gid`` is your primary group and nobody else is a member of it."""
    import grp
    import pwd

    if gid != os.getgid():
        return False
    try:
        members = grp.getgrgid(gid).gr_mem
        me = pwd.getpwuid(_uid()).pw_name
    except KeyError:
        return False
    return all(member == me for member in members)


def _refuse_link(path: Path) -> None:
    """Refuse a symlink, or a file of someone else's, where sessman will write."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise link_refused(path)
    if not stat.S_ISREG(st.st_mode):
        raise UnsafePath(path, "this is not a regular file", f"move it away: mv {path} {path}.old")
    _check_stat(path, st, "file")


def read_private(path: Path, *, limit: int = MAX_BYTES) -> bytes | None:
    """The bytes of one of sessman's own files, or ``None`` when it does not exist.

    The directory and the file must be private (:class:`UnsafePath` if not);
    a symlink is refused, never followed.
    """
    check_dir(path.parent)
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError:
        if os.path.islink(path):
            _refuse_link(path)
        raise
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise UnsafePath(
                path, "this is not a regular file", f"move it away: mv {path} {path}.old"
            )
        _check_stat(path, st, "file")
        if st.st_size > limit:
            raise OSError(f"{path} is larger than {limit} bytes")
        return fh.read(limit + 1)[:limit]


def write_private(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Atomically replace one of sessman's own files, never through a symlink."""
    private_dir(path.parent)
    _refuse_link(path)
    write_atomic(path, data, mode=mode, follow_symlinks=False)


@contextlib.contextmanager
def locked(path: Path, *, timeout: float = -1, private: bool = True) -> Iterator[None]:
    """Hold the lock file ``path`` (in a private directory, never a symlink).

    ``private=False`` leaves the directory as it is (the profiles file's
    directory is the user's, not sessman's); the lock file itself is still
    0600, ours, and never a symlink.
    """
    from filelock import FileLock

    if private:
        private_dir(path.parent)
    _refuse_link(path)
    with FileLock(path, timeout=timeout, mode=0o600):
        yield
