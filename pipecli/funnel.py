"""The board: the ideal distribution against the actual one, the shape's diagnosis, and the ratios (pure)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from statistics import median
from typing import TYPE_CHECKING, Any, NamedTuple

from .model import CLOSED, FIRST_APPOINTMENT, LADDER, OPPORTUNITY, PIPELINE, RESERVE, A, B, C, Contact, stage_letter

if TYPE_CHECKING:
    from .config import Config

RANK: dict[str, int] = {sid: i for i, sid in enumerate(LADDER)}  # the reserve stands outside the ladder
BOARD_CLASSES: tuple[str, ...] = (*PIPELINE, CLOSED)
WORKED: tuple[str, ...] = (FIRST_APPOINTMENT, C, B, A)  # a first appointment or beyond: the contacts being worked

# METHOD.md §4: ideal cards per closed sale in one cycle, and the chance each class closes.
DEFAULT_RATIOS: Mapping[str, float] = {OPPORTUNITY: 15, FIRST_APPOINTMENT: 5, C: 4, B: 2, A: 1.1}
DEFAULT_PROBABILITIES: Mapping[str, float] = {OPPORTUNITY: 0, FIRST_APPOINTMENT: 0.05, C: 0.25, B: 0.5, A: 0.9}

PATTERNS: tuple[str, ...] = ("not-prospecting", "prospecting-gap", "proposal-pending", "falling-back", "healthy")
ADVICE: Mapping[str, str] = {
    "not-prospecting": "Many deals short-term, but you are not continually finding new contacts and setting first "
                       "appointments: the pipeline will run dry. Start every week with prospecting.",
    "prospecting-gap": "A newcomer, or a veteran who closed many deals and paused prospecting for a while. Turn "
                       "opportunities into first appointments, and keep prospecting every week so the middle fills.",
    "proposal-pending": "Proposals are pending. Study your proposals: do they mean something to the client?",
    "falling-back": "Contacts fall back for lack of action or commitment. Agree a dated next step at every contact, "
                    "and move the ones without one to the reserve.",
    "healthy": "Each class is near its ideal, fewer cards at each step to the right. Keep the cards moving.",
}


# --- the settings the board reads ---------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """Where each shape of METHOD §4 begins; shares are actual ÷ ideal."""

    back_min: float = 1.0  # not-prospecting: A + closed at or above this share ...
    front_max: float = 0.5  # ... while O + FA are at or below this one
    opportunity_min: float = 0.5  # prospecting-gap: O present ...
    hole_max: float = 0.25  # ... and FA, C or B down to a hole
    bulge_min: float = 1.5  # proposal-pending: a bulge at B ...
    a_max: float = 0.5  # ... with few A
    falling_days: int = 30  # falling-back: demotions in this window ...
    falling_min: int = 3  # ... at least this many ...
    falling_share: float = 0.15  # ... and this share of the contacts in FA-A
    tolerance: float = 0.5  # healthy: every class within this share of its ideal


@dataclass(frozen=True)
class FunnelRules:
    """Everything in pipe.yaml the board, stats and the diagnosis depend on."""

    target_closes: float = 4
    cycle_days: int = 90
    cycle_start: date | None = None
    ratios: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_RATIOS))
    probabilities: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_PROBABILITIES))
    learn: bool = False
    learn_min_closed: int = 5
    thresholds: Thresholds = field(default_factory=Thresholds)

    @classmethod
    def from_config(cls, config: Config) -> FunnelRules:
        patterns = "funnel.patterns."
        return cls(
            target_closes=config["target_closes"],
            cycle_days=config["sales_cycle_days"],
            cycle_start=config["funnel.cycle_start"],
            ratios={s: float(config[f"funnel.ratios.{s}"]) for s in PIPELINE},
            probabilities={s: float(config[f"funnel.close_probability.{s}"]) for s in PIPELINE},
            learn=config["funnel.learn"],
            learn_min_closed=config["funnel.learn_min_closed"],
            thresholds=Thresholds(
                back_min=config[patterns + "not-prospecting.min_back_ratio"],
                front_max=config[patterns + "not-prospecting.max_front_ratio"],
                opportunity_min=config[patterns + "prospecting-gap.min_opportunity_ratio"],
                hole_max=config[patterns + "prospecting-gap.max_hole_ratio"],
                bulge_min=config[patterns + "proposal-pending.min_b_ratio"],
                a_max=config[patterns + "proposal-pending.max_a_ratio"],
                falling_days=config[patterns + "falling-back.days"],
                falling_min=config[patterns + "falling-back.min_demotions"],
                falling_share=config[patterns + "falling-back.min_share"],
                tolerance=config[patterns + "healthy.tolerance"],
            ),
        )


def current_cycle(day: date, rules: FunnelRules) -> tuple[date, date]:
    """The first and last day of the sales cycle `day` falls in: counted from funnel.cycle_start, else the last N days."""
    if rules.cycle_start is None:
        return day - timedelta(days=rules.cycle_days - 1), day
    index = (day - rules.cycle_start).days // rules.cycle_days  # floor: works before cycle_start too
    start = rules.cycle_start + timedelta(days=index * rules.cycle_days)
    return start, start + timedelta(days=rules.cycle_days - 1)


# --- a contact's time line, rebuilt from its history --------------------------------------------


class Stay(NamedTuple):  # a tuple: a report builds 50,000 of them at 10,000 contacts
    """A stretch of time in one class: from `start` until `end`, when it moved to `then` (None: still there)."""

    stage: str
    start: date | None
    end: date | None = None
    then: str | None = None


def stays(c: Contact, until: date | None = None) -> list[Stay]:
    """The contact's stays in each class, in order, as its history stood at the end of `until`.

    A stage change dated after `until` did not happen yet; a contact whose first record is later
    did not exist yet (empty list). A date that is unknown counts as "always".
    """
    ordered = sorted(c.history, key=lambda h: h.date)  # stable: same-day changes keep their file order
    points: list[tuple[date | None, str]] = []
    if not ordered:
        points.append((c.created, c.stage))
    else:
        head = ordered[0]
        if head.from_ is not None:  # the history starts mid-way: the class it left is known
            points.append((c.created if c.created is not None and c.created <= head.date else None, head.from_))
        points.extend((h.date, h.to) for h in ordered)
    if until is not None:
        points = [p for p in points if p[0] is None or p[0] <= until]
    out: list[Stay] = []
    for i, (start, stage) in enumerate(points):
        nxt = points[i + 1] if i + 1 < len(points) else None
        out.append(Stay(stage, start, nxt[0] if nxt else None, nxt[1] if nxt else None))
    return out


def stage_on(c: Contact, day: date) -> str | None:
    """The contact's class at the end of `day`, rebuilt from its history; None when it did not exist yet."""
    timeline = stays(c, day)
    return timeline[-1].stage if timeline else None


def _closed_date(c: Contact, stay: Stay | None, until: date) -> date | None:
    """When a closed contact closed: the formal commitment's date, else the day the history says."""
    if c.closed is not None and c.closed.date is not None and c.closed.date <= until:
        return c.closed.date
    return stay.start if stay is not None else None


def _demotions(timeline: Sequence[Stay], first: date, last: date) -> Iterable[tuple[str, str]]:
    """The falls back from one class to a lower one (the reserve not included) dated first..last."""
    for stay in timeline:
        if (stay.end is not None and first <= stay.end <= last and stay.then in RANK and stay.stage in WORKED
                and RANK[stay.then] < RANK[stay.stage]):
            yield stay.stage, stay.then


# --- learning a person's own ratios -------------------------------------------------------------


def reached(contacts: Iterable[Contact], since: date | None = None, until: date | None = None) -> dict[str, int]:
    """How many contacts reached each class of the ladder (or went beyond it), first doing so since..until."""
    counts = dict.fromkeys(LADDER, 0)
    for c in contacts:
        best = -1
        for stay in stays(c, until):
            rank = RANK.get(stay.stage, -1)
            if rank <= best:
                continue
            if since is None or (stay.start is not None and stay.start >= since):
                for sid in LADDER[best + 1 : rank + 1]:
                    counts[sid] += 1
            best = rank
    return counts


@dataclass(frozen=True)
class Learned:
    rules: FunnelRules
    source: str  # "settings" or "history"
    note: str


def learn(contacts: Sequence[Contact], rules: FunnelRules, until: date) -> Learned:
    """The rules with the person's own ratios and close chances, when the history holds enough closed sales."""
    n = reached(contacts, until=until)
    closed = n[CLOSED]
    if closed < rules.learn_min_closed:
        return Learned(rules, "settings",
                       f"not enough history to learn your own ratios: {closed} closed sale{'s' if closed != 1 else ''}, "
                       f"{rules.learn_min_closed} needed (funnel.learn_min_closed); using pipe.yaml's")
    ratios = {s: n[s] / closed for s in PIPELINE}
    probabilities = {s: closed / n[s] for s in PIPELINE}
    text = ", ".join(f"{stage_letter(s)} {_short(ratios[s])}" for s in PIPELINE)
    return Learned(replace(rules, ratios=ratios, probabilities=probabilities), "history",
                   f"ratios learned from your history ({closed} closed sales): {text} per closed sale")


def _short(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


# --- the board -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassCount:
    """One row of the board: a class's actual count against its ideal."""

    stage: str
    actual: int
    ideal: float
    per_close: float  # ideal cards per closed sale
    probability: float  # the chance one card of this class closes

    @property
    def difference(self) -> float:
        return self.actual - self.ideal

    @property
    def ratio(self) -> float | None:
        """actual ÷ ideal (1.0 is exactly the ideal); None when the ideal is 0."""
        return self.actual / self.ideal if self.ideal else None


@dataclass(frozen=True)
class Finding:
    """A pattern of METHOD §4 that the board shows: its id, the evidence in numbers, and the advice."""

    pattern: str
    evidence: str
    advice: str
    numbers: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Board:
    owner: str | None
    as_of: date
    from_history: bool  # rebuilt from the stage histories (--as-of) rather than read from `stage`
    cycle: tuple[date, date]
    target: float
    classes: tuple[ClassCount, ...]  # O, FA, C, B, A, then closed within the cycle
    reserve: int
    closed_before: int  # closed before the current cycle (or on an unknown day): not on the board
    demotions: Mapping[str, int]  # "B→C": n, in the falling-back window
    ratios_source: str
    ratios_note: str | None
    findings: tuple[Finding, ...] = ()

    def row(self, stage: str) -> ClassCount:
        return self.classes[BOARD_CLASSES.index(stage)]

    @property
    def closed(self) -> int:
        return self.row(CLOSED).actual

    @property
    def expected_from_pipeline(self) -> float:
        return sum(r.actual * r.probability for r in self.classes if r.stage != CLOSED)

    @property
    def expected_closes(self) -> float:
        """Closes to expect this cycle: those made, plus each card still in the pipeline times its chance."""
        return self.closed + self.expected_from_pipeline

    @property
    def gap(self) -> float:
        return max(0.0, self.target - self.expected_closes)

    @property
    def first_appointments_per_close(self) -> float:
        return self.row(FIRST_APPOINTMENT).per_close

    @property
    def first_appointments_needed(self) -> int:
        """New first appointments that, at the closing ratio, would close the gap."""
        return math.ceil(round(self.gap * self.first_appointments_per_close, 6))


def build_board(contacts: Iterable[Contact], rules: FunnelRules, as_of: date, *, from_history: bool = False,
                owner: str | None = None, learn_ratios: bool | None = None, people: int = 1) -> Board:
    """The board of these contacts on `as_of`; with from_history each class is rebuilt from the histories.

    One pass over the contacts and their histories: linear in the size of the pipeline.
    `people` multiplies the target (a team board carries every owner's target).
    """
    contacts = list(contacts)
    source, note = "settings", None
    if learn_ratios if learn_ratios is not None else rules.learn:
        learned = learn(contacts, rules, as_of)
        rules, source, note = learned.rules, learned.source, learned.note
    target = rules.target_closes * people
    first, last = current_cycle(as_of, rules)
    window_start = as_of - timedelta(days=rules.thresholds.falling_days - 1)
    counts: Counter[str] = Counter()
    closed_before = 0
    demotions: Counter[str] = Counter()
    for c in contacts:
        timeline = stays(c, as_of)
        if from_history:
            if not timeline:
                continue
            stage = timeline[-1].stage
        else:
            stage = c.stage
        for frm, to in _demotions(timeline, window_start, as_of):
            demotions[f"{stage_letter(frm)}→{stage_letter(to)}"] += 1
        if stage == CLOSED:
            when = _closed_date(c, timeline[-1] if timeline and timeline[-1].stage == CLOSED else None, as_of)
            if when is None or not first <= when <= last:
                closed_before += 1
                continue
        counts[stage] += 1
    classes = tuple(
        ClassCount(s, counts[s], target * (rules.ratios[s] if s != CLOSED else 1.0),
                   rules.ratios[s] if s != CLOSED else 1.0, rules.probabilities[s] if s != CLOSED else 1.0)
        for s in BOARD_CLASSES)
    board = Board(owner, as_of, from_history, (first, last), target, classes, counts[RESERVE], closed_before,
                  dict(sorted(demotions.items(), key=lambda kv: (-kv[1], kv[0]))), source, note)
    return replace(board, findings=tuple(diagnose(board, rules.thresholds)))


# --- the diagnosis --------------------------------------------------------------------------------


def _share(board: Board, *stages: str) -> float:
    actual = sum(board.row(s).actual for s in stages)
    ideal = sum(board.row(s).ideal for s in stages)
    return actual / ideal if ideal else (math.inf if actual else 0.0)


def fmt_percent(value: float) -> str:
    return "∞" if math.isinf(value) else f"{math.floor(value * 100 + 0.5)}%"  # half up: 162.5% reads 163%


def fmt_count(value: float) -> str:
    """A count as people write it: whole numbers bare, others to one decimal."""
    rounded = round(value, 1)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:.1f}"


def _versus(board: Board, *stages: str) -> str:
    label = " + ".join(stage_letter(s) for s in stages)
    actual = sum(board.row(s).actual for s in stages)
    ideal = sum(board.row(s).ideal for s in stages)
    return f"{label} {actual} vs ideal {fmt_count(ideal)} ({fmt_percent(_share(board, *stages))})"


def diagnose(board: Board, t: Thresholds) -> list[Finding]:
    """The shapes of METHOD §4 this board shows, each with its evidence; more than one can hold."""
    found: list[Finding] = []
    back, front = _share(board, A, CLOSED), _share(board, OPPORTUNITY, FIRST_APPOINTMENT)
    if back >= t.back_min and front <= t.front_max and board.row(A).actual + board.closed > 0:
        found.append(Finding(
            "not-prospecting",
            f"heavy at the end: {_versus(board, A, CLOSED)}; "
            f"thin at the start: {_versus(board, OPPORTUNITY, FIRST_APPOINTMENT)}.",
            ADVICE["not-prospecting"], {"back_ratio": back, "front_ratio": front}))
    o_share = _share(board, OPPORTUNITY)
    holes = [s for s in (FIRST_APPOINTMENT, C, B) if _share(board, s) <= t.hole_max]
    if o_share >= t.opportunity_min and holes:
        found.append(Finding(
            "prospecting-gap",
            f"opportunities present: {_versus(board, OPPORTUNITY)}; a hole at "
            + ", ".join(_versus(board, s) for s in holes) + ".",
            ADVICE["prospecting-gap"], {"opportunity_ratio": o_share, "holes": [stage_letter(s) for s in holes]}))
    b_share, a_share = _share(board, B), _share(board, A)
    if b_share >= t.bulge_min and a_share <= t.a_max:
        found.append(Finding(
            "proposal-pending",
            f"a bulge at B: {_versus(board, B)} (and {_versus(board, C)}); few A: {_versus(board, A)}.",
            ADVICE["proposal-pending"], {"b_ratio": b_share, "a_ratio": a_share}))
    fell = sum(board.demotions.values())
    worked = sum(board.row(s).actual for s in WORKED)
    fell_share = fell / max(worked, 1)
    if fell >= t.falling_min and fell_share >= t.falling_share:
        detail = ", ".join(f"{n} {step}" for step, n in board.demotions.items())
        found.append(Finding(
            "falling-back",
            f"{fell} demotions in the last {t.falling_days} days ({detail}): {fmt_percent(fell_share)} of the {worked} "
            "contacts in FA, C, B and A.",
            ADVICE["falling-back"], {"demotions": fell, "share": fell_share, "days": t.falling_days}))
    if not found:
        ratios = [(s, board.row(s).ratio) for s in PIPELINE]
        near = all(r is not None and abs(r - 1) <= t.tolerance for _, r in ratios)
        actual = [board.row(s).actual for s in PIPELINE]
        funnel = all(left >= right for left, right in zip(actual, actual[1:], strict=False))
        if near and funnel:
            found.append(Finding(
                "healthy",
                f"every class within {fmt_percent(t.tolerance)} of its ideal ("
                + ", ".join(f"{stage_letter(s)} {fmt_percent(r or 0)}" for s, r in ratios)
                + "), and fewer cards at each step to the right.",
                ADVICE["healthy"], {"tolerance": t.tolerance}))
    return found


# --- stats: the steps of the ladder, the closing ratio, the quiz ---------------------------------


@dataclass(frozen=True)
class Step:
    """What happened to the contacts that entered one class: moved on, fell back, went to the reserve, or stayed."""

    stage: str
    entered: int = 0
    moved_on: int = 0
    fell_back: int = 0
    reserve: int = 0
    still: int = 0
    median_days: float | None = None

    @property
    def then(self) -> str:
        return LADDER[RANK[self.stage] + 1]

    @property
    def conversion(self) -> float | None:
        """moved on ÷ entered."""
        return self.moved_on / self.entered if self.entered else None


@dataclass(frozen=True)
class Quiz:
    """METHOD §5 made concrete: how many real prospects the closes of this cycle leave."""

    one_in: float  # the closing ratio, 1 in this many first appointments
    source: str  # "history" or "settings"
    cycle: tuple[date, date]
    had: int  # contacts at FA or beyond during the cycle (the closed ones included)
    closed: int  # closed within the cycle
    still_listed: int  # contacts in FA, C, B or A now
    target: float

    @property
    def used(self) -> float:
        return self.closed * self.one_in

    @property
    def remain(self) -> float:
        return max(0.0, self.had - self.used)

    @property
    def stale(self) -> float:
        """Contacts still listed that, at this ratio, have already left the sales process."""
        return max(0.0, self.still_listed - self.remain)

    @property
    def needed(self) -> int:
        """New first appointments for the closes still missing to the target, after the real prospects left."""
        return max(0, math.ceil(round(max(0.0, self.target - self.closed) * self.one_in - self.remain, 6)))


@dataclass(frozen=True)
class Stats:
    owner: str | None
    since: date | None
    as_of: date
    steps: tuple[Step, ...]
    first_appointments: int  # contacts that reached FA (or beyond) since
    closed: int  # contacts that closed since
    quiz: Quiz

    @property
    def closing_ratio(self) -> float | None:
        """Closed per first appointment."""
        return self.closed / self.first_appointments if self.first_appointments else None


def build_stats(contacts: Iterable[Contact], rules: FunnelRules, as_of: date, *, since: date | None = None,
                owner: str | None = None) -> Stats:
    """The ladder's steps from the stage histories of stays entered since..as_of, and the quiz for this cycle."""
    contacts = list(contacts)
    tally: dict[str, Counter[str]] = {s: Counter() for s in PIPELINE}
    days: dict[str, list[int]] = {s: [] for s in PIPELINE}
    first, _ = current_cycle(as_of, rules)
    had = closed_in_cycle = still_listed = 0
    for c in contacts:
        timeline = stays(c, as_of)
        worked_in_cycle = closed_now = False
        for stay in timeline:
            if stay.stage in WORKED and (stay.end is None or stay.end >= first):
                worked_in_cycle = True
            if stay.stage not in tally or not (since is None or (stay.start is not None and stay.start >= since)):
                continue
            counter = tally[stay.stage]
            counter["entered"] += 1
            if stay.then is None:
                counter["still"] += 1
            elif stay.then == RESERVE:
                counter["reserve"] += 1
            elif RANK[stay.then] > RANK[stay.stage]:
                counter["moved_on"] += 1
            else:
                counter["fell_back"] += 1
            if stay.end is not None and stay.start is not None:
                days[stay.stage].append((stay.end - stay.start).days)
        if timeline and timeline[-1].stage == CLOSED:
            when = _closed_date(c, timeline[-1], as_of)
            closed_now = when is not None and first <= when <= as_of
        elif timeline and timeline[-1].stage in WORKED:
            still_listed += 1
        had += worked_in_cycle or closed_now
        closed_in_cycle += closed_now
    steps = tuple(Step(s, tally[s]["entered"], tally[s]["moved_on"], tally[s]["fell_back"], tally[s]["reserve"],
                       tally[s]["still"], float(median(days[s])) if days[s] else None) for s in PIPELINE)
    n = reached(contacts, since=since, until=as_of)
    if n[CLOSED] >= rules.learn_min_closed and n[FIRST_APPOINTMENT]:
        one_in, source = n[FIRST_APPOINTMENT] / n[CLOSED], "history"
    else:
        one_in, source = rules.ratios[FIRST_APPOINTMENT], "settings"
    quiz = Quiz(one_in, source, (first, as_of), had, closed_in_cycle, still_listed, rules.target_closes)
    return Stats(owner, since, as_of, steps, n[FIRST_APPOINTMENT], n[CLOSED], quiz)


# --- selecting whose board ------------------------------------------------------------------------


NO_OWNER = "(no owner)"


def owned_by(contacts: Iterable[Contact], owner: str) -> list[Contact]:
    want = owner.casefold()
    return [c for c in contacts if (c.owner or "").casefold() == want]


def by_owner(contacts: Iterable[Contact]) -> dict[str, list[Contact]]:
    """Contacts grouped by owner (case-insensitive, first spelling kept), in name order."""
    groups: dict[str, list[Contact]] = {}
    names: dict[str, str] = {}
    for c in contacts:
        key = (c.owner or "").strip().casefold()
        names.setdefault(key, (c.owner or "").strip() or NO_OWNER)
        groups.setdefault(key, []).append(c)
    return {names[k]: groups[k] for k in sorted(groups, key=lambda k: (k == "", k))}
