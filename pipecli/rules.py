"""The rules engine: the soft no's of the method as data, evaluated over contacts on a given day (pure).

A rule is data: an id, the stages it looks at, a condition over facts about the contact, and an
action (reserve, demote or flag). The six built-in rules of the method are built from the
thresholds in pipe.yaml; the user's own rules are read from `rules.custom` in the same form, and
both go through the same evaluation. A condition is a small tree (all / any / not over
comparisons of one fact with a value), compiled once; nothing the user writes is ever eval'd.
"""

from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

from .config import SETTINGS
from .dates import months_between
from .errors import ConfigError, UsageError
from .ladder import GateRules, classify, demote
from .listing import identity
from .model import (
    ACTIVITY_KINDS,
    ANSWERED,
    CLOSED,
    FIRST_APPOINTMENT,
    LADDER,
    MAX_AMOUNT,
    MEETING_KINDS,
    OPPORTUNITY,
    OUTCOMES,
    PIPELINE,
    PROSPECTS,
    RESERVE,
    STEPS,
    UNANSWERED,
    A,
    Activity,
    B,
    C,
    Change,
    Contact,
    kind_id,
    outcome_id,
    source_id,
    stage_id,
    stage_letter,
)

# --- facts: what a rule can read about a contact -----------------------------------------------

NUMBER, TEXT, TEXTS, FLAG = "number", "text", "list of text", "true/false"
ATTEMPT_KINDS = ("call", "email")


class Facts:
    """The facts about one contact on one day; each is computed once, and only when a rule asks."""

    __slots__ = ("contact", "today", "_memo")

    def __init__(self, contact: Contact, today: date) -> None:
        self.contact = contact
        self.today = today
        self._memo: dict[str, Any] = {}

    def get(self, fact: Fact) -> Any:
        memo = self._memo
        if fact.name not in memo:
            memo[fact.name] = fact.read(self)
        return memo[fact.name]

    def _once(self, name: str, compute: Callable[[], Any]) -> Any:
        memo = self._memo
        if name not in memo:
            memo[name] = compute()
        return memo[name]

    def days_since(self, day: date | None) -> int | None:
        return None if day is None else (self.today - day).days

    def last_activity(self) -> date | None:
        return self._once(" last", self.contact.last_activity)  # type: ignore[no-any-return]

    def unanswered(self) -> tuple[Activity, ...]:
        """The calls and e-mails that went unanswered since the last answer of any kind, oldest first."""
        def compute() -> tuple[Activity, ...]:
            since_answer: list[Activity] = []
            for act in sorted(self.contact.activities, key=_by_date):
                if act.outcome in ANSWERED:
                    since_answer = []
                elif act.kind in ATTEMPT_KINDS and act.outcome in UNANSWERED:
                    since_answer.append(act)
            return tuple(since_answer)
        return self._once(" unanswered", compute)  # type: ignore[no-any-return]

    def quiet_since(self) -> tuple[date | None, str]:
        """The last thing that happened: an activity, entering the stage, or (FA) the first meeting's date."""
        def compute() -> tuple[date | None, str]:
            c = self.contact
            since, what = self.last_activity(), "the last activity"  # the earlier mark wins a tie
            entered = c.stage_since()
            if entered is not None and (since is None or entered > since):
                since, what = entered, f"entering {stage_letter(c.stage)}"
            met = c.first_meeting.date if c.stage == FIRST_APPOINTMENT and c.first_meeting is not None else None
            if met is not None and (since is None or met > since):
                since, what = met, "the first meeting's date"
            return (since, what) if since is not None else (None, "")
        return self._once(" quiet", compute)  # type: ignore[no-any-return]

    def counts(self) -> dict[tuple[str | None, str | None], int]:
        """Activities counted by (kind or None, outcome, answered/unanswered or None)."""
        def compute() -> dict[tuple[str | None, str | None], int]:
            out: dict[tuple[str | None, str | None], int] = {}
            for act in self.contact.activities:
                outcomes: tuple[str | None, ...] = (None,)
                if act.outcome is not None:
                    outcomes = (None, act.outcome, "answered" if act.outcome in ANSWERED else "unanswered")
                for kind in (None, act.kind):
                    for outcome in outcomes:
                        out[(kind, outcome)] = out.get((kind, outcome), 0) + 1
            return out
        return self._once(" counts", compute)  # type: ignore[no-any-return]

    def deferral_start(self) -> date:
        d = self.contact.deferred
        return d.asked if d is not None and d.asked is not None else self.today


def _by_date(act: Activity) -> date:
    return act.date


@dataclass(frozen=True)
class Fact:
    name: str
    type: str
    help: str
    keys: tuple[str, ...]  # the contact's keys it reads: a problem there means the rule cannot be evaluated
    read: Callable[[Facts], Any] = field(repr=False)


def _days_since_activity(f: Facts) -> int | None:
    c = f.contact
    return f.days_since(f.last_activity() or c.created or c.stage_since())


def _deferral_days(f: Facts) -> int | None:
    d = f.contact.deferred
    return None if d is None else (d.until - f.deferral_start()).days


def _deferral_months(f: Facts) -> float | None:
    d = f.contact.deferred
    return None if d is None else round(months_between(f.deferral_start(), d.until), 2)


def _deferral_days_left(f: Facts) -> int | None:
    d = f.contact.deferred
    return None if d is None else (d.until - f.today).days


def _deferred_in_stage(f: Facts) -> bool:
    d, entered = f.contact.deferred, f.contact.stage_since()
    return d is not None and (d.asked is None or entered is None or d.asked >= entered)


def _commitment(f: Facts) -> bool:
    """A next action with a date; with a deferral, one agreed on or after it that falls due before it ends.

    A stale action agreed before the deferral (often overdue already) is no commitment to the
    deferred decision. Files from before pipe recorded `next.agreed` count the action when it
    falls due on or after the day the deferral was asked."""
    c = f.contact
    nx, d = c.next, c.deferred
    if nx is None or nx.due is None:
        return False
    if d is None:
        return True
    start = f.deferral_start()
    return (nx.agreed if nx.agreed is not None else nx.due) >= start and nx.due < d.until


def _answers(c: Contact) -> list[Activity]:
    return [a for a in sorted(c.activities, key=_by_date) if a.outcome in ANSWERED]


def _refusals(f: Facts) -> int:
    """Refusals in a row: the answers since the last one that was not a "no"."""
    count = 0
    for act in reversed(_answers(f.contact)):
        if act.outcome != "refused":
            break
        count += 1
    return count


def _last_answer(f: Facts) -> str | None:
    answers = _answers(f.contact)
    return answers[-1].outcome if answers else None


def _in_stage(f: Facts) -> list[Activity]:
    """The activities since the contact entered its stage (the day itself included)."""
    since = f.contact.stage_since()
    return [a for a in f.contact.activities if since is None or a.date >= since]


def _no_shows(f: Facts) -> int:
    return sum(a.kind in MEETING_KINDS and a.outcome == "no-show" for a in _in_stage(f))


def _put_off_days(f: Facts) -> int:
    """How far the meeting was pushed back by reschedulings since entering the stage, in days (net)."""
    return sum((a.moved_to - a.moved_from).days for a in _in_stage(f)
               if a.outcome == "rescheduled" and a.moved_to is not None and a.moved_from is not None)


def _steps(f: Facts) -> tuple[str, ...]:
    return tuple(s for s in STEPS if any(a.step == s for a in f.contact.activities))


def _pitch_unprepared(f: Facts) -> bool:
    """A presentation (or proposal) with no information gathering recorded on or before its day."""
    acts = f.contact.activities
    pitches = [a.date for a in acts if a.step == "presentation"]
    if not pitches:
        return False
    gathered = min((a.date for a in acts if a.step == "information-gathering"), default=None)
    return gathered is None or min(pitches) < gathered


def _days_overdue(f: Facts) -> int | None:
    nx = f.contact.next
    return None if nx is None or nx.due is None else (f.today - nx.due).days


COUNT_HELP = ("how many activities are recorded; activities.KIND, activities.OUTCOME and activities.KIND.OUTCOME "
              "count some of them (OUTCOME may also be answered or unanswered)")

FACTS: tuple[Fact, ...] = (
    Fact("stage", TEXT, "the stage: opportunity, first-appointment, c, b, a, closed or reserve (letters work too)",
         ("stage",), lambda f: f.contact.stage),
    Fact("source", TEXT, "candidate, suspect, inbound, referral or fallback", ("source",), lambda f: f.contact.source),
    Fact("owner", TEXT, "who works the contact", ("owner",), lambda f: f.contact.owner),
    Fact("name", TEXT, "the contact's name", ("name",), lambda f: f.contact.name),
    Fact("company", TEXT, "the company", ("company",), lambda f: f.contact.company),
    Fact("title", TEXT, "the contact's title", ("title",), lambda f: f.contact.title),
    Fact("tags", TEXTS, "the contact's tags", ("tags",), lambda f: f.contact.tags),
    Fact("value", NUMBER, "the deal size", ("value",), lambda f: f.contact.value),
    Fact("days_in_stage", NUMBER, "days since the contact entered its stage", ("history", "created"),
         lambda f: f.contact.days_in_stage(f.today)),
    Fact("days_since_activity", NUMBER, "days since the last activity (none yet: since the contact was created)",
         ("activities", "created", "history"), _days_since_activity),
    Fact("days_quiet", NUMBER,
         "days since anything happened: the last activity, entering the stage, or (FA) the first meeting's date",
         ("activities", "history", "created", "first_meeting"), lambda f: f.days_since(f.quiet_since()[0])),
    Fact("activities", NUMBER, COUNT_HELP, ("activities",), lambda f: len(f.contact.activities)),
    Fact("unanswered_attempts", NUMBER,
         "calls and e-mails logged no-answer, left-message or no-reply since the last answer of any kind",
         ("activities",), lambda f: len(f.unanswered())),
    Fact("days_unanswered", NUMBER, "days since the first of those unanswered attempts (none: unknown)",
         ("activities",), lambda f: f.days_since(f.unanswered()[0].date) if f.unanswered() else None),
    Fact("deferred", FLAG, "a deferral ('call me later') that has not ended", ("deferred",),
         lambda f: f.contact.deferred is not None and f.contact.deferred.until > f.today),
    Fact("deferral_days", NUMBER, "how long the deferral is: days from when it was asked (else today) to its end",
         ("deferred",), _deferral_days),
    Fact("deferral_months", NUMBER, "the same in months", ("deferred",), _deferral_months),
    Fact("deferral_days_left", NUMBER, "days until the deferral ends (0 or less once it has)", ("deferred",),
         _deferral_days_left),
    Fact("deferred_in_stage", FLAG,
         "the deferral was asked in the current stage (a demotion for it already happened otherwise)",
         ("deferred", "history", "created"), _deferred_in_stage),
    Fact("commitment", FLAG, "a next action with a due date (with a deferral: agreed on or after it and due "
         "before it ends)", ("next", "deferred"), _commitment),
    Fact("refusals", NUMBER, "refusals in a row: answers logged refused since the last answer that was not a no",
         ("activities",), _refusals),
    Fact("last_answer", TEXT, "the outcome of the last answered activity (talked, held, replied or refused)",
         ("activities",), _last_answer),
    Fact("no_shows", NUMBER, "meetings and visits logged no-show since entering the stage", ("activities", "history"),
         _no_shows),
    Fact("meeting_put_off_days", NUMBER, "days the meeting was pushed back by reschedulings since entering the stage",
         ("activities", "history"), _put_off_days),
    Fact("steps", TEXTS, "the steps of the sale recorded on activities: opening, information-gathering, "
         "presentation, close", ("activities",), _steps),
    Fact("pitch_unprepared", FLAG, "a presentation recorded with no information gathering on or before it",
         ("activities",), _pitch_unprepared),
    Fact("has_next", FLAG, "a next action is recorded", ("next",), lambda f: f.contact.next is not None),
    Fact("days_overdue", NUMBER, "days since the next action was due (negative: not due yet)", ("next",),
         _days_overdue),
)
FACT_BY_NAME: dict[str, Fact] = {f.name: f for f in FACTS}
_GROUPS = ("answered", "unanswered")


def fact_named(name: str) -> Fact | None:
    """A fact by name; activities.KIND[.OUTCOME] and activities.OUTCOME are made on demand."""
    found = FACT_BY_NAME.get(name)
    if found is not None or not name.startswith("activities."):
        return found
    parts = name.split(".")[1:]
    kind = kind_id(parts[0])  # any case, or the Chinese word, as in the files
    rest = parts[1:] if kind else parts
    outcome = (outcome_id(rest[0]) or (rest[0].casefold() if rest[0].casefold() in _GROUPS else None)) if rest else None
    if len(rest) > 1 or (rest and outcome is None) or (not kind and not rest):
        return None
    key = (kind, outcome)
    return Fact(name, NUMBER, COUNT_HELP, ("activities",), lambda f: f.counts().get(key, 0))


# --- conditions ---------------------------------------------------------------------------------

_SYMBOL = {"eq": "=", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<=", "in": "one of",
           "has": "has", "has_any": "has any of", "set": "set"}


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _eq(actual: Any, want: Any) -> bool:
    return actual is not None and _fold(actual) == want


def _in(actual: Any, want: Any) -> bool:
    return actual is not None and _fold(actual) in want


def _ordered(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    return lambda actual, want: actual is not None and compare(actual, want)


def _has(actual: Any, want: Any) -> bool:
    tags = {t.casefold() for t in actual}
    return all(w in tags for w in want)


def _has_any(actual: Any, want: Any) -> bool:
    return any(t.casefold() in want for t in actual)


def _is_set(actual: Any, want: Any) -> bool:
    return (actual not in (None, "", ())) is want


OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": _eq, "ne": lambda actual, want: not _eq(actual, want),
    "gt": _ordered(lambda a, w: a > w), "ge": _ordered(lambda a, w: a >= w),
    "lt": _ordered(lambda a, w: a < w), "le": _ordered(lambda a, w: a <= w),
    "in": _in, "has": _has, "has_any": _has_any, "set": _is_set,
}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le}
Test = Callable[["Facts"], bool]
OPS_FOR: dict[str, tuple[str, ...]] = {
    NUMBER: ("eq", "ne", "gt", "ge", "lt", "le", "in", "set"),
    TEXT: ("eq", "ne", "in", "set"),
    TEXTS: ("has", "has_any", "set"),
    FLAG: ("eq",),
}


@dataclass(frozen=True)
class Leaf:
    """One fact compared with one value: `days_quiet: {gt: 30}`."""

    fact: Fact
    op: str
    value: Any

    def compile(self) -> Test:
        """The comparison as one closure: the fact read once per contact, common operators inline.

        A review runs some 100,000 of these on 10,000 contacts. `words` says the same through OPS
        (a test checks that both agree)."""
        name, read, want, op = self.fact.name, self.fact.read, self.value, self.op
        compare = _COMPARE.get(op)
        if compare is not None:
            def ordered(f: Facts) -> bool:
                memo = f._memo
                actual = memo[name] if name in memo else memo.setdefault(name, read(f))
                return actual is not None and compare(actual, want)
            return ordered
        if op in ("eq", "ne"):
            same = op == "eq"

            def equal(f: Facts) -> bool:
                memo = f._memo
                actual = memo[name] if name in memo else memo.setdefault(name, read(f))
                if actual is None:
                    return not same
                return ((actual.casefold() if isinstance(actual, str) else actual) == want) is same
            return equal
        general = OPS[op]

        def other(f: Facts) -> bool:
            memo = f._memo
            return general(memo[name] if name in memo else memo.setdefault(name, read(f)), want)
        return other

    def words(self, f: Facts) -> tuple[bool, list[str]]:
        actual = f.get(self.fact)
        held = OPS[self.op](actual, self.value)
        name, have, want = self.fact.name, _show(actual), _show(self.value)
        if self.op == "set":
            return held, [f"{name} is {'set' if actual not in (None, '', ()) else 'not set'}"]
        if self.op == "eq":
            return held, [f"{name} is {have}" + ("" if held else f", not {want}")]
        if self.op == "ne":
            return held, [f"{name} is {have}" + (f", not {want}" if held else "")]
        if self.op in ("has", "has_any"):
            needs = "" if held else f": needs {_SYMBOL[self.op]} {want}"
            return held, [f"{name} {'are' if held else 'are only'} {have}{needs}"]
        symbol = _SYMBOL[self.op]
        return held, [f"{name} is {have} ({symbol} {want})" if held else f"{name} is {have}, not {symbol} {want}"]

    def facts(self) -> Iterable[Fact]:
        return (self.fact,)


class _Group:
    """What all and any share: their parts, and saying why they hold or not."""

    parts: tuple[Cond, ...]
    every: ClassVar[bool]  # all of the parts, or any of them

    def words(self, f: Facts) -> tuple[bool, list[str]]:
        said = [p.words(f) for p in self.parts]
        held = (all if self.every else any)(ok for ok, _ in said)
        return held, [w for ok, ws in said if ok == held for w in ws]

    def facts(self) -> Iterable[Fact]:
        return (fact for p in self.parts for fact in p.facts())


@dataclass(frozen=True)
class All(_Group):
    parts: tuple[Cond, ...]
    every = True

    def compile(self) -> Test:
        parts = tuple(p.compile() for p in self.parts)
        if len(parts) == 2:
            first, second = parts
            return lambda f: first(f) and second(f)

        def every(f: Facts) -> bool:
            for part in parts:  # noqa: SIM110 - a loop: all() over a generator is twice as slow here
                if not part(f):
                    return False
            return True
        return every



@dataclass(frozen=True)
class AnyOf(_Group):
    parts: tuple[Cond, ...]
    every = False

    def compile(self) -> Test:
        cases = [_stage_case(p) for p in self.parts]
        if len(cases) > 2 and all(cases) and len({c[0] for c in cases if c}) == len(cases):
            # One branch per stage (the stalled rule): go straight to the contact's stage.
            table = {sid: rest.compile() if rest is not None else _always for sid, rest in filter(None, cases)}

            def by_stage(f: Facts) -> bool:
                branch = table.get(f.contact.stage)
                return branch is not None and branch(f)
            return by_stage
        parts = tuple(p.compile() for p in self.parts)

        def some(f: Facts) -> bool:
            for part in parts:  # noqa: SIM110 - a loop: any() over a generator is twice as slow here
                if part(f):
                    return True
            return False
        return some



@dataclass(frozen=True)
class Not:
    part: Cond

    def compile(self) -> Test:
        inner = self.part.compile()
        return lambda f: not inner(f)

    def words(self, f: Facts) -> tuple[bool, list[str]]:
        held, said = self.part.words(f)
        return not held, [f"not ({'; '.join(said)})" if not held else f"{'; '.join(said)}, which this rule excludes"]

    def facts(self) -> Iterable[Fact]:
        return self.part.facts()


Cond = Leaf | All | AnyOf | Not


def _stage_case(cond: Cond) -> tuple[str, Cond | None] | None:
    """(stage, the rest) when a condition is `stage = X and the rest`; a contact's stage is always an id."""
    parts = cond.parts if isinstance(cond, All) else (cond,)
    first = parts[0] if parts else None
    if not (isinstance(first, Leaf) and first.fact.name == "stage" and first.op == "eq" and isinstance(first.value, str)):
        return None
    rest = parts[1:]
    return first.value, (rest[0] if len(rest) == 1 else All(rest) if rest else None)


def _always(f: Facts) -> bool:
    return True


def _show(value: Any) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (tuple, list, frozenset, set)):
        return "[" + ", ".join(sorted(_show(v) for v in value)) + "]"
    return str(value)


# --- rules --------------------------------------------------------------------------------------

RESERVE_ACTION, DEMOTE_ACTION, FLAG_ACTION = "reserve", "demote", "flag"
ACTIONS = (RESERVE_ACTION, DEMOTE_ACTION, FLAG_ACTION)
STRENGTH = {RESERVE_ACTION: 3, DEMOTE_ACTION: 2, FLAG_ACTION: 1}

Say = Callable[[Facts, bool], str]


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    action: str
    when: Cond
    stages: tuple[str, ...] = PIPELINE
    enabled: bool = True
    switch: str = ""  # where it is switched off, for --explain
    say: Say | None = field(default=None, repr=False)  # built-ins word their evidence; user rules list their conditions
    keys: tuple[str, ...] = field(default=(), init=False)
    test: Test = field(default=bool, init=False, repr=False, compare=False)  # `when`, compiled

    def __post_init__(self) -> None:
        keys = {"stage", *(k for fact in self.when.facts() for k in fact.keys)}
        object.__setattr__(self, "keys", tuple(sorted(keys)))
        object.__setattr__(self, "test", self.when.compile())

    def because(self, f: Facts, fired: bool) -> str:
        if self.say is not None:
            return self.say(f, fired)
        return "; ".join(self.when.words(f)[1])


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _months(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"


def _a(letter: str) -> str:
    return f"{'an' if letter in ('A', 'FA', 'O') else 'a'} {letter}"


def _quoted(reason: str | None) -> str:
    return f' ("{reason}")' if reason else ""


def _no_response(v: Mapping[str, Any]) -> Rule:
    attempts, days = v["rules.no_response.attempts"], v["rules.no_response.days"]

    def say(f: Facts, fired: bool) -> str:
        acts = f.unanswered()
        if not acts:
            return "no unanswered calls or e-mails since the last answer"
        calls = sum(a.kind == "call" for a in acts)
        mails = len(acts) - calls
        what = " and ".join(p for p in (_plural(calls, "call") if calls else "", _plural(mails, "e-mail") if mails else "") if p)
        text = f"{what} since {acts[0].date}, none answered"
        age = f.days_since(acts[0].date) or 0
        if not fired:
            return f"{text}: fires at {attempts} or after {days} days ({age} so far)"
        return text if len(acts) >= attempts else f"{text} in {age} days"

    return Rule("no-response", f"never returns calls: {attempts}+ calls/e-mails unanswered, or the first "
                f"unanswered one is {days}+ days old", RESERVE_ACTION,
                AnyOf((Leaf(FACT_BY_NAME["unanswered_attempts"], "ge", attempts),
                       Leaf(FACT_BY_NAME["days_unanswered"], "ge", days))),
                enabled=v["rules.no_response.enabled"], switch="rules.no_response.enabled", say=say)


def _pushed_back(v: Mapping[str, Any]) -> Rule:
    months = v["rules.pushed_back.months"]

    def say(f: Facts, fired: bool) -> str:
        d = f.contact.deferred
        if d is None:
            return "no deferral recorded"
        if d.until <= f.today:
            return f"the deferral ended on {d.until}"
        asked = f"asked on {d.asked} " if d.asked else "asked "
        text = f"{asked}to be called after {d.until}: {_months(f.get(FACT_BY_NAME['deferral_months']))} months away"
        return text + _quoted(d.reason) if fired else f"{text}; fires at {months}"

    return Rule("pushed-back", f"'call me in summer': deferred by {months}+ months", RESERVE_ACTION,
                All((Leaf(FACT_BY_NAME["deferral_days_left"], "gt", 0),
                     Leaf(FACT_BY_NAME["deferral_months"], "ge", months))),
                enabled=v["rules.pushed_back.enabled"], switch="rules.pushed_back.enabled", say=say)


def _decision_deferred(v: Mapping[str, Any]) -> Rule:
    days = v["rules.decision_deferred.days"]

    def say(f: Facts, fired: bool) -> str:
        c, d = f.contact, f.contact.deferred
        if d is None:
            return "no deferral recorded"
        if d.until <= f.today:
            return f"the deferral ended on {d.until}"
        length = f.get(FACT_BY_NAME["deferral_days"])
        text = f"deferred until {d.until}, {length} days from {f.deferral_start()}"
        if fired:
            return f"{text}, with no next step before then{_quoted(d.reason)}"
        if length < days:
            return f"{text}; fires at {days}"
        if not f.get(FACT_BY_NAME["deferred_in_stage"]):
            return f"{text}, asked before entering {stage_letter(c.stage)} on {c.stage_since()}: already acted on"
        nx = c.next
        return f"{text}, but a next step is due {nx.due}: {nx.action}" if nx else text

    return Rule("decision-deferred", f"an FA, C, B or A deferred the decision by {days}+ days without a commitment",
                DEMOTE_ACTION,
                All((Leaf(FACT_BY_NAME["deferral_days_left"], "gt", 0),
                     Leaf(FACT_BY_NAME["deferral_days"], "ge", days),
                     Leaf(FACT_BY_NAME["deferred_in_stage"], "eq", True),
                     Leaf(FACT_BY_NAME["commitment"], "eq", False))),
                stages=(FIRST_APPOINTMENT, *PROSPECTS), enabled=v["rules.decision_deferred.enabled"],
                switch="rules.decision_deferred.enabled", say=say)


STALLED_KEYS = {OPPORTUNITY: "o_days", FIRST_APPOINTMENT: "fa_days", C: "c_days", B: "b_days", A: "a_days"}


def _stalled(v: Mapping[str, Any]) -> Rule:
    limits = {sid: v[f"rules.stalled.{key}"] for sid, key in STALLED_KEYS.items()}
    quiet, stage = FACT_BY_NAME["days_quiet"], FACT_BY_NAME["stage"]

    def say(f: Facts, fired: bool) -> str:
        since, what = f.quiet_since()
        letter = stage_letter(f.contact.stage)
        allows = f"{letter} allows {limits[f.contact.stage]}"
        if since is None:
            return "no date to count from: no activity, history or created date"
        days = f.days_since(since)
        return f"nothing for {days} days since {what} on {since}: {allows}" if fired else \
            f"{days} days since {what} on {since}: {allows}"

    return Rule("stalled", "no activity for longer than the class allows: "
                + ", ".join(f"{stage_letter(s)} {n} days" for s, n in limits.items()), DEMOTE_ACTION,
                AnyOf(tuple(All((Leaf(stage, "eq", sid), Leaf(quiet, "gt", n))) for sid, n in limits.items())),
                enabled=v["rules.stalled.enabled"], switch="rules.stalled.enabled", say=say)


def _no_next_step(v: Mapping[str, Any]) -> Rule:
    def say(f: Facts, fired: bool) -> str:
        nx = f.contact.next
        if fired or nx is None:
            return f"no next action: {_a(stage_letter(f.contact.stage))} needs a further step they committed to"
        return f"next action: {nx.action}" + (f", due {nx.due}" if nx.due else "")

    return Rule("no-next-step", "a C, B or A with no next action", FLAG_ACTION,
                Leaf(FACT_BY_NAME["has_next"], "eq", False), stages=PROSPECTS,
                enabled=v["rules.no_next_step.enabled"], switch="rules.no_next_step.enabled", say=say)


def _overdue(v: Mapping[str, Any]) -> Rule:
    grace = v["rules.overdue.grace_days"]

    def say(f: Facts, fired: bool) -> str:
        nx = f.contact.next
        if nx is None:
            return "no next action"
        if nx.due is None:
            return f"next action '{nx.action}' has no due date"
        late = (f.today - nx.due).days
        if fired:
            return f"next action '{nx.action}' was due {nx.due}: {_plural(late, 'day')} ago"
        when = "today" if late == 0 else (f"in {_plural(-late, 'day')}" if late < 0 else f"{_plural(late, 'day')} ago")
        return f"next action '{nx.action}' is due {nx.due} ({when})" + (f"; {grace} days of grace" if late > 0 else "")

    return Rule("overdue", "the next action's date has passed" + (f" by more than {grace} days" if grace else ""),
                FLAG_ACTION, Leaf(FACT_BY_NAME["days_overdue"], "gt", grace),
                enabled=v["rules.overdue.enabled"], switch="rules.overdue.enabled", say=say)


def _refused(v: Mapping[str, Any]) -> Rule:
    count = v["rules.refused.count"]

    def say(f: Facts, fired: bool) -> str:
        n = f.get(FACT_BY_NAME["refusals"])
        if not n:
            last = f.get(FACT_BY_NAME["last_answer"])
            return f"the last answer was {last}, not a refusal" if last else "no answer recorded"
        last = _answers(f.contact)[-1]
        text = f"{_plural(n, 'refusal')} in a row, the last on {last.date}" + (f" ({last.note})" if last.note else "")
        return text if fired else f"{text}; fires at {count}"

    return Rule("refused", f"they said no: {count}+ refusals in a row (a 'no' is an answer)", RESERVE_ACTION,
                Leaf(FACT_BY_NAME["refusals"], "ge", count),
                enabled=v["rules.refused.enabled"], switch="rules.refused.enabled", say=say)


def _no_show(v: Mapping[str, Any]) -> Rule:
    count = v["rules.no_show.count"]

    def say(f: Facts, fired: bool) -> str:
        shows = [a.date for a in _in_stage(f) if a.kind in MEETING_KINDS and a.outcome == "no-show"]
        if not shows:
            return "no missed meeting since entering FA"
        text = f"{_plural(len(shows), 'no-show')} for the first meeting ({', '.join(map(str, shows))})"
        return text if fired else f"{text}; fires at {count}"

    return Rule("no-show", f"the first meeting missed {count}+ times (no-show): a soft no", RESERVE_ACTION,
                Leaf(FACT_BY_NAME["no_shows"], "ge", count), stages=(FIRST_APPOINTMENT,),
                enabled=v["rules.no_show.enabled"], switch="rules.no_show.enabled", say=say)


def _meeting_put_off(v: Mapping[str, Any]) -> Rule:
    days = v["rules.meeting_put_off.days"]

    def say(f: Facts, fired: bool) -> str:
        moves = [a for a in _in_stage(f) if a.outcome == "rescheduled" and a.moved_to and a.moved_from]
        if not moves:
            return "the first meeting was not rescheduled"
        text = (f"the first meeting moved from {moves[0].moved_from} to {moves[-1].moved_to} "
                f"({_plural(len(moves), 'rescheduling')}, {f.get(FACT_BY_NAME['meeting_put_off_days'])} days later)")
        return text if fired else f"{text}; fires at {days} days"

    return Rule("meeting-put-off", f"a first appointment put the meeting off by {days}+ days ('next month')",
                DEMOTE_ACTION, Leaf(FACT_BY_NAME["meeting_put_off_days"], "ge", days), stages=(FIRST_APPOINTMENT,),
                enabled=v["rules.meeting_put_off.enabled"], switch="rules.meeting_put_off.enabled", say=say)


def _pitch_bombardment(v: Mapping[str, Any]) -> Rule:
    def say(f: Facts, fired: bool) -> str:
        acts = f.contact.activities
        pitch = min((a.date for a in acts if a.step == "presentation"), default=None)
        if pitch is None:
            return "no presentation recorded"
        gathered = min((a.date for a in acts if a.step == "information-gathering"), default=None)
        if fired:
            return (f"presentation on {pitch} with no information gathering before it"
                    + (f" (the first on {gathered})" if gathered else ""))
        return f"information gathering on {gathered}, then the presentation on {pitch}"

    return Rule("pitch-bombardment", "a presentation or proposal made with no information gathering recorded "
                "before it (METHOD §7)", FLAG_ACTION, Leaf(FACT_BY_NAME["pitch_unprepared"], "eq", True),
                enabled=v["rules.pitch_bombardment.enabled"], switch="rules.pitch_bombardment.enabled", say=say)


# The method's rules, in the order they are listed and applied (the first of equal strength wins).
BUILTINS: tuple[Callable[[Mapping[str, Any]], Rule], ...] = (
    _no_response, _refused, _no_show, _pushed_back, _decision_deferred, _meeting_put_off, _stalled, _no_next_step,
    _overdue, _pitch_bombardment,
)
BUILTIN_IDS: tuple[str, ...] = ("no-response", "refused", "no-show", "pushed-back", "decision-deferred",
                                "meeting-put-off", "stalled", "no-next-step", "overdue", "pitch-bombardment")

# --- the user's rules: pipe.yaml's rules.custom, read into the same Rule records ---------------------

CUSTOM = "rules.custom"
RULE_KEYS = ("id", "description", "stages", "when", "action", "enabled")
_RULE_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class RuleProblem:
    """A malformed user rule: where in rules.custom (index, then keys) and what is wrong, in words."""

    key: tuple[str | int, ...]
    message: str


def _where(key: Sequence[str | int]) -> str:
    out = ""
    for part in key:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


MAX_NESTING = 50  # all / any / not levels in one rule's condition


class _Reader:
    """Reads rules.custom into Rules, collecting every problem with the rule's name and the bad part."""

    def __init__(self, taken: Collection[str]) -> None:
        self.problems: list[RuleProblem] = []
        self.taken = set(taken)
        self.builtin = set(taken)
        self.label = ""
        self.index = 0

    def bad(self, inside: tuple[str | int, ...], message: str) -> None:
        where = _where(inside)
        self.problems.append(RuleProblem((self.index, *inside), f"{CUSTOM}: {self.label}: "
                                         + (f"{where}: " if where else "") + message))

    def rules(self, raw: Any) -> tuple[Rule, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, (list, tuple)):
            self.label = "the rules"
            self.problems.append(RuleProblem((), f"{CUSTOM} should be a list of rules, not {raw!r}"))
            return ()
        out = []
        for index, item in enumerate(raw):
            self.index = index
            rule = self.rule(item)
            if rule is not None:
                out.append(rule)
        return tuple(out)

    def rule(self, raw: Any) -> Rule | None:
        self.label = f"rule {self.index + 1}"
        if not isinstance(raw, Mapping):
            self.bad((), f"a rule should be a mapping with id, when and action, not {raw!r}")
            return None
        before = len(self.problems)
        rid = raw.get("id")
        if isinstance(rid, str) and rid:
            self.label = f"rule '{rid}'"
        if rid is None:
            self.bad((), "the rule has no id: add 'id: a-name-like-this'")
        elif not isinstance(rid, str) or not _RULE_ID.match(rid):
            self.bad(("id",), f"the id {rid!r} should be lower-case letters and digits joined by '-', like 'referral-quiet'")
        elif rid in self.builtin:
            self.bad(("id",), f"the id '{rid}' is taken by a built-in rule: choose another "
                     f"(or tune the built-in under rules.{rid.replace('-', '_')})")
        elif rid in self.taken:
            self.bad(("id",), f"the id '{rid}' is used by an earlier rule: ids must be unique")
        for key in raw:
            if key not in RULE_KEYS:
                self.bad((str(key),), f"unknown key '{key}': a rule has {', '.join(RULE_KEYS)}")
        description = raw.get("description")
        if description is not None and not isinstance(description, str):
            self.bad(("description",), f"the description should be text, not {description!r}")
        enabled = raw.get("enabled", True)
        if not isinstance(enabled, bool):
            self.bad(("enabled",), f"enabled should be true or false, not {enabled!r}")
        action = raw.get("action")
        if action is None:
            self.bad((), f"the rule has no action: add 'action: {' | '.join(ACTIONS)}'")
        elif action not in ACTIONS:
            self.bad(("action",), f"unknown action {action!r}: use {', '.join(ACTIONS)}")
        stages = self.stages(raw.get("stages"), action)
        when = None
        if "when" not in raw:
            self.bad((), "the rule has no 'when': the conditions it fires on, like {days_quiet: {gt: 30}}")
        else:
            when = self.cond(raw["when"], ("when",))
        if len(self.problems) > before or when is None or stages is None:
            return None
        assert isinstance(rid, str) and isinstance(action, str)  # noqa: PT018 - checked above
        self.taken.add(rid)
        return Rule(rid, str(description or rid), action, when, stages=stages, enabled=bool(enabled),
                    switch=f"{CUSTOM}[{self.index}].enabled")

    def stages(self, raw: Any, action: Any) -> tuple[str, ...] | None:
        if raw is None:
            return PIPELINE
        names = [raw] if isinstance(raw, str) else raw
        if not isinstance(names, list) or not names:
            self.bad(("stages",), f"stages should be a list like [O, FA], not {raw!r}")
            return None
        out: list[str] = []
        for i, name in enumerate(names):
            sid = stage_id(str(name)) if isinstance(name, (str, int)) and not isinstance(name, bool) else None
            if sid is None:
                self.bad(("stages", i), f"unknown stage {name!r}: use O, FA, C, B, A, closed or reserve")
                return None
            if sid in (CLOSED, RESERVE) and action in (RESERVE_ACTION, DEMOTE_ACTION):
                self.bad(("stages", i), f"action '{action}' moves contacts out of the pipeline, so it applies to "
                         f"O, FA, C, B and A only: use 'flag' for {sid}")
                return None
            out.append(sid)
        return tuple(dict.fromkeys(out))

    def cond(self, raw: Any, at: tuple[str | int, ...]) -> Cond | None:
        if sum(part in ("all", "any", "not") for part in at) > MAX_NESTING:
            # evaluating and explaining a condition recurse once a level: refuse before Python's stack does
            self.bad(at, f"conditions nested more than {MAX_NESTING} levels deep (all, any, not): write it flatter")
            return None
        if isinstance(raw, list):
            if not raw:
                self.bad(at, "an empty list of conditions")
                return None
            return _joined([self.cond(item, (*at, i)) for i, item in enumerate(raw)])
        if not isinstance(raw, Mapping) or not raw:
            self.bad(at, f"a condition should be a mapping like {{days_quiet: {{gt: 30}}}}, not {raw!r}")
            return None
        parts: list[Cond | None] = []
        for key, value in raw.items():
            name = str(key)
            if name in ("all", "any"):
                if not isinstance(value, list) or not value:
                    self.bad((*at, name), f"'{name}' takes a list of conditions, not {value!r}")
                    parts.append(None)
                    continue
                subs = [self.cond(item, (*at, name, i)) for i, item in enumerate(value)]
                parts.append(None if None in subs else
                             (All if name == "all" else AnyOf)(tuple(s for s in subs if s is not None)))
            elif name == "not":
                sub = self.cond(value, (*at, "not"))
                parts.append(None if sub is None else Not(sub))
            else:
                parts.append(self.leaf(name, value, (*at, name)))
        return _joined(parts)

    def leaf(self, name: str, raw: Any, at: tuple[str | int, ...]) -> Cond | None:
        fact = fact_named(name)
        if fact is None:
            near = difflib.get_close_matches(name, [f.name for f in FACTS], n=1)
            hint = f"did you mean '{near[0]}'?" if near else "the facts are " + ", ".join(f.name for f in FACTS)
            if name.startswith("activities."):
                hint = (f"after 'activities.' name a kind ({', '.join(ACTIVITY_KINDS)}) and/or an outcome "
                        f"({', '.join(OUTCOMES + _GROUPS)})")
            self.bad(at, f"unknown fact '{name}' ({hint})")
            return None
        allowed = OPS_FOR[fact.type]
        if isinstance(raw, Mapping):
            if not raw:
                self.bad(at, f"an empty comparison: write it like {{{allowed[0]}: ...}}")
                return None
            leaves: list[Cond | None] = []
            for op, value in raw.items():
                if op not in allowed:
                    self.bad((*at, str(op)), f"'{op}' is not a comparison for {name} ({fact.type}): use {', '.join(allowed)}")
                    leaves.append(None)
                else:
                    leaves.append(self.compared(fact, str(op), value, (*at, str(op))))
            return _joined(leaves)
        op = {TEXTS: "has", TEXT: "in" if isinstance(raw, list) else "eq"}.get(fact.type, "eq")
        return self.compared(fact, op, raw, at)

    def compared(self, fact: Fact, op: str, raw: Any, at: tuple[str | int, ...]) -> Leaf | None:
        value = self.value(fact, op, raw, at)
        return None if value is None else Leaf(fact, op, value)

    def value(self, fact: Fact, op: str, raw: Any, at: tuple[str | int, ...]) -> Any:
        if op == "set" or fact.type == FLAG:
            if not isinstance(raw, bool):
                self.bad(at, f"should be true or false, not {raw!r}")
                return None
            return raw
        many = op in ("in", "has_any") or (op == "has" and isinstance(raw, list))
        items = raw if many else [raw]
        if not isinstance(items, list) or not items:
            self.bad(at, f"'{op}' takes a list like [a, b], not {raw!r}")
            return None
        out = []
        for item in items:
            one = self.number(item, at) if fact.type == NUMBER else self.text(fact, item, at)
            if one is None:
                return None
            out.append(one)
        return frozenset(out) if op in ("in", "has_any") else tuple(out) if op == "has" else out[0]

    def number(self, raw: Any, at: tuple[str | int, ...]) -> float | None:
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            self.bad(at, f"should be a number, not {raw!r}")
            return None
        if not -MAX_AMOUNT <= raw <= MAX_AMOUNT:  # .nan fails this too
            self.bad(at, f"should be a number from -{MAX_AMOUNT:,} to {MAX_AMOUNT:,}, not {raw!r}")
            return None
        return raw

    def text(self, fact: Fact, raw: Any, at: tuple[str | int, ...]) -> str | None:
        if isinstance(raw, (bool, list, dict)) or raw is None:
            self.bad(at, f"should be text, not {raw!r}")
            return None
        if fact.name == "stage":
            sid = stage_id(str(raw))
            if sid is None:
                self.bad(at, f"unknown stage {raw!r}: use O, FA, C, B, A, closed or reserve")
            return sid
        if fact.name == "source":
            src = source_id(str(raw))
            if src is None:
                self.bad(at, f"unknown source {raw!r}: use candidate, suspect, inbound, referral or fallback")
            return src
        return str(raw).casefold()


def _joined(parts: Sequence[Cond | None]) -> Cond | None:
    """Several conditions side by side hold together (all); any unreadable one spoils the whole."""
    if any(p is None for p in parts):
        return None
    clean = tuple(p for p in parts if p is not None)
    return clean[0] if len(clean) == 1 else All(clean)


def _values(settings: Mapping[str, Any]) -> dict[str, Any]:
    values = {s.key: s.default for s in SETTINGS}
    values.update(settings)
    return values


def rule_problems(settings: Mapping[str, Any]) -> list[RuleProblem]:
    """Every problem in the user's rules (for `pipe check`); empty when they all read."""
    reader = _Reader(BUILTIN_IDS)
    reader.rules(_values(settings)[CUSTOM])
    return reader.problems


def rules_from(settings: Mapping[str, Any]) -> tuple[Rule, ...]:
    """The built-in rules tuned by the settings, then the user's rules; a malformed user rule is a ConfigError."""
    values = _values(settings)
    reader = _Reader(BUILTIN_IDS)
    custom = reader.rules(values[CUSTOM])
    if reader.problems:
        raise ConfigError("pipe.yaml: " + "\n  ".join(p.message for p in reader.problems),
                          "fix the rule in pipe.yaml; 'pipe check' shows the line")
    return tuple(make(values) for make in BUILTINS) + custom


def chosen(rules: Sequence[Rule], only: Collection[str] = ()) -> tuple[Rule, ...]:
    """The rules switched on, or just those named (a named rule must exist and be switched on)."""
    if not only:
        return tuple(r for r in rules if r.enabled)
    by_id = {r.id: r for r in rules}
    for rid in only:
        if rid not in by_id:
            raise UsageError(f"unknown rule '{rid}'", f"the rules are: {', '.join(by_id)}")
        if not by_id[rid].enabled:
            raise UsageError(f"rule '{rid}' is switched off in pipe.yaml ({by_id[rid].switch}: false)",
                             "switch it on there to use it")
    return tuple(r for r in rules if r.id in only)


# --- evaluation ---------------------------------------------------------------------------------

FIRES, CANNOT, QUIET, OFF, OTHER_STAGE = "fires", "cannot-evaluate", "does-not-fire", "off", "not-this-stage"


@dataclass(frozen=True)
class Verdict:
    """What one rule says about one contact: it fires (with the action), cannot be evaluated, or why not."""

    contact: Contact
    rule: Rule
    status: str
    why: str
    action: str | None = None
    to: str | None = None  # the stage the action moves the contact to

    @property
    def suggestion(self) -> str:
        if self.action == DEMOTE_ACTION and self.to:
            return f"demote to {stage_letter(self.to)}"
        return self.action or "-"


def _fired(rule: Rule, c: Contact, f: Facts) -> Verdict:
    action, to = rule.action, None
    if action == DEMOTE_ACTION:
        index = LADDER.index(c.stage)
        action, to = (RESERVE_ACTION, RESERVE) if index == 0 else (DEMOTE_ACTION, LADDER[index - 1])
    elif action == RESERVE_ACTION:
        to = RESERVE
    return Verdict(c, rule, FIRES, rule.because(f, True), action, to)


def _cannot(rule: Rule, c: Contact) -> Verdict | None:
    problem = c.problem_at(*rule.keys) if c.problems else None
    return None if problem is None else Verdict(c, rule, CANNOT, f"cannot evaluate: {problem.message}")


NO_DATE = "cannot evaluate: no date at all (no created, no history) to count days from: add created: DATE to the file"


def _dateless(rule: Rule, c: Contact, today: date) -> Verdict:
    """A rule on a contact with no date at all: fires, or cannot be evaluated when a fact it read needed a date.

    Its own Facts, so only the facts this rule read are looked at (a rare case: the cost does not matter).
    """
    facts = Facts(c, today)
    if rule.test(facts):
        return _fired(rule, c, facts)
    if any(value is None and "created" in FACT_BY_NAME[name].keys
           for name, value in facts._memo.items() if name in FACT_BY_NAME):
        return Verdict(c, rule, CANNOT, NO_DATE)
    return Verdict(c, rule, QUIET, rule.because(facts, False))


def evaluate(contacts: Iterable[Contact], settings: Mapping[str, Any], today: date, *,
             only: Collection[str] = ()) -> list[Verdict]:
    """Every rule that fires (or cannot be evaluated) on every contact: one Verdict per contact and rule."""
    rules = chosen(rules_from(settings), only)
    by_stage = {sid: tuple(r for r in rules if sid in r.stages) for sid in (*LADDER, RESERVE)}
    found: list[Verdict] = []
    for c in contacts:
        facts = Facts(c, today)
        dateless = c.created is None and not c.history
        for rule in by_stage[c.stage]:
            blocked = _cannot(rule, c) if c.problems else None
            if blocked is not None:
                found.append(blocked)
            elif dateless:
                verdict = _dateless(rule, c, today)
                if verdict.status != QUIET:
                    found.append(verdict)
            elif rule.test(facts):
                found.append(_fired(rule, c, facts))
    return found


def explain(c: Contact, settings: Mapping[str, Any], today: date, *, only: Collection[str] = ()) -> list[Verdict]:
    """Every rule on one contact: whether it fires, and why or why not."""
    rules = rules_from(settings)
    if only:
        chosen(rules, only)
    facts = Facts(c, today)
    out: list[Verdict] = []
    for rule in rules:
        if only and rule.id not in only:
            continue
        if not rule.enabled:
            out.append(Verdict(c, rule, OFF, f"switched off ({rule.switch}: false)"))
        elif c.stage not in rule.stages:
            out.append(Verdict(c, rule, OTHER_STAGE, "looks only at " + ", ".join(stage_letter(s) for s in rule.stages)))
        else:
            blocked = _cannot(rule, c)
            if blocked is not None:
                out.append(blocked)
            elif c.created is None and not c.history:
                out.append(_dateless(rule, c, today))
            elif rule.test(facts):
                out.append(_fired(rule, c, facts))
            else:
                out.append(Verdict(c, rule, QUIET, rule.because(facts, False)))
    return out


# --- what --apply does ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    verdict: Verdict
    changes: list[Change]


def plan(found: Iterable[Verdict], today: date) -> list[Move]:
    """One move per contact: the strongest action that fired (reserve over demote; flags are never applied)."""
    best: dict[str, Verdict] = {}
    for v in found:
        if v.status != FIRES or v.action not in (RESERVE_ACTION, DEMOTE_ACTION):
            continue
        held = best.get(v.contact.slug)
        if held is None or STRENGTH[v.action] > STRENGTH[held.action or FLAG_ACTION]:
            best[v.contact.slug] = v
    return [Move(v, demote(v.contact, v.to, today, v.why, rule=v.rule.id, by="review")) for v in best.values()]


def left_the_process(contacts: Iterable[Contact], found: Iterable[Verdict], today: date,
                     gates: GateRules) -> list[tuple[Contact, str]]:
    """The contacts in FA, C, B or A that have left the sales process by the evidence: a rule moves them out or
    back (`found`: the review's verdicts, what pipe review --apply carries out), or their class is above what
    the evidence supports (pipe classify --apply)."""
    listed = [c for c in contacts if c.stage in (FIRST_APPOINTMENT, *PROSPECTS)]
    why: dict[str, str] = {}
    for v in found:
        if v.status == FIRES and v.action in (RESERVE_ACTION, DEMOTE_ACTION) and v.contact.slug not in why:
            why[v.contact.slug] = f"review: {v.rule.id} ({v.suggestion})"
    for c in listed:
        if c.slug not in why:
            m = classify(c, today, gates)
            if m is not None and m.direction == "over":
                why[c.slug] = f"classify: the evidence supports {stage_letter(m.supported)}"
    return [(c, why[c.slug]) for c in listed if c.slug in why]


def row(v: Verdict) -> dict[str, Any]:
    """One verdict as a listing row; the JSON contract: keys may be added, never renamed or removed."""
    return {
        **identity(v.contact),
        "rule": v.rule.id,
        "status": v.status,
        "action": v.action,
        "to": v.to,
        "suggestion": v.suggestion,
        "evidence": v.why,
        "description": v.rule.description,
    }


COLUMNS = ("slug", "class", "rule", "evidence", "suggestion")
HEADERS = {"slug": "contact", "class": "stage", "suggestion": "action"}
EXPLAIN_COLUMNS = ("rule", "status", "suggestion", "evidence")
EXPLAIN_HEADERS = {"status": "result", "suggestion": "action", "evidence": "why"}
