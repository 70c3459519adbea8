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


def emit_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str = "") -> None:
    """Print a table for people: a rich table on a terminal, aligned text otherwise."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    if not console.is_terminal:  # piped: never truncate a cell
        console = Console(width=100_000)
    table = Table(
        *columns,
        title=title or None,
        box=box.SIMPLE_HEAD if console.is_terminal else box.SIMPLE,
        header_style="bold",
        show_edge=False,
    )
    for row in rows:
        table.add_row(*(Text("" if cell is None else str(cell)) for cell in row))
    console.print(table)


def emit_error(message: str, hint: str | None = None) -> None:
    """The one error format: ``sessman: error: ...`` and maybe ``hint: ...``."""
    first = " ".join(message.split()) or "failed"
    sys.stderr.write(f"sessman: error: {first}\n")
    if hint:
        sys.stderr.write(f"hint: {' '.join(hint.split())}\n")
