"""What recording evidence writes into a contact: new contacts, activities, meetings, criteria, deferrals (pure)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import date
from typing import Any

from .errors import PipeError, UsageError
from .ladder import (
    CLEARED,
    DONE,
    DROPPED,
    FIRST_MEETING_ACTION,
    GateRules,
    change_next,
    gate,
    history_entry,
    next_data,
    next_sentence,
)
from .model import (
    ACTIVITY_KINDS,
    FIRST_APPOINTMENT,
    MEETING_KINDS,
    NOT_MET,
    OPPORTUNITY,
    OUTCOMES,
    STEPS,
    Append,
    Change,
    Contact,
    FirstMeeting,
    SetKey,
    kind_id,
    new_contact_data,
    outcome_id,
    step_id,
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


def activity_words(kind: str, outcome: str | None, step: str | None) -> tuple[str, str | None, str | None]:
    """The kind, outcome and step the user meant (any case, or the Chinese words); a usage error names a bad one."""
    found = kind_id(kind)
    if found is None:
        raise UsageError(f"unknown activity kind '{kind}'", f"use one of: {', '.join(ACTIVITY_KINDS)}")
    result = outcome_id(outcome) if outcome is not None else None
    if outcome is not None and result is None:
        raise UsageError(f"unknown outcome '{outcome}'", f"use one of: {', '.join(OUTCOMES)}")
    served = step_id(step) if step is not None else None
    if step is not None and served is None:
        raise UsageError(f"unknown step '{step}'", f"the four steps of a sale: {', '.join(STEPS)}")
    return found, result, served


def next_given(next_action: str | None, due: date | None) -> str | None:
    """The --next the user gave: '-' clears (returned as ''), an empty text is a mistake; --due needs --next."""
    if next_action is not None and not next_action.strip():
        raise UsageError("--next is empty", "give the next action, or '--next -' to clear it")
    if next_action is not None and next_action.strip() == "-":
        if due is not None:
            raise UsageError("--next - clears the next action: it takes no --due", "leave out --due")
        return ""
    if due is not None and not next_action:
        raise UsageError("--due needs --next ACTION", "pipe log X call --next \"send the quote\" --due fri")
    return next_action.strip() if next_action is not None else None


def log_activity(c: Contact, kind: str, when: date, today: date, *, outcome: str | None = None,
                 note: str | None = None, next_action: str | None = None, due: date | None = None,
                 step: str | None = None, new_date: date | None = None) -> tuple[list[Change], str | None]:
    """Record an activity and what it means for the first meeting and the next action.

    Returns the changes and a sentence saying what became of the next action (or None). A meeting
    that was held, missed (no-show) or cancelled ends the first-meeting next action `pipe meet`
    set; a rescheduled one moves the first meeting, and that next action, to the new date.
    """
    kind, outcome, step = activity_words(kind, outcome, step)
    wanted = next_given(next_action, due)
    if outcome in NOT_MET and kind not in MEETING_KINDS:
        raise UsageError(f"'{outcome}' is said of a meeting or a visit, not of a {kind}",
                         f"pipe log X meeting --outcome {outcome}")
    if (outcome == "rescheduled") != (new_date is not None):
        raise UsageError("a rescheduled meeting needs its new date, and only a rescheduled one has one",
                         "pipe log X meeting --outcome rescheduled --new-date 2026-12-10")
    item: dict[str, Any] = {"date": when, "kind": kind}
    if outcome:
        item["outcome"] = outcome
    if step:
        item["step"] = step
    fm = c.first_meeting
    if outcome in NOT_MET and fm is not None and fm.date is not None and not fm.held:
        item["from"] = fm.date  # the first meeting it was about (a rescheduling says where it moved to)
    if new_date is not None:
        item["to"] = new_date
    if note:
        item["note"] = note
    changes: list[Change] = [Append(("activities",), item)]
    held = kind in MEETING_KINDS and outcome == "held"
    if held and fm is not None and not fm.held:
        changes.append(SetKey(("first_meeting", "held"), True))
        if fm.date is None or when < fm.date:  # it took place earlier than planned
            changes.append(SetKey(("first_meeting", "date"), when))
    elif held and fm is None and c.stage in (OPPORTUNITY, FIRST_APPOINTMENT):
        changes.append(SetKey(("first_meeting",), {"date": when, "held": True}))
    if new_date is not None and (fm is None or not fm.held):
        changes.append(SetKey(("first_meeting",), {"date": new_date, "held": False}))
    meeting_next = c.next is not None and c.next.action == FIRST_MEETING_ACTION
    new: dict[str, Any] | None
    if wanted is not None:  # what the user says comes next wins
        new = next_data(wanted, due, today) if wanted else None
        how = DONE if meeting_next and held else None
        changes += change_next(c, new, today, "log", how)
        return changes, next_sentence(c.next, new, how)
    if meeting_next and kind in MEETING_KINDS and outcome in ("held", "no-show", "cancelled", "rescheduled"):
        if outcome == "rescheduled":
            new = next_data(FIRST_MEETING_ACTION, new_date, today)
            changes += change_next(c, new, today, "log", note=f"rescheduled to {new_date}")
            return changes, next_sentence(c.next, new)
        how = DONE if held else CLEARED
        changes += change_next(c, None, today, "log", how, note=None if held else f"meeting {outcome}")
        return changes, next_sentence(c.next, None, how, None if held else f"the meeting: {outcome}")
    return changes, None


def done(c: Contact, today: date, when: date, *, kind: str = "note", outcome: str | None = None,
         note: str | None = None, step: str | None = None, next_action: str | None = None,
         due: date | None = None, not_done: bool = False) -> tuple[list[Change], str]:
    """Finish the next action: done (an activity says so) or dropped without doing it; then the following one."""
    if c.next is None:
        raise PipeError(f"{c.label} has no next action to finish",
                         "record what happened with pipe log; set one with pipe log X note --next ACTION --due D")
    wanted = next_given(next_action, due)
    new = next_data(wanted, due, today) if wanted else None
    changes: list[Change] = []
    if not_done:
        if kind != "note" or outcome or step:
            raise UsageError("--not-done records no activity: it takes no --kind, --outcome or --step",
                             "say why with --note")
        changes += change_next(c, new, today, "done", DROPPED, note)
        return changes, next_sentence(c.next, new, DROPPED, note) or ""
    kind, outcome, step = activity_words(kind, outcome, step)
    if outcome in NOT_MET:
        raise UsageError(f"a {outcome} meeting did not get the next action done",
                         f"pipe log X meeting --outcome {outcome}, or pipe done X --not-done")
    item: dict[str, Any] = {"date": when, "kind": kind}
    if outcome:
        item["outcome"] = outcome
    if step:
        item["step"] = step
    item["note"] = f"done: {c.next.action}" + (f"; {note}" if note else "")
    changes.append(Append(("activities",), item))
    if kind in MEETING_KINDS and outcome == "held" and c.first_meeting is not None and not c.first_meeting.held:
        changes.append(SetKey(("first_meeting", "held"), True))
    changes += change_next(c, new, today, "done", DONE)
    return changes, next_sentence(c.next, new, DONE) or ""


def set_meeting(c: Contact, when: date, today: date, rules: GateRules, *, next_action: str | None = None,
                due: date | None = None) -> tuple[list[Change], list[str], str | None]:
    """Set the first meeting, which becomes the next action unless another is given; an opportunity moves
    to FA when that meets its gate. Returns (changes, missing, what became of the old next action)."""
    wanted = next_given(next_action, due)
    changes: list[Change] = [SetKey(("first_meeting",), {"date": when, "held": False})]
    new = next_data(FIRST_MEETING_ACTION, when, today) if wanted is None else \
        (next_data(wanted, due, today) if wanted else None)
    said = next_sentence(c.next, new)
    if c.next is None or new is None or (c.next.action, c.next.due) != (new["action"], new.get("due")):
        changes += change_next(c, new, today, "meet")
    else:
        said = None
    if c.stage != OPPORTUNITY:
        return changes, [], said
    after = c._replace(first_meeting=FirstMeeting(when, False))
    missing = gate(after, FIRST_APPOINTMENT, today, rules)
    if not missing:
        changes += [SetKey(("stage",), FIRST_APPOINTMENT),
                    Append(("history",), history_entry(today, OPPORTUNITY, FIRST_APPOINTMENT,
                                                       f"first meeting set for {when.isoformat()}"))]
    return changes, missing, said


def qualify(c: Contact, values: dict[str, Any], verbal_yes: date | None, today: date, *,
            next_step: str | None = None, due: date | None = None) -> tuple[list[Change], str | None]:
    """Record the B criteria given (None = not given), when they were checked, and the verbal agreement.

    The next step (criterion 5) is the next action: --next-step replaces it, the old one kept."""
    changes: list[Change] = [SetKey(("criteria", key), value) for key, value in values.items() if value is not None]
    if changes:
        changes.append(SetKey(("criteria", "checked"), today))
    if verbal_yes is not None:
        changes.append(SetKey(("verbal_yes",), verbal_yes))
    if due is not None and not next_step:
        raise UsageError("--due needs --next-step TEXT", "pipe qualify X --next-step \"workshop with IT\" --due fri")
    wanted = next_given(next_step, due)
    said = None
    if wanted is not None:
        new = next_data(wanted, due, today) if wanted else None
        if c.next is None or new is None or (c.next.action, c.next.due) != (new["action"], new.get("due")):
            changes += change_next(c, new, today, "qualify")
            said = next_sentence(c.next, new)
        if not any(isinstance(ch, SetKey) and ch.path == ("criteria", "checked") for ch in changes):
            changes.append(SetKey(("criteria", "checked"), today))
    return changes, said


def defer(c: Contact, until: date, reason: str, today: date) -> tuple[list[Change], str | None]:
    """Record a "call me later": the next action becomes calling back on that day (the old one kept)."""
    if not reason.strip():
        raise UsageError("the reason is empty", "say what they said: --reason \"call me after the summer\"")
    if until <= today:
        raise UsageError(f"--until {until} is not in the future", "give the date they asked to be called: --until +6m")
    new = next_data(f"call back as agreed ({reason.strip()})", until, today)
    changes: list[Change] = [SetKey(("deferred",), {"until": until, "reason": reason, "asked": today})]
    changes += change_next(c, new, today, "defer")
    return changes, next_sentence(c.next, new)
