"""An import from start to plan: read a file into drafts, then hold them against the pipeline to know what is
new, what is updated (and by which changes) and what is unchanged (pure: the caller reads and writes files)."""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..errors import InputError, UsageError
from ..model import Append, Change, Contact, SetKey, source_id, stage_id, stage_names_help
from . import csvfile
from .fields import FIELDS, GENERIC, BadRow, Draft, Preset, Row, column_fields, norm, resolve_stage, stage_table, to_draft

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
VCARD_SUFFIXES = (".vcf", ".vcard")


@dataclass(frozen=True)
class Options:
    preset: str | None = None
    maps: tuple[str, ...] = ()  # COLUMN=FIELD
    stage_maps: tuple[str, ...] = ()  # CRM STAGE=PIPE STAGE
    encoding: str | None = None
    date_format: str | None = None
    default_owner: str | None = None


@dataclass
class Source:
    """A file read: what it was taken for, and its rows as drafts or as bad rows."""

    kind: str  # "CSV" or "vCard"
    preset: Preset
    encoding: str | None
    drafts: list[Draft] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)


def pairs(items: Sequence[str], what: str, example: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        left, sep, right = item.rpartition("=")
        if not sep or not left.strip() or not right.strip():
            raise UsageError(f"{what} '{item}' is not LEFT=RIGHT", f"for example {example}")
        out[left.strip()] = right.strip()
    return out


def read(data: bytes, rel: str, suffix: str, options: Options, today: date) -> Source:
    """The file's rows as drafts and bad rows; a file that is not what its name says is one InputError."""
    suffix = suffix.lower()
    found = csvfile.kind_of(data)
    if suffix in VCARD_SUFFIXES:
        text, encoding = csvfile.decode(data, options.encoding, rel)
        if not text.lstrip().upper().startswith("BEGIN:VCARD"):
            first = text.lstrip().splitlines()[0][:60] if text.strip() else "empty"
            raise InputError(f"{rel}:1: not a vCard file: it should start with BEGIN:VCARD, not '{first}'"
                             + (f" (it is {found})" if found else ""),
                             "export the contacts as vCard (.vcf), or rename a CSV file to .csv")
        from . import vcard

        source = Source("vCard", vcard.VCARD, encoding)
        for item in vcard.read(text, rel, today, options.default_owner):
            _add(source, item)
        return _deduplicated(source)
    if suffix not in CSV_SUFFIXES:
        raise UsageError(f"{rel}: pipe imports CSV (.csv, .tsv, .txt) and vCard (.vcf) files, not '{suffix or 'no extension'}'",
                         "export the data as CSV or vCard, or rename the file to what it is")
    if found is not None:
        raise InputError(f"{rel}: not a CSV file: it is {found}",
                         "save it as CSV (in a spreadsheet: Save as > CSV UTF-8), or give it its own extension (.vcf)")
    text, encoding = csvfile.decode(data, options.encoding, rel)
    header, records = csvfile.records(text, rel, "\t" if suffix == ".tsv" else None)
    from .presets import named, recognise

    preset = named(options.preset) if options.preset else recognise(header)
    maps = pairs(options.maps, "--map", '--map "Full name=name"')
    for column, target in maps.items():
        if target not in FIELDS:
            raise UsageError(f"--map {column}={target}: unknown field '{target}'", f"fields: {', '.join(FIELDS)}")
        if norm(column) not in {norm(h) for h in header}:
            raise UsageError(f"--map {column}={target}: the file has no column '{column}'",
                             f"its columns: {', '.join(header)}")
    stage_map = {}
    for crm, pipe in pairs(options.stage_maps, "--stage-map", '--stage-map "Proposal Made=b"').items():
        sid = stage_id(pipe)
        if sid is None:
            raise UsageError(f"--stage-map {crm}={pipe}: unknown pipe stage '{pipe}'", f"use one of: {stage_names_help()}")
        stage_map[crm] = sid
    fields = column_fields(header, preset, maps)
    stages = stage_table(preset, stage_map)
    formats = (options.date_format,) if options.date_format else preset.date_formats
    rows = _rows(header, records, preset)
    _check_stages(rel, rows, header, fields, stages)
    source = Source("CSV", preset, encoding)
    pipe_export = preset.name == "pipe"
    for row in rows:
        if isinstance(row, BadRow):
            source.bad.append(row)
            continue
        if pipe_export:
            row = Row(row.line, {k: csvfile.unsafe_cell(v) for k, v in row.cells.items()})
        _add(source, to_draft(row, header, fields, preset, stages, formats, today, options.default_owner))
    return _deduplicated(source)


def _add(source: Source, item: Draft | BadRow) -> None:
    if isinstance(item, BadRow):
        source.bad.append(item)
    else:
        source.drafts.append(item)


def _rows(header: Sequence[str], records: Any, preset: Preset) -> list[Row | BadRow]:
    out: list[Row | BadRow] = []
    blank = False
    for line, cells in records:
        if not any(c.strip() for c in cells):
            blank = True
            continue
        if blank and preset.footer:
            break  # a report's footer: copyright and "generated by" lines under a blank line
        why = csvfile.ragged(cells, len(header))
        out.append(BadRow(line, why) if why else Row(line, dict(zip(header, cells, strict=False))))
    return out


def _check_stages(rel: str, rows: Sequence[Row | BadRow], header: Sequence[str], fields: Sequence[str | None],
                  stages: Mapping[str, str]) -> None:
    """Every stage in the file must map to one of pipe's; else one error with the stages and the map that covers them."""
    stage_col = next((h for h, f in zip(header, fields, strict=True) if f == "stage"), None)
    status_col = next((h for h, f in zip(header, fields, strict=True) if f == "status"), None)
    if stage_col is None:
        return
    found: Counter[str] = Counter()
    unmapped: dict[str, None] = {}
    for row in rows:
        if isinstance(row, BadRow):
            continue
        raw = row.cells.get(stage_col, "").strip()
        if not raw:
            continue
        found[raw] += 1
        closed = status_col is not None and norm(row.cells.get(status_col, "")) in ("won", "lost")
        if resolve_stage(raw, stages) is None and not closed:
            unmapped[raw] = None
    if unmapped:
        listing = "\n  ".join(f"{s} ({n} row{'s' if n != 1 else ''}) -> "
                              + (resolve_stage(s, stages) or "not mapped") for s, n in found.items())
        cover = " ".join(f'--stage-map "{s}=STAGE"' for s in unmapped)
        raise InputError(f"{rel}: {len(unmapped)} stage{'s' if len(unmapped) != 1 else ''} in column '{stage_col}' "
                         f"{'have' if len(unmapped) != 1 else 'has'} no pipe stage. The stages in the file:\n  {listing}",
                         f"add {cover} (STAGE one of opportunity, first-appointment, c, b, a, closed, reserve)")


def _folded(text: str | None) -> str:
    return unicodedata.normalize("NFKC", text or "").casefold().strip()


def identity(name: str, company: str | None, deal: str | None) -> str:
    return f"{_folded(name)}\0{_folded(company)}\0{_folded(deal)}"


def _deduplicated(source: Source) -> Source:
    """Two rows for one record in the same file: the second is a bad row, not a second contact."""
    seen: dict[str, int] = {}
    kept: list[Draft] = []
    for d in source.drafts:
        keys = [d.key] if d.key else [identity(d.name, d.company, d.deal)]
        first = next((seen[k] for k in keys if k in seen), None)
        if first is not None:
            source.bad.append(BadRow(d.line, f"the same record as line {first}"))
            continue
        seen.update(dict.fromkeys(keys, d.line))
        kept.append(d)
    source.drafts = kept
    source.bad.sort()
    return source


@dataclass
class Update:
    contact: Contact
    changes: list[Change]
    draft: Draft


@dataclass
class Plan:
    new: list[Draft] = field(default_factory=list)
    updated: list[Update] = field(default_factory=list)
    unchanged: list[Draft] = field(default_factory=list)


_COMPARED = ("name", "company", "deal", "title", "email", "phone", "owner", "source", "value", "currency", "tags", "notes",
             "first_meeting", "next", "closed", "crm")


def plan(drafts: Sequence[Draft], contacts: Sequence[Contact], data_of: Callable[[Contact], dict[str, Any]],
         today: date) -> Plan:
    """Each draft as new, or as changes to the contact it is (found by id, by the CRM's record id, else by
    e-mail or name), or as unchanged. The CRM's values win for the fields its row gives; the stage moves
    only when the CRM's stage or status changed since the last import (a move made in pipe stays)."""
    by_key: dict[str, Contact] = {}
    by_person: dict[str, Contact] = {}
    for c in contacts:
        by_key.setdefault(f"id:{c.id}", c)
        if c.crm:
            by_key.setdefault(c.crm, c)
        by_person.setdefault(identity(c.name, c.company, c.deal), c)
        if c.email and not c.deal:
            by_person.setdefault(f"mail:{_folded(c.email)}", c)
    out = Plan()
    for d in drafts:
        if d.key:
            found = by_key.get(d.key)
        else:
            found = by_person.get(f"mail:{_folded(d.email)}") if d.email and not d.deal else None
            found = found or by_person.get(identity(d.name, d.company, d.deal))
        if found is None:
            out.new.append(d)
            continue
        changes = _changes(found, data_of(found), d, today)
        (out.updated.append(Update(found, changes, d)) if changes else out.unchanged.append(d))
    return out


def _canonical(key: str, value: Any) -> Any:
    """A value as the file may write it, in the form an import writes it: a Chinese source name is its
    id; a first meeting, a closing or a next action written short is the mapping it stands for."""
    if key == "source" and isinstance(value, str):
        return source_id(value) or value
    if key == "first_meeting" and isinstance(value, date):
        return {"date": value, "held": False}
    if key == "closed" and isinstance(value, date):
        return {"date": value}
    if key == "next" and isinstance(value, str):
        return {"action": value}
    return value


def _same(old: Any, new: Any) -> bool:
    """Equal as read back: a text of several lines is written as a block, which reads back with a final newline."""
    if isinstance(old, str) and isinstance(new, str):
        return old.rstrip("\n") == new.rstrip("\n")
    if isinstance(old, dict) and isinstance(new, dict):
        return old.keys() == new.keys() and all(_same(old[k], new[k]) for k in new)
    return bool(old == new)


def _changes(c: Contact, old: dict[str, Any], d: Draft, today: date) -> list[Change]:
    changes: list[Change] = []
    for key in _COMPARED:
        if key not in d.given and key != "crm":
            continue
        new = d.data.get(key)
        if key == "crm" and new is not None:
            kept = old.get("crm")
            before: dict[str, Any] = kept if isinstance(kept, dict) else {}
            differs = {k: v for k, v in new.items() if not _same(before.get(k), v)}
            if differs:
                changes.append(SetKey(("crm",), differs))
            continue
        current = _canonical(key, old.get(key))
        if key == "next" and current is None and c.next is not None:  # an older file's criteria.next_step is the next action
            current = {"action": c.next.action, **({"due": c.next.due} if c.next.due is not None else {})}
        if new is not None and not _same(current, new):
            changes.append(SetKey((key,), new))
    moved = "stage" in d.given and d.stage != c.stage
    if moved and "crm" in d.data and isinstance(old.get("crm"), dict):
        before, now = old["crm"], d.data["crm"]
        moved = (before.get("stage"), before.get("status")) != (now.get("stage"), now.get("status"))
    if moved:
        last = d.data["history"][-1]
        floor = c.history[-1].date if c.history else None
        # the CRM's date of the move when it has one after the last one known here, else today
        when = min(last["date"] if floor is None or last["date"] > floor else today, today)
        changes.append(SetKey(("stage",), d.stage))
        changes.append(Append(("history",), {"date": when, "from": c.stage, "to": d.stage, "reason": last["reason"],
                                             "imported": True}))
    return changes


__all__ = ["GENERIC", "Options", "Plan", "Source", "plan", "read"]
