"""One renderer for every listing: table, markdown, csv and json from plain rows."""

from __future__ import annotations

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
    import json

    return json.dumps(plain(data), ensure_ascii=False, indent=2)


# --- text that cannot be turned against its reader -------------------------------------------------

_MD_SPECIAL = str.maketrans({**{ch: f"\\{ch}" for ch in "\\`*_[]<>|#&"}, "\n": "<br>", "\r": ""})


def md(text: str) -> str:
    """User text made safe for markdown: its special characters escaped (so no name can forge a table
    row, a link or an HTML tag), line breaks as <br> (a table row stays one row), control characters
    shown escaped."""
    return visible(text.replace("\r\n", "\n")).translate(_MD_SPECIAL)


# A cell starting with one of these is a formula to a spreadsheet (=HYPERLINK(...), +cmd|...).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(text: str) -> str:
    """A CSV cell a spreadsheet shows as text, never runs: a leading formula character gets a quote
    before it, as spreadsheet-safe exports do (OWASP's CSV injection advice)."""
    return "'" + text if text.startswith(FORMULA_START) else text


_NUMBERS = (int, float, bool, type(None))
_control: Any = None  # the pattern of characters never sent raw to a terminal, compiled on first use


def visible(text: str) -> str:
    """Text with every control character shown as an escape (\\u001b), never sent raw: an escape
    sequence in a name could otherwise recolour, retitle or rewrite the reader's terminal. Line
    breaks and tabs stay; so does a carriage return that ends a line (CRLF files)."""
    global _control
    if text.isprintable() or all(map(str.isprintable, text.split("\n"))):  # the common case, tested in C
        return text
    if _control is None:
        import re

        # C0 and C1 controls and DEL but \t and \n, a CR not before LF, Unicode line and paragraph
        # separators, and the bidirectional overrides and isolates that reorder what is shown.
        _control = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\r(?!\n)")
    if _control.search(text) is None:
        return text
    shown: str = _control.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return shown


class VisibleStream:
    """A text stream that passes everything through visible(): installed over stdout and stderr
    for the run of a command (cli.PipeGroup.main), so no output, message or warning sends a
    control character from a file to the terminal, whichever command prints it."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError("a text stream")  # click probes with b"" whether a stream is binary
        self._stream.write(visible(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _cell(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if value is None:
        return ""
    if kind is bool:
        return "yes" if value else "no"
    if kind is int:
        return str(value)
    if kind is float:
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
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            # numbers pipe computed stay numbers (-3 days); text, tags and dates are cells a user wrote
            writer.writerow([_cell(v) if type(v) in _NUMBERS else csv_cell(_cell(v)) for v in map(row.get, columns)])
        return out.getvalue().rstrip("\n")
    if fmt not in ("table", "markdown"):
        raise UsageError(f"unknown format '{fmt}'", f"use one of: {', '.join(FORMATS)}")
    body = [[v if type(v) is str else "" if v is None else _cell(v) for v in map(row.get, columns)] for row in rows]
    colalign = tuple((align or {}).get(c, "left") for c in columns)
    if fmt == "table":
        return table(body, heads, [a == "right" for a in colalign])
    body = [[md(cell) for cell in line] for line in body]
    from tabulate import tabulate

    return tabulate(body, headers=heads, tablefmt="github", disable_numparse=True, colalign=colalign)


# How many columns each non-ASCII character seen so far takes, as str.translate's table: a
# text's width is then the length of its translation, measured in C. A 10,000-row listing
# measures every name and company; the names repeat few characters.
_COLUMNS: dict[int, str] = {}
_SEEN: set[str] = set()


def _columns(ch: str) -> str:
    import unicodedata

    code = ord(ch)
    if unicodedata.category(ch) in ("Mn", "Me", "Cf") or 0x1160 <= code <= 0x11FF:
        return ""  # combining marks, zero-width spaces and joiners, Hangul vowels and finals
    return "xx" if unicodedata.east_asian_width(ch) in ("W", "F") else "x"  # Chinese, kana, emoji...


def _learn(text: str) -> None:
    """Put the text's characters in the table of widths."""
    new = set(text).difference(_SEEN)
    if new:
        for ch in new:
            if not ch.isascii():
                _COLUMNS[ord(ch)] = _columns(ch)
        _SEEN.update(new)


def _width(text: str) -> int:
    """Columns a text takes in a terminal: Chinese characters take two, combining marks none."""
    if text.isascii():
        return len(text)
    _learn(text)
    return len(text.translate(_COLUMNS))


def table(body: Sequence[Sequence[str]], heads: Sequence[str], right: Sequence[bool] = ()) -> str:
    """Plain aligned columns under a dashed rule, like tabulate's "simple" format.

    Written here because tabulate infers a type for every cell: 0.3 s on a 10,000-row listing.
    Built column by column: a column of plain ASCII (most are) is measured and padded in C.
    """
    columns = list(zip(heads, *body, strict=True)) if heads else []
    padded: list[list[str]] = []
    widths: list[int] = []
    for index, column in enumerate(columns):
        flush_right = index < len(right) and right[index]
        joined = "".join(column)
        if "\n" in joined or "\r" in joined:  # a line break in a cell would start a row of its own
            column = tuple(c.replace("\r", "\\r").replace("\n", "\\n") for c in column)
        if joined.isascii():
            width = max(map(len, column))
            padded.append(list(map(str.rjust if flush_right else str.ljust, column, [width] * len(column))))
        else:  # pad by display width: a wide character takes two columns
            _learn("".join(column))
            sizes = [len(c) if c.isascii() else len(c.translate(_COLUMNS)) for c in column]
            width = max(sizes)
            padded.append([" " * (width - n) + c if flush_right else c + " " * (width - n)
                           for c, n in zip(column, sizes, strict=True)])
        widths.append(width)
    lines = [line.rstrip() for line in map("  ".join, zip(*padded, strict=True))]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
