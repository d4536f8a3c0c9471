"""CSV as spreadsheets and CRMs write it: bytes to a header and rows, whatever the encoding and delimiter;
rows to CSV text that no spreadsheet runs as a formula (pure)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence

from ..errors import InputError, UsageError
from ..render import FORMULA_START as FORMULA  # what a spreadsheet reads as the start of a formula
from ..render import csv_cell as safe_cell  # the one rule, shared with every --format csv

DELIMITERS = (",", ";", "\t", "|")


def kind_of(data: bytes) -> str | None:
    """What a file is by its first bytes, when that is clearly not text: for 'not what its extension says'."""
    head = data[:8]
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive (an Excel .xlsx or OpenDocument workbook?)"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "an old Excel workbook (.xls)"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    text = data[:200].lstrip(b"\xef\xbb\xbf \t\r\n").upper()
    if text.startswith(b"BEGIN:VCARD"):
        return "a vCard file"
    if text.startswith(b"BEGIN:VCALENDAR"):
        return "an iCalendar file"
    return None


def decode(data: bytes, encoding: str | None, rel: str) -> tuple[str, str]:
    """The file's text and the encoding it was read with: --encoding, else a BOM, else UTF-8, else a legacy
    code page told apart by what it decodes to (GB18030 for Chinese, else Windows-1252)."""
    if encoding:
        try:
            return data.decode(encoding).removeprefix("\ufeff"), encoding
        except LookupError:
            raise UsageError(f"unknown encoding '{encoding}'",
                             "use a name Python knows: utf-8, utf-16, cp1252, gb18030, latin-1") from None
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise InputError(f"{rel}:{line}: not {encoding} text ({exc.reason})",
                             "name the file's encoding with --encoding, or leave it out to detect it") from None
    for bom, name in ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xef\xbb\xbf", "utf-8-sig"),
                      (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return decode(data, name, rel)[0], name
    if len(data) >= 4 and b"\x00" in data[:4]:  # UTF-16 without a BOM: every other byte of ASCII text is 0
        name = "utf-16-le" if data[1:2] == b"\x00" else "utf-16-be"
        return decode(data, name, rel)[0], name
    if b"\x00" in data:
        raise InputError(f"{rel}: not a text file (it holds NUL bytes)", "export the data as CSV")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
        strange = [ch for ch in text if ord(ch) > 127]
        if strange and sum("\u3400" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef"
                           for ch in strange) >= 0.8 * len(strange):
            return text, "gb18030"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def sniff(first_line: str) -> str:
    """The delimiter of a header line: the candidate found most often outside quotes (',' when none is)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in first_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def records(text: str, rel: str, delimiter: str | None = None) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header and then each record with the line it starts on; a blank line gives an empty record."""
    start = 0
    if text[:4].lower() == "sep=" and "\n" in text:  # Excel's own hint line: sep=;
        line_end = text.index("\n")
        delimiter = delimiter or text[4:line_end].strip("\r") or ","
        start = line_end + 1
    body = io.StringIO(text[start:], newline="")
    first = text[start:].split("\n", 1)[0]
    reader = csv.reader(body, delimiter=delimiter or sniff(first), strict=True)
    offset = 1 if start else 0
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InputError(f"{rel}:{reader.line_num + offset}: not valid CSV: {exc}",
                         "fix that line, or export the file again") from None
    if not header or not any(h.strip() for h in header):
        raise InputError(f"{rel}: the first line is empty: it should name the columns", "export the file with its header row")
    names: list[str] = []
    for h in header:  # a column name written twice: the second gets a number
        name, n = h.strip() or "column", 2
        while name in names:
            name = f"{h.strip() or 'column'} ({n})"
            n += 1
        names.append(name)

    def rows() -> Iterator[tuple[int, list[str]]]:
        done = reader.line_num
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise InputError(f"{rel}:{done + 1 + offset}: not valid CSV: {exc}",
                                 "a quote that is never closed? fix that line, or export the file again") from None
            yield done + 1 + offset, cells
            done = reader.line_num

    return names, rows()


def ragged(cells: Sequence[str], width: int) -> str | None:
    """Why a record does not fit the header, or None; empty cells past the header are harmless."""
    if len(cells) < width or any(c.strip() for c in cells[width:]):
        return f"has {len(cells)} field{'s' if len(cells) != 1 else ''}, the header has {width} (a ragged row)"
    return None


def unsafe_cell(value: str) -> str:
    """The inverse of safe_cell, for reading pipe's own export back."""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA) else value


def write(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180, as spreadsheets write it
    writer.writerow(header)
    writer.writerows([[safe_cell(v) for v in row] for row in rows])
    return out.getvalue()
