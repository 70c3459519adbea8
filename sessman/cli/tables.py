"""A table on a terminal: which columns stay, wrap, move below their row or go.

:func:`sessman.cli.render.emit_table` writes a piped table itself (plain
aligned columns, no rich); on a terminal it comes here, where rich lays the
table out to the terminal's width.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["terminal_table"]

#: The narrowest a column that may wrap is squeezed before it is left out.
_MIN_WRAP = 12


def terminal_table(
    columns: Sequence[str],
    cells: Sequence[Sequence[str]],
    *,
    keep: Sequence[str] | None,
    wrap: Sequence[str],
    below: Sequence[str],
) -> None:
    """Print ``cells`` under ``columns`` with rich, fitted to the terminal (see ``emit_table``)."""
    from rich.console import Console
    from rich.table import Column, Table
    from rich.text import Text

    console = Console()
    kept = set(columns if keep is None else keep)
    natural = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    shown = list(range(len(columns)))

    def needed(indexes: list[int]) -> int:
        # Columns are two spaces apart, with no edge padding (as the piped form).
        return 2 * (len(indexes) - 1) + sum(
            min(natural[i], _MIN_WRAP) if columns[i] in wrap else natural[i] for i in indexes
        )

    while needed(shown) > console.width and any(columns[i] not in kept for i in shown):
        shown.remove(max(i for i in shown if columns[i] not in kept))
    moved = [i for i in shown if columns[i] in below]
    rest = [i for i in shown if i not in moved]
    if needed(shown) > console.width and moved and needed(rest) <= console.width:
        # Every column left is kept whole: aligned by hand, each moved value
        # on a line of its own under its row, whole (the terminal may wrap it).
        span = {i: natural[i] for i in rest}
        console.print(
            Text("  ".join(columns[i].ljust(span[i]) for i in rest).rstrip(), style="bold")
        )
        for i in moved:
            console.print(Text(f"  {columns[i]}", style="bold"))
        for row in cells:
            console.print(Text("  ".join(row[i].ljust(span[i]) for i in rest).rstrip()))
            for i in moved:
                console.print(Text(f"  {row[i]}"), soft_wrap=True)
        shown = rest + moved
    else:
        # When even the kept columns are too wide, the widest of them folds
        # (every character stays, over several lines); the others stay whole.
        folding = -1
        if needed(shown) > console.width:
            folding = max(shown, key=lambda i: natural[i])
        whole = [columns[i] not in wrap and i != folding for i in range(len(columns))]
        table = Table(
            *(
                Column(
                    columns[i],
                    no_wrap=whole[i],
                    min_width=natural[i] if whole[i] else None,
                    overflow="fold",
                )
                for i in shown
            ),
            box=None,
            pad_edge=False,
            header_style="bold",
        )
        for row in cells:
            table.add_row(*(Text(row[i]) for i in shown))
        console.print(table)
    left_out = [c for i, c in enumerate(columns) if i not in shown]
    if left_out:
        console.print(
            Text(f"(too narrow for {', '.join(left_out)}: see --json)"),
            style="dim",
        )
