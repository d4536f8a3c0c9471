"""The gates of the ladder: what evidence each promotion needs, and what a move writes (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from .errors import GateError, UsageError
from .model import (
    FIRST_APPOINTMENT,
    LADDER,
    OPPORTUNITY,
    RESERVE,
    STAGE_BY_ID,
    A,
    Append,
    B,
    C,
    Change,
    Closed,
    Contact,
    SetKey,
    stage_letter,
)


@dataclass(frozen=True)
class GateRules:
    """The settings the gates read: field or phone sales, and the normal sales cycle."""

    mode: str = "field"
    sales_cycle_days: int = 90


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def criteria_checks(c: Contact, today: date, rules: GateRules) -> list[Check]:
    """The five B criteria of the method, each with what is recorded or missing."""
    cr = c.criteria
    checks = [
        Check("decision_maker", cr.decision_maker is True,
              "the real decision-maker" if cr.decision_maker else
              "not confirmed that we deal with the decision-maker (qualify --decision-maker)"),
        Check("proposal_fits", cr.proposal_fits is True,
              "the proposal fits what they want" if cr.proposal_fits else
              "not confirmed that the proposal fits (qualify --proposal-fits)"),
        Check("budget", cr.budget is True,
              "budget and price discussed and acceptable" if cr.budget else
              "pricing basics not discussed or not acceptable (qualify --budget)"),
    ]
    if cr.decision_date is None or cr.start_date is None:
        missing = [n for n, v in (("decision date", cr.decision_date), ("start date", cr.start_date)) if v is None]
        checks.append(Check("timetable", False,
                            f"no {' and no '.join(missing)} (qualify --decision-date D --start-date D)"))
    elif cr.start_date < cr.decision_date:
        checks.append(Check("timetable", False,
                            f"start date {cr.start_date} is before the decision date {cr.decision_date}"))
    elif cr.decision_date < today:
        checks.append(Check("timetable", False,
                            f"decision date {cr.decision_date} has passed: record the new one"))
    elif cr.decision_date > today + timedelta(days=rules.sales_cycle_days):
        checks.append(Check("timetable", False,
                            f"decision date {cr.decision_date} is beyond the {rules.sales_cycle_days}-day sales cycle"))
    else:
        checks.append(Check("timetable", True, f"decide by {cr.decision_date}, start {cr.start_date}"))
    step = cr.next_step or (c.next.action if c.next and c.next.due else None)
    checks.append(Check("next_step", bool(step),
                        str(step) if step else "no concrete next step (qualify --next-step TEXT)"))
    return checks


def talked_call_days(c: Contact) -> list[date]:
    return sorted({a.date for a in c.activities if a.kind == "call" and a.outcome == "talked"})


def meeting_held(c: Contact) -> bool:
    if c.first_meeting and c.first_meeting.held:
        return True
    return any(a.kind in ("meeting", "visit") and a.outcome == "held" for a in c.activities)


def gate(c: Contact, target: str, today: date, rules: GateRules) -> list[str]:
    """What is missing to enter `target` from the rung below it; empty when the gate is met."""
    missing: list[str] = []
    if target == FIRST_APPOINTMENT:
        if rules.mode == "phone":
            days = talked_call_days(c)
            if len(days) < 2:
                missing.append(
                    f"a second effective call: {len(days)} call{'' if len(days) == 1 else 's'} where you talked, "
                    "on different days, "
                    "need 2 (pipe log CONTACT call --outcome talked)")
        elif not (c.first_meeting and c.first_meeting.date):
            missing.append("a first meeting date (pipe meet CONTACT DATE)")
    elif target == C:
        if not meeting_held(c):
            missing.append("the first meeting held (pipe log CONTACT meeting --outcome held)")
        if not (c.next and c.next.due):
            missing.append("a further step they committed to, with a date (pipe log CONTACT note --next ACTION --due D)")
    elif target == B:
        missing.extend(ch.detail for ch in criteria_checks(c, today, rules) if not ch.ok)
    elif target == A:
        if c.verbal_yes is None:
            missing.append("a verbal agreement to buy, with its date (pipe qualify CONTACT --verbal-yes DATE)")
        missing.extend(f"B criterion no longer holds: {ch.detail}" for ch in criteria_checks(c, today, rules) if not ch.ok)
    elif target == "closed" and not (c.closed and c.closed.date):
        missing.append("the formal commitment's date (pipe promote CONTACT --to closed --value V)")
    return missing


def steps_up(current: str, target: str) -> list[str]:
    """The rungs a promotion passes through, ending with target; from the reserve it starts at O."""
    if target == RESERVE:
        raise UsageError("promotion does not lead to the reserve", "use 'pipe demote CONTACT --to reserve --reason TEXT'")
    start = -1 if current == RESERVE else LADDER.index(current)
    end = LADDER.index(target)
    if end <= start:
        raise UsageError(
            f"{stage_letter(target)} is not above {stage_letter(current)}",
            "use 'pipe demote' to move a contact back")
    return list(LADDER[start + 1 : end + 1])


def next_up(current: str) -> str:
    if current == RESERVE:
        return OPPORTUNITY
    index = LADDER.index(current)
    if index + 1 >= len(LADDER):
        raise GateError("the contact is already closed: there is no class above it")
    return LADDER[index + 1]


def history_entry(today: date, frm: str, to: str, reason: str | None, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"date": today, "from": frm, "to": to}
    if reason:
        entry["reason"] = reason
    entry.update({k: v for k, v in extra.items() if v not in (None, False)})
    return entry


def promote(c: Contact, target: str | None, today: date, rules: GateRules, *,
            force_reason: str | None = None, closed_on: date | None = None,
            value: float | None = None, currency: str | None = None, reason: str | None = None) -> list[Change]:
    """The changes that move `c` up to `target` (default: one class), or GateError listing what is missing."""
    target = target or next_up(c.stage)
    changes: list[Change] = []
    if target == "closed":
        commitment: dict[str, Any] = {"date": closed_on or today}
        if value is not None:
            commitment["value"] = value
            if c.value is None:  # the deal size, now known
                changes.append(SetKey(("value",), value))
            if currency is not None and c.currency is None:  # kept as typed: never summed with another currency
                changes.append(SetKey(("currency",), currency))
        changes.append(SetKey(("closed",), commitment))
        c = c._replace(closed=Closed(closed_on or today, value))
    missing: list[str] = []
    for step in steps_up(c.stage, target):
        if c.stage == RESERVE and step == OPPORTUNITY:
            continue  # bringing a contact back from the reserve needs no evidence
        missing.extend(f"{stage_letter(step)}: {m}" for m in gate(c, step, today, rules))
    if missing and force_reason is None:
        raise GateError(
            f"cannot promote {c.label} from {stage_letter(c.stage)} to {stage_letter(target)}; missing:\n  - "
            + "\n  - ".join(missing),
            "record the evidence, or override with --force --reason TEXT")
    changes.append(SetKey(("stage",), target))
    changes.append(Append(("history",), history_entry(
        today, c.stage, target, force_reason if missing else reason, forced=bool(missing))))
    return changes


def demote(c: Contact, target: str | None, today: date, reason: str, rule: str | None = None) -> list[Change]:
    """The changes that move `c` back one class (or to `target`, the reserve included)."""
    if c.stage == RESERVE:
        raise UsageError(f"{c.label} is already in the reserve", "bring it back with 'pipe promote CONTACT --to opportunity'")
    if target is None:
        index = LADDER.index(c.stage)
        if index == 0:
            raise UsageError("an opportunity has no class below it", "use --to reserve to take it out of the pipeline")
        target = LADDER[index - 1]
    if target != RESERVE and LADDER.index(target) >= LADDER.index(c.stage):
        raise UsageError(f"{stage_letter(target)} is not below {stage_letter(c.stage)}",
                         "use 'pipe promote' to move a contact up")
    changes: list[Change] = [SetKey(("stage",), target),
                             Append(("history",), history_entry(today, c.stage, target, reason, rule=rule))]
    if target == OPPORTUNITY:
        changes.insert(1, SetKey(("source",), "fallback"))
    return changes


def supported_stage(c: Contact, today: date, rules: GateRules) -> str:
    """The highest class the recorded evidence supports, climbing gate by gate from O."""
    reached = OPPORTUNITY
    for step in LADDER[1:]:
        if gate(c, step, today, rules):
            break
        reached = step
    return reached


def stage_rank(sid: str) -> int:
    return STAGE_BY_ID[sid].rank


# --- classify: the recorded class against the one the evidence supports --------------------------


@dataclass(frozen=True)
class Mismatch:
    """A contact whose recorded class is not the one its recorded evidence supports."""

    contact: Contact
    supported: str
    missing: tuple[str, ...] = ()  # over-classified: what the recorded class still lacks, gate by gate
    evidence: tuple[str, ...] = ()  # under-classified: what supports the higher class

    @property
    def recorded(self) -> str:
        return self.contact.stage

    @property
    def direction(self) -> str:
        return "over" if stage_rank(self.recorded) > stage_rank(self.supported) else "under"


def evidence_for(c: Contact, step: str, rules: GateRules) -> str:
    """What, in the file, meets the gate into `step` (to say why a contact belongs higher)."""
    if step == FIRST_APPOINTMENT:
        if rules.mode == "phone":
            return f"FA: effective calls on {', '.join(map(str, talked_call_days(c)[:2]))}"
        return f"FA: first meeting set for {c.first_meeting.date if c.first_meeting else '?'}"
    if step == C:
        return f"C: first meeting held, next step due {c.next.due if c.next else '?'}"
    if step == B:
        return "B: all five criteria hold"
    return f"A: verbal yes on {c.verbal_yes}"


def classify(c: Contact, today: date, rules: GateRules) -> Mismatch | None:
    """Compare a pipeline contact's class (O to A) with the highest one its evidence supports; None when they agree.

    Closing is never inferred: a contact is supported at most at A. Closed contacts and the
    reserve are outside classification.
    """
    if c.stage not in LADDER[:-1]:
        return None
    supported = supported_stage(c, today, rules)
    if supported == "closed":
        supported = A
    if supported == c.stage:
        return None
    low, high = sorted((stage_rank(supported), stage_rank(c.stage)))
    steps = LADDER[low + 1 : high + 1]
    if stage_rank(c.stage) < stage_rank(supported):
        return Mismatch(c, supported, evidence=tuple(evidence_for(c, s, rules) for s in steps))
    missing: list[str] = []
    for step in steps:
        for item in gate(c, step, today, rules):
            if step == A and B in steps and item.startswith("B criterion no longer holds"):
                continue  # already listed under B
            missing.append(f"{stage_letter(step)}: {item}")
    return Mismatch(c, supported, missing=tuple(missing))


_HINT = re.compile(r" \((?:pipe |qualify )[^)]*\)")  # the command that records it: for a screen, not a history


def reclassify(m: Mismatch, today: date, rules: GateRules) -> list[Change]:
    """The changes that move a misclassified contact to the class its evidence supports, with a 'classify:' reason."""
    letter = stage_letter(m.supported)
    if m.direction == "over":
        missing = "; ".join(_HINT.sub("", item) for item in m.missing)
        return demote(m.contact, m.supported, today, f"classify: the evidence supports {letter}; missing {missing}")
    return promote(m.contact, m.supported, today, rules,
                   reason=f"classify: the evidence supports {letter} (" + "; ".join(m.evidence) + ")")
