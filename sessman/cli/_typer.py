"""The corners of typer sessman's help text needs, kept in one room.

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
except ImportError as exc:  # pragma: no cover - only on a typer without its vendored click
    raise ImportError(
        "sessman needs typer's vendored click (typer._click, typer 0.26-0.28): "
        "install a typer version in pyproject's range"
    ) from exc

__all__ = ["PlainPath", "PlainText", "SessmanCommand"]

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
