"""Output: JSON for programs, rich tables and text for people, errors on stderr.

Commands compute plain data; this module is the one place that prints it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

__all__ = ["emit_error", "emit_json", "emit_table", "emit_text", "iso"]


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, as AWS writes it; ``None`` stays ``None``."""
    if moment is None:
        return None
    from datetime import timezone

    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def emit_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def emit_text(text: str) -> None:
    """Print a line for people on stdout."""
    sys.stdout.write(text + "\n")


def emit_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a table for people: rich on a terminal, plain aligned columns in a pipe.

    Piped output stays greppable (no box drawing, no truncation) and does not
    pay for importing rich.
    """
    cells = [["" if cell is None else str(cell) for cell in row] for row in rows]
    if not sys.stdout.isatty():
        widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
        for line in [list(columns), *cells]:
            sys.stdout.write(
                "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() + "\n"
            )
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(*columns, box=box.SIMPLE_HEAD, header_style="bold")
    for row in cells:
        table.add_row(*(Text(cell) for cell in row))
    Console().print(table)


def emit_error(message: str, hint: str | None = None) -> None:
    """The one error format: ``sessman: error: ...`` and maybe ``hint: ...``."""
    first = " ".join(message.split()) or "failed"
    sys.stderr.write(f"sessman: error: {first}\n")
    if hint:
        sys.stderr.write(f"hint: {' '.join(hint.split())}\n")
