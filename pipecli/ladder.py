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
    Criteria,
    Delete,
    NextAction,
    SetKey,
    stage_letter,
)

# --- the next action's life cycle: set, replaced, done, dropped or cleared, the old one kept ---------

FIRST_MEETING_ACTION = "first meeting"  # the next action `pipe meet` sets
DONE, DROPPED, REPLACED, CLEARED = "done", "dropped", "replaced", "cleared"


def next_data(action: str, due: date | None, today: date) -> dict[str, Any]:
    """A next action as written into the file: with the day it was agreed (decision-deferred reads it)."""
    out: dict[str, Any] = {"action": action}
    if due is not None:
        out["due"] = due
    out["agreed"] = today
    return out


def change_next(c: Contact, new: dict[str, Any] | None, today: date, by: str, how: str | None = None,
                note: str | None = None) -> list[Change]:
    """Set the next action (None: clear it); the old one goes to past_actions with how it ended and by what.

    `how` defaults to replaced (a new one is set) or cleared. A next step from an old file's
    criteria.next_step is the next action too: it is cleared there so that it cannot come back.
    """
    old = c.next
    if old is None and new is None:
        return []
    changes: list[Change] = []
    if old is not None:
        entry: dict[str, Any] = {"date": today, "action": old.action, "due": old.due,
                                 "end": how or (REPLACED if new is not None else CLEARED), "by": by}
        if note:
            entry["note"] = note
        changes.append(Append(("past_actions",), entry))
    # Removed first, then written whole: a new action never keeps the old one's due date or keys, and a
    # cleared one leaves no `next:` behind (a three-way merge then keeps the other side's new action).
    changes.append(Delete(("next",)))
    if new is not None:
        changes.append(SetKey(("next",), new))
    if c.criteria.next_step:
        changes.append(SetKey(("criteria", "next_step"), None))
    return changes


def _said(nx: NextAction | dict[str, Any]) -> str:
    action, due = (nx.action, nx.due) if isinstance(nx, NextAction) else (nx["action"], nx.get("due"))
    return f"'{action}'" + (f" (due {due})" if due else "")


def next_sentence(old: NextAction | None, new: dict[str, Any] | None, how: str | None = None,
                  why: str | None = None) -> str | None:
    """What became of the next action, in one sentence for the user; None when there was none and is none."""
    if old is None:
        return f"Next action: {_said(new)}." if new is not None else None
    if new is not None:
        return f"Next action {_said(old)} {'done; next' if how == DONE else 'replaced by'} {_said(new)}."
    ended = {DONE: "done and cleared", DROPPED: "cleared without being done"}.get(how or CLEARED, "cleared")
    return f"Next action {_said(old)} {ended}" + (f" ({why})" if why else "") + " (kept under past_actions)."


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
    # The next step and the next action are one thing (old files' criteria.next_step is read as the next action).
    step = c.next.action if c.next else None
    checks.append(Check("next_step", bool(step),
                        str(step) if step else "no concrete next step (qualify --next-step TEXT, or --next)"))
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
        elif (c.next.agreed is not None and c.first_meeting is not None and c.first_meeting.date is not None
              and c.next.agreed < c.first_meeting.date):  # a step set before they met is no commitment from the meeting
            missing.append(f"a further step agreed at or after the first meeting ('{c.next.action}' was set on "
                           f"{c.next.agreed}, before the meeting on {c.first_meeting.date}; pipe log CONTACT meeting "
                           "--outcome held --next ACTION --due D)")
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
        changes.extend(change_next(c, None, today, "close"))  # the plan's service calls take over
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


def demote(c: Contact, target: str | None, today: date, reason: str, rule: str | None = None, *,
           next_action: str | None = None, due: date | None = None, by: str = "demote",
           clear_next: bool | None = None) -> list[Change]:
    """The changes that move `c` back one class (or to `target`, the reserve included).

    A move to the reserve clears the next action (kept under past_actions), and so does `pipe
    demote` (clear_next): it belonged to the higher class. A new one can be given instead. A rule's
    or classify's demotion keeps it: it is the lower class's evidence of a further step, and
    clearing it would make the next classify demote the contact once more."""
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
    if next_action:
        changes.extend(change_next(c, next_data(next_action, due, today), today, by))
    elif clear_next or (clear_next is None and target == RESERVE):
        changes.extend(change_next(c, None, today, by))
    return changes


def supported_stage(c: Contact, today: date, rules: GateRules, *, judged: bool = False) -> str:
    """The highest class the recorded evidence supports, climbing gate by gate from O.

    With `judged` (classify), after a move down only the evidence that may support each class counts
    (see evidence_for). Without it every record counts: the merge of two sides' files weighs evidence
    one side's demotion never saw."""
    reached = OPPORTUNITY
    for step in LADDER[1:]:
        if (judged_gate if judged else gate)(c, step, today, rules):
            break
        reached = step
    return reached


def stage_rank(sid: str) -> int:
    return STAGE_BY_ID[sid].rank


# --- one judgement: evidence already weighed by a demotion, and stages moved by hand ------------------


def _last_down(c: Contact) -> tuple[date, str] | None:
    """(day, class it went to) of the contact's last move down: a demotion (by a rule, classify or by hand)
    or a move to the reserve."""
    for h in reversed(c.history):
        if h.from_ is None or h.from_ == RESERVE:
            continue
        if h.to == RESERVE or stage_rank(h.to) < stage_rank(h.from_):
            return h.date, h.to
    return None


def last_move_down(c: Contact) -> date | None:
    """The day of the contact's last move down: evidence recorded before it was weighed by that move."""
    down = _last_down(c)
    return down[0] if down else None


def evidence_for(c: Contact, step: str) -> Contact:
    """The contact as evidence for entering `step`: after a move down, what came before it still supports the
    class it moved down to, but only what was recorded since supports a class above that one."""
    down = _last_down(c)
    if down is None or (down[1] != RESERVE and stage_rank(step) <= stage_rank(down[1])):
        return c
    return judged(c)


def judged_gate(c: Contact, step: str, today: date, rules: GateRules) -> list[str]:
    """What is missing to enter `step`, counting only the evidence that may support it (see evidence_for)."""
    return gate(evidence_for(c, step), step, today, rules)


def judged(c: Contact) -> Contact:
    """The contact with only the evidence recorded since its last move down: what came before was judged.

    Activities and dates count from that day on (the day itself included); a first meeting counts
    when its date is on or after it; a next action when it was agreed since (or, in older files
    that do not say when, falls due since); the B criteria when `pipe qualify` checked them since.
    """
    cut = last_move_down(c)
    if cut is None:
        return c
    fm = c.first_meeting if c.first_meeting is not None and c.first_meeting.date is not None \
        and c.first_meeting.date >= cut else None
    nx = c.next
    if nx is not None and not ((nx.agreed or nx.due or date.min) >= cut):
        nx = None
    criteria = c.criteria if c.criteria.checked is not None and c.criteria.checked >= cut else Criteria()
    return c._replace(activities=tuple(a for a in c.activities if a.date >= cut), first_meeting=fm, next=nx,
                      criteria=criteria, verbal_yes=c.verbal_yes if c.verbal_yes and c.verbal_yes >= cut else None)


def hand_move(c: Contact) -> tuple[str, str] | None:
    """(from, to) when the stage was changed in the file without a history entry (by hand); else None."""
    if c.history and c.history[-1].to != c.stage:
        return c.history[-1].to, c.stage
    return None


def gate_skipped(c: Contact, today: date, rules: GateRules) -> tuple[str, str, list[str]] | None:
    """A move up made by hand whose gates are not met: (from, to, what is missing), else None."""
    moved = hand_move(c)
    if moved is None:
        return None
    frm, to = moved
    if to == RESERVE or frm == RESERVE or stage_rank(to) <= stage_rank(frm):
        return None
    missing = [f"{stage_letter(step)}: {m}" for step in steps_up(frm, to) for m in gate(c, step, today, rules)]
    return (frm, to, missing) if missing else None


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


def evidence_words(c: Contact, step: str, rules: GateRules) -> str:
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
    reserve are outside classification. Only evidence recorded since the last move down counts
    (see `judged`): what came before was weighed by that demotion.
    """
    if c.stage not in LADDER[:-1]:
        return None
    supported = supported_stage(c, today, rules, judged=True)
    if supported == "closed":
        supported = A
    if supported == c.stage:
        return None
    low, high = sorted((stage_rank(supported), stage_rank(c.stage)))
    steps = LADDER[low + 1 : high + 1]
    if stage_rank(c.stage) < stage_rank(supported):
        return Mismatch(c, supported, evidence=tuple(evidence_words(evidence_for(c, s), s, rules) for s in steps))
    missing: list[str] = []
    for step in steps:
        for item in judged_gate(c, step, today, rules):
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
        return demote(m.contact, m.supported, today, f"classify: the evidence supports {letter}; missing {missing}",
                      by="classify")
    return promote(m.contact, m.supported, today, rules,
                   reason=f"classify: the evidence supports {letter} (" + "; ".join(m.evidence) + ")")
