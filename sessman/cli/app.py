"""The typer application: assembled here, and only here, from the command modules.

Commands live in the sibling modules and only compute and render; each
module's ``register`` adds its commands. Every failure, typer's own
included, goes through :func:`sessman.cli.boundary.run`, the one place an
error becomes ``sessman: error: ...`` (plus ``hint: ...``) and an exit code.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from sessman._version import __version__
from sessman.errors import Interrupted, SessmanError, UsageError

from . import agent_cmd, handover, lifecycle, profiles, secrets_cmd, server, sessions, sso
from ._typer import ClickException, ClickUsageError, NoArgsIsHelpError
from .boundary import run
from .options import CONFIG_KEY, ConfigOption
from .render import emit_text, show_library_notes

__all__ = ["app"]


class SessmanGroup(TyperGroup):
    """A command group whose failures all go through the one error boundary."""

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        def body() -> int:
            try:
                result = super(SessmanGroup, self).main(
                    args, prog_name or "sessman", complete_var, standalone_mode=False, **extra
                )
            except NoArgsIsHelpError as exc:
                exc.show()  # help, not an error
                return 2
            except ClickUsageError as exc:
                raise UsageError(exc.format_message(), hint=_usage_hint(exc)) from exc
            except typer.Abort as exc:
                raise Interrupted("aborted") from exc
            except ClickException as exc:
                error = SessmanError(exc.format_message())
                error.exit_code = exc.exit_code
                raise error from exc
            return result if isinstance(result, int) else 0

        show_library_notes()
        self._meta: dict[str, Any] = {}
        code = run(body, config=lambda: self._meta.get(CONFIG_KEY))
        if standalone_mode:
            sys.exit(code)
        return code

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        """The command line's context; its ``meta`` (shared by every command) is kept.

        A command notes the ``--config`` in use there
        (:func:`~sessman.cli.options.config_path`); the error boundary reads
        it for the hints it prints.
        """
        ctx = super().make_context(*args, **kwargs)
        self._meta = ctx.meta
        return ctx

    def invoke(self, ctx: Any) -> Any:
        """Run the command; Ctrl-C becomes one ``interrupted`` line and exit 130.

        typer turns KeyboardInterrupt into a silent exit 130; raised as a
        SessmanError it gets the one error line every failure gets.
        """
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            raise Interrupted("interrupted") from exc


def _usage_hint(exc: ClickUsageError) -> str:
    ctx = exc.ctx
    command = ctx.command_path if ctx is not None else "sessman"
    return f"see: {command} --help"


def _version(value: bool) -> None:
    if value:
        emit_text(f"sessman {__version__}")
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


for _module in (profiles, secrets_cmd, sessions, handover, lifecycle, server, agent_cmd, sso):
    _module.register(app)
