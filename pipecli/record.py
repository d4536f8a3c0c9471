"""What recording evidence writes into a contact: new contacts, activities, meetings, criteria, deferrals (pure)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import date
from typing import Any

from .errors import UsageError
from .ladder import GateRules, gate, history_entry
from .model import (
    ACTIVITY_KINDS,
    FIRST_APPOINTMENT,
    OPPORTUNITY,
    OUTCOMES,
    Append,
    Change,
    Contact,
    FirstMeeting,
    SetKey,
    new_contact_data,
)


def amount(text: str | None) -> tuple[float | int | None, str | None]:
    """A deal value from the command line (24,000 · 24k · €24,000): the amount and the currency typed, if any."""
    if text is None:
        return None, None
    from .amounts import parse_amount

    value, currency = parse_amount(text)
    return value, currency


def new_id() -> str:
    """An id that never changes, even when the file is renamed: 48 random bits in hex."""
    import secrets  # only to add a contact: it imports hmac, and hmac OpenSSL

    return secrets.token_hex(6)


def new_contact(name: str, today: date, *, stage: str = OPPORTUNITY, reason: str | None = None,
                forced: bool = False, cid: str | None = None, created: date | None = None,
                history: Sequence[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
    """A new contact's data in the stable key order; its history starts with how it was added.

    An import gives the contact's own id, creation date and dated history where the file has them.
    """
    if not name.strip():
        raise UsageError("the name is empty", "pipe add \"Anna Berg\" --company \"Nordlys AS\"")
    data = dict(fields)
    data.update(id=cid or new_id(), name=name.strip(), stage=stage, created=created or today)
    entry: dict[str, Any] = {"date": today, "to": stage, "reason": reason or "added"}
    if forced:
        entry["forced"] = True
    data["history"] = list(history) if history is not None else [entry]
    return new_contact_data(data)


def _same_person(a_name: str, a_company: str | None, b: Contact) -> bool:
    def norm(t: str | None) -> str:
        return unicodedata.normalize("NFKC", t or "").casefold().strip()

    return norm(a_name) == norm(b.name) and norm(a_company) == norm(b.company)


def duplicates_of(name: str, company: str | None, email: str | None, contacts: Sequence[Contact]) -> list[Contact]:
    """Contacts that are the same person: same e-mail, or same name at the same company."""
    mail = (email or "").strip().casefold()
    return [c for c in contacts
            if (mail and (c.email or "").strip().casefold() == mail) or _same_person(name, company, c)]


def log_activity(c: Contact, kind: str, when: date, *, outcome: str | None = None, note: str | None = None,
                 next_action: str | None = None, due: date | None = None) -> list[Change]:
    if kind not in ACTIVITY_KINDS:
        raise UsageError(f"unknown activity kind '{kind}'", f"use one of: {', '.join(ACTIVITY_KINDS)}")
    if outcome is not None and outcome not in OUTCOMES:
        raise UsageError(f"unknown outcome '{outcome}'", f"use one of: {', '.join(OUTCOMES)}")
    if due is not None and not next_action:
        raise UsageError("--due needs --next ACTION", "pipe log X call --next \"send the quote\" --due fri")
    item: dict[str, Any] = {"date": when, "kind": kind}
    if outcome:
        item["outcome"] = outcome
    if note:
        item["note"] = note
    changes: list[Change] = [Append(("activities",), item)]
    held = kind in ("meeting", "visit") and outcome == "held"
    fm = c.first_meeting
    if held and fm is not None and not fm.held:
        changes.append(SetKey(("first_meeting", "held"), True))
        if fm.date is None or when < fm.date:  # it took place earlier than planned
            changes.append(SetKey(("first_meeting", "date"), when))
    elif held and fm is None and c.stage in (OPPORTUNITY, FIRST_APPOINTMENT):
        changes.append(SetKey(("first_meeting",), {"date": when, "held": True}))
    if next_action:
        changes.append(SetKey(("next",), {"action": next_action, "due": due}))
    return changes


def set_meeting(c: Contact, when: date, today: date, rules: GateRules) -> tuple[list[Change], list[str]]:
    """Set the first meeting; an opportunity moves to FA when that meets its gate. Returns (changes, missing)."""
    changes: list[Change] = [SetKey(("first_meeting",), {"date": when, "held": False})]
    if c.stage != OPPORTUNITY:
        return changes, []
    after = c._replace(first_meeting=FirstMeeting(when, False))
    missing = gate(after, FIRST_APPOINTMENT, today, rules)
    if not missing:
        changes += [SetKey(("stage",), FIRST_APPOINTMENT),
                    Append(("history",), history_entry(today, OPPORTUNITY, FIRST_APPOINTMENT,
                                                       f"first meeting set for {when.isoformat()}"))]
    return changes, missing


def qualify(values: dict[str, Any], verbal_yes: date | None) -> list[Change]:
    """Record the B criteria given (None = not given) and the verbal agreement."""
    changes: list[Change] = [SetKey(("criteria", key), value) for key, value in values.items() if value is not None]
    if verbal_yes is not None:
        changes.append(SetKey(("verbal_yes",), verbal_yes))
    return changes


def defer(until: date, reason: str, today: date) -> list[Change]:
    if not reason.strip():
        raise UsageError("the reason is empty", "say what they said: --reason \"call me after the summer\"")
    if until <= today:
        raise UsageError(f"--until {until} is not in the future", "give the date they asked to be called: --until +6m")
    return [SetKey(("deferred",), {"until": until, "reason": reason, "asked": today})]
