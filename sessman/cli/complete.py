"""Shell completion of profile names and tags (bash, zsh, fish via typer).

The shell runs ``sessman`` on every Tab, so this reads the profiles file the
command line names (``--config`` in either position, else the usual lookup)
with the light loader only: no boto3, no keyring. Any problem completes to
nothing rather than printing an error into the user's prompt.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ._typer import PlainText

__all__ = [
    "NameArgument",
    "complete_names",
    "complete_sso_sessions",
    "complete_tags",
    "name_argument",
]


def _config(ctx: typer.Context) -> Any:
    """The profiles file of the command being completed, or ``None`` for the default."""
    from sessman.config import load_config

    context: Any = ctx
    path: Path | None = None
    while context is not None and path is None:
        path = context.params.get("config")
        context = context.parent
    return load_config(path)


def complete_names(ctx: typer.Context, incomplete: str) -> list[str]:
    """Profile names that start with what was typed, in file order."""
    try:
        config = _config(ctx)
    except Exception:
        return []
    given = set(ctx.params.get("names") or ())
    return [n for n in config.names() if n.startswith(incomplete) and n not in given]


def complete_tags(ctx: typer.Context, incomplete: str) -> list[str]:
    """Tags used in the profiles file that start with what was typed."""
    try:
        config = _config(ctx)
    except Exception:
        return []
    tags = {t for n in config.names() for t in config.profile(n).tags}
    return sorted(t for t in tags if t.startswith(incomplete))


def complete_sso_sessions(ctx: typer.Context, incomplete: str) -> list[str]:
    """Entries of ``sso_sessions:`` that start with what was typed."""
    try:
        config = _config(ctx)
    except Exception:
        return []
    return [n for n in config.sso_sessions if n.startswith(incomplete)]


def name_argument(help: str = "Profile name.", metavar: str = "NAME") -> Any:
    """A required argument naming one profile, completed with the profiles file's names."""
    return typer.Argument(
        help=help,
        metavar=metavar,
        autocompletion=complete_names,
        show_default=False,
        click_type=PlainText(),
    )


#: The NAME argument of every command that takes one profile.
NameArgument = Annotated[str, name_argument()]
