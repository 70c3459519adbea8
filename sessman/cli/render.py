"""Output: JSON for programs, rich tables and text for people, errors on stderr.

Commands compute plain data and hand it to one call here: :func:`table`
(rows and their columns), :func:`record` (one object as KEY / VALUE),
:func:`lines` (a few sentences), or a report of its own
(:func:`doctor_report`, :func:`import_report`); each prints the data as
JSON with ``--json``, else the layout for people. Long runs report progress
through :class:`progress` and :func:`emit_status`. This module is the one
place that prints, the library's notes included
(:func:`show_library_notes`); how a table fits a terminal is in
:mod:`sessman.cli.tables`. Only ``json`` and ``sys`` are imported up front:
the credential-process fast path prints through here too.
"""

from __future__ import annotations

import json
import sys

TYPE_CHECKING = False  # typing itself costs the credential-process fast path
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
    from datetime import datetime
    from pathlib import Path
    from typing import Any

__all__ = [
    "doctor_report",
    "emit_error",
    "emit_json",
    "emit_note",
    "emit_now",
    "emit_raw",
    "emit_status",
    "emit_table",
    "emit_text",
    "hint_with_config",
    "import_report",
    "iso",
    "lines",
    "progress",
    "record",
    "show_library_notes",
    "table",
]


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, as AWS writes it; ``None`` stays ``None``."""
    if moment is None:
        return None
    from sessman.shapes import aws_timestamp  # not at import: credential-process imports render

    return aws_timestamp(moment)


def emit_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def emit_text(text: str) -> None:
    """Print a line on stdout (for people, or a document such as credential_process JSON)."""
    sys.stdout.write(text + "\n")


def emit_raw(text: str) -> None:
    """Print ``text`` on stdout as it is (it brings its own line ends)."""
    sys.stdout.write(text)


def emit_now(text: str) -> None:
    """Print ``text`` on stdout at once; a stdout that takes nothing is one clear error.

    For output read while sessman keeps running (``serve``'s variables).
    """
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as exc:
        from sessman.errors import SessmanError

        reason = exc.strerror or type(exc).__name__
        raise SessmanError(f"cannot write the variables to standard output: {reason}") from exc


def emit_status(text: str) -> None:
    """A line for people on stderr, as it is and at once (progress, what just happened)."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def emit_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    keep: Sequence[str] | None = None,
    wrap: Sequence[str] = (),
    below: Sequence[str] = (),
) -> None:
    """Print a table for people: rich on a terminal, plain aligned columns in a pipe.

    Piped output stays greppable (no box drawing, no truncation) and does not
    pay for importing rich. On a terminal the columns named in ``keep`` are
    never cut nor wrapped; those in ``wrap`` (descriptions, tags) wrap; the
    others are shown whole. Columns not kept go, rightmost first, when the
    terminal is too narrow for them (a note says which went). When the kept
    columns alone are still too wide, those named in ``below`` (an ARN) move
    to a line of their own under each row, written whole; only when even that
    is not enough does the widest column fold (every character kept).
    """
    cells = [["" if cell is None else str(cell) for cell in row] for row in rows]
    if not sys.stdout.isatty():
        widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
        for line in [list(columns), *cells]:
            sys.stdout.write(
                "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() + "\n"
            )
        return
    from .tables import terminal_table

    terminal_table(columns, cells, keep=keep, wrap=wrap, below=below)


def emit_note(text: str) -> None:
    """A remark for people on stderr, ``sessman: note: ...``, beside the result."""
    sys.stderr.write(f"sessman: note: {' '.join(text.split())}\n")


def hint_with_config(hint: str | None, config: Path | None) -> str | None:
    """``hint`` with the ``--config`` in use added to the sessman command it ends with.

    A hint such as ``store one with: sessman secret set dev`` must work when
    copied, so with a profiles file given by ``--config`` the command names
    it too (``sessman init`` takes it as its argument).
    """
    if hint is None or config is None or "--config" in hint:
        return hint
    import re
    import shlex

    where = shlex.quote(str(config))
    if hint.endswith("sessman init"):
        return f"{hint} {where}"
    if re.search(r"\bsessman [a-z][^;()]*$", hint):
        return f"{hint} --config {where}"
    return hint


def emit_error(message: str, hint: str | None = None) -> None:
    """The one error format: ``sessman: error: ...`` and maybe ``hint: ...``."""
    first = " ".join(message.split()) or "failed"
    sys.stderr.write(f"sessman: error: {first}\n")
    if hint:
        sys.stderr.write(f"hint: {' '.join(hint.split())}\n")


#: The name of the handler :func:`show_library_notes` installs (so it is installed once).
_NOTE_PRINTER = "sessman.cli.notes"


def show_library_notes() -> None:
    """From now on, print the library's log records on stderr, one line each.

    The library never prints: it logs notes on the ``sessman`` loggers (and
    prints nothing when used without logging configured). The command line
    shows them as the user has always seen them: ``sessman: note: ...``,
    and a failure inside a running server (ERROR) as ``sessman: ...``.
    Installed once per process, by each front door before it loads the
    library: the typer application when it starts, ``credential-process``
    (:func:`sessman.cli.credproc.issue`) only past the agent, which never
    notes anything (importing logging would cost that path a tenth of its
    budget). Each line goes to the ``sys.stderr`` of the moment.
    """
    import logging

    logger = logging.getLogger("sessman")
    if any(h.get_name() == _NOTE_PRINTER for h in logger.handlers):
        return

    class NotePrinter(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            prefix = "sessman: " if record.levelno >= logging.ERROR else "sessman: note: "
            try:
                sys.stderr.write(prefix + record.getMessage() + "\n")
                sys.stderr.flush()
            except OSError:  # a stderr that takes nothing: a note never breaks the command
                pass

    printer = NotePrinter(logging.INFO)
    printer.set_name(_NOTE_PRINTER)
    logger.setLevel(logging.INFO)
    logger.addHandler(printer)


# The one render call of each command: ``--json`` prints the data as it is;
# otherwise the layout for people, decided here and nowhere else.


def table(
    rows: Sequence[Mapping[str, Any]],
    columns: Mapping[str, str | Callable[[Mapping[str, Any]], Any]],
    *,
    json: bool,
    keep: Sequence[str] | None = None,
    wrap: Sequence[str] = (),
    below: Sequence[str] = (),
    hide_empty: bool = False,
) -> None:
    """``rows`` as a JSON list, or as a table of ``columns`` for people.

    Each column is named by its header and gives the row's key or a function
    of the row (the cell as people read it). ``hide_empty`` prints nothing
    for no rows (rather than the header alone); ``keep``, ``wrap`` and
    ``below`` are :func:`emit_table`'s.
    """
    if json:
        emit_json(list(rows))
        return
    if hide_empty and not rows:
        return
    cells = [
        [row[how] if isinstance(how, str) else how(row) for how in columns.values()] for row in rows
    ]
    emit_table(list(columns), cells, keep=keep, wrap=wrap, below=below)


def record(data: Mapping[str, Any], *, json: bool, shown: Mapping[str, Any] | None = None) -> None:
    """One object as JSON, or as a KEY / VALUE table of ``shown`` (default: ``data``).

    A list value is shown joined by commas.
    """
    if json:
        emit_json(data)
        return
    pairs = (data if shown is None else shown).items()
    emit_table(
        ["KEY", "VALUE"],
        [[key, ", ".join(value) if isinstance(value, list) else value] for key, value in pairs],
    )


def lines(data: Any, text: Iterable[str], *, json: bool) -> None:
    """``data`` as JSON, or the lines ``text`` for people."""
    if json:
        emit_json(data)
        return
    for line in text:
        emit_text(line)


class progress:
    """A progress bar on a terminal's stderr, else a line per step there (``--json``, a pipe).

    ``with progress(total, json=...) as step: ... step(name, ok)`` for each
    finished item. The bar stands aside for prompts
    (:func:`sessman.prompts.quiet_while_asking`) and goes when done; the
    lines keep a long run from being silent, while stdout keeps only the
    result. A class, not ``contextlib``: this module is on the fast path.
    """

    def __init__(
        self, total: int, *, json: bool, verb: str = "checked", label: str = "checking"
    ) -> None:
        self.total = total
        self.json = json
        self.verb = verb
        self.label = label
        self._done = 0
        self._exits: list[Any] = []

    def __enter__(self) -> Callable[[str, bool], None]:
        if self.json or not sys.stderr.isatty():
            return self._line
        from rich.progress import Progress

        from sessman.prompts import quiet_while_asking

        bar = Progress(transient=True)
        bar.__enter__()
        self._exits.append(bar)
        quiet = quiet_while_asking(bar.stop, bar.start)
        quiet.__enter__()
        self._exits.append(quiet)
        task = bar.add_task(self.label, total=self.total)
        return lambda _name, _ok: bar.advance(task)

    def __exit__(self, *exc: Any) -> None:
        while self._exits:
            self._exits.pop().__exit__(*exc)

    def _line(self, name: str, ok: bool) -> None:
        self._done += 1
        state = "ok" if ok else "FAILED"
        emit_status(f"{self.verb} {name}: {state} ({self._done}/{self.total})")


def doctor_report(report: Mapping[str, Any], *, json: bool) -> None:
    """``sessman doctor``'s report: JSON, or a line per thing checked."""
    if json:
        emit_json(report)
        return
    for line in _doctor_lines(report):
        emit_text(line)


def _doctor_lines(report: Mapping[str, Any]) -> Iterator[str]:
    def mark(ok: bool) -> str:
        return "ok" if ok else "FAILED"

    yield (
        f"sessman {report['version']}  python {report['python']}  boto3 {report['boto3']}"
        f"  keyring {report['keyring_version']}"
    )
    cfg = report["config"]
    yield f"profiles file  {cfg['path'] or '-'}: {mark(cfg['ok'])}"
    if cfg["error"]:
        yield f"  {cfg['error']}"
    if report.get("state_dir_error"):
        yield f"state dir      {report['state_dir']}: FAILED"
        yield f"  {report['state_dir_error']}"
        return
    yield f"state dir      {report['state_dir']}"
    ring = report["keyring"]
    if cfg["ok"]:
        yield f"keyring        {ring['backend'] or '-'}: {mark(ring['ok'])}"
        if ring["error"]:
            yield f"  {ring['error']}"
    for endpoint in report.get("endpoints", []):
        yield f"endpoint       {endpoint['url']}: {endpoint['error'] or 'reachable'}"
    for entry in report["profiles"]:
        status = "; ".join(entry["problems"]) if entry["problems"] else "ok"
        yield f"profile {entry['name']}: {status}"


def import_report(report: Mapping[str, Any], *, json: bool) -> None:
    """What ``sessman import`` did: JSON, or a line per profile imported or skipped."""
    if json:
        emit_json(report)
        return
    for entry in report["imported"]:
        what = entry.get("access_key_id") or f"role, from {entry['source_profile']!r}"
        emit_text(f"Imported {entry['name']!r} ({what}).")
    for skip in report["skipped"]:
        emit_text(f"Skipped {skip['name']!r}: {skip['reason']}.")
    if any(entry["kind"] == "keys" for entry in report["imported"]):
        emit_text(
            f"The secrets are still in {report['source']}:"
            " delete them there once sessman works for you."
        )
