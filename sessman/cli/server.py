"""``sessman serve`` and ``sessman exec --server``: credentials served to long-running work.

The server (:mod:`sessman.credserver`) lives in this process. ``exec
--server`` runs the command as a child with the container variables (the
URL, the token file and the token) and no static keys (they would win over
the server), waits for it, stops the server and exits with the child's
code. ``serve`` prints the variables and serves until SIGINT, SIGTERM or
SIGHUP.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from sessman.errors import SessmanError, UsageError
from sessman.exports import child_environment as handover_environment
from sessman.exports import to_unset, variables
from sessman.program import cannot_run
from sessman.prompts import ask_mfa_code, has_terminal
from sessman.secretstore import stderr_note

from .app import ConfigOption, config_path
from .complete import NameArgument

if TYPE_CHECKING:
    from sessman.credserver import CredentialServer

__all__ = ["exec_with_server", "register", "serve"]

#: Variables that would make a child use other credentials than the server's:
#: static keys win over the container provider, and so do profiles.
NOT_WITH_SERVER = frozenset(
    {
        "AWS_ACCESS_KEY_ID",
        "AWS_ACCESS_KEY",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SECRET_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_CREDENTIAL_EXPIRATION",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_CREDENTIAL_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_CONFIG_FILE",
        "AWS_SDK_LOAD_CONFIG",
        "AWS_ROLE_ARN",
        "AWS_ROLE_SESSION_NAME",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "SESSMAN_KEYRING_PASSPHRASE",
    }
)


class ServeFormat(str, Enum):
    """Output formats of ``sessman serve``."""

    sh = "sh"
    json = "json"


class _Prompts:
    """An MFA prompt that works until :meth:`close`: renewals never prompt.

    Renewals run in the background while the child owns the terminal; one
    that needs a code fails (and says so once) instead of stealing input.
    A ``code`` given on the command line serves the first fetch only (AWS
    refuses a code twice), in place of the prompt.
    """

    def __init__(self, name: str, interactive: bool, code: str | None = None) -> None:
        self.name = name
        self.open = interactive or code is not None
        self._code = code

    def __call__(self, device: str) -> str:
        if self._code is not None and self.open:
            code, self._code = self._code, None
            return code
        if not self.open:
            raise UsageError(
                f"an MFA code for {device} is needed and cannot be asked for here",
                hint=f"open the session with: sessman open {self.name} --mfa-code CODE",
            )
        return ask_mfa_code(device)

    def close(self) -> None:
        self.open = False
        self._code = None


@contextmanager
def _serving(
    ctx: typer.Context,
    config: Path | None,
    name: str,
    min_ttl: float,
    *,
    region: str | None = None,
    mfa_code: str | None = None,
) -> Iterator[tuple[CredentialServer, dict[str, str]]]:
    """A running server for profile ``name`` and the variables ``variables()`` hands over.

    ``region`` replaces the profile's in those variables; ``mfa_code`` is
    used for the first credentials only.
    """
    # Imported here: the HTTP server's modules cost every other command 40 ms.
    from sessman.credentials import check_mfa_code
    from sessman.credserver import (
        CredentialServer,
        RenewingCredentials,
        manager_source,
        served_duration,
        timing,
    )
    from sessman.manager import SessionManager

    code = None if mfa_code is None else check_mfa_code(mfa_code)
    prompts = _Prompts(name, has_terminal(), code)
    manager = SessionManager.load(config_path(ctx, config), mfa_prompt=prompts)
    duration = served_duration(manager, name)
    when = timing(duration)
    ahead = max(when.ahead, min_ttl)
    if ahead >= duration:
        raise UsageError(
            f"a minimum of {min_ttl:g} s left cannot be met by sessions of {duration} s",
            hint="lower --min-ttl",
        )
    fetch = manager_source(manager, name, duration=duration, min_ttl=ahead)
    renewing = RenewingCredentials(name, fetch, when, note=stderr_note)
    with manager, CredentialServer(renewing) as server:
        prompts.close()
        first, _ = fetch()
        yield server, variables(manager.profile(name), first, region=region)


def child_environment(
    parent: Mapping[str, str], handed: Mapping[str, str], server: CredentialServer
) -> dict[str, str]:
    """``exec``'s environment (the same allow-list) without static credentials, plus the server's."""
    env = handover_environment(
        parent, {k: v for k, v in handed.items() if k not in NOT_WITH_SERVER}
    )
    env.update(server.environment(token=True))
    return env


@contextmanager
def _signals(handler: Callable[[int], None], *signums: int) -> Iterator[None]:
    """Route ``signums`` to ``handler`` for the block, then restore what was there."""

    def on_signal(signum: int, frame: FrameType | None) -> None:
        handler(signum)

    previous = {s: signal.signal(s, on_signal) for s in signums}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def exec_with_server(
    ctx: typer.Context,
    config: Path | None,
    name: str,
    command: list[str],
    program: str,
    min_ttl: float,
    *,
    region: str | None = None,
    mfa_code: str | None = None,
) -> int:
    """Run ``command`` with the profile's credential server; the child's exit code.

    Ctrl-C and Ctrl-\\ reach the child from the terminal and are not sent
    twice; SIGTERM and SIGHUP sent to sessman are passed on to it. A child
    killed by a signal gives 128 + its number, as a shell reports it.
    ``region`` replaces the profile's in the child's ``AWS_REGION`` and
    ``AWS_DEFAULT_REGION``.
    """
    with _serving(ctx, config, name, min_ttl, region=region, mfa_code=mfa_code) as (
        server,
        handed,
    ):
        env = child_environment(os.environ, handed, server)
        sys.stdout.flush()
        sys.stderr.flush()
        child = _start(command, program, env)

        def forward(signum: int) -> None:
            if signum in (signal.SIGTERM, signal.SIGHUP) and child.poll() is None:
                child.send_signal(signum)

        with _signals(forward, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGHUP):
            code = child.wait()
    return code if code >= 0 else 128 - code


def _start(command: list[str], program: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """The child, started; a program that cannot be run exits as a shell would (126, 127)."""
    try:
        return subprocess.Popen(command, executable=program, env=env)
    except OSError as exc:
        raise cannot_run(command[0], exc) from exc


def _serve_unset(parent: Mapping[str, str], exported: Mapping[str, str]) -> list[str]:
    """What ``serve``'s sh output unsets: what ``env`` would, and what always wins over the server.

    The rule of ``env`` (every ``AWS_*`` variable outside the allow-list
    goes) applied to sessman's own environment, plus the variables that win
    over the server even when sessman does not see them in the shell that
    evaluates the output; never what the output exports itself.
    """
    names = set(to_unset(parent, exported)) | {v for v in NOT_WITH_SERVER if v.startswith("AWS_")}
    return sorted(names - set(exported))


def _write(text: str) -> None:
    """Write ``text`` to stdout now; a stdout that takes nothing is one clear error."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SessmanError(f"cannot write the variables to standard output: {reason}") from exc


def serve(
    ctx: typer.Context,
    name: NameArgument,
    format_: Annotated[
        ServeFormat, typer.Option("--format", "-f", help="How to print the variables.")
    ] = ServeFormat.sh,
    config: ConfigOption = None,
) -> None:
    """Serve the profile's credentials to SDKs on 127.0.0.1 until stopped (Ctrl-C, SIGTERM).

    Prints AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
    (and, for sh, the unset of every AWS variable that would win, the profile's region
    and AWS_CONTAINER_AUTHORIZATION_TOKEN read from that file); every SDK
    given them asks again for credentials before they expire, and the server renews
    them in the background. Example: sessman serve prod > prod.env &
    """
    stopped = threading.Event()
    received: list[int] = []

    def stop(signum: int) -> None:
        received.append(signum)
        stopped.set()

    with (
        _serving(ctx, config, name, 0) as (server, handed),
        _signals(stop, signal.SIGINT, signal.SIGTERM, signal.SIGHUP),
    ):
        found = server.environment()
        if format_ is ServeFormat.json:
            _write(json.dumps(found, indent=2) + "\n")
        else:
            # What exec --server's child gets besides the server: the region
            # and endpoint, which the unset line would otherwise take away.
            shown = {k: v for k, v in handed.items() if k not in NOT_WITH_SERVER} | found
            exported = {**shown, "AWS_CONTAINER_AUTHORIZATION_TOKEN": ""}
            lines = [f"unset {' '.join(_serve_unset(os.environ, exported))}\n"]
            lines += [f"export {key}={shlex.quote(value)}\n" for key, value in shown.items()]
            # The token itself is read from the file when this is evaluated,
            # so it is never in the output (which may go to a shared file).
            path = shlex.quote(str(server.token_file))
            lines.append(f'export AWS_CONTAINER_AUTHORIZATION_TOKEN="$(cat {path})"\n')
            _write("".join(lines))
        while not stopped.wait(1.0):
            pass
    stderr_note(f"credential server of profile {name!r} stopped")
    if received and received[0] == signal.SIGINT:
        raise typer.Exit(130)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to ``app`` (``exec --server`` is an option of ``exec``)."""
    app.command("serve")(serve)
