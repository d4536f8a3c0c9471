"""The contact fields an imported column can fill, presets as data, and one row made a draft contact (pure)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from ..model import CLOSED, OPPORTUNITY, RESERVE, SOURCES, source_id, stage_id

# What a column can be mapped to (--map COLUMN=FIELD), with what it means.
FIELDS: dict[str, str] = {
    "record_id": "the record's id in the system it came from (kept as crm.id: a re-import updates that contact)",
    "id": "pipe's own id (pipe's CSV export)",
    "name": "the person's full name",
    "first_name": "first name (joined with last_name)",
    "last_name": "last name",
    "deal": "the deal's title, when a row is a deal (one person may have several)",
    "company": "company or organization",
    "title": "job title",
    "email": "e-mail address",
    "phone": "phone number",
    "owner": "who works the contact",
    "source": f"the kind of opportunity: {', '.join(SOURCES)}",
    "stage": "the stage in the other system (mapped with --stage-map)",
    "status": "open, won or lost (a won deal is closed, a lost one goes to the reserve)",
    "value": "deal size, a number (a currency written with it, € 48,000 or 48000 EUR, is kept)",
    "currency": "the value's currency as a three-letter code (EUR) or a sign (€)",
    "created": "the date the record was created",
    "stage_changed": "the date the record entered its present stage",
    "won_date": "the date the deal was won",
    "lost_date": "the date the deal was lost",
    "close_date": "the deal's close date (won or lost; expected, while open)",
    "lost_reason": "why the deal was lost",
    "next_action": "the next action",
    "next_due": "the next action's date",
    "first_meeting": "the first meeting's date",
    "first_meeting_held": "whether the first meeting took place: yes or no",
    "tags": "tags, separated by ; or ,",
    "notes": "free text",
    "days_in_stage": "days in the present stage (pipe's CSV export)",
    "derived": "a value pipe works out itself (the class letter of pipe's export): read, not kept",
}
DATE_FIELDS = ("created", "stage_changed", "won_date", "lost_date", "close_date", "next_due", "first_meeting")
TEXT_FIELDS = ("company", "deal", "title", "email", "phone", "owner", "notes")
ISO = "%Y-%m-%d"
# Formats tried only to suggest a --date-format when a date does not read.
COMMON_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d-%m-%Y", "%Y.%m.%d",
                  "%d.%m.%Y %H:%M", "%d/%m/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%m/%d/%Y, %I:%M %p", "%m/%d/%Y %H:%M",
                  "%d %b %Y", "%b %d, %Y", "%d %B %Y", "%B %d, %Y", "%Y%m%d")


@dataclass(frozen=True)
class Preset:
    """How one kind of export reads: its columns, its stages, its dates, and how to recognise it."""

    name: str  # for --preset
    label: str  # for people: "Pipedrive deals"
    system: str  # crm.system of the contacts it makes ("" for pipe's own export, whose ids are pipe's)
    columns: Mapping[str, str]  # column header -> field (headers compared without case)
    identifies: tuple[str, ...] = ()  # all of these headers present: it is this export
    stages: Mapping[str, str] = field(default_factory=dict)  # its stage names -> pipe stage ids
    date_formats: tuple[str, ...] = (ISO,)
    deals: bool = False  # a row is a deal: name the card by the deal too
    footer: bool = False  # rows under a blank line are the report's footer (Salesforce), not data


# A CSV of no known export: columns named like a field (or as people often name them) map to it.
_SYNONYMS = {
    "full name": "name", "contact": "name", "contact name": "name", "person": "name", "姓名": "name",
    "first name": "first_name", "given name": "first_name", "last name": "last_name", "surname": "last_name",
    "family name": "last_name", "organization": "company", "organisation": "company", "account": "company",
    "公司": "company", "job title": "title", "position": "title", "e-mail": "email", "email address": "email",
    "e-mail address": "email", "phone number": "phone", "mobile": "phone", "telephone": "phone", "amount": "value",
    "deal value": "value", "deal name": "deal", "deal title": "deal", "record id": "record_id", "crm id": "record_id",
    "created date": "created", "create date": "created", "close date": "close_date", "next step": "next_action",
    "next action": "next_action", "due": "next_due", "next due": "next_due", "lost reason": "lost_reason",
}
GENERIC = Preset("csv", "CSV", "csv", {**{f: f for f in FIELDS if f not in ("id", "derived")}, "id": "record_id",
                                       **_SYNONYMS})


class Row(NamedTuple):
    """One record of a file: the line (or card) it starts at, and its cells by column."""

    line: int
    cells: dict[str, str]


class BadRow(NamedTuple):
    line: int
    message: str


class Draft(NamedTuple):
    """A row made a contact, ready to be written or compared with the one already in the pipeline."""

    line: int
    key: str | None  # how a re-import finds it: "id:PIPE-ID" or "SYSTEM:RECORD-ID"; None: by e-mail or name
    name: str
    company: str | None
    deal: str | None
    email: str | None
    stage: str
    data: dict[str, Any]  # the new file's data, history included
    given: frozenset[str]  # the top-level keys the row itself gave (an update changes only those)


def norm(header: str) -> str:
    return " ".join(header.split()).casefold()


def column_fields(header: Sequence[str], preset: Preset, extra: Mapping[str, str]) -> list[str | None]:
    """The field each column fills (None: kept as it is under crm.columns); `extra` (--map) wins over the preset."""
    table = {norm(k): v for k, v in preset.columns.items()}
    table.update({norm(k): v for k, v in extra.items()})
    return [table.get(norm(h)) for h in header]


def stage_table(preset: Preset, extra: Mapping[str, str]) -> dict[str, str]:
    table = {norm(k): v for k, v in preset.stages.items()}
    table.update({norm(k): v for k, v in extra.items()})
    return table


def resolve_stage(raw: str, table: Mapping[str, str]) -> str | None:
    """The pipe stage a CRM stage name means: the map first, then pipe's own names; None if neither knows it."""
    return table.get(norm(raw)) or stage_id(raw)


def example_of(fmt: str) -> str:
    return datetime(2026, 11, 30, 9, 30).strftime(fmt)


def parse_day(text: str, formats: Sequence[str]) -> date | None:
    """The date in `text` by the first format that reads it; times are dropped. None when none reads it."""
    for fmt in formats:
        if fmt.startswith(ISO) and len(text) >= 10 and text[4:5] == "-":
            rest = text[10:]
            if not rest or rest[0] in " T":  # the fast path: 10,000 rows of strptime cost a second
                try:
                    return date.fromisoformat(text[:10])
                except ValueError:
                    pass
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def date_problem(column: str, text: str, formats: Sequence[str]) -> str:
    expected = " or ".join(f"{f} (like {example_of(f)})" for f in formats)
    guess = next((f for f in COMMON_FORMATS if f not in formats and parse_day(text, (f,)) is not None), None)
    how = f"add --date-format '{guess}'" if guess else "give the file's format with --date-format, e.g. --date-format '%d.%m.%Y'"
    return f"{column}: '{text}' is not a date in the expected format {expected}; {how}"


_CURRENCY = re.compile(r"^[^\d\-+.,]*|[^\d.,]*$")  # a currency sign or code before or after the amount


def parse_number(text: str) -> float | None:
    """An amount as spreadsheets and CRMs write it: 48000, 48,000.50, 48.000,50, $48,000, EUR 1 200; else None."""
    body = _CURRENCY.sub("", text.replace("\u00a0", " ").replace("\u202f", " ").strip()).replace(" ", "").replace("'", "")
    if not body or body.count("-") > 0 and not body.startswith("-"):
        return None
    if "," in body and "." in body:
        decimal = "," if body.rfind(",") > body.rfind(".") else "."
        body = body.replace("." if decimal == "," else ",", "").replace(",", ".")
    elif "," in body:
        groups = body.split(",")
        if len(groups) > 2 or (len(groups) == 2 and len(groups[1]) == 3 and groups[0].lstrip("-")):
            body = body.replace(",", "") if all(len(g) == 3 for g in groups[1:]) else body
        if "," in body:
            body = body.replace(",", ".")
    elif body.count(".") > 1:
        body = body.replace(".", "") if all(len(g) == 3 for g in body.split(".")[1:]) else body
    try:
        value = float(body)
    except ValueError:
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None


_POINT_THOUSANDS = re.compile(r"^[^\d,.]*-?\d{1,3}(?:\.\d{3})[^\d,.]*$")  # one point and three digits, no comma


def currency_of(text: str) -> str | None:
    """The currency written with an amount or in a column of its own (€, USD, eur), as a code; None if none or unknown."""
    from ..amounts import SYMBOLS

    mark = re.sub(r"[\d\s.,'\-+\u00a0\u202f]+", " ", text).strip().casefold()
    if not mark:
        return None
    if mark in SYMBOLS:
        return SYMBOLS[mark]
    return mark.upper() if len(mark) == 3 and mark.isascii() and mark.isalpha() else None


_YES = {"yes", "y", "true", "1", "x", "ja", "是"}
_NO = {"no", "n", "false", "0", "nein", "否", ""}
_STATUS = {"open": "open", "won": "won", "lost": "lost", "closed won": "won", "closed lost": "lost"}


class _Cells:
    """One row's mapped values, read and checked; every problem is collected, none raised."""

    def __init__(self, row: Row, header: Sequence[str], fields: Sequence[str | None], formats: Sequence[str]) -> None:
        self.problems: list[str] = []
        self.text: dict[str, str] = {}
        self.column: dict[str, str] = {}
        self.kept: dict[str, str] = {}
        self.formats = formats
        for name, target in zip(header, fields, strict=True):
            value = row.cells.get(name, "").strip()
            if not value or target == "derived":
                continue
            if target is None:
                self.kept[name] = value
            elif target not in self.text:  # two columns for one field: the first that has a value
                self.text[target] = value
                self.column[target] = name

    def day(self, key: str) -> date | None:
        raw = self.text.get(key)
        if raw is None:
            return None
        found = parse_day(raw, self.formats)
        if found is None:
            self.problems.append(date_problem(self.column[key], raw, self.formats))
        return found

    def number(self, key: str) -> float | None:
        raw = self.text.get(key)
        if raw is None:
            return None
        if _POINT_THOUSANDS.match(raw):  # 48.000: 48, or 48,000 written the European way? Never guess a 1000x
            self.problems.append(f"{self.column[key]}: '{raw}' is ambiguous: a point before three digits reads "
                                 "as 48 or as 48000; write 48000, 48,000.00 or 48.000,00 in the file")
            return None
        found = parse_number(raw)
        if found is None or found < 0:
            self.problems.append(f"{self.column[key]}: '{raw}' is not an amount (a number of 0 or more, like 48000 or 48,000.00)")
            return None
        return found

    def flag(self, key: str) -> bool | None:
        raw = self.text.get(key)
        if raw is None:
            return None
        if raw.casefold() in _YES:
            return True
        if raw.casefold() in _NO:
            return False
        self.problems.append(f"{self.column[key]}: '{raw}' is not yes or no")
        return None


def to_draft(row: Row, header: Sequence[str], fields: Sequence[str | None], preset: Preset, stages: Mapping[str, str],
             formats: Sequence[str], today: date, default_owner: str | None) -> Draft | BadRow:
    """The row as a new contact's data (the record's own dates become its history, marked imported)."""
    from ..record import new_contact

    cells = _Cells(row, header, fields, formats)
    t = cells.text
    days = {k: cells.day(k) for k in DATE_FIELDS}
    value = cells.number("value")
    currency = None
    for column in ("currency", "value"):  # a currency column first, else a sign or code written with the value
        if column in t and currency is None:
            currency = currency_of(t[column])
            if column == "currency" and currency is None:
                cells.problems.append(f"{cells.column[column]}: '{t[column]}' is not a currency "
                                      "(a code like EUR or a sign like €)")
    held = cells.flag("first_meeting_held")
    in_stage = None
    if "days_in_stage" in t:
        if t["days_in_stage"].isdigit():
            in_stage = today - timedelta(days=int(t["days_in_stage"]))
        else:
            cells.problems.append(f"{cells.column['days_in_stage']}: '{t['days_in_stage']}' is not a number of days")
    source = None
    if "source" in t:
        source = source_id(t["source"])
        if source is None:
            cells.problems.append(f"{cells.column['source']}: '{t['source']}' is not a kind of opportunity "
                                  f"({', '.join(SOURCES)}); map that column to a kept column instead of source")
    status = None
    if "status" in t:
        status = _STATUS.get(norm(t["status"]))
        if status is None:
            cells.problems.append(f"{cells.column['status']}: '{t['status']}' is not open, won or lost")
    raw_stage = t.get("stage")
    at = resolve_stage(raw_stage, stages) if raw_stage else OPPORTUNITY
    if at is None and status in (None, "open"):
        cells.problems.append(f"{cells.column['stage']}: unknown stage '{raw_stage}'")  # listed again, with a map, by the caller
    final = at or OPPORTUNITY
    if status == "won":
        final = CLOSED
    elif status == "lost":
        final = RESERVE
    name = t.get("name") or " ".join(p for p in (t.get("first_name"), t.get("last_name")) if p)
    company, deal = t.get("company"), t.get("deal")
    if not name:
        name = (company or deal or "") if preset.deals else ""
    if not name:
        cells.problems.append("no name: map a column to name (or first_name and last_name) with --map COLUMN=name")
    if cells.problems:
        return BadRow(row.line, "; ".join(cells.problems))
    if deal and deal == name:
        deal = None
    label = preset.label
    if final not in (CLOSED, RESERVE) and "close_date" in t:
        # an open deal's close date is the one expected, not history: kept as written
        cells.kept[cells.column["close_date"]] = t["close_date"]
        days["close_date"] = None
    history = imported_history(label, raw_stage, at, final, days, in_stage, t.get("lost_reason"), today)
    fields_out: dict[str, Any] = {k: t.get(k) for k in TEXT_FIELDS}
    fields_out.update(company=company, deal=deal, owner=t.get("owner") or default_owner, source=source, value=value,
                      currency=currency if value is not None else None, tags=_tags(t.get("tags")))
    if days["first_meeting"] is not None:
        fields_out["first_meeting"] = {"date": days["first_meeting"], "held": bool(held)}
    if final == CLOSED:
        closed: dict[str, Any] = {"date": min(days["won_date"] or days["close_date"] or history[-1]["date"], today)}
        if value is not None:
            closed["value"] = value
        fields_out["closed"] = closed
    if t.get("next_action") or days["next_due"]:
        fields_out["next"] = {k: v for k, v in (("action", t.get("next_action") or "follow up (from the import)"),
                                                ("due", days["next_due"])) if v is not None}
    record_id = t.get("record_id")
    crm: dict[str, Any] = {}
    if preset.system and record_id:
        crm.update(system=preset.system, id=record_id)
    if preset.system and raw_stage:
        crm["stage"] = raw_stage
    if preset.system and status:
        crm["status"] = status
    if cells.kept:
        crm["columns"] = cells.kept
    if crm:
        fields_out["crm"] = crm
    pipe_id = t.get("id") if not preset.system else None
    key = f"id:{pipe_id}" if pipe_id else (f"{preset.system}:{record_id}" if preset.system and record_id else None)
    data = new_contact(name, today, stage=final, cid=pipe_id, created=history[0]["date"], history=history, **fields_out)
    given = {k for k, v in fields_out.items() if v not in (None, "", [], {})} | {"name"}
    if not t.get("owner"):
        given.discard("owner")
    if raw_stage or status:
        given.add("stage")  # a file without stages (vCards) never moves a contact
    return Draft(row.line, key, data["name"], company, deal, t.get("email"), final, data, frozenset(given))


def _tags(text: str | None) -> list[str]:
    if not text:
        return []
    parts = text.split(";") if ";" in text else text.split(",")
    return [p.strip() for p in parts if p.strip()]


def imported_history(label: str, raw_stage: str | None, at: str | None, final: str, days: Mapping[str, date | None],
                     in_stage: date | None, lost_reason: str | None, today: date) -> list[dict[str, Any]]:
    """The record's dates as stage changes, in order, each marked imported: created at O, moved to the stage
    it has (when it changed), won or lost. A date after today, or before the entry above it, is moved to fit."""
    entries: list[dict[str, Any]] = []

    def add(when: date | None, to: str, reason: str) -> None:
        floor = entries[-1]["date"] if entries else None
        when = min(when or today, today)
        if floor is not None and when < floor:
            when = floor
        entry: dict[str, Any] = {"date": when}
        if entries:
            entry["from"] = entries[-1]["to"]
        entry.update(to=to, reason=reason, imported=True)
        entries.append(entry)

    moved = in_stage or days["stage_changed"]
    first = days["created"] or min((d for d in (moved, days["won_date"], days["lost_date"], days["close_date"]) if d),
                                   default=None)
    add(first, OPPORTUNITY, f"imported from {label}")
    where = f" (stage '{raw_stage}' there)" if raw_stage and raw_stage.casefold() != str(at).casefold() else ""
    if at is not None and at not in (OPPORTUNITY, CLOSED, RESERVE):
        add(days["stage_changed"] or (moved if final == at else None) or entries[-1]["date"], at,
            f"imported at {at} from {label}{where}")
        where = ""
    if final == CLOSED:
        add(in_stage or days["won_date"] or days["close_date"] or moved, CLOSED, f"imported as won from {label}{where}")
    elif final == RESERVE:
        gone = "as lost" if at != RESERVE else "in the reserve"
        reason = f"lost: {lost_reason}" if lost_reason else f"imported {gone} from {label}{where}"
        add(in_stage or days["lost_date"] or days["close_date"] or moved, RESERVE, reason)
    return entries


Progress = Callable[[int], None]
