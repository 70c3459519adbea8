"""``sessman sso login|logout|populate``: IAM Identity Center from the command line.

The work is in :mod:`sessman.sso`; these commands pick the sso session,
print (the sign-in prompt on stderr, results on stdout or as JSON) and
never read stdin.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sessman.config import Config
from sessman.errors import UsageError

from . import render
from .boundary import interrupted_means
from .complete import complete_sso_sessions
from .options import ConfigOption, JsonOption, load_manager
from .render import emit_status, iso

if TYPE_CHECKING:
    from sessman.manager import SessionManager

sso_app = typer.Typer(
    help="Sign in to IAM Identity Center (SSO) and make profiles for its accounts and roles.",
    no_args_is_help=True,
)

SessionArgument = Annotated[
    str | None,
    typer.Argument(
        help="Name of an entry of sso_sessions: (optional when the file has only one).",
        show_default=False,
        autocompletion=complete_sso_sessions,
    ),
]


def _load(ctx: typer.Context, config: Path | None) -> tuple[SessionManager, Config]:
    """The manager (for its keyring), and the profiles file parsed afresh.

    These commands are not hot paths: they read the file itself rather than
    the validated-profiles cache, so sso_sessions are always what it says.
    """
    from sessman.config import load_config

    manager = load_manager(ctx, config)
    return manager, load_config(manager.config.path)


def _session_name(config: Config, given: str | None) -> str:
    if given is not None:
        return config.sso_session(given).name
    names = list(config.sso_sessions)
    if len(names) == 1:
        return names[0]
    if not names:
        raise UsageError(
            f"{config.path} has no sso_sessions:",
            hint="add one (start_url, region) under sso_sessions: in the profiles file",
        )
    raise UsageError(f"name the sso session: one of {', '.join(names)}")


def login(
    ctx: typer.Context,
    session: SessionArgument = None,
    aws_cache: Annotated[
        bool,
        typer.Option(
            "--aws-cache",
            help="Also write the token to ~/.aws/sso/cache (0600) for tools that read only that.",
        ),
    ] = False,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Never open a browser; only print the URL.")
    ] = False,
    json_: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Sign in with the device flow: shows a URL and a code, waits for approval."""
    from sessman.sso.tokens import login as sso_login

    manager, parsed = _load(ctx, config)
    sso = parsed.sso_session(_session_name(parsed, session))
    with interrupted_means(f"interrupted: sso session {sso.name!r} is not signed in"):
        result = sso_login(
            sso, manager.store, show=emit_status, browser=not no_browser, aws_cache=aws_cache
        )
    data = {
        "session": result.session,
        "start_url": result.start_url,
        "expires": iso(result.expires),
        "refreshable": result.refreshable,
        "aws_cache": str(result.aws_cache) if result.aws_cache else None,
    }
    said = [f"Signed in to sso session {result.session!r} until {data['expires']}"]
    if result.aws_cache:
        said.append(f"Token also written to {result.aws_cache}")
    render.lines(data, said, json=json_)


def logout(
    ctx: typer.Context,
    session: SessionArgument = None,
    json_: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Sign out: forget the tokens and client registration (and the ~/.aws/sso/cache file).

    Like ``aws sso logout``, the open sessions of every profile whose
    credentials come from this sso session (directly or through a chain of
    roles) are closed too: credential-process would hand them out otherwise.
    """
    from sessman.lifecycle.organization import close_session
    from sessman.sso.tokens import logout as sso_logout

    manager, parsed = _load(ctx, config)
    sso = parsed.sso_session(_session_name(parsed, session))
    data = sso_logout(sso, manager.store)
    data["closed"] = [n for n in _profiles_of(parsed, sso.name) if close_session(manager, n)]
    state = "signed out" if data["was_signed_in"] else "was not signed in"
    count = len(data["closed"])
    closed = f"; {count} open session{'' if count == 1 else 's'} closed" if count else ""
    render.lines(data, [f"sso session {sso.name!r}: {state}{closed}"], json=json_)


def _profiles_of(config: Config, session: str) -> list[str]:
    """Profiles whose credentials come from sso session ``session``, through roles too."""
    names = []
    for name, first in config.profiles.items():
        root, seen = first, {name}
        while root.source_profile and root.source_profile not in seen:
            source = config.profiles.get(root.source_profile)
            if source is None:
                break
            seen.add(root.source_profile)
            root = source
        if root.kind == "sso" and root.sso_session == session:
            names.append(name)
    return names


def populate(
    ctx: typer.Context,
    session: Annotated[
        str,
        typer.Argument(
            help="Name of an entry of sso_sessions:.", autocompletion=complete_sso_sessions
        ),
    ],
    prefix: Annotated[
        str, typer.Option("--prefix", help="Start every generated profile name with this.")
    ] = "",
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Remove profiles this command generated (with this prefix) whose role is gone.",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would change; write nothing.")
    ] = False,
    region: Annotated[
        str | None,
        typer.Option("--region", help="Region of the profiles (default: the sso session's)."),
    ] = None,
    json_: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Write one sso profile per account and role of the sign-in, keeping the file's comments."""
    import re

    from sessman.fileformat import REGION_PATTERN
    from sessman.lifecycle.organization import close_session
    from sessman.sso.populate import describe
    from sessman.sso.populate import populate as run

    if region is not None and not re.fullmatch(REGION_PATTERN, region):
        raise UsageError(f"--region {region!r} is not a region name")
    manager, parsed = _load(ctx, config)
    result = run(
        parsed,
        manager.store,
        session,
        prefix=prefix,
        prune=prune,
        dry_run=dry_run,
        region=region,
        close=lambda name: close_session(manager, name),
    )
    render.lines(result.to_json(), describe(result), json=json_)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    sso_app.command("login")(login)
    sso_app.command("logout")(logout)
    sso_app.command("populate")(populate)
    app.add_typer(sso_app, name="sso")
