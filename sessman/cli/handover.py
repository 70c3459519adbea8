"""Commands that hand credentials to other programs: exec, env, credential-process.

They always hand over temporary credentials of an open session (opened or
renewed first when needed), never the long-term key. With a valid open
session none of them imports boto3 or botocore.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from enum import Enum
from typing import Annotated

import typer

from sessman.config import Profile
from sessman.credentials import TemporaryCredentials
from sessman.errors import SessmanError, UsageError
from sessman.handover import STRIPPED, variables

from .app import ConfigOption, MfaCodeOption, load_manager


class Format(str, Enum):
    """Output formats of ``sessman env``."""

    sh = "sh"
    fish = "fish"
    powershell = "powershell"
    dotenv = "dotenv"
    json = "json"


MinTtlOption = Annotated[
    float,
    typer.Option(
        "--min-ttl", min=0, help="Renew an open session with fewer seconds left than this."
    ),
]


def _credentials(
    ctx: typer.Context, config: object, name: str, min_ttl: float, mfa_code: str | None
) -> tuple[Profile, TemporaryCredentials]:
    manager = load_manager(ctx, config, mfa_code=mfa_code)  # type: ignore[arg-type]
    profile = manager.profile(name)
    return profile, manager.credentials(name, min_ttl=min_ttl)


def exec_(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Profile name.")],
    command: Annotated[
        list[str], typer.Argument(help="The command, after --.", show_default=False)
    ],
    min_ttl: MinTtlOption = 0,
    mfa_code: MfaCodeOption = None,
    config: ConfigOption = None,
) -> None:
    """Run a command with the profile's temporary credentials in its environment.

    Example: sessman exec prod -- aws s3 ls
    """
    if os.environ.get("SESSMAN_PROFILE"):
        raise UsageError(
            f"already inside `sessman exec` of profile {os.environ['SESSMAN_PROFILE']!r}",
            hint="exit that shell first, or unset SESSMAN_PROFILE to nest on purpose",
        )
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise UsageError("no command to run", hint="sessman exec NAME -- COMMAND [ARGS...]")
    program = shutil.which(command[0])
    if program is None:
        error = SessmanError(f"command not found: {command[0]}")
        error.exit_code = 127
        raise error
    profile, creds = _credentials(ctx, config, name, min_ttl, mfa_code)
    env = {k: v for k, v in os.environ.items() if k not in STRIPPED}
    env.update(variables(profile, creds))
    sys.stdout.flush()
    sys.stderr.flush()
    # Replace this process: the child gets the terminal and every signal, and
    # its exit status is ours.
    os.execve(program, command, env)


def _quote(value: str, fmt: Format) -> str:
    if fmt is Format.sh:
        return "'" + value.replace("'", "'\\''") + "'"
    if fmt is Format.fish:
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if fmt is Format.powershell:
        return "'" + value.replace("'", "''") + "'"
    return json.dumps(value)  # dotenv: double-quoted, backslash escapes


def env(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Profile name.")],
    format_: Annotated[Format, typer.Option("--format", "-f", help="Shell syntax.")] = Format.sh,
    min_ttl: MinTtlOption = 0,
    mfa_code: MfaCodeOption = None,
    config: ConfigOption = None,
) -> None:
    """Print the profile's temporary credentials as variables, e.g. eval "$(sessman env dev)"."""
    profile, creds = _credentials(ctx, config, name, min_ttl, mfa_code)
    values = variables(profile, creds)
    if format_ is Format.json:
        sys.stdout.write(json.dumps(values, indent=2) + "\n")
        return
    template = {
        Format.sh: "export {k}={v}",
        Format.fish: "set -gx {k} {v};",
        Format.powershell: "$Env:{k} = {v}",
        Format.dotenv: "{k}={v}",
    }[format_]
    for key, value in values.items():
        sys.stdout.write(template.format(k=key, v=_quote(value, format_)) + "\n")


def credential_process(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Profile name.")],
    min_ttl: Annotated[
        float | None,
        typer.Option(
            "--min-ttl",
            min=0,
            help="Renew an open session with fewer seconds left than this"
            " (default: 1200, or half a shorter session).",
        ),
    ] = None,
    mfa_code: MfaCodeOption = None,
    config: ConfigOption = None,
) -> None:
    """Print temporary credentials as AWS credential_process JSON (for ~/.aws/config).

    In ~/.aws/config: credential_process = sessman credential-process NAME
    """
    from .app import config_path
    from .fast import issue

    issue(config_path(ctx, config), name, min_ttl=min_ttl, mfa_code=mfa_code)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("exec")(exec_)
    app.command("env")(env)
    app.command("credential-process")(credential_process)
