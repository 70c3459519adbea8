"""What every command shares: the ``--config``, ``--json`` and ``--mfa-code`` options, and the manager.

Command modules import this module (never :mod:`sessman.cli.app`), and it
imports no command module: the typer application is assembled in one place,
``app.py``, from the command modules' ``register`` functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sessman.manager import SessionManager

__all__ = [
    "CONFIG_KEY",
    "ConfigOption",
    "JsonOption",
    "MfaCodeOption",
    "config_path",
    "load_manager",
]

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        # No envvar here: SESSMAN_CONFIG is read by discovery, so a --config
        # written before the command is not overridden by the variable.
        metavar="PATH",
        help="Profiles file (default: $SESSMAN_CONFIG, else the user config dir).",
        dir_okay=False,
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for programs.")]
MfaCodeOption = Annotated[
    str | None,
    typer.Option(
        "--mfa-code",
        metavar="CODE",
        help="Current code of the MFA device, if a session must be opened.",
    ),
]

#: Where :func:`config_path` notes the ``--config`` in use (``ctx.meta`` is
#: shared by the whole command line), for hints that name a next command.
CONFIG_KEY = "sessman.config"


def config_path(ctx: typer.Context, config: Path | None) -> Path | None:
    """The ``--config`` given to the command, else the one given before it."""
    if config is None:
        root = ctx.find_root()
        config = root.obj if isinstance(root.obj, Path) else None
    if config is not None:
        ctx.meta[CONFIG_KEY] = config.expanduser().absolute()
    return config


def load_manager(
    ctx: typer.Context, config: Path | None, *, mfa_code: str | None = None
) -> SessionManager:
    """The SessionManager of the profiles file this command works on.

    MFA codes come from ``mfa_code`` (``--mfa-code``, checked for shape
    before anything else), else a hidden prompt on the terminal.
    """
    from sessman.manager import SessionManager
    from sessman.prompts import mfa_source

    prompt = mfa_source(mfa_code)
    return SessionManager.load(config_path(ctx, config), mfa_prompt=prompt)
