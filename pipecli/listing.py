"""Which contacts a listing shows, in what order, and the plain rows it prints (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from .model import LADDER, PIPELINE, RESERVE, STAGE_BY_ID, Contact

ORDER = {sid: i for i, sid in enumerate((*LADDER, RESERVE))}
LETTER = {sid: stage.letter for sid, stage in STAGE_BY_ID.items()}


@dataclass(frozen=True)
class Filter:
    stages: tuple[str, ...] = PIPELINE
    owner: str | None = None
    source: str | None = None
    tags: tuple[str, ...] = ()
    due_by: date | None = None

    def keeps(self, c: Contact) -> bool:
        if c.stage not in self.stages:
            return False
        if self.owner is not None and (c.owner or "").strip().casefold() != self.owner.strip().casefold():
            return False
        if self.source is not None and c.source != self.source:
            return False
        if self.tags and not set(self.tags) <= set(c.tags):
            return False
        return self.due_by is None or (c.next is not None and c.next.due is not None and c.next.due <= self.due_by)


def sort_key(c: Contact) -> tuple[int, date, str]:
    due = c.next.due if c.next and c.next.due else date.max
    return ORDER.get(c.stage, 99), due, c.name.casefold()


def select(contacts: Iterable[Contact], flt: Filter) -> list[Contact]:
    return sorted((c for c in contacts if flt.keeps(c)), key=sort_key)


def identity(c: Contact) -> dict[str, Any]:
    """The keys every row about a contact starts with, in every command's JSON."""
    return {"slug": c.slug, "id": c.id, "name": c.name, "company": c.company, "stage": c.stage,
            "class": LETTER[c.stage], "owner": c.owner}


def row(c: Contact, today: date) -> dict[str, Any]:
    """One contact as a listing row; the JSON contract: keys may be added, never renamed or removed."""
    nx = c.next
    due = nx.due if nx is not None else None
    out = identity(c)
    out["source"] = c.source
    out["next"] = nx.action if nx is not None else None
    out["due"] = due
    out["overdue"] = due is not None and due < today
    out["days_in_stage"] = c.days_in_stage(today)
    out["value"] = c.value
    out["currency"] = c.currency
    out["tags"] = list(c.tags)
    return out


COLUMNS = ("slug", "name", "class", "company", "next", "due", "days_in_stage")
HEADERS = {"slug": "contact", "class": "stage", "days_in_stage": "days"}


def counts_left_out(contacts: Sequence[Contact], flt: Filter) -> dict[str, int]:
    """How many contacts the filter's stages hide (closed and reserve by default) of those its other tests keep."""
    every = replace(flt, stages=(*LADDER, RESERVE))
    out: dict[str, int] = {}
    for c in contacts:
        if c.stage not in flt.stages and every.keeps(c):
            out[c.stage] = out.get(c.stage, 0) + 1
    return out
