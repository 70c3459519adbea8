"""Rotate a profile's long-term access key without ever losing a working one.

The order matters and is the one AWS recommends: make a second key, wait
until AWS accepts it (real IAM takes seconds to spread a new key), store it
and write its id into the profiles file, then deactivate and delete the old
key signed with the new one (which proves the new one works), and finally
close the sessions the old key opened. A failure at any step leaves a
working key stored and raises :class:`RotationFailed`, whose message names
the state the account is in and what to do next.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from sessman import credentials as cr
from sessman.credentials import Keys, translating
from sessman.errors import SecretNotFound, SessmanError, UsageError
from sessman.profiles_text import editing, read_text, replace_value, save
from sessman.shapes import fits

from ._clients import client_with

if TYPE_CHECKING:
    from sessman.config import Profile
    from sessman.manager import SessionManager

__all__ = ["RotationFailed", "RotationResult", "delete_other", "rotate"]

#: How long to wait for AWS to accept a new key (real IAM: 10-15 s).
WAIT_SECONDS = 60.0
#: First pause between tries; it doubles up to MAX_DELAY.
FIRST_DELAY = 0.5
MAX_DELAY = 8.0
#: How long IAM calls signed with the new key are tried again while IAM does
#: not know it yet (it may lag behind STS).
NEW_KEY_GRACE = 20.0
_USER_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:user/(?:[\w+=,.@/-]*/)?([\w+=,.@-]+)$")


@dataclass(frozen=True)
class RotationResult:
    """What a finished rotation did (no secrets)."""

    name: str
    user: str
    old_access_key_id: str
    new_access_key_id: str
    profiles: tuple[str, ...]
    closed: tuple[str, ...]
    waited: float

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "user": self.user,
            "old_access_key_id": self.old_access_key_id,
            "new_access_key_id": self.new_access_key_id,
            "profiles": list(self.profiles),
            "closed": list(self.closed),
            "waited_seconds": round(self.waited, 1),
        }


class RotationFailed(SessmanError):
    """A step of the rotation failed; ``state`` says where the account stands.

    ``state`` is ``unchanged`` (only the old key exists), ``both keys exist``,
    ``old key inactive`` or ``old key deleted``. A working key is stored in
    every case.
    """

    def __init__(self, message: str, *, state: str, hint: str) -> None:
        super().__init__(message, hint=hint)
        self.state = state


@dataclass
class _Rotation:
    """The facts a rotation has gathered so far, for its messages."""

    manager: SessionManager
    name: str
    profile: Profile
    old: Keys
    sharing: list[str]
    user: str = ""
    arn: str = ""
    new: Keys | None = field(default=None, repr=False)
    first_delay: float = FIRST_DELAY
    sleep: Callable[[float], None] = time.sleep


def rotate(
    manager: SessionManager,
    name: str,
    *,
    wait: float = WAIT_SECONDS,
    first_delay: float = FIRST_DELAY,
    sleep: Callable[[float], None] = time.sleep,
) -> RotationResult:
    """Replace profile ``name``'s access key with a new one (see the module docstring).

    Every keys profile of the file with the same access key id is updated
    too. ``manager`` keeps the configuration it loaded: load the file again
    to use the new key id.
    """
    job = _start(manager, name, writes_file=True)
    job.first_delay, job.sleep = first_delay, sleep
    p = job.profile
    iam = client_with(manager, name, "iam", job.old)
    with translating(p):
        keys = iam.list_access_keys(UserName=job.user)["AccessKeyMetadata"]
    others = [str(k["AccessKeyId"]) for k in keys if k["AccessKeyId"] != p.access_key_id]
    if others and len(keys) >= 2:
        raise SessmanError(
            f"IAM user {job.user!r} already has two access keys ({p.access_key_id} and"
            f" {others[0]}); AWS allows two, so there is no room for a new one. Nothing changed",
            hint=f"if {others[0]} (the key sessman does not store) is unused, delete it first:"
            f" sessman rotate {name} --delete-other {others[0]}",
        )
    with translating(p):
        created = iam.create_access_key(UserName=job.user)["AccessKey"]
    new_id, new_secret = str(created.get("AccessKeyId", "")), created.get("SecretAccessKey")
    if not fits(new_id, "AccessKeyId") or not fits(new_secret, "SecretAccessKey"):
        raise SessmanError(
            f"CreateAccessKey for IAM user {job.user!r} answered a malformed key; nothing stored",
            hint=f"check the user's keys in the IAM console (delete {new_id or 'the new key'})",
        )
    job.new = Keys(new_id, new_secret)
    try:
        waited = _wait_for_new_key(job, wait)
    except RotationFailed:
        raise
    except BaseException as exc:  # Ctrl-C or the unforeseen: never leave the new key behind
        _undo_new_key(job, f"checking the new key failed ({_reason(exc)})")
    _store(job)
    closed = _retire_old_key(job)
    return RotationResult(
        name=name,
        user=job.user,
        old_access_key_id=job.old.access_key_id,
        new_access_key_id=new_id,
        profiles=tuple(job.sharing),
        closed=closed,
        waited=waited,
    )


def _start(manager: SessionManager, name: str, *, writes_file: bool = False) -> _Rotation:
    """Check the profile, read its secret and find the IAM user it signs as.

    With ``writes_file``, the file must be able to take a new key id (written
    literally, not ``${VAR}``): a usage error before anything else happens.
    """
    p = manager.profile(name)
    if p.kind != "keys" or p.access_key_id is None:
        raise UsageError(
            f"profile {name!r} is {_article(p.kind)} {p.kind} profile: only a profile with"
            " access_key_id has a long-term key to rotate",
            hint=_source_hint(manager, p),
        )
    sharing = [
        n
        for n in manager.names()
        if manager.profile(n).kind == "keys" and manager.profile(n).access_key_id == p.access_key_id
    ]
    if writes_file:  # prove the file can take the new id before anything changes
        _new_text(manager, sharing, "A" * 20)
    secret = manager.store.get(name)
    if not secret:
        raise SecretNotFound(
            f"no secret access key stored for profile {name!r}",
            hint=f"store one with: sessman secret set {name}",
        )
    job = _Rotation(manager, name, p, Keys(p.access_key_id, secret), sharing)
    with translating(p):
        identity = cr.caller_identity(client_with(manager, name, "sts", job.old), name)
    match = _USER_ARN.match(identity.arn)
    if match is None:
        raise SessmanError(
            f"profile {name!r} signs as {identity.arn}, not as an IAM user: only an IAM user's"
            " keys can be rotated here",
            hint="rotate root keys in the AWS console (and better, delete them)",
        )
    job.user, job.arn = match.group(1), identity.arn
    return job


def _article(kind: str) -> str:
    return "an" if kind[:1] in "aeiou" else "a"


def _source_hint(manager: SessionManager, p: Profile) -> str | None:
    """Name the keys profile at the end of ``p``'s source chain, if there is one."""
    seen: set[str] = set()
    current = p
    while current.source_profile is not None and current.source_profile not in seen:
        seen.add(current.source_profile)
        current = manager.profile(current.source_profile)
        if current.kind == "keys":
            return f"rotate the key it comes from: sessman rotate {current.name}"
    if current.kind == "aws-profile":
        return (
            f"its credentials come from AWS profile {current.aws_profile!r} of ~/.aws:"
            " rotate them with the AWS CLI or console"
        )
    return None


def delete_other(manager: SessionManager, name: str, key_id: str) -> RotationResult:
    """Deactivate and delete the IAM user's other key ``key_id``, signed with the stored key.

    The last steps of a rotation that stopped half-way (the messages of
    :class:`RotationFailed` name the command), or making room for one: the
    key must belong to the same user and must not be the one sessman stores.
    Sessions of the profile are closed afterwards, as after a rotation.
    """
    if not fits(key_id, "AccessKeyId"):
        raise UsageError(f"{key_id!r} is not an access key id")
    job = _start(manager, name)
    if key_id == job.old.access_key_id:
        raise UsageError(
            f"{key_id} is the key profile {name!r} uses; sessman deletes only the other key"
        )
    with translating(job.profile):
        listed = client_with(manager, name, "iam", job.old).list_access_keys(UserName=job.user)
    if key_id not in {k["AccessKeyId"] for k in listed["AccessKeyMetadata"]}:
        raise SessmanError(
            f"{key_id} is not an access key of IAM user {job.user!r} (any more); nothing deleted"
        )
    # Retire it as a rotation retires its old key: the stored key signs.
    retiring = _Rotation(manager, name, job.profile, Keys(key_id, "-"), job.sharing, job.user)
    retiring.new = job.old
    closed = _retire_old_key(retiring)
    return RotationResult(
        name=name,
        user=job.user,
        old_access_key_id=key_id,
        new_access_key_id=job.old.access_key_id,
        profiles=tuple(job.sharing),
        closed=closed,
        waited=0.0,
    )


def _new_text(manager: SessionManager, sharing: list[str], key_id: str) -> str:
    path = manager.config.path
    text = read_text(path)
    for n in sharing:
        text = replace_value(text, n, "access_key_id", key_id, path)
    return text


def _wait_for_new_key(job: _Rotation, wait: float) -> float:
    """GetCallerIdentity with the new key, with backoff, until it works or ``wait`` passes."""
    assert job.new is not None
    sts = client_with(job.manager, job.name, "sts", job.new)
    start = time.monotonic()
    delay = job.first_delay
    while True:
        try:
            with translating(job.profile):
                seen = cr.caller_identity(sts, job.name)
            if seen.arn == job.arn:
                return time.monotonic() - start
            reason = f"the new key signs as {seen.arn}, not {job.arn}"
        except SessmanError as exc:  # not accepted yet, unreachable, throttled: try again
            reason = exc.message
        elapsed = time.monotonic() - start
        if elapsed + delay > wait:
            _undo_new_key(job, f"AWS did not accept the new key within {wait:g} s ({reason})")
        job.sleep(delay)
        delay = min(delay * 2, MAX_DELAY)


def _undo_new_key(job: _Rotation, reason: str) -> NoReturn:
    """Delete the new key again (signed with the old one) and raise RotationFailed."""
    assert job.new is not None
    new_id = job.new.access_key_id
    try:
        with translating(job.profile):
            client_with(job.manager, job.name, "iam", job.old).delete_access_key(
                UserName=job.user, AccessKeyId=new_id
            )
    except Exception as exc:
        raise RotationFailed(
            f"rotation of profile {job.name!r} stopped: {reason}. State: both keys exist;"
            f" the old key {job.old.access_key_id} is still stored and works, the new key"
            f" {new_id} could not be deleted again ({_reason(exc)})",
            state="both keys exist",
            hint=f"delete the unused new key, then rotate again:"
            f" sessman rotate {job.name} --delete-other {new_id}",
        ) from exc
    raise RotationFailed(
        f"rotation of profile {job.name!r} stopped: {reason}. State: unchanged; the new key"
        f" {new_id} was deleted again and the old key {job.old.access_key_id} is still stored",
        state="unchanged",
        hint=f"try again later: sessman rotate {job.name}",
    )


def _store(job: _Rotation) -> None:
    """Store the new secret for every sharing profile and write the new id into the file.

    The file is written last; if that fails, the old secrets are put back,
    so the stored secret always matches the file's key id. The file is read
    again and written under its edit lock, so a concurrent edit is kept.
    """
    assert job.new is not None
    store = job.manager.store
    previous: dict[str, str | None] = {}
    try:
        with editing(job.manager.config.path):
            text = _new_text(job.manager, job.sharing, job.new.access_key_id)
            for n in job.sharing:
                previous[n] = store.get(n)
                store.put(n, job.new.secret_access_key)
            save(job.manager.config.path, text)
    except Exception as exc:
        with contextlib.suppress(Exception):  # the old key stays valid in AWS either way
            for n, old in previous.items():
                if old is not None:
                    store.put(n, old)
        _undo_new_key(job, f"the new key could not be stored ({_reason(exc)})")


def _retire_old_key(job: _Rotation) -> tuple[str, ...]:
    """Deactivate, then delete, the old key signed with the new one; close old sessions."""
    assert job.new is not None
    iam = client_with(job.manager, job.name, "iam", job.new)
    old_id, new_id = job.old.access_key_id, job.new.access_key_id
    stored = f"the new key {new_id} is stored and written to {job.manager.config.path}"
    try:
        _patiently(
            job,
            lambda: iam.update_access_key(UserName=job.user, AccessKeyId=old_id, Status="Inactive"),
        )
    except Exception as exc:
        raise RotationFailed(
            f"rotation of profile {job.name!r} stopped: deactivating the old key failed"
            f" ({_reason(exc)}). State: both keys exist; {stored}, the old key {old_id} is"
            " still active",
            state="both keys exist",
            hint=f"finish with: sessman rotate {job.name} --delete-other {old_id}",
        ) from exc
    try:
        _patiently(job, lambda: iam.delete_access_key(UserName=job.user, AccessKeyId=old_id))
    except Exception as exc:
        raise RotationFailed(
            f"rotation of profile {job.name!r} stopped: deleting the old key failed"
            f" ({_reason(exc)}). State: old key inactive; {stored}, the old key {old_id} is"
            " inactive but not deleted",
            state="old key inactive",
            hint=f"finish with: sessman rotate {job.name} --delete-other {old_id}",
        ) from exc
    doomed = _opened_with(job)
    try:
        return tuple(n for n in doomed if job.manager.close(n))
    except Exception as exc:
        raise RotationFailed(
            f"rotation of profile {job.name!r}: the key was rotated but closing its sessions"
            f" failed ({_reason(exc)}). State: old key deleted; {stored}",
            state="old key deleted",
            hint=f"close them: sessman close {' '.join(doomed)}",
        ) from exc


def _patiently(job: _Rotation, call: Callable[[], object]) -> None:
    """Make an IAM call signed with the new key, again while IAM does not know the key yet.

    STS may accept a new key a little before IAM does; only "unknown key"
    answers are tried again (for up to NEW_KEY_GRACE seconds), never a denial.
    """
    start, delay = time.monotonic(), job.first_delay
    while True:
        try:
            with translating(job.profile):
                call()
            return
        except SessmanError as exc:
            code = _code(exc.__cause__)
            late = time.monotonic() - start + delay > NEW_KEY_GRACE
            if code not in ("InvalidClientTokenId", "SignatureDoesNotMatch") or late:
                raise
        job.sleep(delay)
        delay = min(delay * 2, MAX_DELAY)


def _code(exc: BaseException | None) -> str:
    """The AWS error code of a botocore ClientError, else ``""``."""
    response = getattr(exc, "response", None)
    error = response.get("Error", {}) if isinstance(response, dict) else {}
    return str(error.get("Code", "")) if isinstance(error, dict) else ""


def _reason(exc: BaseException) -> str:
    """What went wrong, fit to show: sessman's own message, else only the kind of error."""
    if isinstance(exc, SessmanError):
        return exc.message
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return type(exc).__name__


def _opened_with(job: _Rotation) -> list[str]:
    """The rotated profiles and every role whose source chain leads to one of them."""
    manager = job.manager
    out = []
    for n in manager.names():
        current: str | None = n
        while current is not None:
            if current in job.sharing:
                out.append(n)
                break
            current = manager.profile(current).source_profile
    return out
