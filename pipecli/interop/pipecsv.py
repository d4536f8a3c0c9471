"""pipe's own CSV: one row per contact with every field a spreadsheet user wants; read back by the same
preset, so that an export imported again gives the same contacts (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from ..model import CLOSED, Contact, stage_letter
from . import csvfile
from .fields import Preset

# column -> the field it is read back into; the order is the export's
COLUMNS: dict[str, str] = {
    "id": "id",
    "name": "name",
    "company": "company",
    "deal": "deal",
    "title": "title",
    "email": "email",
    "phone": "phone",
    "owner": "owner",
    "stage": "stage",
    "class": "derived",
    "source": "source",
    "value": "value",
    "currency": "currency",
    "created": "created",
    "next_action": "next_action",
    "next_due": "next_due",
    "first_meeting": "first_meeting",
    "first_meeting_held": "first_meeting_held",
    "closed": "won_date",
    "days_in_stage": "days_in_stage",
    "tags": "tags",
    "notes": "notes",
}

PIPE = Preset(name="pipe", label="pipe's CSV", system="", columns=COLUMNS, identifies=("id", "name", "stage", "class"))


def record(c: Contact, today: date) -> dict[str, Any]:
    """One contact as the export's fields, typed (the JSON export); keys may be added, never renamed or removed."""
    fm, nx = c.first_meeting, c.next
    return {
        "id": c.id, "name": c.name, "company": c.company, "deal": c.deal, "title": c.title, "email": c.email,
        "phone": c.phone, "owner": c.owner, "stage": c.stage, "class": stage_letter(c.stage), "source": c.source,
        "value": c.value, "currency": c.currency, "created": c.created,
        "next_action": nx.action if nx else None, "next_due": nx.due if nx else None,
        "first_meeting": fm.date if fm else None, "first_meeting_held": fm.held if fm else None,
        "closed": c.closed.date if c.closed and c.stage == CLOSED else None,
        "days_in_stage": c.days_in_stage(today), "tags": list(c.tags), "notes": c.notes,
        "slug": c.slug,
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "; ".join(value)
    return str(value)


def to_csv(contacts: Sequence[Contact], today: date) -> str:
    rows = []
    for c in contacts:
        rec = record(c, today)
        rows.append([_cell(rec[k]) for k in COLUMNS])
    return csvfile.write(list(COLUMNS), rows)
