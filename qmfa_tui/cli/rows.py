"""Rows of stored text written out as a table, CSV or JSON (`qmfa users list`, `qmfa audit`)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

from qmfa_tui.csv_export import csv_lines, plain
from qmfa_tui.text import visible


def write_rows(
    rows: Iterable[dict[str, Any]],
    columns: tuple[str, ...],
    fmt: str,
    widths: dict[str, int],
    headers: dict[str, str] | None = None,
) -> None:
    """Rows of stored text out: CSV exact but never a formula, JSON exact (escaped by
    json.dumps), the table with control characters shown escaped (one line per row)."""
    out = sys.stdout
    if fmt == "csv":
        out.writelines(csv_lines(columns, rows))  # streamed, row by row
    elif fmt == "json":
        out.write("[")
        for index, row in enumerate(rows):
            out.write(("," if index else "") + "\n  " + json.dumps(row, default=str))
        out.write("\n]\n")
    else:
        headers = headers or {}
        out.write(
            " ".join(_cell(headers.get(c, c).upper(), widths[c]) for c in columns).rstrip() + "\n"
        )
        for row in rows:
            out.write(
                " ".join(_cell(visible(plain(row[c])), widths[c]) for c in columns).rstrip() + "\n"
            )


def _cell(text: str, width: int) -> str:
    return text.ljust(width) if len(text) <= width else text[: width - 1] + "…"
