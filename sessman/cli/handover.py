"""Commands that hand credentials to other programs: exec, env, credential-process.

They always hand over temporary credentials of an open session (opened or
renewed first when needed), never the long-term key. With a valid open
session none of them imports boto3 or botocore.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Annotated

import typer

from sessman.config import Profile
from sessman.credentials import TemporaryCredentials, check_mfa_code
from sessman.errors import UsageError
from sessman.exports import (
    EXEC_MARKER,
    child_environment,
    to_unset,
    variables,
)
from sessman.fileformat import REGION_PATTERN
from sessman.program import cannot_run, find_program
from sessman.refresh import RENEW_AHEAD

from ._typer import ChildCommand, PlainText, SessmanCommand
from .complete import NameArgument
from .envformat import Format, render
from .options import ConfigOption, MfaCodeOption, config_path, load_manager
from .render import emit_raw, emit_text

MinTtlOption = Annotated[
    float,
    typer.Option(
        "--min-ttl",
        min=0,
        metavar="SECONDS",
        help="Renew an open session with fewer seconds left than this.",
    ),
]
RegionOption = Annotated[
    str | None,
    typer.Option(
        "--region",
        "-r",
        metavar="REGION",
        help="Hand over this region instead of the profile's (e.g. eu-west-1).",
        show_default=False,
    ),
]


def _credentials(
    ctx: typer.Context, config: object, name: str, min_ttl: float, mfa_code: str | None
) -> tuple[Profile, TemporaryCredentials]:
    manager = load_manager(ctx, config, mfa_code=mfa_code)  # type: ignore[arg-type]
    profile = manager.profile(name)
    return profile, manager.credentials(name, min_ttl=min_ttl)


def _check_region(region: str | None) -> None:
    if region is not None and not re.match(REGION_PATTERN, region):
        raise UsageError(f"{region!r} is not an AWS region", hint="e.g. --region eu-west-1")


def exec_(
    ctx: typer.Context,
    name: NameArgument,
    command: Annotated[
        list[str] | None,
        typer.Argument(
            help="The command and its arguments, all of them the command's, options"
            " included; -- before it is optional (default: a shell, $SHELL).",
            metavar="[COMMAND [ARGS]...]",
            show_default=False,
            click_type=PlainText(),
        ),
    ] = None,
    region: RegionOption = None,
    min_ttl: MinTtlOption = 0,
    server: Annotated[
        bool,
        typer.Option(
            "--server",
            help="Serve renewed credentials to the command on 127.0.0.1 instead of"
            " static keys (for jobs that outlive a session).",
        ),
    ] = False,
    mfa_code: MfaCodeOption = None,
    config: ConfigOption = None,
) -> int | None:
    """Run a command (or a shell) with the profile's temporary credentials in its environment.

    Example: sessman exec prod aws sts get-caller-identity --query Arn
    """
    if os.environ.get(EXEC_MARKER):
        raise UsageError(
            f"already inside `sessman exec` of profile {os.environ[EXEC_MARKER]!r}",
            hint=f"exit that shell first, or unset {EXEC_MARKER} to nest on purpose",
        )
    _check_region(region)
    if mfa_code is not None:
        check_mfa_code(mfa_code)  # a usage error before anything runs, --server included
    command = list(command or [])
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        # As aws-vault does: a subshell, interactive when stdin is a terminal.
        command = [os.environ.get("SHELL") or "/bin/sh"]
    program = find_program(command[0])
    if server:
        from .serving import exec_with_server

        # The child's exit status is the command's: the boundary exits with it.
        return exec_with_server(
            ctx, config, name, command, program, min_ttl, region=region, mfa_code=mfa_code
        )
    profile, creds = _credentials(ctx, config, name, min_ttl, mfa_code)
    env = child_environment(os.environ, variables(profile, creds, region=region))
    sys.stdout.flush()
    sys.stderr.flush()
    # Replace this process: the child gets the terminal and every signal, and
    # its exit status is ours.
    try:
        os.execve(program, command, env)
    except OSError as exc:
        raise cannot_run(command[0], exc) from exc


def env(
    ctx: typer.Context,
    name: NameArgument,
    format_: Annotated[
        Format, typer.Option("--format", "-f", help="Syntax of the output.")
    ] = Format.sh,
    region: RegionOption = None,
    min_ttl: MinTtlOption = 0,
    mfa_code: MfaCodeOption = None,
    config: ConfigOption = None,
) -> None:
    """Print the profile's temporary credentials as variables, e.g. eval "$(sessman env dev)".

    The output also unsets every other AWS variable that would make a program
    use other credentials or another endpoint (AWS_PROFILE, AWS_ENDPOINT_URL...),
    so evaluating it after another profile's leaves exactly this profile's.
    """
    _check_region(region)
    profile, creds = _credentials(ctx, config, name, min_ttl, mfa_code)
    values = variables(profile, creds, region=region)
    emit_raw(render(format_, values, to_unset(os.environ, values)))


def credential_process(
    ctx: typer.Context,
    name: NameArgument,
    min_ttl: Annotated[
        float | None,
        typer.Option(
            "--min-ttl",
            min=0,
            metavar="SECONDS",
            help="Renew an open session with fewer seconds left than this"
            f" (default: {RENEW_AHEAD}, or half a shorter session).",
        ),
    ] = None,
    mfa_code: MfaCodeOption = None,
    config: ConfigOption = None,
) -> None:
    """Print temporary credentials as AWS credential_process JSON (for ~/.aws/config).

    In ~/.aws/config: credential_process = sessman credential-process NAME
    """
    from .credproc import issue

    emit_text(issue(config_path(ctx, config), name, min_ttl=min_ttl, mfa_code=mfa_code))


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("exec", cls=ChildCommand)(exec_)
    app.command("env", cls=SessmanCommand)(env)
    app.command("credential-process", cls=SessmanCommand)(credential_process)
