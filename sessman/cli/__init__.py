"""The ``sessman`` command line (typer). ``main`` is the console script."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``) and exit."""
    from .app import app

    app(args=list(argv) if argv is not None else None, prog_name="sessman")
