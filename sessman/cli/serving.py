"""The credential server running for a command: what ``exec --server`` and ``serve`` share.

The server (:mod:`sessman.credserver`) lives in this process, renewing the
profile's credentials in the background. ``exec --server`` (``handover.py``)
runs its command as a child with the container variables (the URL, the token
file and the token) and no static keys (they would win over the server),
waits for it, stops the server and exits with the child's code; ``serve``
(``server.py``) prints the variables and serves until stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import typer

from sessman.errors import UsageError
from sessman.exports import child_environment as handover_environment
from sessman.exports import variables
from sessman.program import cannot_run
from sessman.prompts import ask_mfa_code, has_terminal

from .options import config_path

if TYPE_CHECKING:
    from sessman.credserver import CredentialServer

__all__ = ["NOT_WITH_SERVER", "child_environment", "exec_with_server", "serving", "signals_to"]

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
def serving(
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
    renewing = RenewingCredentials(name, fetch, when)
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
def signals_to(handler: Callable[[int], None], *signums: int) -> Iterator[None]:
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
    with serving(ctx, config, name, min_ttl, region=region, mfa_code=mfa_code) as (
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

        with signals_to(forward, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGHUP):
            code = child.wait()
    return code if code >= 0 else 128 - code


def _start(command: list[str], program: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """The child, started; a program that cannot be run exits as a shell would (126, 127)."""
    try:
        return subprocess.Popen(command, executable=program, env=env)
    except OSError as exc:
        raise cannot_run(command[0], exc) from exc
