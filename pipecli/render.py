"""One renderer for every listing: table, markdown, csv and json from plain rows."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from .errors import UsageError

FORMATS = ("table", "markdown", "csv", "json")


def plain(value: Any) -> Any:
    """JSON-ready value: dates as ISO text, tuples as lists, records as mappings."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def to_json(data: Any) -> str:
    return json.dumps(plain(data), ensure_ascii=False, indent=2)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}" if not value.is_integer() else str(int(value))
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value)
    return str(plain(value))


def render(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], fmt: str,
           headers: Mapping[str, str] | None = None, align: Mapping[str, str] | None = None) -> str:
    """Rows as the chosen format; json keeps every key of every row (the documented contract).

    `align` maps a column to "right" (numbers) or "left" (the default) in table and markdown.
    """
    if fmt == "json":
        return to_json(list(rows))
    heads = [(headers or {}).get(c, c) for c in columns]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
        return out.getvalue().rstrip("\n")
    if fmt not in ("table", "markdown"):
        raise UsageError(f"unknown format '{fmt}'", f"use one of: {', '.join(FORMATS)}")
    from tabulate import tabulate

    body = [[_cell(row.get(c)) for c in columns] for row in rows]
    colalign = tuple((align or {}).get(c, "left") for c in columns)
    return tabulate(body, headers=heads, tablefmt="github" if fmt == "markdown" else "simple",
                    disable_numparse=True, colalign=colalign)
