"""The typer application: global options, and the one place errors become exit codes.

Commands live in the sibling modules and only compute and render; any
:class:`~sessman.errors.SessmanError` they raise is printed here as
``sessman: error: ...`` (plus ``hint: ...``) with its exit code, and a
traceback is shown only with ``SESSMAN_DEBUG=1``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from sessman._version import __version__
from sessman.errors import Interrupted, SessmanError

from ._typer import click_exceptions
from .render import emit_error, hint_with_config

if TYPE_CHECKING:
    from sessman.manager import SessionManager

__all__ = [
    "CONFIG_KEY",
    "ConfigOption",
    "JsonOption",
    "MfaCodeOption",
    "app",
    "config_path",
    "load_manager",
]


class SessmanGroup(TyperGroup):
    """A command group that reports every failure in sessman's one error format."""

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        debug = os.environ.get("SESSMAN_DEBUG") == "1"
        code = 0
        try:
            result = super().main(
                args, prog_name or "sessman", complete_var, standalone_mode=False, **extra
            )
            code = result if isinstance(result, int) else 0
        except SessmanError as exc:
            if debug:
                raise
            emit_error(exc.message, exc.hint)
            code = exc.exit_code
        except click_exceptions.NoArgsIsHelpError as exc:
            exc.show()
            code = 2
        except click_exceptions.UsageError as exc:
            emit_error(exc.format_message(), _usage_hint(exc))
            code = 2
        except typer.Abort:
            emit_error("aborted")
            code = 130
        except click_exceptions.ClickException as exc:
            emit_error(exc.format_message())
            code = exc.exit_code
        except KeyboardInterrupt:
            emit_error("interrupted")
            code = 130
        except Exception as exc:
            if debug:
                raise
            # An exception we did not foresee: say what kind, never its text
            # (it might quote a credential) and never a traceback.
            emit_error(
                f"unexpected {type(exc).__module__}.{type(exc).__name__}",
                "run again with SESSMAN_DEBUG=1 for the traceback, and report it",
            )
            code = 1
        if standalone_mode:
            sys.exit(code)
        return code

    def invoke(self, ctx: Any) -> Any:
        """Run the command; Ctrl-C becomes one ``interrupted`` line and exit 130.

        typer turns KeyboardInterrupt into a silent exit 130; raised as a
        SessmanError it gets the one error line every failure gets.
        """
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            raise Interrupted("interrupted") from exc
        except SessmanError as exc:
            exc.hint = hint_with_config(exc.hint, ctx.meta.get(CONFIG_KEY))
            raise


def _usage_hint(exc: click_exceptions.UsageError) -> str:
    ctx = exc.ctx
    command = ctx.command_path if ctx is not None else "sessman"
    return f"see: {command} --help"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sessman {__version__}")
        raise typer.Exit()


app = typer.Typer(
    cls=SessmanGroup,
    name="sessman",
    help="AWS sessions from a profiles file, with every secret in the OS keyring.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

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


@app.callback()
def _main(
    ctx: typer.Context,
    config: ConfigOption = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """AWS sessions from a profiles file, with every secret in the OS keyring."""
    ctx.obj = config


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


MfaCodeOption = Annotated[
    str | None,
    typer.Option(
        "--mfa-code",
        metavar="CODE",
        help="Current code of the MFA device, if a session must be opened.",
    ),
]


def _register() -> None:
    from . import agent_cmd, handover, lifecycle, profiles, secrets_cmd, server, sessions, sso

    modules = (profiles, secrets_cmd, sessions, handover, lifecycle, server, agent_cmd, sso)
    for module in modules:
        module.register(app)


_register()
