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
from .owners import NO_OWNER as NO_OWNER  # whose board: owners.py, light enough for pipe list
from .owners import by_owner as by_owner
from .owners import match_owner as match_owner
from .owners import owned_by as owned_by
from .owners import owner_names as owner_names

if TYPE_CHECKING:
    from .config import Config


RANK: dict[str, int] = {sid: i for i, sid in enumerate(LADDER)}  # the reserve stands outside the ladder
BOARD_CLASSES: tuple[str, ...] = (*PIPELINE, CLOSED)
WORKED: tuple[str, ...] = (FIRST_APPOINTMENT, C, B, A)  # a first appointment or beyond: the contacts being worked

# METHOD.md §4: ideal cards per closed sale in one cycle. A class's close chance is the inverse of
# its ratio (one model, not two tables): each is derived from the other unless both are set.
DEFAULT_RATIOS: Mapping[str, float] = {OPPORTUNITY: 15, FIRST_APPOINTMENT: 5, C: 4, B: 2, A: 1.1}
CLOSING: tuple[str, ...] = (FIRST_APPOINTMENT, C, B, A)  # the classes whose cards close; O has made no commitment
DEFAULT_PROBABILITIES: Mapping[str, float] = {OPPORTUNITY: 0, **{s: 1 / DEFAULT_RATIOS[s] for s in CLOSING}}
EPSILON = 1e-9  # float noise: 4 × 1.1 is 4.4000000000000004

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
    by_chance: frozenset[str] = frozenset()  # classes whose ratio and chance are both set and disagree
    owner_targets: Mapping[str, float] = field(default_factory=dict)  # by owner name, casefolded
    min_ends: int = 10

    def target_of(self, owner: str | None) -> float:
        """One owner's target per cycle: their own (owner_targets) else target_closes."""
        return self.owner_targets.get((owner or "").strip().casefold(), self.target_closes)

    def target_for(self, contacts: Iterable[Contact]) -> float:
        """The target of these contacts' board: the sum of each owner's own target (one owner: theirs).

        Contacts with no owner add no target of their own (nobody's target); with no owner at all,
        the board is one person's: target_closes.
        """
        owners = {(c.owner or "").strip().casefold() for c in contacts} - {""}
        return sum(self.target_of(o) for o in owners) if owners else self.target_closes

    def supports(self, stage: str, cards: float) -> float:
        """The closes `cards` of a class support in a cycle: cards ÷ ratio (× the chance when both are set apart)."""
        if stage in self.by_chance:
            return cards * self.probabilities[stage]
        return cards / self.ratios[stage]

    @classmethod
    def from_config(cls, config: Config) -> FunnelRules:
        patterns = "funnel.patterns."
        ratios, probabilities, apart = derive({s: config[f"funnel.ratios.{s}"] for s in PIPELINE},
                                              {s: config[f"funnel.close_probability.{s}"] for s in PIPELINE})
        targets = config["owner_targets"] or {}
        return cls(
            target_closes=config["target_closes"],
            cycle_days=config["sales_cycle_days"],
            cycle_start=config["funnel.cycle_start"],
            ratios=ratios,
            probabilities=probabilities,
            by_chance=apart,
            owner_targets={str(k).strip().casefold(): float(v) for k, v in targets.items()},
            min_ends=config["funnel.min_ends"],
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


def derive(ratios: Mapping[str, float | None], chances: Mapping[str, float | None]
           ) -> tuple[dict[str, float], dict[str, float], frozenset[str]]:
    """The ratios and close chances in force: each derived from the other unless both are set.

    Neither set: the method's ratio and its inverse. Both set and disagreeing: both are kept, the
    ideal follows the ratio and the support follows the chance (those classes are returned apart).
    O's chance is 0 unless set: an opportunity has made no commitment.
    """
    r_out: dict[str, float] = {}
    p_out: dict[str, float] = {}
    apart: set[str] = set()
    for s in PIPELINE:
        r, p = ratios.get(s), chances.get(s)
        if s not in CLOSING:
            r_out[s], p_out[s] = float(r if r is not None else DEFAULT_RATIOS[s]), float(p or 0)
            continue
        if r is None and p is not None and p > 0:
            r = round(1 / p, 2)  # as printed, and so used: a chance of 0.3 is 1 in 3.33
        r = float(r if r is not None else DEFAULT_RATIOS[s])
        if p is None:
            p = 1 / r
        elif (ratios.get(s) is not None or p == 0) and abs(r * p - 1) > 1e-6:
            apart.add(s)  # both set and disagreeing, or a chance of 0: no ratio can be derived from it
        r_out[s], p_out[s] = r, float(p)
    return r_out, p_out, frozenset(apart)


def current_cycle(day: date, rules: FunnelRules) -> tuple[date, date]:
    """The first and last day of the sales cycle `day` falls in: counted from funnel.cycle_start, else the last N days."""
    if rules.cycle_start is None:
        return day - timedelta(days=rules.cycle_days - 1), day
    index = (day - rules.cycle_start).days // rules.cycle_days  # floor: works before cycle_start too
    start = rules.cycle_start + timedelta(days=index * rules.cycle_days)
    return start, start + timedelta(days=rules.cycle_days - 1)


# --- a contact's time line, rebuilt from its history --------------------------------------------


class Stay(NamedTuple):  # a tuple: a report builds 50,000 of them at 10,000 contacts
    """A stretch of time in one class: from `start` until `end`, when it moved to `then` (None: still there).

    `leapt_in` / `leapt_out`: the move into (out of) this stay was forced or imported and jumped over
    rungs upward, so the rungs in between are no evidence: nobody stood on them.
    """

    stage: str
    start: date | None
    end: date | None = None
    then: str | None = None
    leapt_in: bool = False
    leapt_out: bool = False


def leap(frm: str | None, to: str, unproven: bool) -> bool:
    """A forced or imported move up over at least one rung (from nowhere: above O)."""
    if not unproven or to not in RANK:
        return False
    return RANK[to] - RANK.get(frm or "", -1) > 1


def undated(c: Contact) -> bool:
    """No date at all: no `created`, no history. Such a contact cannot be placed on any past day."""
    return c.created is None and not c.history


def stays(c: Contact, until: date | None = None) -> list[Stay]:
    """The contact's stays in each class, in order, as its history stood at the end of `until`.

    A stage change dated after `until` did not happen yet; a contact whose first record is later
    did not exist yet (empty list). A date that is unknown counts as "always".
    """
    ordered = sorted(c.history, key=lambda h: h.date)  # stable: same-day changes keep their file order
    points: list[tuple[date | None, str, bool]] = []
    if not ordered:
        points.append((c.created, c.stage, False))
    else:
        head = ordered[0]
        if head.from_ is not None:  # the history starts mid-way: the class it left is known
            points.append((c.created if c.created is not None and c.created <= head.date else None, head.from_, False))
        points.extend((h.date, h.to, leap(h.from_, h.to, h.unproven)) for h in ordered)
    if until is not None:
        points = [p for p in points if p[0] is None or p[0] <= until]
    out: list[Stay] = []
    for i, (start, stage, leapt) in enumerate(points):
        nxt = points[i + 1] if i + 1 < len(points) else None
        out.append(Stay(stage, start, nxt[0] if nxt else None, nxt[1] if nxt else None, leapt,
                        nxt[2] if nxt else False))
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
                # A forced or imported leap proves only the rung it landed on.
                for sid in (stay.stage,) if stay.leapt_in else LADDER[best + 1 : rank + 1]:
                    counts[sid] += 1
            best = rank
    return counts


class Ends(NamedTuple):
    """Per class, the contacts that stood on it and reached an end (closed or the reserve), and those that closed."""

    ended: Mapping[str, int]
    won: Mapping[str, int]


def ends(contacts: Iterable[Contact], until: date) -> Ends:
    """Each contact that is closed or in the reserve on `until` counts in every class it stood on (leaps skipped)."""
    ended = dict.fromkeys(LADDER, 0)
    won = dict.fromkeys(LADDER, 0)
    for c in contacts:
        timeline = stays(c, until)
        if not timeline or timeline[-1].stage not in (CLOSED, RESERVE):
            continue
        closed = timeline[-1].stage == CLOSED
        best = -1
        stood: set[str] = set()
        for stay in timeline:
            rank = RANK.get(stay.stage, -1)
            if rank > best:
                stood.update((stay.stage,) if stay.leapt_in else LADDER[best + 1 : rank + 1])
                best = rank
        for sid in stood:
            ended[sid] += 1
            won[sid] += closed
    return Ends(ended, won)


@dataclass(frozen=True)
class Learned:
    rules: FunnelRules
    source: str  # "settings" or "history"
    note: str


def learn(contacts: Sequence[Contact], rules: FunnelRules, until: date) -> Learned:
    """The rules with the person's own ratios, when the history holds enough closed sales.

    A class's ratio is 1 in (its contacts that reached an end ÷ those that closed): open contacts
    are not failures, and the rungs a forced or imported move jumped over are no evidence. The
    ratio is rounded to the two decimals it is printed with, and its chance is its inverse.
    """
    found = ends(contacts, until)
    closed = sum(1 for c in contacts if (t := stays(c, until)) and t[-1].stage == CLOSED)
    if closed < rules.learn_min_closed:
        return Learned(rules, "settings",
                       f"not enough history to learn your own ratios: {closed} closed sale{'s' if closed != 1 else ''}, "
                       f"{rules.learn_min_closed} needed (funnel.learn_min_closed); using pipe.yaml's")
    ratios, probabilities = dict(rules.ratios), dict(rules.probabilities)
    kept = []
    for s in PIPELINE:
        if found.won[s]:
            ratios[s] = max(1.0, round(found.ended[s] / found.won[s], 2))
            if s in CLOSING:
                probabilities[s] = 1 / ratios[s]
        else:
            kept.append(stage_letter(s))
    text = ", ".join(f"{stage_letter(s)} {_short(ratios[s])}" for s in PIPELINE)
    also = f"; {', '.join(kept)} from pipe.yaml (no closed sale stood there)" if kept else ""
    return Learned(replace(rules, ratios=ratios, probabilities=probabilities, by_chance=frozenset()), "history",
                   f"ratios learned from your history ({closed} closed sales; of the contacts that reached an end): "
                   f"{text} per closed sale{also}")


def _short(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


# --- the board -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassCount:
    """One row of the board: a class's actual count against its ideal, and the closes it supports."""

    stage: str
    actual: int
    ideal: float
    per_close: float  # ideal cards per closed sale
    probability: float  # the chance one card of this class closes
    supports: float = 0.0  # closes a cycle these cards support: actual ÷ per_close (× probability when set apart)
    by_chance: bool = False  # the ratio and the chance are both set and disagree: supports = actual × probability

    @property
    def difference(self) -> float:
        return self.actual - self.ideal

    @property
    def ratio(self) -> float | None:
        """actual ÷ ideal (1.0 is exactly the ideal); None when the ideal is 0."""
        return self.actual / self.ideal if self.ideal else None

    @property
    def short(self) -> bool:
        """Below its ideal (float noise aside)."""
        return self.actual < self.ideal - EPSILON


@dataclass(frozen=True)
class Finding:
    """A pattern of METHOD §4 that the board shows: its id, the evidence in numbers, and the advice."""

    pattern: str
    evidence: str
    advice: str
    numbers: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Board:
    """The board, and the one funnel model every command reads "first appointments needed" from.

    Class i with n cards supports n ÷ ratio_i closes a cycle; the pipeline supports what its
    narrowest closing class (FA, C, B, A) supports; the gap is the target less that; the first
    appointments needed make up the gap at FA's ratio (new first appointments feed every class after
    FA). An ideal board supports exactly the target, and every figure scales with the board.
    """

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
    owners: tuple[str, ...] = ()  # whose contacts the board counts, by name
    undated: int = 0  # contacts left out of a board --as-of: no created date and no history

    def row(self, stage: str) -> ClassCount:
        return self.classes[BOARD_CLASSES.index(stage)]

    @property
    def closed(self) -> int:
        return self.row(CLOSED).actual

    @property
    def narrowest(self) -> ClassCount:
        """The closing class that supports the fewest closes (the leftmost of equals)."""
        return min((self.row(s) for s in CLOSING), key=lambda r: r.supports)

    @property
    def expected_from_pipeline(self) -> float:
        """Closes a cycle the pipeline supports: what its narrowest class supports."""
        return self.narrowest.supports

    @property
    def expected_closes(self) -> float:
        """The forecast: the closes of this cycle plus what the pipeline supports."""
        return self.closed + self.expected_from_pipeline

    @property
    def short(self) -> tuple[ClassCount, ...]:
        """The classes O to A below their ideal."""
        return tuple(r for r in self.classes if r.stage in PIPELINE and r.short)

    @property
    def gap(self) -> float:
        """Closes a cycle the pipeline lacks to support the target."""
        missing = self.target - self.expected_from_pipeline
        return missing if missing > EPSILON else 0.0

    @property
    def target_reached(self) -> bool:
        return self.closed >= self.target - EPSILON

    @property
    def first_appointments_per_close(self) -> float:
        """First appointments per closed sale, as printed (1 in this) and used for the need."""
        fa = self.row(FIRST_APPOINTMENT)
        if fa.by_chance and fa.probability > 0:
            return round(1 / fa.probability, 2)
        return fa.per_close

    @property
    def first_appointments_needed(self) -> int:
        """New first appointments that make up the gap: the one number board, stats, plan and report print."""
        if self.gap <= 0:
            return 0
        return max(1, math.ceil(round(self.gap * self.first_appointments_per_close, 6)))

    @property
    def opportunities_needed(self) -> int:
        """New opportunities that bring O up to its ideal (first appointments are set from them)."""
        row = self.row(OPPORTUNITY)
        return math.ceil(round(row.ideal - row.actual, 6)) if row.short else 0


def build_board(contacts: Iterable[Contact], rules: FunnelRules, as_of: date, *, from_history: bool = False,
                owner: str | None = None, learn_ratios: bool | None = None, target: float | None = None) -> Board:
    """The board of these contacts on `as_of`; with from_history each class is rebuilt from the histories.

    One pass over the contacts and their histories: linear in the size of the pipeline. The target
    is the sum of each owner's own target (rules.target_for) unless given.
    """
    contacts = list(contacts)
    source, note = "settings", None
    if learn_ratios if learn_ratios is not None else rules.learn:
        learned = learn(contacts, rules, as_of)
        rules, source, note = learned.rules, learned.source, learned.note
    if target is None:
        target = rules.target_for(contacts)
    first, last = current_cycle(as_of, rules)
    window_start = as_of - timedelta(days=rules.thresholds.falling_days - 1)
    counts: Counter[str] = Counter()
    closed_before = left_out = 0
    demotions: Counter[str] = Counter()
    for c in contacts:
        if from_history and undated(c):
            left_out += 1  # no date at all: it cannot be said to have been there on any past day
            continue
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
    classes = tuple(_row(s, counts[s], target, rules) for s in BOARD_CLASSES)
    board = Board(owner, as_of, from_history, (first, last), target, classes, counts[RESERVE], closed_before,
                  dict(sorted(demotions.items(), key=lambda kv: (-kv[1], kv[0]))), source, note,
                  owners=tuple(by_owner(contacts)), undated=left_out)
    return replace(board, findings=tuple(diagnose(board, rules.thresholds)))


def _row(stage: str, actual: int, target: float, rules: FunnelRules) -> ClassCount:
    if stage == CLOSED:
        return ClassCount(stage, actual, target, 1.0, 1.0, float(actual))
    return ClassCount(stage, actual, target * rules.ratios[stage], rules.ratios[stage], rules.probabilities[stage],
                      rules.supports(stage, actual), stage in rules.by_chance)


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


def _next_cycle(board: Board) -> str:
    """What the next cycle will lack, for a finding about the front (said even when this cycle's target is met)."""
    need, more = board.first_appointments_needed, board.opportunities_needed
    if not need and not more:
        return ""
    parts = []
    if need:
        parts.append(f"{need} new first appointment{'s' if need != 1 else ''}")
    if more:
        parts.append(f"{more} new opportunit{'ies' if more != 1 else 'y'}")
    if board.target_reached:
        return f" This cycle's target is met ({board.closed} closed), but the next cycle lacks {' and '.join(parts)}."
    return f" The pipeline lacks {' and '.join(parts)}."


def _versus(board: Board, *stages: str) -> str:
    label = " + ".join(stage_letter(s) for s in stages)
    actual = sum(board.row(s).actual for s in stages)
    ideal = sum(board.row(s).ideal for s in stages)
    return f"{label} {actual} vs ideal {fmt_count(ideal)} ({fmt_percent(_share(board, *stages))})"


def diagnose(board: Board, t: Thresholds) -> list[Finding]:
    """The shapes of METHOD §4 this board shows, each with its evidence.

    The two prospecting shapes are opposites and never both hold: with O at or above
    min_opportunity_ratio the opportunities are there and a thin front or a hole is a
    prospecting-gap; below it, a thin front is not-prospecting. So a thin front (O + FA at or
    below max_front_ratio of their ideal) is always named, whatever the back holds.
    """
    found: list[Finding] = []
    back, front = _share(board, A, CLOSED), _share(board, OPPORTUNITY, FIRST_APPOINTMENT)
    o_share = _share(board, OPPORTUNITY)
    thin_front = front <= t.front_max
    lack = _next_cycle(board)
    if thin_front and o_share < t.opportunity_min:
        end = (f"heavy at the end: {_versus(board, A, CLOSED)}" if back >= t.back_min
               else f"the end: {_versus(board, A, CLOSED)}")
        found.append(Finding(
            "not-prospecting",
            f"thin at the start: {_versus(board, OPPORTUNITY, FIRST_APPOINTMENT)}, with O below "
            f"{fmt_percent(t.opportunity_min)} of its ideal; {end}.{lack}",
            ADVICE["not-prospecting"], {"back_ratio": back, "front_ratio": front, "opportunity_ratio": o_share}))
    holes = [s for s in (FIRST_APPOINTMENT, C, B) if _share(board, s) <= t.hole_max]
    if o_share >= t.opportunity_min and thin_front and FIRST_APPOINTMENT not in holes:
        holes.insert(0, FIRST_APPOINTMENT)  # O is there but the front is thin: the hole is at FA
    if o_share >= t.opportunity_min and holes:
        why = (" (O + FA at or below " + f"{fmt_percent(t.front_max)} of their ideal, with O present: the "
               "opportunities are not turned into first appointments, so this and not not-prospecting)"
               if thin_front else "")
        found.append(Finding(
            "prospecting-gap",
            f"opportunities present: {_versus(board, OPPORTUNITY)}; a hole at "
            + ", ".join(_versus(board, s) for s in holes) + f"{why}.{lack if thin_front else ''}",
            ADVICE["prospecting-gap"], {"opportunity_ratio": o_share, "holes": [stage_letter(s) for s in holes],
                                        "front_ratio": front}))
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
    """What happened to the contacts that entered one class: moved on, fell back, went to the reserve, or stayed.

    `jumped`: stays left by a forced or imported move over the next rungs. They did not take this
    step (nobody stood on the rungs jumped over), so they count neither as moving on nor in the conversion.
    """

    stage: str
    entered: int = 0
    moved_on: int = 0
    fell_back: int = 0
    reserve: int = 0
    still: int = 0
    median_days: float | None = None
    jumped: int = 0

    @property
    def then(self) -> str:
        return LADDER[RANK[self.stage] + 1]

    @property
    def conversion(self) -> float | None:
        """moved on ÷ entered (the jumps left out)."""
        taken = self.entered - self.jumped
        return self.moved_on / taken if taken else None


@dataclass(frozen=True)
class Quiz:
    """METHOD §5 made concrete: how many real prospects the closes of this cycle leave.

    Whole people: `one_in` is the board's ratio as printed, the prospects that remain are rounded
    down, and `needed` is the board's first appointments needed (one number in every command).
    """

    one_in: float  # the closing ratio, 1 in this many first appointments
    source: str  # "history" or "settings": where the board's ratios come from
    cycle: tuple[date, date]
    had: int  # contacts at FA or beyond during the cycle (the closed ones included)
    closed: int  # closed within the cycle
    still_listed: int  # contacts in FA, C, B or A now
    target: float
    needed: int = 0

    @property
    def used(self) -> float:
        return self.closed * self.one_in

    @property
    def remain(self) -> int:
        return max(0, math.floor(self.had - self.used + EPSILON))

    @property
    def stale(self) -> int:
        """Contacts still listed that, at this ratio, have already left the sales process."""
        return max(0, self.still_listed - self.remain)


class Cohort(NamedTuple):
    """The other view of the closing ratio: the contacts that first reached FA in the last full cycle, and what became
    of them by today (closed, taken out to the reserve, or still open)."""

    cycle: tuple[date, date]
    closed: int
    taken_out: int
    open: int

    @property
    def size(self) -> int:
        return self.closed + self.taken_out + self.open


@dataclass(frozen=True)
class Thirds:
    """METHOD §5's one-third rule over the prospects that reached an end: closed, or taken out after a first
    appointment. Effort is the calls, e-mails, meetings and visits logged up to that end."""

    easy_effort: int  # closed with at most this much effort: "closed whatever you do"
    easy: tuple[tuple[Contact, int], ...] = ()  # (contact, effort)
    won: tuple[tuple[Contact, int], ...] = ()  # closed with more effort: won by managing the prospect
    never: tuple[tuple[Contact, int], ...] = ()  # taken out (reserve) after reaching FA: never closed

    @property
    def ended(self) -> int:
        return len(self.easy) + len(self.won) + len(self.never)

    @staticmethod
    def median_effort(group: Sequence[tuple[Contact, int]]) -> float | None:
        return float(median(e for _, e in group)) if group else None


EFFORT_KINDS = ("call", "email", "meeting", "visit")


def build_thirds(contacts: Iterable[Contact], as_of: date, *, since: date | None = None, easy_effort: int = 4) -> Thirds:
    """Split the prospects that reached an end (since..as_of) into the method's three thirds."""
    easy: list[tuple[Contact, int]] = []
    won: list[tuple[Contact, int]] = []
    never: list[tuple[Contact, int]] = []
    for c in contacts:
        timeline = stays(c, as_of)
        if not timeline or timeline[-1].stage not in (CLOSED, RESERVE):
            continue
        last = timeline[-1]
        end = _closed_date(c, last, as_of) if last.stage == CLOSED else last.start
        if end is None or (since is not None and end < since):
            continue
        effort = sum(a.kind in EFFORT_KINDS and a.date <= end for a in c.activities)
        if last.stage == CLOSED:
            (easy if effort <= easy_effort else won).append((c, effort))
        elif any(s.stage in WORKED for s in timeline[:-1]):
            never.append((c, effort))
    return Thirds(easy_effort, tuple(easy), tuple(won), tuple(never))


@dataclass(frozen=True)
class Stats:
    """The ladder's steps, the closing ratio over the contacts that reached an end, and the quiz.

    The closing ratio counts the contacts that reached an end (closed, or taken out to the reserve
    after reaching a first appointment) within the period: open ones are not failures. A period's
    ratio is shown only with at least `min_ends` ends in it.
    """

    owner: str | None
    since: date | None
    as_of: date
    steps: tuple[Step, ...]
    first_appointments: int  # contacts that reached FA (or beyond) since
    closed: int  # of the ends, the closed ones
    quiz: Quiz
    ended: int = 0  # contacts that reached an end since: closed, or taken out after reaching FA
    min_ends: int = 1
    board: Board | None = None
    cohort: Cohort | None = None
    thirds: Thirds | None = None  # the one-third rule (added by the command that shows it)
    left: tuple[tuple[Contact, str], ...] = ()  # still listed, but the rules or classify take them out: (contact, why)

    @property
    def taken_out(self) -> int:
        return self.ended - self.closed

    @property
    def enough(self) -> bool:
        """Enough ends to mean something: always for all time (any end), min_ends for a period."""
        return self.ended >= (self.min_ends if self.since is not None else 1)

    @property
    def closing_ratio(self) -> float | None:
        """Closed ÷ ended; None when there are too few ends to tell."""
        return self.closed / self.ended if self.ended and self.enough else None


def build_stats(contacts: Iterable[Contact], rules: FunnelRules, as_of: date, *, since: date | None = None,
                owner: str | None = None, board: Board | None = None) -> Stats:
    """The ladder's steps from the stage histories of stays entered since..as_of, and the quiz for this cycle.

    `board` is the board of the same contacts and day (built here when not given): the quiz takes
    its ratio and its first appointments needed from it, so stats and board always agree.
    """
    contacts = list(contacts)
    if board is None:
        board = build_board(contacts, rules, as_of, owner=owner)
    tally: dict[str, Counter[str]] = {s: Counter() for s in PIPELINE}
    days: dict[str, list[int]] = {s: [] for s in PIPELINE}
    first, _ = current_cycle(as_of, rules)
    had = closed_in_cycle = still_listed = ended = won = 0
    cohort_cycle = current_cycle(first - timedelta(days=1), rules)
    cohort: Counter[str] = Counter()
    for c in contacts:
        timeline = stays(c, as_of)
        worked_in_cycle = closed_now = False
        best = -1
        reached_fa: date | None = None
        for stay in timeline:
            best = max(best, RANK.get(stay.stage, -1))
            if reached_fa is None and best >= RANK[FIRST_APPOINTMENT]:
                reached_fa = stay.start or date.min
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
            elif stay.leapt_out:
                counter["jumped"] += 1
            elif RANK[stay.then] > RANK[stay.stage]:
                counter["moved_on"] += 1
            else:
                counter["fell_back"] += 1
            if stay.end is not None and stay.start is not None:
                days[stay.stage].append((stay.end - stay.start).days)
        last = timeline[-1] if timeline else None
        if last is not None and last.stage == CLOSED:
            when = _closed_date(c, last, as_of)
            closed_now = when is not None and first <= when <= as_of
            if since is None or (when is not None and when >= since):
                ended += 1
                won += 1
        elif last is not None and last.stage == RESERVE:
            if best >= RANK[FIRST_APPOINTMENT] and (since is None or (last.start is not None and last.start >= since)):
                ended += 1
        elif last is not None and last.stage in WORKED:
            still_listed += 1
        had += worked_in_cycle or closed_now
        closed_in_cycle += closed_now
        if reached_fa is not None and cohort_cycle[0] <= reached_fa <= cohort_cycle[1] and last is not None:
            cohort["closed" if last.stage == CLOSED else "taken_out" if last.stage == RESERVE else "open"] += 1
    steps = tuple(Step(s, tally[s]["entered"], tally[s]["moved_on"], tally[s]["fell_back"], tally[s]["reserve"],
                       tally[s]["still"], float(median(days[s])) if days[s] else None, tally[s]["jumped"])
                  for s in PIPELINE)
    n = reached(contacts, since=since, until=as_of)
    quiz = Quiz(board.first_appointments_per_close, board.ratios_source, (first, as_of), had, closed_in_cycle,
                still_listed, board.target, board.first_appointments_needed)
    return Stats(owner, since, as_of, steps, n[FIRST_APPOINTMENT], won, quiz, ended, rules.min_ends, board,
                 Cohort(cohort_cycle, cohort["closed"], cohort["taken_out"], cohort["open"]))
