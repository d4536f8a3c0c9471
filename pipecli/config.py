"""pipe.yaml: every setting declared once with its default, type and meaning; loading and validation."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from .errors import ConfigError

CONFIG_FILE = "pipe.yaml"
LOCAL_FILE = ".pipe/local.yaml"  # this clone's own settings, never committed: they override pipe.yaml


@dataclass(frozen=True)
class Setting:
    key: str  # dotted: "git.autocommit"
    default: Any
    type: type | tuple[type, ...]
    help: str
    choices: tuple[Any, ...] = ()
    check: Callable[[Any], str | None] | None = None  # returns a problem in words, or None


def _between(low: float, high: float, low_open: bool = False) -> Callable[[Any], str | None]:
    """A check that a number lies in a sane range: no setting may be infinite, not a number, or so
    large that a date or a count computed from it leaves what Python can hold (OverflowError)."""
    def check(value: Any) -> str | None:
        above = value > low if low_open else value >= low
        if above and value <= high:
            return None
        if low_open:
            return f"must be greater than {_number(low)} and at most {_number(high)}, not {value!r}"
        return f"must be between {_number(low)} and {_number(high)}, not {value!r}"

    return check


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


# The ranges: generous for any real pipeline, and small enough that every sum, product and date
# computed from them stays finite and in the calendar (dates run from 1900 to 2999).
_DAYS = _between(1, 3650)  # up to ten years
_DAYS_OR_NONE = _between(0, 3650)
_COUNT = _between(1, 100_000)
_COUNT_OR_NONE = _between(0, 100_000)
_AMOUNT = _between(0, 1_000_000, low_open=True)
_RATIO = _between(0, 1000, low_open=True)
_SHARE = _between(0, 100)  # a share of an ideal (1.5 is 150%)
_probability = _between(0, 1)
_MONTHS = _between(0, 120, low_open=True)


def _in_calendar(value: Any) -> str | None:
    from .dates import out_of_range

    return out_of_range(value) if isinstance(value, date) else None


_NUMBER = (int, float)


def _targets(value: Any) -> str | None:
    for name, target in value.items():
        if not isinstance(name, str) or not name.strip():
            return f"has the owner {name!r}: give each owner's name as text"
        if isinstance(target, bool) or not isinstance(target, (int, float)) or _AMOUNT(target):
            return f"gives {name} the target {target!r}: use a number greater than 0 and at most 1,000,000"
    return None


SETTINGS: tuple[Setting, ...] = (
    Setting("mode", "field", str,
            "How the O -> FA gate is met: field (a first meeting date is set) or phone (a second effective call).",
            choices=("field", "phone")),
    Setting("owner", None, (str, type(None)),
            "Owner written into new contacts; empty means git's user.name. Set it per clone in .pipe/local.yaml."),
    Setting("sales_cycle_days", 90, int, "Your normal sales cycle in days: a B's decision date must fall within it.",
            check=_DAYS),
    Setting("target_closes", 4, (int, float), "How many sales you want to close per sales cycle (each owner).",
            check=_AMOUNT),
    Setting("owner_targets", {}, dict,
            "An owner's own target_closes, by owner name ({Bo Lind: 6}); a team's target is the sum of its owners'.",
            check=_targets),
    Setting("git.autocommit", True, bool,
            "Commit each command's changes to git, one commit per command (off for one command: --no-commit)."),
    Setting("git.merge", True, bool,
            "Merge contact files by their meaning when git merges or rebases them (pipe's merge driver); "
            "false leaves them to git's line merge."),
    Setting("files.max_size_kb", 1024, int,
            "Files larger than this many kilobytes are not read (a contact file is a few; a clone may hold anything).",
            check=lambda v: None if 1 <= v <= 1024 * 1024 else "must be between 1 and 1048576"),
    Setting("files.lock_timeout", 5, (int, float),
            "Seconds a command waits for another pipe command writing to this pipeline before it gives up.",
            check=lambda v: None if 0 <= v <= 3600 else "must be between 0 and 3600"),
    # The board (METHOD §4-5): the ideal funnel per closed sale, and the thresholds of each shape.
    Setting("funnel.cycle_start", None, (date, type(None)),
            "A day your sales cycles are counted from (e.g. a quarter's start); empty: the current cycle "
            "is the last sales_cycle_days days.", check=_in_calendar),
    Setting("funnel.ratios.opportunity", None, (int, float, type(None)),
            "Ideal opportunities (O) per closed sale in one cycle; empty: 15.", check=_RATIO),
    Setting("funnel.ratios.first-appointment", None, (int, float, type(None)),
            "Ideal first appointments (FA) per closed sale, your closing ratio 1 in this; empty: 5, or 1 / its close "
            "chance when that is set.", check=_RATIO),
    Setting("funnel.ratios.c", None, (int, float, type(None)),
            "Ideal C prospects per closed sale; empty: 4, or 1 / its close chance.", check=_RATIO),
    Setting("funnel.ratios.b", None, (int, float, type(None)),
            "Ideal B prospects per closed sale; empty: 2, or 1 / its close chance.", check=_RATIO),
    Setting("funnel.ratios.a", None, (int, float, type(None)),
            "Ideal A prospects per closed sale; empty: 1.1, or 1 / its close chance.", check=_RATIO),
    Setting("funnel.close_probability.opportunity", None, (int, float, type(None)),
            "Chance that an opportunity closes; empty: 0 (no commitment yet).", check=_probability),
    Setting("funnel.close_probability.first-appointment", None, (int, float, type(None)),
            "Chance that a first appointment closes; empty: 1 / its ratio (0.2).", check=_probability),
    Setting("funnel.close_probability.c", None, (int, float, type(None)),
            "Chance that a C closes; empty: 1 / its ratio (0.25).", check=_probability),
    Setting("funnel.close_probability.b", None, (int, float, type(None)),
            "Chance that a B closes; empty: 1 / its ratio (0.5).", check=_probability),
    Setting("funnel.close_probability.a", None, (int, float, type(None)),
            "Chance that an A closes; empty: 1 / its ratio (0.91).", check=_probability),
    Setting("funnel.learn", False, bool,
            "Replace the ratios and chances above by your own, learned from the stage histories (pipe board --learn)."),
    Setting("funnel.learn_min_closed", 5, int, "Closed sales the history needs before your own ratios are used.",
            check=_COUNT),
    Setting("funnel.min_ends", 10, int,
            "A period's closing ratio is shown only when at least this many contacts reached an end in it "
            "(closed, or taken out after a first appointment).", check=_COUNT),
    Setting("funnel.patterns.not-prospecting.min_back_ratio", 1.0, _NUMBER,
            "not-prospecting's evidence calls the end heavy when A plus closed this cycle reach this share of their "
            "ideal.", check=_SHARE),
    Setting("funnel.patterns.not-prospecting.max_front_ratio", 0.5, _NUMBER,
            "A thin front: O plus FA at or below this share of their ideal; with O below min_opportunity_ratio it is "
            "not-prospecting, else prospecting-gap (never both).", check=_SHARE),
    Setting("funnel.patterns.prospecting-gap.min_opportunity_ratio", 0.5, _NUMBER,
            "prospecting-gap: O at or above this share of its ideal (below it, a thin front is not-prospecting) ...",
            check=_SHARE),
    Setting("funnel.patterns.prospecting-gap.max_hole_ratio", 0.25, _NUMBER,
            "... and FA, C or B at or below this share of its ideal (a hole), or a thin front.", check=_SHARE),
    Setting("funnel.patterns.proposal-pending.min_b_ratio", 1.5, _NUMBER,
            "proposal-pending: B at or above this share of its ideal (a bulge) ...", check=_SHARE),
    Setting("funnel.patterns.proposal-pending.max_a_ratio", 0.5, _NUMBER,
            "... while A is at or below this share of its ideal.", check=_SHARE),
    Setting("funnel.patterns.falling-back.days", 30, int, "falling-back: count the demotions of the last this many days ...",
            check=_DAYS),
    Setting("funnel.patterns.falling-back.min_demotions", 3, int, "... at least this many ...", check=_COUNT),
    Setting("funnel.patterns.falling-back.min_share", 0.15, _NUMBER,
            "... and at least this share of the contacts now in FA, C, B and A.", check=_between(0, 1)),
    Setting("funnel.patterns.healthy.tolerance", 0.5, _NUMBER,
            "healthy: every class from O to A within this share of its ideal (0.5: 50% to 150%), fewer each step right.",
            check=_SHARE),
    Setting("stats.thirds.easy_effort", 4, int,
            "The one-third rule (pipe stats): a sale closed with at most this many calls, e-mails, meetings and visits "
            "was 'closed with little effort' (4: the call that set the meeting, the meeting, one follow-up, the close).",
            check=_COUNT_OR_NONE),
    # The rules engine (pipe review): the soft no's of the method, each with its thresholds and a switch.
    Setting("rules.no_response.enabled", True, bool, "no-response: they never return calls (action: reserve)."),
    Setting("rules.no_response.attempts", 3, int,
            "no-response fires at this many calls/e-mails in a row with no answer ...", check=_COUNT),
    Setting("rules.no_response.days", 30, int,
            "... or when the first unanswered one is this many days old, with no answer since.", check=_DAYS),
    Setting("rules.refused.enabled", True, bool, "refused: they said no (action: reserve)."),
    Setting("rules.refused.count", 1, int,
            "refused fires at this many refusals in a row (answers logged refused since the last other answer).",
            check=_COUNT),
    Setting("rules.no_show.enabled", True, bool,
            "no-show: a first appointment that did not turn up for the meeting (action: reserve)."),
    Setting("rules.no_show.count", 2, int, "no-show fires at this many missed first meetings.", check=_COUNT),
    Setting("rules.pushed_back.enabled", True, bool, "pushed-back: 'call me in summer' (action: reserve)."),
    Setting("rules.pushed_back.months", 4, (int, float),
            "pushed-back fires on a deferral of at least this many months from when it was asked (4: longer than "
            "a 90-day sales cycle plus a month; 'call me in summer' said in January is 4.7).", check=_MONTHS),
    Setting("rules.decision_deferred.enabled", True, bool,
            "decision-deferred: an FA/C/B/A put the decision off without a commitment (action: demote one class)."),
    Setting("rules.decision_deferred.days", 30, int,
            "decision-deferred fires on a deferral of at least this many days with no next step before its end.",
            check=_DAYS),
    Setting("rules.meeting_put_off.enabled", True, bool,
            "meeting-put-off: a first appointment pushed the meeting back 'to next month' (action: demote to O)."),
    Setting("rules.meeting_put_off.days", 28, int,
            "meeting-put-off fires when reschedulings moved the first meeting this many days later in all "
            "(28: a calendar month, even February).", check=_DAYS),
    Setting("rules.stalled.enabled", True, bool,
            "stalled: nothing happened for longer than the class allows (action: demote one class; O: reserve)."),
    Setting("rules.stalled.o_days", 90, int, "Days an opportunity (O) may go without activity.", check=_DAYS),
    Setting("rules.stalled.fa_days", 30, int, "Days a first appointment (FA) may go past the meeting date.",
            check=_DAYS),
    Setting("rules.stalled.c_days", 60, int, "Days a C may go without activity.", check=_DAYS),
    Setting("rules.stalled.b_days", 30, int, "Days a B may go without activity.", check=_DAYS),
    Setting("rules.stalled.a_days", 14, int, "Days an A may go without activity.", check=_DAYS),
    Setting("rules.no_next_step.enabled", True, bool, "no-next-step: a C, B or A with no next action (action: flag)."),
    Setting("rules.overdue.enabled", True, bool, "overdue: the next action's due date has passed (action: flag)."),
    Setting("rules.overdue.grace_days", 0, int, "overdue fires this many days after the due date has passed.",
            check=_DAYS_OR_NONE),
    Setting("rules.pitch_bombardment.enabled", True, bool,
            "pitch-bombardment: a presentation recorded with no information gathering before it (action: flag)."),
    Setting("rules.custom", (), list,
            "Your own rules: a list of {id, description, stages, when, action}; see the README (pipe review)."),
    # The week (METHOD §6): what pipe plan puts in each of the eight categories.
    Setting("week.retry_days", 7, int,
            "An opportunity tried without a next action is due another call or e-mail this many days after the "
            "last attempt.", check=_DAYS),
    Setting("week.service_days", 30, int,
            "Customers closed in the last this many days get a service call, until one is logged after the sale.",
            check=_DAYS),
    Setting("week.customer_call_days", 90, int,
            "An existing customer is due a call this many days after the last contact.", check=_DAYS),
    Setting("week.catch_up_weeks", 4, int,
            "The plan's prospecting block makes up the board's shortfall at O and FA over this many weeks.",
            check=_between(1, 520)),
    Setting("week.list_limit", 20, int,
            "pipe plan lists at most this many items per category, the rest counted (0: every one; JSON has every one).",
            check=_COUNT_OR_NONE),
    Setting("week.report_rows", 5, int,
            "pipe report's markdown and HTML list at most this many rows per section and per category of the plan, "
            "the rest counted (0: every one; --full and JSON have every one).", check=_COUNT_OR_NONE),
    Setting("week.report_day", "fri", str, "The day of the week the weekly report is due (plan, admin).",
            choices=("mon", "tue", "wed", "thu", "fri", "sat", "sun")),
)


def settings_by_key() -> dict[str, Setting]:
    return {s.key: s for s in SETTINGS}


def _sections() -> set[str]:
    out: set[str] = set()
    for s in SETTINGS:
        parts = s.key.split(".")
        out.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return out


class Config:
    """The settings in force: defaults overlaid with what pipe.yaml says."""

    def __init__(self, values: Mapping[str, Any] | None = None, path: str = CONFIG_FILE) -> None:
        self.path = path
        self.values: dict[str, Any] = {s.key: s.default for s in SETTINGS}
        self.values.update(values or {})
        self.explicit: dict[str, Any] = dict(values or {})  # what the file says, defaults left out

    def overlaid(self, other: Config) -> Config:
        """These settings with `other`'s explicit ones on top (a clone's .pipe/local.yaml over pipe.yaml)."""
        return Config({**self.explicit, **other.explicit}, self.path)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


class SettingProblem(NamedTuple):
    """One thing wrong in a settings file: where (a key path, () for the whole file) and what."""

    key: tuple[str, ...]
    message: str
    hint: str | None = None


class _Bad(Exception):
    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


def validate(data: Any, path: str = CONFIG_FILE, problems: list[SettingProblem] | None = None) -> Config:
    """Check a parsed pipe.yaml against the declarations.

    The first problem is a ConfigError naming the file and the key; with a `problems` list, every
    problem is added to it instead (for `pipe check`) and the valid settings are kept.
    """
    def bad(key: tuple[str, ...], message: str, hint: str | None = None) -> None:
        if problems is None:
            raise ConfigError(f"{path}: {message}", hint)
        problems.append(SettingProblem(key, message, hint))

    if data is None:
        return Config(path=path)
    if not isinstance(data, Mapping):
        bad((), "should hold a mapping of settings", "see 'pipe init' for the layout")
        return Config(path=path)
    known = settings_by_key()
    sections = _sections()
    found: dict[str, Any] = {}

    def walk(mapping: Mapping[Any, Any], prefix: str) -> None:
        for raw_key, value in mapping.items():
            key = f"{prefix}{raw_key}"
            parts = tuple(key.split("."))
            if key in known:
                try:
                    found[key] = _check(known[key], value)
                except _Bad as exc:
                    bad(parts, exc.message, exc.hint)
            elif key in sections:
                if value is None:
                    continue
                if not isinstance(value, Mapping):
                    bad(parts, f"'{key}' should be a section of settings, not {value!r}")
                    continue
                walk(value, key + ".")
            else:
                import difflib

                near = sorted(k for k in known if k.split(".")[-1] == str(raw_key))
                near = near or difflib.get_close_matches(key, [*known, *sections], n=1, cutoff=0.75)
                hint = f"did you mean '{near[0]}'?" if near else "see the settings 'pipe init' writes"
                bad(parts, f"unknown setting '{key}'", hint)

    walk(data, "")
    return Config(found, path)


def _check(setting: Setting, value: Any) -> Any:
    if value is None and setting.default is not None and type(None) not in _types(setting):
        return setting.default
    wanted = _types(setting)
    ok = False if isinstance(value, bool) and bool not in wanted else isinstance(value, wanted)
    if not ok:
        names = " or ".join(_type_name(t) for t in wanted if t is not type(None))
        raise _Bad(f"'{setting.key}' should be {names}, not {value!r}", setting.help)
    if setting.choices and value not in setting.choices:
        raise _Bad(f"'{setting.key}' is {value!r}; use one of: {', '.join(map(str, setting.choices))}", setting.help)
    if setting.check is not None and value is not None:
        problem = setting.check(value)
        if problem:
            raise _Bad(f"'{setting.key}' {problem}", setting.help)
    return value


def _types(setting: Setting) -> tuple[type, ...]:
    return setting.type if isinstance(setting.type, tuple) else (setting.type,)


def _type_name(t: type) -> str:
    return {str: "text", int: "a whole number", float: "a number", bool: "true or false",
            list: "a list", dict: "a mapping", date: "a date like 2026-01-01"}.get(t, t.__name__)


def template() -> str:
    """The commented pipe.yaml that `pipe init` writes: every setting with its default."""
    from .yamledit import block_lines

    lines = ["# pipe.yaml: the settings of this pipeline. Every key is optional: the values shown are",
             "# the defaults. Unknown keys are an error, so a typo never goes unnoticed.", ""]
    opened: list[str] = []
    for s in SETTINGS:
        parts = s.key.split(".")
        common = 0
        while common < min(len(opened), len(parts) - 1) and opened[common] == parts[common]:
            common += 1
        opened = opened[:common]
        for depth in range(common, len(parts) - 1):
            if depth == 0:
                lines.append("")
            lines.append("  " * depth + f"{parts[depth]}:")
            opened.append(parts[depth])
        pad = "  " * (len(parts) - 1)
        lines.append(f"{pad}# {s.help}")
        if s.default is None:
            lines.append(f"{pad}{parts[-1]}:")
        else:
            lines.extend(block_lines(parts[-1], s.default, len(pad)))
    return "\n".join(lines) + "\n"
