"""The ``sessman`` command line (typer). ``main`` is the console script."""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``) and exit."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "credential-process" in args:
        from .fast import credential_process

        code = credential_process(args)
        if code is not None:
            sys.exit(code)
    from .app import app

    app(args=args, prog_name="sessman")
