"""The week of METHOD §6: the eight-priority plan, and the data of the weekly report (pure).

A plan is the work of a period (a week from today, or today alone) in the method's eight
categories, in order: new contacts, first meetings, A to closed, B to A, C to B, service calls,
fallback opportunities, admin. Each contact lands in at most one category, by its class and
source, and only when something is due by the end of the period. The report is the board, what
moved in a period (read from the stage histories), the activity, the conversion ratios, the
review findings and the plan for the week, all computed from the files and `today` alone.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, NamedTuple

from .amounts import by_currency, fmt_money
from .dates import WEEKDAYS
from .errors import ConfigError
from .funnel import RANK, Board, FunnelRules, Stats, build_board, build_stats
from .ladder import FIRST_MEETING_ACTION, GateRules, criteria_checks, evidence_for, gate_skipped, judged_gate
from .listing import sort_key
from .model import (
    ACTIVITY_KINDS,
    ANSWERED,
    CLOSED,
    CONTACTS_DIR,
    FIRST_APPOINTMENT,
    OPPORTUNITY,
    OUTCOMES,
    RESERVE,
    UNANSWERED,
    A,
    Activity,
    B,
    C,
    Contact,
    stage_letter,
)
from .rules import CUSTOM, Verdict, evaluate

if TYPE_CHECKING:
    from .config import Config

WEEK, DAY = "week", "day"
FALLBACK_SOURCE = "fallback"

# The eight categories of METHOD §6, in the order the work is done.
NEW, FIRST_MEETINGS, A_TO_CLOSED, B_TO_A, C_TO_B, SERVICE, FALLBACK, ADMIN = (
    "new-contacts", "first-meetings", "a-to-closed", "b-to-a", "c-to-b", "service", "fallback", "admin")
CATEGORIES: tuple[tuple[str, str], ...] = (
    (NEW, "New contacts to call or e-mail"),
    (FIRST_MEETINGS, "First meetings with new contacts"),
    (A_TO_CLOSED, "A to close"),
    (B_TO_A, "B to bring to A"),
    (C_TO_B, "C to bring to B"),
    (SERVICE, "Service calls to just-closed and existing customers"),
    (FALLBACK, "First meetings with fallback opportunities"),
    (ADMIN, "Admin: the weekly report, files to fix, findings to decide"),
)
ATTEMPT_KINDS = ("call", "email", "meeting", "visit")  # a note is not contact with the person
CRITERION_WORDS: Mapping[str, str] = {"decision_maker": "decision-maker", "proposal_fits": "proposal fits",
                                      "budget": "budget", "timetable": "timetable", "next_step": "next step"}
SHOWN_IN_PLACE = ("overdue", "no-next-step")  # findings the categories already show, marked, where the work is


@dataclass(frozen=True)
class WeekRules:
    """The settings the plan reads (week.* in pipe.yaml)."""

    retry_days: int = 7
    service_days: int = 30
    customer_call_days: int = 90
    catch_up_weeks: int = 4
    report_day: int = 4  # Monday is 0: Friday

    @classmethod
    def from_config(cls, config: Config) -> WeekRules:
        return cls(retry_days=config["week.retry_days"], service_days=config["week.service_days"],
                   customer_call_days=config["week.customer_call_days"],
                   catch_up_weeks=config["week.catch_up_weeks"],
                   report_day=WEEKDAYS.index(config["week.report_day"]))


class Rejected(NamedTuple):
    """A problem `pipe check` reports: the file, the line and what is wrong."""

    path: str
    line: int | None
    message: str


# --- the plan ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One piece of work: about a contact (or a file, or the report), what to do, by when."""

    kind: str  # "contact", "finding", "file" or "report"
    action: str
    due: date | None = None
    overdue: bool = False  # a recorded date (next action, first meeting, end of a deferral) has passed
    contact: Contact | None = None
    subject: str | None = None  # what a non-contact item is about: a file's path, the weekly report
    notes: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()  # C to B: the B criteria still missing
    rule: str | None = None  # a finding's rule
    line: int | None = None  # a file's first problem's line

    @property
    def who(self) -> str:
        return self.contact.slug if self.contact is not None else (self.subject or "")


@dataclass(frozen=True)
class Category:
    number: int
    id: str
    title: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Prospecting:
    """Monday afternoon's block: how many opportunities and first appointments the board needs this week.

    The pace keeps the board at its ideal (each class's ideal comes in once per cycle); the
    catch-up makes up the board's shortfall over `catch_up_weeks` weeks.
    """

    board: Board
    catch_up_weeks: int

    @property
    def cycle_weeks(self) -> float:
        first, last = self.board.cycle
        return ((last - first).days + 1) / 7

    @property
    def pace_opportunities(self) -> float:
        return self.board.row(OPPORTUNITY).ideal / self.cycle_weeks

    @property
    def pace_first_appointments(self) -> float:
        return self.board.row(FIRST_APPOINTMENT).ideal / self.cycle_weeks

    @property
    def short_opportunities(self) -> int:
        """Whole opportunities below O's ideal (4.5 short is 5 people to find)."""
        return self.board.opportunities_needed

    @property
    def opportunities(self) -> int:
        return math.ceil(round(self.pace_opportunities + self.short_opportunities / self.catch_up_weeks, 6))

    @property
    def first_appointments(self) -> int:
        extra = self.board.first_appointments_needed / self.catch_up_weeks
        return math.ceil(round(self.pace_first_appointments + extra, 6))


@dataclass(frozen=True)
class Plan:
    scope: str  # WEEK or DAY
    today: date
    start: date
    end: date
    owner: str | None
    prospecting: Prospecting | None  # on a Monday, or for a week
    categories: tuple[Category, ...]

    def category(self, cid: str) -> Category:
        return next(c for c in self.categories if c.id == cid)


def period(today: date, scope: str) -> tuple[date, date]:
    """The days a plan covers: seven from today, or today alone."""
    return today, today + timedelta(days=6 if scope == WEEK else 0)


@dataclass(frozen=True)
class _Span:
    today: date
    end: date
    gates: GateRules
    rules: WeekRules


def _recorded(action: str, due: date, span: _Span, contact: Contact) -> Item | None:
    """An item for a recorded date: due by the end of the period, overdue once it has passed."""
    if due > span.end:
        return None
    return Item("contact", action, due, due < span.today, contact)


def _attempts(c: Contact, after: date | None = None) -> list[Activity]:
    """Calls, e-mails, meetings and visits, oldest first (only those after `after` when given)."""
    found = [a for a in c.activities if a.kind in ATTEMPT_KINDS and (after is None or a.date > after)]
    return sorted(found, key=lambda a: a.date)


def _last(attempts: Sequence[Activity]) -> str:
    last = attempts[-1]
    return f"{last.kind} on {last.date}" + (f", {last.outcome}" if last.outcome else "")


def _opportunity(c: Contact, span: _Span, fallback: bool) -> Item | None:
    """Categories 1 and 7 at O: the first attempt, a retry that is due, or the call agreed after a deferral."""
    nx = c.next
    if nx is not None and nx.due is not None:
        return _recorded(nx.action, nx.due, span, c)
    since = c.stage_since() if fallback else None  # a fallback's earlier attempts belong to its earlier class
    attempts = _attempts(c, since)
    d = c.deferred
    if d is not None and (not attempts or attempts[-1].date <= d.until):
        if d.until > span.end:
            return None  # they asked to be called later than this period
        why = f" ({d.reason})" if d.reason else ""
        return _recorded(f"call back as agreed: they asked to wait until {d.until}{why}", d.until, span, c)
    if not attempts:
        if fallback:
            fell = f" (back at O since {since})" if since else ""
            return Item("contact", f"call to set a new first meeting{fell}", span.today, contact=c)
        return Item("contact", "first call or e-mail: never tried", span.today, contact=c)
    due = attempts[-1].date + timedelta(days=span.rules.retry_days)
    if due > span.end:
        return None
    due = max(due, span.today)  # a retry that fell due earlier is due now, not overdue: no date was agreed
    if attempts[-1].outcome in ANSWERED:
        return Item("contact", f"follow up to set a first meeting (last: {_last(attempts)})", due, contact=c)
    unanswered = 0
    for a in reversed(attempts):
        if a.outcome not in UNANSWERED:
            break
        unanswered += 1
    tries = f"; {unanswered} unanswered in a row" if unanswered > 1 else ""
    return Item("contact", f"try again (last: {_last(attempts)}{tries})", due, contact=c)


def _meeting(c: Contact, span: _Span) -> Item | None:
    """Categories 2 and 7 at FA: the first meeting in the period, or one that passed without being logged."""
    fm = c.first_meeting
    nx = c.next
    step = None
    if nx is not None and nx.action == FIRST_MEETING_ACTION and fm is not None and nx.due == fm.date:
        nx = None  # the meeting itself, which `pipe meet` made the next action: said once, below
    if nx is not None and nx.due is not None and nx.due <= span.end:
        step = (nx.action, nx.due, nx.due < span.today)
    when = fm.date if fm is not None else None
    held = fm is not None and (fm.held or any(
        a.kind in ("meeting", "visit") and a.outcome == "held" and (when is None or a.date >= when)
        for a in c.activities))
    missed = [a for a in c.activities if a.kind in ("meeting", "visit") and a.outcome in ("no-show", "cancelled")
              and (a.moved_from == when if a.moved_from is not None else when is None or a.date >= when)]
    own: tuple[str, date | None, bool] | None
    fix: tuple[str, ...] = ()
    if held:
        own = (("the first meeting is held and the next step agreed: promote to C (pipe promote "
                f"{c.slug})") if not judged_gate(c, C, span.today, span.gates) else
               "the first meeting is held: agree a next step with a date, then promote to C", None, False)
    elif missed:
        last = max(missed, key=lambda a: a.date)
        own = (f"first meeting of {when}: {last.outcome} on {last.date}; set a new date (pipe meet {c.slug} DATE)",
               span.today, False)
    elif when is None:
        own = (f"set the first meeting's date (pipe meet {c.slug} DATE)", None, False)
    elif when < span.today:
        own = (f"first meeting of {when} not logged as held", when, True)
        fix = (f"held? pipe log {c.slug} meeting --outcome held; not held? set a new date: pipe meet {c.slug} DATE",)
    elif when <= span.end:
        own = (f"first meeting on {when} ({WEEKDAYS[when.weekday()].capitalize()})", when, False)
    else:
        own = None
    if own is None and step is None:
        return None
    if own is None:
        assert step is not None
        return Item("contact", step[0], step[1], step[2], c)
    notes = fix + ((f"next: {step[0]}, due {step[1]}" + (" (overdue)" if step[2] else ""),) if step is not None else ())
    dates = [d for d in (own[1], step[1] if step else None) if d is not None]
    return Item("contact", own[0], min(dates) if dates else None, own[2] or bool(step and step[2]), c,
                notes=notes)


def _prospect(c: Contact, span: _Span) -> Item | None:
    """Categories 3 to 5: the next action when it is due in the period, or the lack of one."""
    nx = c.next
    if nx is None:
        base = Item("contact", f"no next step: agree one with a date (pipe log {c.slug} note --next ACTION --due DATE)",
                    contact=c)
    elif nx.due is None:
        base = Item("contact", f"{nx.action} (no date yet: agree one)", contact=c)
    else:
        found = _recorded(nx.action, nx.due, span, c)
        if found is None:
            return None
        base = found
    # evidence from before a demotion was weighed: it supports no class above the one the contact fell to
    checks = criteria_checks(evidence_for(c, B if c.stage == C else c.stage), span.today, span.gates)
    failing = tuple(ch.name for ch in checks if not ch.ok)
    words = ", ".join(CRITERION_WORDS[n] for n in failing)
    notes: list[str] = []
    if c.stage == A:
        notes.append(f"close it: the formal commitment (pipe promote {c.slug} --to closed --value V)")
    elif c.stage == B:
        if c.verbal_yes is None:
            notes.append("the verbal-yes step: ask for the decision (would you bet your salary on it?); "
                         f"record a yes: pipe qualify {c.slug} --verbal-yes DATE")
        else:
            notes.append(f"verbal yes on {c.verbal_yes}: promote to A (pipe promote {c.slug})")
        if failing:
            notes.append(f"B criteria no longer holding: {words}")
    elif failing:
        notes.append(f"missing for B: {words}")
    else:
        notes.append(f"all five B criteria hold: promote to B (pipe promote {c.slug})")
    return Item(base.kind, base.action, base.due, base.overdue, c, notes=tuple(notes),
                missing=failing if c.stage == C else ())


def _customer(c: Contact, span: _Span) -> Item | None:
    """Category 6: the service call after a recent sale, or an existing customer's periodic call."""
    nx = c.next
    closed_on = c.closed.date if c.closed is not None and c.closed.date is not None else c.stage_since()
    if nx is not None and nx.due is not None and (closed_on is None or (nx.agreed or nx.due) >= closed_on):
        return _recorded(nx.action, nx.due, span, c)  # an action agreed before the sale is stale: not shown
    last = max((a.date for a in c.activities if a.kind in ATTEMPT_KINDS), default=None)
    value = c.closed.value if c.closed is not None and c.closed.value is not None else c.value
    if closed_on is not None and span.today - timedelta(days=span.rules.service_days) <= closed_on <= span.today:
        if last is not None and last > closed_on:
            return None  # the service call after the sale was made
        worth = f", {fmt_money(value, c.currency)}" if value is not None else ""
        return Item("contact", f"service call after the sale (closed on {closed_on}{worth})", span.today, contact=c)
    touch = max((d for d in (last, closed_on) if d is not None), default=None)
    if touch is None:
        return Item("contact", "customer call: no contact recorded", span.today, contact=c)
    due = touch + timedelta(days=span.rules.customer_call_days)
    if due > span.end:
        return None
    return Item("contact", f"customer call: last contact on {touch} (every {span.rules.customer_call_days} days)",
                max(due, span.today), contact=c)


def _order(item: Item) -> tuple[bool, date, float, str]:
    """Overdue first (oldest first), then by due date, the undated last; the most valuable first on a day; then slug."""
    c = item.contact
    value = (c.closed.value if c.closed is not None and c.closed.value is not None else c.value) if c else None
    return not item.overdue, item.due or date.max, -(value or 0.0), item.who


def _admin(span: _Span, start: date, findings: Iterable[Verdict], rejected: Sequence[Rejected]) -> list[Item]:
    items: list[Item] = []
    for offset in range((span.end - start).days + 1):
        day = start + timedelta(days=offset)
        if day.weekday() == span.rules.report_day:
            items.append(Item("report", "write and send the weekly report (pipe report --week)", day,
                              subject="weekly report"))
            break
    by_file: dict[str, list[Rejected]] = {}
    for r in rejected:
        by_file.setdefault(r.path, []).append(r)
    chosen = [v for v in findings if v.rule.id not in SHOWN_IN_PLACE]
    # A rule that cannot be evaluated because of a file listed here is said with that file, once.
    blocked: dict[str, list[str]] = {}
    for v in chosen:
        if v.action is None and f"{CONTACTS_DIR}/{v.contact.slug}.yaml" in by_file:
            blocked.setdefault(f"{CONTACTS_DIR}/{v.contact.slug}.yaml", []).append(v.rule.id)
    for path, problems in by_file.items():
        more = len(problems) - 1
        notes: tuple[str, ...] = (f"and {more} more problem{'s' if more != 1 else ''} in this file (pipe check)",) \
            if more else ()
        if path in blocked:
            notes += (f"until then, pipe review cannot evaluate: {', '.join(blocked[path])}",)
        items.append(Item("file", f"fix the file: {problems[0].message}", subject=path, line=problems[0].line,
                          notes=notes))
    for v in sorted(chosen, key=lambda v: v.contact.slug):  # stable: each contact's rules keep their order
        if v.action is None and f"{CONTACTS_DIR}/{v.contact.slug}.yaml" in blocked:
            continue
        if v.action is None:
            items.append(Item("finding", f"fix the file: {v.rule.id} cannot be evaluated", contact=v.contact,
                              notes=(v.why,), rule=v.rule.id))
        else:
            items.append(Item("finding", f"decide: {v.suggestion} ({v.rule.id})", contact=v.contact,
                              notes=(v.why,), rule=v.rule.id))
    return items


def _refused_last(c: Contact) -> date | None:
    """The day of the last answer when it was a refusal: no follow-up is proposed after a "no"."""
    answers = [a for a in c.activities if a.outcome in ANSWERED]
    if not answers:
        return None
    last = max(answers, key=lambda a: a.date)
    return last.date if last.outcome == "refused" else None


def _routine(c: Contact, item: Item, span: _Span) -> Item | None:
    """The routine item as the plan shows it: none after a refusal (unless a next action was agreed since),
    and a note when the stage was moved by hand past its gate."""
    refused = _refused_last(c)
    if refused is not None:
        nx = c.next
        if nx is None or nx.due is None or (nx.agreed or nx.due) < refused or item.action != nx.action:
            return None
    skipped = gate_skipped(c, span.today, span.gates) if c.history else None
    if skipped is not None:
        frm, to, missing = skipped
        note = (f"moved from {stage_letter(frm)} to {stage_letter(to)} by hand: the gate was skipped "
                f"(missing {'; '.join(missing)})")
        return Item(item.kind, item.action, item.due, item.overdue, item.contact, item.subject,
                    (*item.notes, note), item.missing, item.rule, item.line)
    return item


def build_plan(contacts: Iterable[Contact], today: date, *, scope: str, gates: GateRules, rules: WeekRules,
               board: Board, findings: Iterable[Verdict] = (), rejected: Sequence[Rejected] = (),
               owner: str | None = None) -> Plan:
    """The plan of the period in the eight categories; one pass over the contacts.

    A contact appears once: a pending decision (a rule that moves it to the reserve or back a
    class) replaces its routine follow-up, in the admin category."""
    start, end = period(today, scope)
    span = _Span(today, end, gates, rules)
    findings = list(findings)
    deciding = {v.contact.slug for v in findings if v.action in ("reserve", "demote")}
    work: dict[str, list[Item]] = {cid: [] for cid, _ in CATEGORIES}
    for c in contacts:
        if c.slug in deciding:
            continue
        fallback = c.source == FALLBACK_SOURCE
        stage = c.stage
        if stage == OPPORTUNITY:
            item, cid = _opportunity(c, span, fallback), FALLBACK if fallback else NEW
        elif stage == FIRST_APPOINTMENT:
            item, cid = _meeting(c, span), FALLBACK if fallback else FIRST_MEETINGS
        elif stage == A:
            item, cid = _prospect(c, span), A_TO_CLOSED
        elif stage == B:
            item, cid = _prospect(c, span), B_TO_A
        elif stage == C:
            item, cid = _prospect(c, span), C_TO_B
        elif stage == CLOSED:
            item, cid = _customer(c, span), SERVICE
        else:
            continue  # the reserve is out of the pipeline
        if item is not None:
            item = _routine(c, item, span)
        if item is not None:
            work[cid].append(item)
    for items in work.values():
        items.sort(key=_order)
    work[ADMIN] = _admin(span, start, findings, rejected)
    categories = tuple(Category(i, cid, title, tuple(work[cid])) for i, (cid, title) in enumerate(CATEGORIES, 1))
    prospecting = Prospecting(board, rules.catch_up_weeks) if scope == WEEK or today.weekday() == 0 else None
    return Plan(scope, today, start, end, owner, prospecting, categories)


def _findings(contacts: Sequence[Contact], config: Config, today: date) -> list[Verdict]:
    """The review's findings, in the order pipe review lists them (by class, then due date)."""
    ordered = sorted(contacts, key=sort_key)
    try:
        return evaluate(ordered, config.values, today)
    except ConfigError:
        # A user rule in pipe.yaml that does not read: the built-in rules still count (the command
        # warns, and pipe check and the plan's admin list the bad rule).
        return evaluate(ordered, {**config.values, CUSTOM: []}, today)


def plan_for(contacts: Sequence[Contact], config: Config, today: date, *, scope: str = WEEK,
             rejected: Sequence[Rejected] = (), owner: str | None = None) -> Plan:
    """The plan of these contacts with the settings in pipe.yaml: the board and the review computed here."""
    board = build_board(contacts, FunnelRules.from_config(config), today, owner=owner)
    gates = GateRules(mode=config["mode"], sales_cycle_days=config["sales_cycle_days"])
    return build_plan(contacts, today, scope=scope, gates=gates, rules=WeekRules.from_config(config), board=board,
                      findings=_findings(contacts, config, today), rejected=rejected, owner=owner)


# --- what moved ----------------------------------------------------------------------------------

NEW_CONTACT, PROMOTION, DEMOTION, CLOSE, TO_RESERVE, BACK = "new", "promotion", "demotion", "close", "reserve", "back"
MOVES: tuple[str, ...] = (NEW_CONTACT, PROMOTION, DEMOTION, CLOSE, TO_RESERVE, BACK)


class Event(NamedTuple):
    """One stage change of the period, read from a contact's history."""

    date: date
    kind: str  # one of MOVES
    contact: Contact
    to: str
    from_: str | None = None
    reason: str | None = None
    rule: str | None = None
    value: float | None = None  # a close's value


def _kind(frm: str, to: str) -> str | None:
    if frm == RESERVE:
        return BACK
    if to == RESERVE:
        return TO_RESERVE
    if to == CLOSED:
        return CLOSE
    if RANK[to] == RANK[frm]:
        return None
    return PROMOTION if RANK[to] > RANK[frm] else DEMOTION


def movement(contacts: Iterable[Contact], since: date, until: date) -> tuple[Event, ...]:
    """Every stage change dated since..until (both included), and the contacts added then; by date."""
    events: list[Event] = []
    for c in contacts:
        if not c.history:
            if c.created is not None and since <= c.created <= until:
                events.append(Event(c.created, NEW_CONTACT, c, c.stage))
            continue
        for i, h in enumerate(c.history):
            if not since <= h.date <= until:
                continue
            if h.from_ is None:
                if i == 0:
                    events.append(Event(h.date, NEW_CONTACT, c, h.to, reason=h.reason))
                continue
            kind = _kind(h.from_, h.to)
            if kind is None:
                continue
            value = None
            if kind == CLOSE:
                value = c.closed.value if c.closed is not None and c.closed.value is not None else c.value
            events.append(Event(h.date, kind, c, h.to, h.from_, h.reason, h.rule, value))
    order = {k: i for i, k in enumerate(MOVES)}
    events.sort(key=lambda e: (e.date, order[e.kind], e.contact.name.casefold(), e.contact.slug))
    return tuple(events)


@dataclass(frozen=True)
class ActivityTally:
    """The activities of a period counted by kind and outcome."""

    counts: Mapping[tuple[str, str | None], int]

    def count(self, kinds: Sequence[str], outcomes: Sequence[str | None] | None = None) -> int:
        return sum(n for (kind, outcome), n in self.counts.items()
                   if kind in kinds and (outcomes is None or outcome in outcomes))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def rows(self) -> list[tuple[str, str | None, int]]:
        """(kind, outcome, count) in the order of the model's kinds and outcomes, no outcome last."""
        outcome_order = {o: i for i, o in enumerate((*OUTCOMES, None))}
        kind_order = {k: i for i, k in enumerate(ACTIVITY_KINDS)}
        return [(k, o, n) for (k, o), n in sorted(self.counts.items(), key=lambda kv: (
            kind_order.get(kv[0][0], len(kind_order)), kv[0][0], outcome_order.get(kv[0][1], len(outcome_order))))]


def tally(contacts: Iterable[Contact], since: date, until: date) -> ActivityTally:
    counts: Counter[tuple[str, str | None]] = Counter()
    for c in contacts:
        for a in c.activities:
            if since <= a.date <= until:
                counts[(a.kind, a.outcome)] += 1
    return ActivityTally(dict(counts))


# --- the weekly report ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    owner: str | None
    since: date
    until: date
    board: Board
    events: tuple[Event, ...]
    activity: ActivityTally
    period_stats: Stats
    all_stats: Stats
    findings: tuple[Verdict, ...]
    plan: Plan

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def moved(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]

    @property
    def closed_values(self) -> dict[str | None, float]:
        """What closed in the period, summed per currency (None: values written without one)."""
        return by_currency((e.value, e.contact.currency) for e in self.events if e.kind == CLOSE)

    @property
    def closed_value(self) -> float | None:
        """The one sum of what closed; None when the values are in several currencies (see closed_values)."""
        sums = self.closed_values
        return None if len(sums) > 1 else sum(sums.values())


def stats_for(contacts: Sequence[Contact], config: Config, today: date, *, since: date | None = None,
              owner: str | None = None, board: Board | None = None,
              findings: Sequence[Verdict] | None = None,
              left: Sequence[tuple[Contact, str]] | None = None) -> Stats:
    """The stats with the contacts the files say have left the sales process (those pipe review --apply and
    pipe classify --apply move) and the one-third rule: what pipe stats shows and the report's conversion holds.
    A report passes the review's `findings`, and `left` once for its two stats (the set is the same)."""
    from dataclasses import replace

    from .funnel import build_thirds

    stats = build_stats(contacts, FunnelRules.from_config(config), today, since=since, owner=owner, board=board)
    if left is None:
        left = _left(contacts, config, today, findings)
    return replace(stats, left=tuple(left),
                   thirds=build_thirds(contacts, today, since=since, easy_effort=config["stats.thirds.easy_effort"]))


def _left(contacts: Sequence[Contact], config: Config, today: date,
          findings: Sequence[Verdict] | None = None) -> list[tuple[Contact, str]]:
    from .rules import left_the_process

    gates = GateRules(mode=config["mode"], sales_cycle_days=config["sales_cycle_days"])
    found = _findings(contacts, config, today) if findings is None else findings
    return left_the_process(contacts, found, today, gates)


def report_for(contacts: Sequence[Contact], config: Config, today: date, since: date, *,
               rejected: Sequence[Rejected] = (), owner: str | None = None) -> Report:
    """The weekly report of these contacts for since..today: each part computed once, in linear passes."""
    funnel = FunnelRules.from_config(config)
    board = build_board(contacts, funnel, today, owner=owner)
    findings = _findings(contacts, config, today)
    gates = GateRules(mode=config["mode"], sales_cycle_days=config["sales_cycle_days"])
    plan = build_plan(contacts, today, scope=WEEK, gates=gates, rules=WeekRules.from_config(config), board=board,
                      findings=findings, rejected=rejected, owner=owner)
    left = _left(contacts, config, today, findings)
    return Report(owner, since, today, board, movement(contacts, since, today), tally(contacts, since, today),
                  stats_for(contacts, config, today, since=since, owner=owner, board=board, left=left),
                  stats_for(contacts, config, today, owner=owner, board=board, left=left), tuple(findings), plan)
