"""The one renderer: each command hands its data to one call, JSON or the layout for people.

Run with stdout and stderr captured (not terminals), so tables come out in
their piped form and progress as a line per step.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from sessman.cli import render

ROWS: list[dict[str, Any]] = [
    {"name": "dev", "tags": ["a", "b"], "secret": None},
    {"name": "prod", "tags": []},
]
COLUMNS: Mapping[str, str | Callable[[Mapping[str, Any]], Any]] = {
    "NAME": "name",
    "TAGS": lambda r: ",".join(r["tags"]),
}


def test_table_prints_the_rows_as_json_or_as_columns(capsys: pytest.CaptureFixture[str]) -> None:
    render.table(ROWS, COLUMNS, json=True)
    assert json.loads(capsys.readouterr().out) == ROWS
    render.table(ROWS, COLUMNS, json=False)
    assert capsys.readouterr().out == "NAME  TAGS\ndev   a,b\nprod\n"


def test_an_empty_table_is_its_header_unless_hidden(capsys: pytest.CaptureFixture[str]) -> None:
    render.table([], COLUMNS, json=False)
    assert capsys.readouterr().out == "NAME  TAGS\n"
    render.table([], COLUMNS, json=False, hide_empty=True)
    assert capsys.readouterr().out == ""
    render.table([], COLUMNS, json=True, hide_empty=True)
    assert json.loads(capsys.readouterr().out) == []


def test_record_shows_keys_and_values_lists_joined(capsys: pytest.CaptureFixture[str]) -> None:
    data = {"name": "dev", "tags": ["a", "b"], "retries": {"mode": "standard"}}
    render.record(data, json=True)
    assert json.loads(capsys.readouterr().out) == data
    render.record(data, json=False, shown={"name": "dev", "tags": ["a", "b"]})
    assert capsys.readouterr().out == "KEY   VALUE\nname  dev\ntags  a, b\n"


def test_lines_print_the_data_or_the_sentences(capsys: pytest.CaptureFixture[str]) -> None:
    render.lines({"ok": True}, ["Done.", "Next: nothing."], json=True)
    assert json.loads(capsys.readouterr().out) == {"ok": True}
    render.lines({"ok": True}, ["Done.", "Next: nothing."], json=False)
    assert capsys.readouterr().out == "Done.\nNext: nothing.\n"


def test_progress_off_a_terminal_is_a_line_per_step_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with render.progress(2, json=False) as step:
        step("dev", True)
        step("prod", False)
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "checked dev: ok (1/2)\nchecked prod: FAILED (2/2)\n"
