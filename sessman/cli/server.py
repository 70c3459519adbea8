"""``sessman serve``: the profile's credentials served to SDKs until stopped.

The server runs in this process (see :mod:`sessman.cli.serving`, shared
with ``exec --server``); ``serve`` prints the variables that point SDKs at
it and serves until SIGINT, SIGTERM or SIGHUP.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import threading
from collections.abc import Mapping
from enum import Enum
from typing import Annotated

import typer

from sessman.errors import Interrupted
from sessman.exports import to_unset

from .boundary import Reported
from .complete import NameArgument
from .options import ConfigOption
from .render import emit_note, emit_now
from .serving import NOT_WITH_SERVER, serving, signals_to

__all__ = ["register", "serve"]


class ServeFormat(str, Enum):
    """Output formats of ``sessman serve``."""

    sh = "sh"
    json = "json"


def _serve_unset(parent: Mapping[str, str], exported: Mapping[str, str]) -> list[str]:
    """What ``serve``'s sh output unsets: what ``env`` would, and what always wins over the server.

    The rule of ``env`` (every ``AWS_*`` variable outside the allow-list
    goes) applied to sessman's own environment, plus the variables that win
    over the server even when sessman does not see them in the shell that
    evaluates the output; never what the output exports itself.
    """
    names = set(to_unset(parent, exported)) | {v for v in NOT_WITH_SERVER if v.startswith("AWS_")}
    return sorted(names - set(exported))


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
        serving(ctx, config, name, 0) as (server, handed),
        signals_to(stop, signal.SIGINT, signal.SIGTERM, signal.SIGHUP),
    ):
        found = server.environment()
        if format_ is ServeFormat.json:
            emit_now(json.dumps(found, indent=2) + "\n")
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
            emit_now("".join(lines))
        while not stopped.wait(1.0):
            pass
    emit_note(f"credential server of profile {name!r} stopped")
    if received and received[0] == signal.SIGINT:
        raise Reported(Interrupted)  # the note above says it stopped


def register(app: typer.Typer) -> None:
    """Add ``serve`` to ``app`` (``exec --server`` is an option of ``exec``)."""
    app.command("serve")(serve)
