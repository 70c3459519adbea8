"""The credential server's policy: fresh credentials, renewed ahead, handed over safely.

SDKs know how to refresh from a local endpoint that speaks the ECS
container-credentials protocol (``AWS_CONTAINER_CREDENTIALS_FULL_URI`` plus
``Authorization: <token>``), so a 12-hour job asks again by itself. This
module decides what that endpoint answers and when it renews:

- :class:`RenewingCredentials` holds the answer ready (one JSON document,
  built once per renewal) and renews it from a background thread well
  before the SDKs' windows (botocore refreshes 15 minutes ahead): with 20
  minutes left, or half the lifetime of a shorter session. A request reads
  what is ready and never waits on STS, the keyring or a prompt. A renewal
  that fails keeps the current credentials in service until they expire,
  says so on stderr once, and is retried.
- :class:`TokenFile` hands the token over in a 0600 file without a trailing
  newline (botocore rejects one) in a 0700 directory of its own.
- :class:`CredentialServer` ties them to a :class:`~sessman._http.LoopbackServer`.

Two variables tune the timing, for tests (a session cannot be shorter than
900 s at AWS): ``SESSMAN_SERVER_RENEW_AHEAD`` (seconds of lifetime left at
which to renew) and ``SESSMAN_SERVER_RETRY`` (seconds between attempts after
a failed renewal).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path
from typing import TYPE_CHECKING

from ._http import Answer, LoopbackServer, json_answer
from ._log import get_logger
from .credentials import TemporaryCredentials
from .errors import SessmanError, UsageError
from .fileformat import SESSION_DURATION
from .refresh import RENEW_AHEAD, renew_ahead
from .shapes import aws_timestamp

logger = get_logger(__name__)

if TYPE_CHECKING:
    from .manager import SessionManager

__all__ = [
    "CHAINED_ROLE_MAX",
    "RENEW_AHEAD",
    "CredentialServer",
    "RenewingCredentials",
    "Timing",
    "TokenFile",
    "container_document",
    "manager_source",
    "served_duration",
    "timing",
]

#: Seconds between attempts after a failed renewal.
RETRY = 30.0
#: AWS caps a role assumed with another role's credentials at one hour.
CHAINED_ROLE_MAX = 3600
#: The most either timing variable may say: the longest session served (the
#: declared bound of session_duration, 12 hours).
MAX_SECONDS = SESSION_DURATION[1]
AHEAD_VARIABLE = "SESSMAN_SERVER_RENEW_AHEAD"
RETRY_VARIABLE = "SESSMAN_SERVER_RETRY"
URI_VARIABLE = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
TOKEN_FILE_VARIABLE = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
TOKEN_VARIABLE = "AWS_CONTAINER_AUTHORIZATION_TOKEN"

#: What a source gives: credentials, and the account they belong to if known.
Fetched = tuple[TemporaryCredentials, "str | None"]


@dataclass(frozen=True)
class Timing:
    """When to renew (``ahead`` seconds before expiry) and how soon to retry."""

    ahead: float
    retry: float


def _seconds(environ: Mapping[str, str], name: str) -> float | None:
    text = environ.get(name)
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    # Not ``inf`` nor a day's worth: a timer that long overflows the clock.
    if not 0 < value <= MAX_SECONDS:
        raise UsageError(
            f"{name} must be a number of seconds above 0 and at most {MAX_SECONDS}, not {text!r}"
        )
    return value


def timing(duration: int, environ: Mapping[str, str] = os.environ) -> Timing:
    """The renewal timing for sessions of ``duration`` seconds.

    :func:`sessman.refresh.renew_ahead` (20 minutes ahead, or half of a
    shorter session) unless ``SESSMAN_SERVER_RENEW_AHEAD`` says otherwise.
    """
    ahead = _seconds(environ, AHEAD_VARIABLE)
    if ahead is None:
        ahead = renew_ahead(duration)
    elif ahead >= duration:
        raise UsageError(
            f"{AHEAD_VARIABLE}={ahead:g} cannot be met by sessions of {duration} s",
            hint=f"set it below {duration}",
        )
    retry = _seconds(environ, RETRY_VARIABLE)
    return Timing(ahead, RETRY if retry is None else retry)


def container_document(creds: TemporaryCredentials, account: str | None) -> bytes:
    """The body the ECS container-credentials protocol expects."""
    data = {
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key,
        "Token": creds.session_token,
        "Expiration": aws_timestamp(creds.expires),
    }
    if account:
        data["AccountId"] = account
    return json.dumps(data).encode()


def _unavailable(message: str) -> Answer:
    return json_answer(503, {"Code": "CredentialsUnavailable", "Message": message})


class RenewingCredentials:
    """Credentials of one profile, kept fresh by a background thread.

    ``fetch`` returns credentials with more than ``timing.ahead`` seconds
    left (renewing them when needed); it runs once in :meth:`start`, in
    the caller's thread (where prompts are allowed), then only in the
    background. :meth:`answer` is what every request gets.
    """

    def __init__(
        self,
        name: str,
        fetch: Callable[[], Fetched],
        timing: Timing,
        *,
        note: Callable[[str], None] | None = None,
    ) -> None:
        self.name = name
        self._fetch = fetch
        self._timing = timing
        self._note = note
        # (expiry as a Unix time, the body): replaced whole, read without a lock.
        self._ready: tuple[float, bytes] = (0.0, b"")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.renewals = 0

    def __repr__(self) -> str:
        return f"RenewingCredentials({self.name!r}, renewals={self.renewals})"

    def start(self) -> None:
        """Fetch the first credentials (errors propagate), then renew in the background."""
        creds = self._publish(self._fetch())
        self._thread = threading.Thread(
            target=self._run, args=(creds,), name=f"sessman-renew-{self.name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """End the renewal thread (a renewal under way is left to finish on its own)."""
        self._stop.set()

    def answer(self) -> Answer:
        """The current credentials, or 503 once they have expired unrenewed."""
        expires, body = self._ready
        if time.time() >= expires:
            return _unavailable(f"the credentials of profile {self.name!r} expired unrenewed")
        return 200, body

    def _publish(self, fetched: Fetched) -> TemporaryCredentials:
        creds, account = fetched
        self._ready = (creds.expires.timestamp(), container_document(creds, account))
        return creds

    def _run(self, creds: TemporaryCredentials) -> None:
        failing = expired = False
        delay = max(creds.remaining() - self._timing.ahead, self._timing.retry)
        while not self._stop.wait(delay):
            try:
                fetched = self._fetch()
            except Exception as exc:
                delay = self._timing.retry
                if self._stop.is_set():
                    return
                if not failing:
                    failing = True
                    self._say(logging.WARNING, self._failure(exc, creds))
                elif not expired and creds.remaining() <= 0:
                    expired = True
                    self._say(
                        logging.WARNING,
                        f"the credentials of profile {self.name!r} have expired: requests"
                        " get 503 until a renewal succeeds",
                    )
                continue
            if failing:
                failing = expired = False
                self._say(logging.INFO, f"credentials of profile {self.name!r} renewed again")
            if fetched[0] != creds:
                self.renewals += 1
            creds = self._publish(fetched)
            delay = max(creds.remaining() - self._timing.ahead, self._timing.retry)

    def _say(self, level: int, message: str) -> None:
        """A note on this module's logger, or to ``note`` when one was given."""
        if self._note is not None:
            self._note(message)
        else:
            logger.log(level, "%s", message)

    def _failure(self, exc: Exception, creds: TemporaryCredentials) -> str:
        # Only sessman's own messages are shown: another exception's text
        # might quote a credential.
        reason = exc.message if isinstance(exc, SessmanError) else type(exc).__name__
        until = creds.expires.astimezone(timezone.utc).strftime("%H:%M:%SZ")
        return (
            f"renewing the credentials of profile {self.name!r} failed ({reason});"
            f" serving the current ones until they expire at {until}, retrying every"
            f" {self._timing.retry:g} s"
        )


def _private_dir() -> str | None:
    """``$XDG_RUNTIME_DIR`` when it is the user's own private directory, else the temp dir.

    The runtime directory is memory-backed and per user; the system temp dir
    is the fallback (``mkdtemp`` is safe there too).
    """
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if not runtime:
        return None
    try:
        found = os.stat(runtime)
    except OSError:
        return None
    private = stat.S_ISDIR(found.st_mode) and not found.st_mode & 0o077
    return runtime if private and found.st_uid == os.getuid() else None


class TokenFile:
    """A random token in a 0600 file, alone in a 0700 directory removed on close."""

    def __init__(self) -> None:
        self.token = secrets.token_urlsafe(32)
        self._dir = Path(tempfile.mkdtemp(prefix="sessman-server-", dir=_private_dir()))  # 0700
        self.path = self._dir / "token"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        fd = os.open(self.path, flags, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(self.token)  # no newline: botocore refuses a token with one

    def __repr__(self) -> str:
        return f"TokenFile({str(self.path)!r})"

    def remove(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)


class CredentialServer:
    """A profile's credentials on ``127.0.0.1``, for as long as the block runs.

    Entering fetches the first credentials (so the server never answers
    without them), writes the token file and starts serving; leaving stops
    the server and the renewals and removes the token file.
    """

    def __init__(self, credentials: RenewingCredentials) -> None:
        self.credentials = credentials
        self._token: TokenFile | None = None
        self._server: LoopbackServer | None = None

    def __repr__(self) -> str:
        url = self._server.url if self._server is not None else None
        return f"CredentialServer({self.credentials.name!r}, url={url!r})"

    def __enter__(self) -> CredentialServer:
        self.credentials.start()
        try:
            self._token = TokenFile()
            self._server = LoopbackServer(self._token.token, self.credentials.answer)
            self._server.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.credentials.stop()
        if self._server is not None:
            self._server.close()
        if self._token is not None:
            self._token.remove()

    @property
    def url(self) -> str:
        assert self._server is not None, "the server is not running"
        return self._server.url

    @property
    def token_file(self) -> Path:
        assert self._token is not None, "the server is not running"
        return self._token.path

    def environment(self, *, token: bool = False) -> dict[str, str]:
        """The variables that point an SDK at this server.

        With ``token``, also the token itself in a variable, for clients that
        do not read the file (the AWS CLI 2.9 of Debian 12, older botocore,
        the JavaScript SDK's ``fromContainerMetadata``).
        """
        found = {URI_VARIABLE: self.url, TOKEN_FILE_VARIABLE: str(self.token_file)}
        if token:
            assert self._token is not None
            found[TOKEN_VARIABLE] = self._token.token
        return found


def served_duration(manager: SessionManager, name: str) -> int:
    """The session duration to renew with: the profile's, within AWS's chained-role cap."""
    p = manager.profile(name)
    duration = p.session_duration
    source = manager.profile(p.source_profile) if p.source_profile is not None else None
    if p.kind == "role" and source is not None and source.kind == "role":
        duration = min(duration, CHAINED_ROLE_MAX)
    return duration


def manager_source(
    manager: SessionManager, name: str, *, duration: int, min_ttl: float
) -> Callable[[], Fetched]:
    """A fetch for :class:`RenewingCredentials` made of the manager's open sessions.

    Each call returns the open session of ``name`` if it has more than
    ``min_ttl`` seconds left, else opens a new one (re-assuming a role),
    stored like ``sessman open`` does, so other sessman commands share it.
    """

    def fetch() -> Fetched:
        creds = manager.credentials(name, min_ttl=min_ttl, duration=duration)
        record = manager.state.get(name)
        return creds, record.account if record is not None else None

    return fetch
