"""The corners of typer sessman needs (help text, click's exceptions), kept in one room.

typer 0.28 writes a required argument as ``{NAME}`` in usage lines and adds
its type (``<str>``, ``<path>``) beside every argument. These two classes
say ``NAME`` and nothing more. They build on typer's vendored click
(``typer._click``), a private name: when it moves, importing this module
fails at once with a message that says so, instead of the help changing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from typer.core import TyperCommand

try:
    from typer._click import types as _click_types
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
    from typer._click.exceptions import UsageError as ClickUsageError
except ImportError as exc:  # pragma: no cover - only on a typer without its vendored click
    raise ImportError(
        "sessman needs typer's vendored click (typer._click and its exceptions ClickException,"
        " NoArgsIsHelpError, UsageError; typer 0.26-0.28): install a typer version in"
        " pyproject's range"
    ) from exc

__all__ = [
    "ChildCommand",
    "ClickException",
    "ClickUsageError",
    "NoArgsIsHelpError",
    "PlainPath",
    "PlainText",
    "SessmanCommand",
]

_BRACED = re.compile(r"^\{(.*)\}$")


class PlainText(_click_types.StringParamType):
    """A string argument whose help shows only its metavar (no ``<str>``)."""

    def get_metavar(self, param: Any, ctx: Any = None) -> str:
        """Nothing: the argument's own metavar (NAME) says it all."""
        return ""


class PlainPath(PlainText):
    """A path argument (a :class:`~pathlib.Path`) whose help shows only its metavar."""

    name = "path"

    def convert(self, value: Any, param: Any, ctx: Any) -> Path:
        """The argument as a :class:`~pathlib.Path`."""
        return value if isinstance(value, Path) else Path(super().convert(value, param, ctx))


class SessmanCommand(TyperCommand):
    """A command whose usage line writes required arguments as NAME, not {NAME}."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        """typer's usage pieces without its braces around required arguments."""
        return [_BRACED.sub(r"\1", piece) for piece in super().collect_usage_pieces(ctx)]


class ChildCommand(SessmanCommand):
    """A command whose arguments after its first one (the child's command) go to the child.

    ``sessman exec NAME [OPTIONS] CMD ARGS...``: sessman's options are read
    up to the command name, and everything from it on is the child's, options
    included (``ls -c x``, ``aws ... --query Arn``), as aws-vault does; ``--``
    before the command still works. A ``--`` is put in front of the command so
    the parser takes the rest as plain arguments.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """``args`` with ``--`` put before the child's command, then parsed as usual."""
        return super().parse_args(ctx, _split_child(self, list(args)))


def _split_child(command: Any, args: list[str]) -> list[str]:
    """``args`` with ``--`` inserted before the second positional argument (the child's)."""
    takes_value: set[str] = set()
    for param in command.params:
        if getattr(param, "param_type_name", "") == "option" and not param.is_flag:
            takes_value.update(param.opts)
            takes_value.update(param.secondary_opts)
    positionals = 0
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            return args
        if arg.startswith("-") and arg != "-":
            # --opt=value and -xVALUE carry their value; --opt VALUE takes the next one.
            if arg in takes_value:
                index += 1
            index += 1
            continue
        positionals += 1
        if positionals == 2:
            return [*args[:index], "--", *args[index:]]
        index += 1
    return args
