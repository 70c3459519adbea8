"""Account lifecycle commands: rotate, generate organization, console.

They compute with :mod:`sessman.lifecycle` and only print here; errors go to
the one error boundary in :mod:`sessman.cli.app`.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import typer

from sessman.errors import SessmanError
from sessman.lifecycle.console import CONSOLE_DURATION

from . import render
from ._typer import SessmanCommand
from .complete import NameArgument, name_argument
from .options import ConfigOption, JsonOption, MfaCodeOption, load_manager
from .render import emit_status, emit_text

if TYPE_CHECKING:
    from sessman.lifecycle.rotate import RotationResult
    from sessman.manager import SessionManager

generate_app = typer.Typer(
    help="Write profiles for many accounts into the profiles file.", no_args_is_help=True
)


class TagFrom(str, Enum):
    """Where ``generate organization`` takes profile tags from."""

    ou = "ou"
    tags = "tags"


def rotate(
    ctx: typer.Context,
    name: Annotated[str, name_argument("A profile with access_key_id.")],
    delete_other: Annotated[
        str | None,
        typer.Option(
            "--delete-other",
            metavar="KEY_ID",
            help="Only deactivate and delete the IAM user's other key KEY_ID (signed with the"
            " stored key): the last step of a rotation that stopped half-way.",
            show_default=False,
        ),
    ] = None,
    json_: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Replace a profile's long-term access key with a new one, and delete the old key."""
    from sessman.lifecycle import rotate as rotation

    manager = load_manager(ctx, config)
    if delete_other is not None:
        result = rotation.delete_other(manager, name, delete_other)
    else:
        result = rotation.rotate(manager, name)
    render.lines(result.to_json(), _rotated(result, name, delete_other, manager), json=json_)


def _rotated(
    result: RotationResult, name: str, delete_other: str | None, manager: SessionManager
) -> Iterator[str]:
    """What ``rotate`` did, a line each, for people."""
    if delete_other is not None:
        yield (
            f"Deleted access key {delete_other} of IAM user {result.user!r}; profile {name!r}"
            f" keeps {result.new_access_key_id}."
        )
    else:
        yield (
            f"Rotated the access key of IAM user {result.user!r} for profile {name!r}:"
            f" {result.new_access_key_id} is stored and written to {manager.config.path};"
            f" {result.old_access_key_id} is deleted."
        )
        if len(result.profiles) > 1:
            yield f"Profiles updated: {', '.join(result.profiles)}"
    if result.closed:
        yield f"Sessions closed: {', '.join(result.closed)}"


def organization(
    ctx: typer.Context,
    source: Annotated[
        str, name_argument("Profile whose credentials may call ListAccounts.", "SOURCE")
    ],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            metavar="ROLE_NAME",
            help="Role to assume in each account, e.g. OrganizationAccountAccessRole.",
            show_default=False,
        ),
    ],
    prefix: Annotated[
        str, typer.Option("--prefix", metavar="PREFIX", help="Put before each profile name.")
    ] = "",
    tag_from: Annotated[
        list[TagFrom] | None,
        typer.Option(
            "--tag-from",
            help="Tag profiles with the account's OU path (ou) or its tags (tags); repeatable.",
            show_default=False,
        ),
    ] = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="Remove generated profiles whose account is gone.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would change; write nothing.")
    ] = False,
    mfa_code: MfaCodeOption = None,
    json_: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """One role profile per ACTIVE account of SOURCE's organization, sourced from SOURCE."""
    from sessman.lifecycle.organization import describe, generate_organization

    manager = load_manager(ctx, config)
    result = generate_organization(
        manager,
        source,
        role,
        prefix=prefix,
        tag_from=[t.value for t in tag_from or []],
        prune=prune,
        dry_run=dry_run,
        mfa_code=mfa_code,
    )
    render.lines(result.to_json(), describe(result), json=json_)


def console(
    ctx: typer.Context,
    name: NameArgument,
    print_: Annotated[
        bool,
        typer.Option("--print", help="Print the sign-in URL (it holds a token) instead."),
    ] = False,
    destination: Annotated[
        str | None,
        typer.Option(
            "--destination",
            metavar="URL",
            help="Console page to open (default: the home page).",
        ),
    ] = None,
    duration: Annotated[
        int | None,
        typer.Option(
            "--duration",
            metavar="SECONDS",
            min=CONSOLE_DURATION[0],
            max=CONSOLE_DURATION[1],
            help="Seconds the console session lasts"
            f" ({CONSOLE_DURATION[0]}-{CONSOLE_DURATION[1]}).",
            show_default=False,
        ),
    ] = None,
    mfa_code: MfaCodeOption = None,
    config: ConfigOption = None,
) -> None:
    """Open the AWS console signed in as a profile (federation sign-in)."""
    from sessman.lifecycle.console import signin_url

    manager = load_manager(ctx, config)
    url = signin_url(manager, name, destination=destination, duration=duration, mfa_code=mfa_code)
    if print_:
        emit_text(url)
        return
    import webbrowser

    if not webbrowser.open(url):
        raise SessmanError(
            "no web browser could be opened",
            hint=f"print the URL instead: sessman console {name} --print",
        )
    emit_status(f"sessman: opened the console for profile {name!r} in a browser")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("rotate", cls=SessmanCommand)(rotate)
    app.command("console", cls=SessmanCommand)(console)
    generate_app.command("organization", cls=SessmanCommand)(organization)
    app.add_typer(generate_app, name="generate")
