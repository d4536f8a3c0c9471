"""Contacts and their parts as immutable records, the stage ladder with its aliases, and edits as data."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from .dates import out_of_range

# --- the ladder -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    id: str
    letter: str
    label: str
    aliases: tuple[str, ...]
    rank: int  # position on the ladder; the reserve stands outside it


OPPORTUNITY, FIRST_APPOINTMENT, C, B, A, CLOSED, RESERVE = (
    "opportunity", "first-appointment", "c", "b", "a", "closed", "reserve",
)

STAGES: tuple[Stage, ...] = (
    Stage(OPPORTUNITY, "O", "opportunity", ("o", "opp", "销售机会", "机会"), 0),
    Stage(FIRST_APPOINTMENT, "FA", "first appointment",
          ("fa", "first_appointment", "first appointment", "appointment",
           "首次会晤对象", "初次会晤对象", "首要联系人", "首次会晤", "初次会晤"), 1),
    Stage(C, "C", "C prospect", ("有效潜在客户一", "潜在客户一"), 2),
    Stage(B, "B", "B prospect", ("有效潜在客户二", "潜在客户二"), 3),
    Stage(A, "A", "A prospect", ("有效潜在客户三", "潜在客户三"), 4),
    Stage(CLOSED, "closed", "closed", ("won", "customer", "成交", "客户"), 5),
    Stage(RESERVE, "reserve", "reserve", ("r", "backup", "备用仓库", "备用"), -1),
)
STAGE_BY_ID: dict[str, Stage] = {s.id: s for s in STAGES}
LADDER: tuple[str, ...] = (OPPORTUNITY, FIRST_APPOINTMENT, C, B, A, CLOSED)
PIPELINE: tuple[str, ...] = (OPPORTUNITY, FIRST_APPOINTMENT, C, B, A)
PROSPECTS: tuple[str, ...] = (C, B, A)

_STAGE_ALIASES: dict[str, str] = {}
for _stage in STAGES:
    for _name in (_stage.id, _stage.letter, *_stage.aliases):
        _STAGE_ALIASES[_name.casefold()] = _stage.id


def stage_id(text: str) -> str | None:
    """The stage id a user meant by an id, a letter or a Chinese name; None if none."""
    return _STAGE_ALIASES.get(unicodedata.normalize("NFKC", str(text)).strip().casefold())


def stage_letter(sid: str) -> str:
    return STAGE_BY_ID[sid].letter


def stage_names_help() -> str:
    """Each stage with its letter and its Chinese name from the method (the first Chinese alias)."""
    return ", ".join(f"{s.id} ({s.letter}, {next(a for a in s.aliases if not a.isascii())})" for s in STAGES)


SOURCES: dict[str, tuple[str, ...]] = {
    "candidate": ("候选人",),
    "suspect": ("预测客户",),
    "inbound": ("广告客户",),
    "referral": ("推荐客户",),
    "fallback": ("后退客户",),
}
_SOURCE_ALIASES = {alias.casefold(): key for key, names in SOURCES.items() for alias in (key, *names)}


def source_id(text: str) -> str | None:
    return _SOURCE_ALIASES.get(unicodedata.normalize("NFKC", str(text)).strip().casefold())


ACTIVITY_KINDS: tuple[str, ...] = ("call", "email", "meeting", "visit", "note")
OUTCOMES: tuple[str, ...] = ("no-answer", "left-message", "no-reply", "talked", "held", "replied", "refused",
                             "no-show", "cancelled", "rescheduled")
UNANSWERED: frozenset[str] = frozenset({"no-answer", "left-message", "no-reply"})
ANSWERED: frozenset[str] = frozenset({"talked", "held", "replied", "refused"})
POSITIVE: frozenset[str] = frozenset({"talked", "held", "replied"})  # an answer that is not a "no"
MEETING_KINDS: tuple[str, ...] = ("meeting", "visit")
NOT_MET: frozenset[str] = frozenset({"no-show", "cancelled", "rescheduled"})  # a meeting that did not take place
# The four-step sale of METHOD §7, in order: what an activity served.
STEPS: tuple[str, ...] = ("opening", "information-gathering", "presentation", "close")
STEP_WORDS: dict[str, str] = {"opening": "opening", "information-gathering": "information gathering",
                              "presentation": "presentation", "close": "close"}

# English spellings, any case, and the Chinese words for kinds, outcomes and steps (as for stages).
KIND_ALIASES: dict[str, tuple[str, ...]] = {
    "call": ("phone", "电话", "打电话", "通话"),
    "email": ("e-mail", "mail", "邮件", "电子邮件", "电邮"),
    "meeting": ("会议", "会面", "会晤", "见面"),
    "visit": ("拜访", "访问", "上门"),
    "note": ("备注", "记录", "笔记"),
}
OUTCOME_ALIASES: dict[str, tuple[str, ...]] = {
    "no-answer": ("no answer", "noanswer", "无人接听", "未接通", "没人接"),
    "left-message": ("left message", "message", "留言"),
    "no-reply": ("no reply", "noreply", "未回复", "没有回复"),
    "talked": ("谈过", "交谈", "通话了", "谈了"),
    "held": ("已举行", "举行", "见面了", "已会面"),
    "replied": ("已回复", "回复"),
    "refused": ("拒绝", "已拒绝", "refusal", "declined"),
    "no-show": ("no show", "noshow", "爽约", "未到", "没来"),
    "cancelled": ("canceled", "cancel", "取消", "已取消"),
    "rescheduled": ("改期", "推迟", "延期", "moved", "postponed"),
}
STEP_ALIASES: dict[str, tuple[str, ...]] = {
    "opening": ("open", "开场", "开场白", "接触"),
    "information-gathering": ("information gathering", "information", "gathering", "info", "questions",
                              "信息收集", "收集信息", "了解需求"),
    "presentation": ("present", "pitch", "proposal", "demo", "展示", "演示", "介绍方案", "方案", "提案"),
    "close": ("closing", "ask", "促成", "成交", "签约"),
}


def _alias_map(names: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    return {alias.casefold(): key for key, more in names.items() for alias in (key, *more)}


_KINDS, _OUTCOMES, _STEPS = (_alias_map(m) for m in (KIND_ALIASES, OUTCOME_ALIASES, STEP_ALIASES))


def _word(table: dict[str, str], text: str | None) -> str | None:
    if text is None:
        return None
    return table.get(unicodedata.normalize("NFKC", str(text)).strip().casefold())


def kind_id(text: str | None) -> str | None:
    """The activity kind meant by any case or a Chinese word (Call, 电话); None if none."""
    return _word(_KINDS, text)


def outcome_id(text: str | None) -> str | None:
    """The outcome meant by any case or a Chinese word (Talked, 拒绝); None if none."""
    return _word(_OUTCOMES, text)


def step_id(text: str | None) -> str | None:
    """The step of the four-step sale meant (opening, information-gathering, presentation, close; 信息收集...)."""
    return _word(_STEPS, text)

CRITERIA: tuple[str, ...] = ("decision_maker", "proposal_fits", "budget", "timetable", "next_step")

# The largest deal value: every whole number up to it is exact as a float (2**53), and sums of
# thousands of them stay finite.
MAX_AMOUNT = 2**53

CONTACTS_DIR = "contacts"  # the folder of contact files, in the pipeline folder: contacts/SLUG.yaml

# Key order for files pipe writes from scratch: stable, so merges stay clean.
FIELD_ORDER: tuple[str, ...] = (
    "id", "name", "company", "deal", "title", "email", "phone", "owner", "source", "stage", "value", "currency",
    "tags", "created", "first_meeting", "criteria", "verbal_yes", "closed", "deferred", "next",
    "past_actions", "crm", "notes", "activities", "history",
)
KNOWN_FIELDS = frozenset(FIELD_ORDER)

# --- records ----------------------------------------------------------------------------------


class Problem(NamedTuple):
    """Something wrong inside one contact file, located by its key path (line found later)."""

    key: tuple[str | int, ...]
    message: str


Day = date  # for fields named after what they hold, where `date` is itself a field


class Activity(NamedTuple):
    date: date
    kind: str
    outcome: str | None = None
    note: str | None = None
    step: str | None = None  # the step of the four-step sale it served (STEPS)
    moved_from: Day | None = None  # a rescheduled meeting: the date it had ...
    moved_to: Day | None = None  # ... and the date it moved to


class StageChange(NamedTuple):
    date: date
    to: str
    from_: str | None = None
    reason: str | None = None
    forced: bool = False
    rule: str | None = None
    imported: bool = False  # written by an import (a bulk-loaded history), not a move someone made

    @property
    def unproven(self) -> bool:
        """A forced or imported move: no evidence that the contact stood on the rungs it jumped over."""
        return self.forced or self.imported


class FirstMeeting(NamedTuple):
    date: date | None
    held: bool = False


class Criteria(NamedTuple):
    decision_maker: bool | None = None
    proposal_fits: bool | None = None
    budget: bool | None = None
    decision_date: date | None = None
    start_date: date | None = None
    next_step: str | None = None  # files from before the next step was the next action (read as `next`)
    checked: date | None = None  # when pipe qualify last recorded them (evidence after a demotion)


class Closed(NamedTuple):
    date: date | None
    value: float | None = None


class Deferred(NamedTuple):
    until: date
    reason: str | None = None
    asked: date | None = None


class NextAction(NamedTuple):
    action: str
    due: date | None = None
    agreed: date | None = None  # when it was agreed (unknown in files written before pipe recorded it)


# Records are NamedTuples, immutable like beancount's entries: they build from the cache's
# plain tuples with tuple.__new__ alone, which keeps a warm load of 10,000 contacts fast.
class Contact(NamedTuple):
    slug: str
    id: str
    name: str
    stage: str
    company: str | None = None
    title: str | None = None
    email: str | None = None
    phone: str | None = None
    owner: str | None = None
    source: str | None = None
    value: float | None = None
    currency: str | None = None  # of value and closed.value, as typed (EUR); None: not said
    tags: tuple[str, ...] = ()
    created: date | None = None
    first_meeting: FirstMeeting | None = None
    criteria: Criteria = Criteria()
    verbal_yes: date | None = None
    closed: Closed | None = None
    deferred: Deferred | None = None
    next: NextAction | None = None
    notes: str | None = None
    activities: tuple[Activity, ...] = ()
    history: tuple[StageChange, ...] = ()
    problems: tuple[Problem, ...] = ()
    deal: str | None = None  # the deal this card is for, when it came from a CRM's deal (one person may have several)
    crm: str | None = None  # "system:record id" of the record pipe import made it from (crm.system, crm.id)

    @property
    def label(self) -> str:
        inside = ": ".join(part for part in (self.company, self.deal) if part)
        return f"{self.name} ({inside})" if inside else self.name

    def stage_since(self) -> date | None:
        """When the contact entered its current stage, from its history (else its creation)."""
        for change in reversed(self.history):
            if change.to == self.stage:
                return change.date
        return self.created

    def days_in_stage(self, today: date) -> int | None:
        since = self.stage_since()
        return (today - since).days if since else None

    def last_activity(self) -> date | None:
        return max((a.date for a in self.activities), default=None)

    def problem_at(self, *prefixes: str) -> Problem | None:
        """The first problem in any of these top-level keys: such facts cannot be trusted."""
        return next((p for p in self.problems if p.key and p.key[0] in prefixes), None)


_new = tuple.__new__
_PART = {Contact._fields.index(name): cls for name, cls in (
    ("first_meeting", FirstMeeting), ("criteria", Criteria), ("closed", Closed), ("deferred", Deferred),
    ("next", NextAction))}
_ACTIVITIES, _HISTORY, _PROBLEMS = (Contact._fields.index(n) for n in ("activities", "history", "problems"))
# The records' shapes: part of the cache's stamp, so that plain tuples of records with other fields
# are never rebuilt into these.
SHAPE: tuple[tuple[str, tuple[str, ...]], ...] = tuple((r.__name__, r._fields) for r in (
    Problem, Activity, StageChange, FirstMeeting, Criteria, Closed, Deferred, NextAction, Contact))


def to_plain(c: Contact) -> tuple[Any, ...]:
    """The contact as nested plain tuples, for the cache (pickle reads plain tuples fastest)."""
    out: list[Any] = list(c)
    for index in _PART:
        if out[index] is not None:
            out[index] = tuple(out[index])
    out[_ACTIVITIES] = tuple(map(tuple, c.activities))
    out[_HISTORY] = tuple(map(tuple, c.history))
    out[_PROBLEMS] = tuple(map(tuple, c.problems))
    return tuple(out)


def from_plain(t: tuple[Any, ...]) -> Contact:
    """The inverse of to_plain, built without running any __init__."""
    out: list[Any] = list(t)
    for index, cls in _PART.items():
        if out[index] is not None:
            out[index] = _new(cls, out[index])
    out[_ACTIVITIES] = tuple([_new(Activity, a) for a in t[_ACTIVITIES]])
    out[_HISTORY] = tuple([_new(StageChange, h) for h in t[_HISTORY]])
    out[_PROBLEMS] = tuple([_new(Problem, p) for p in t[_PROBLEMS]])
    return _new(Contact, out)


# --- from plain data (what a YAML loader returns) to records ----------------------------------

_ISO = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")


class _Reader:
    """Turns one file's plain data into typed values, collecting every problem instead of failing."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def bad(self, key: tuple[str | int, ...], message: str) -> None:
        self.problems.append(Problem(key, message))

    def text(self, value: Any, key: tuple[str | int, ...]) -> str | None:
        if value is None:
            return None
        if isinstance(value, (bool, dict, list)):
            self.bad(key, f"{_dotted(key)} should be text, not {_kind(value)}")
            return None
        return str(value)

    def currency(self, value: Any, key: tuple[str | int, ...]) -> str | None:
        """A currency as an upper-case three-letter code (eur reads EUR): sums are kept apart by it."""
        code = self.text(value, key)
        if code is None:
            return None
        if not (len(code.strip()) == 3 and code.strip().isascii() and code.strip().isalpha()):
            self.bad(key, f"{_dotted(key)} should be a three-letter currency code like EUR or CNY, not {_show(value)}")
            return None
        return code.strip().upper()

    def day(self, value: Any, key: tuple[str | int, ...]) -> date | None:
        if value is None:
            return None
        if isinstance(value, date):
            day = value.date() if isinstance(value, datetime) else value
            problem = out_of_range(day)
            if problem is None:
                return day
            self.bad(key, f"{_dotted(key)}: {problem}")
            return None
        if isinstance(value, str) and _ISO.match(value.strip()):
            self.bad(key, f"{_dotted(key)}: {value.strip()} is not a real date")
        else:
            self.bad(key, f"{_dotted(key)} should be a date like 2026-12-03, not {_show(value)}")
        return None

    def flag(self, value: Any, key: tuple[str | int, ...]) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        self.bad(key, f"{_dotted(key)} should be true or false, not {_show(value)}")
        return None

    def number(self, value: Any, key: tuple[str | int, ...]) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.bad(key, f"{_dotted(key)} should be a number, not {_show(value)}")
            return None
        # compared, never converted first: an int of 400 digits is no float (OverflowError)
        if value < 0 or value != value:  # negative, or not a number (.nan)
            self.bad(key, f"{_dotted(key)} should be an amount of 0 or more, not {_big(value)}")
            return None
        if value > MAX_AMOUNT:
            self.bad(key, f"{_dotted(key)} should be an amount of at most {MAX_AMOUNT:,}, not {_big(value)}")
            return None
        return float(value)

    def mapping(self, value: Any, key: tuple[str | int, ...]) -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            self.bad(key, f"{_dotted(key)} should be a mapping of keys, not {_kind(value)}")
            return None
        return value


def _big(value: float) -> str:
    """A huge number, short: 1e+400 rather than four hundred digits."""
    if isinstance(value, float) or abs(value) < 10**21:
        return f"{value:,}" if math.isfinite(value) else str(value)
    return f"{float(value):.3g}" if abs(value) < 10**300 else f"a number of {len(str(abs(value)))} digits"


def _dotted(key: tuple[str | int, ...]) -> str:
    """A key path as people count: history #2.date is the second history entry's date."""
    out = ""
    for part in key:
        out += f" #{part + 1}" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _show(value: Any) -> str:
    """A value as it would look in the file, not as Python prints it."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, str):
        return f"'{value}'"
    return str(value)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return _show(value)


def contact_from_data(slug: str, data: Any) -> Contact:
    """Build a Contact from a parsed file; what cannot be read is kept as a Problem, not raised."""
    r = _Reader()
    if not isinstance(data, dict):  # loaders give plain dicts (a C check, unlike the Mapping abc)
        r.bad((), f"the file should hold a mapping of keys (name: ..., stage: ...), not {_kind(data)}")
        return Contact(slug=slug, id="", name=slug, stage=OPPORTUNITY, problems=tuple(r.problems))
    name = r.text(data.get("name"), ("name",))
    if not name:
        r.bad(("name",), "the contact has no name: add 'name: ...'")
    cid = r.text(data.get("id"), ("id",))
    if not cid:
        r.bad(("id",), "the contact has no id: add 'id: ...' (any text unique in the pipeline)")
    raw_stage = data.get("stage")
    sid = stage_id(raw_stage) if raw_stage is not None else None
    if raw_stage is None:
        r.bad(("stage",), "the contact has no stage: add 'stage: opportunity'")
    elif sid is None:
        r.bad(("stage",), f"unknown stage {_show(raw_stage)}: use one of {', '.join(s.id for s in STAGES)}")
    raw_source = data.get("source")
    source = None
    if raw_source is not None:
        source = source_id(str(raw_source))
        if source is None:
            r.bad(("source",), f"unknown source {_show(raw_source)}: use one of {', '.join(SOURCES)}")
    tags: tuple[str, ...] = ()
    raw_tags = data.get("tags")
    if isinstance(raw_tags, list):
        tags = tuple(str(t) for t in raw_tags)
    elif isinstance(raw_tags, str):
        tags = (raw_tags,)
    elif raw_tags is not None:
        r.bad(("tags",), f"tags should be a list like [a, b], not {_kind(raw_tags)}")

    first_meeting = None
    raw_fm = data.get("first_meeting")
    if isinstance(raw_fm, (date, str)) and not isinstance(raw_fm, bool):
        first_meeting = FirstMeeting(r.day(raw_fm, ("first_meeting",)), False)
    else:
        fm = r.mapping(raw_fm, ("first_meeting",))
        if fm is not None:
            held = r.flag(fm.get("held"), ("first_meeting", "held"))
            first_meeting = FirstMeeting(r.day(fm.get("date"), ("first_meeting", "date")), bool(held))

    criteria = Criteria()
    cr = r.mapping(data.get("criteria"), ("criteria",))
    if cr is not None:
        criteria = Criteria(
            decision_maker=r.flag(cr.get("decision_maker"), ("criteria", "decision_maker")),
            proposal_fits=r.flag(cr.get("proposal_fits"), ("criteria", "proposal_fits")),
            budget=r.flag(cr.get("budget"), ("criteria", "budget")),
            decision_date=r.day(cr.get("decision_date"), ("criteria", "decision_date")),
            start_date=r.day(cr.get("start_date"), ("criteria", "start_date")),
            next_step=r.text(cr.get("next_step"), ("criteria", "next_step")),
            checked=r.day(cr.get("checked"), ("criteria", "checked")),
        )

    closed = None
    raw_closed = data.get("closed")
    if isinstance(raw_closed, date):
        closed = Closed(r.day(raw_closed, ("closed",)))
    else:
        cl = r.mapping(raw_closed, ("closed",))
        if cl is not None:
            closed = Closed(r.day(cl.get("date"), ("closed", "date")), r.number(cl.get("value"), ("closed", "value")))

    deferred = None
    df = r.mapping(data.get("deferred"), ("deferred",))
    if df is not None:
        until = r.day(df.get("until"), ("deferred", "until"))
        if until is None and df.get("until") is None:
            r.bad(("deferred", "until"), "deferred has no 'until' date")
        if until is not None:
            deferred = Deferred(until, r.text(df.get("reason"), ("deferred", "reason")),
                                r.day(df.get("asked"), ("deferred", "asked")))

    next_action = None
    raw_next = data.get("next")
    if isinstance(raw_next, str):
        next_action = NextAction(raw_next) if raw_next.strip() not in ("", "-") else None
    else:
        nx = r.mapping(raw_next, ("next",))
        if nx is not None:
            action = r.text(nx.get("action"), ("next", "action"))
            due = r.day(nx.get("due"), ("next", "due"))
            agreed = r.day(nx.get("agreed"), ("next", "agreed"))
            if action is not None and action.strip() == "-":
                action = due = None  # what `--next -` wrote before pipe cleared the next action
            if action or due:
                next_action = NextAction(action or "(no action written)", due, agreed)
    if next_action is None and criteria.next_step:
        # Files from before the next step and the next action were one thing: the step is the next action.
        next_action = NextAction(criteria.next_step)

    activities: list[Activity] = []
    raw_acts = data.get("activities")
    if raw_acts is not None and not isinstance(raw_acts, list):
        r.bad(("activities",), f"activities should be a list, not {_kind(raw_acts)}")
    for i, item in enumerate(raw_acts if isinstance(raw_acts, list) else ()):
        key: tuple[str | int, ...] = ("activities", i)
        if not isinstance(item, dict):
            r.bad(key, f"activity {i + 1} should be a mapping like {{date: ..., kind: call}}")
            continue
        when = r.day(item.get("date"), (*key, "date"))
        raw_kind = r.text(item.get("kind"), (*key, "kind"))
        raw_outcome = r.text(item.get("outcome"), (*key, "outcome"))
        kind, outcome = kind_id(raw_kind), outcome_id(raw_outcome)
        if when is None:
            if item.get("date") is None:
                r.bad(key, f"activity {i + 1} has no date")
            continue
        if kind is None:
            r.bad((*key, "kind"), f"activity {i + 1}: unknown kind {_show(raw_kind)}: use one of {', '.join(ACTIVITY_KINDS)}")
            continue
        if raw_outcome is not None and outcome is None:
            r.bad((*key, "outcome"), f"activity {i + 1}: unknown outcome {_show(raw_outcome)}: use one of {', '.join(OUTCOMES)}")
            continue
        raw_step = r.text(item.get("step"), (*key, "step"))
        step = step_id(raw_step)
        if raw_step is not None and step is None:
            r.bad((*key, "step"), f"activity {i + 1}: unknown step {_show(raw_step)}: use one of {', '.join(STEPS)}")
        moved_from = r.day(item.get("from"), (*key, "from")) if item.get("from") is not None else None
        moved_to = r.day(item.get("to"), (*key, "to")) if item.get("to") is not None else None
        activities.append(Activity(when, kind, outcome, r.text(item.get("note"), (*key, "note")), step,
                                   moved_from, moved_to))

    history: list[StageChange] = []
    raw_hist = data.get("history")
    if raw_hist is not None and not isinstance(raw_hist, list):
        r.bad(("history",), f"history should be a list, not {_kind(raw_hist)}")
    for i, item in enumerate(raw_hist if isinstance(raw_hist, list) else ()):
        key = ("history", i)
        if not isinstance(item, dict):
            r.bad(key, f"history entry {i + 1} should be a mapping like {{date: ..., from: c, to: b}}")
            continue
        when = r.day(item.get("date"), (*key, "date"))
        to = stage_id(str(item.get("to"))) if item.get("to") is not None else None
        frm = stage_id(str(item.get("from"))) if item.get("from") is not None else None
        if to is None:
            r.bad((*key, "to"), f"history entry {i + 1}: unknown or missing stage in 'to': {_show(item.get('to'))}")
        if item.get("from") is not None and frm is None:
            r.bad((*key, "from"), f"history entry {i + 1}: unknown stage in 'from': {_show(item.get('from'))}")
        if when is None or to is None:
            continue
        history.append(StageChange(when, to, frm, r.text(item.get("reason"), (*key, "reason")),
                                   bool(item.get("forced")), r.text(item.get("rule"), (*key, "rule")),
                                   item.get("imported") is True))

    return Contact(
        slug=slug,
        id=cid or "",
        name=name or slug,
        stage=sid or OPPORTUNITY,
        company=r.text(data.get("company"), ("company",)),
        title=r.text(data.get("title"), ("title",)),
        email=r.text(data.get("email"), ("email",)),
        phone=r.text(data.get("phone"), ("phone",)),
        owner=r.text(data.get("owner"), ("owner",)),
        source=source,
        value=r.number(data.get("value"), ("value",)),
        currency=r.currency(data.get("currency"), ("currency",)),
        tags=tags,
        created=r.day(data.get("created"), ("created",)),
        first_meeting=first_meeting,
        criteria=criteria,
        verbal_yes=r.day(data.get("verbal_yes"), ("verbal_yes",)),
        closed=closed,
        deferred=deferred,
        next=next_action,
        notes=r.text(data.get("notes"), ("notes",)),
        activities=tuple(activities),
        history=tuple(history),
        problems=tuple(r.problems),
        deal=r.text(data.get("deal"), ("deal",)),
        crm=_crm_key(data.get("crm")),
    )


def _crm_key(value: Any) -> str | None:
    """The key a re-import finds an imported contact by; None when the file has no readable crm record."""
    if isinstance(value, dict) and value.get("system") is not None and value.get("id") is not None:
        return f"{value['system']}:{value['id']}"
    return None


# --- edits as data: the core says what changes, the store applies it byte-carefully -----------


@dataclass(frozen=True)
class SetKey:
    """Set a (possibly nested) key; the value is plain data (str, int, float, bool, date, dict)."""

    path: tuple[str, ...]
    value: Any


@dataclass(frozen=True)
class Append:
    """Append one item, written on one line, to a list (activities, history, tags)."""

    path: tuple[str, ...]
    item: Any


@dataclass(frozen=True)
class Delete:
    """Remove a top-level key and what it holds (a cleared next action: no `next: null` left behind)."""

    path: tuple[str, ...]


Change = SetKey | Append | Delete


# The fields pipe writes on one line: a line break there would be a second line of YAML or a forged
# row in a listing. Notes, notes of activities and keys pipe does not know (an imported address) may
# hold line breaks and tabs; no field may hold a NUL or another control character.
ONE_LINE: frozenset[str] = frozenset({
    "id", "name", "company", "title", "email", "phone", "owner", "source", "stage", "tags", "action", "reason",
    "next_step", "kind", "outcome", "rule", "to", "from", "step", "currency"})


def _unwritable_char(text: str, multiline: bool) -> str | None:
    if text.isprintable():  # the common case, tested in C
        return None
    for ch in text:
        if multiline and ch in "\n\r\t":
            continue
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp"):  # control characters, line and paragraph separators
            return ch
    return None


def unwritable_text(path: tuple[str | int, ...], value: Any) -> tuple[str, str] | None:
    """The first text in a value to be written that holds a NUL, a line break or another control
    character where it does not belong, as (the key in words, the character); None if all is well.

    Only the fields of ONE_LINE are held to one line; a NUL or an escape character has no place in
    any field.
    """
    if isinstance(value, str):
        named = [part for part in path if isinstance(part, str)]
        found = _unwritable_char(value, not named or named[-1] not in ONE_LINE)
        return (_dotted(path) or "the text", found) if found is not None else None
    if isinstance(value, Mapping):
        items: Any = ((str(k), v) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if isinstance(key, str):
            key_problem = unwritable_text((*path, key), key) if not key.isprintable() else None
            if key_problem is not None:
                return key_problem
        problem = unwritable_text((*path, key), item)
        if problem is not None:
            return problem
    return None


def new_contact_data(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A new file's data in the stable key order, leaving out what is empty."""
    out = {k: fields[k] for k in FIELD_ORDER if fields.get(k) not in (None, "", (), [])}
    for k, v in fields.items():
        if k not in out and v not in (None, "", (), []):
            out[k] = v
    return out


def apply_to_data(data: dict[str, Any], changes: list[Change]) -> None:
    """Apply changes to plain data (a file not yet written): the same edits the store splices into text."""
    for change in changes:
        target = data
        for key in change.path[:-1]:
            target = target.setdefault(key, {})
        last = change.path[-1]
        if isinstance(change, SetKey):
            target[last] = change.value
        elif isinstance(change, Delete):
            target.pop(last, None)
        else:
            target.setdefault(last, []).append(change.item)
