"""How the board, stats and classify read: a table with bars, markdown, and their JSON contracts (pure)."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from .funnel import CLOSING, NO_OWNER, Board, ClassCount, Stats, Thirds, fmt_count, fmt_percent
from .ladder import Mismatch
from .model import OPPORTUNITY, PIPELINE, Contact, stage_letter
from .render import md, render

BAR_WIDTH = 20  # characters for the longest bar
LEFT_SHOWN = 10  # pipe stats names at most this many of the contacts that left the sales process (JSON: all)
TEXT_WIDTH = 100  # the lines under a table wrap here in the terminal
FULL, HALF = "█", "▌"


def bar(value: float, largest: float, width: int = BAR_WIDTH) -> str:
    """A bar of whole and half blocks, `largest` filling `width`; anything above 0 shows at least a half block."""
    if value <= 0 or largest <= 0:
        return ""
    halves = max(1, round(value / largest * width * 2))
    return FULL * (halves // 2) + HALF * (halves % 2)


def _signed(value: float) -> str:
    text = fmt_count(value)
    return text if text.startswith("-") or text == "0" else f"+{text}"


def _round(value: Any) -> Any:
    """Numbers fit for JSON: floats to 3 places, infinity as null."""
    if isinstance(value, float):
        return None if math.isinf(value) or math.isnan(value) else round(value, 3)
    if isinstance(value, Mapping):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_round(v) for v in value]
    return value


def _wrap(text: str, indent: str = "", hang: str = "  ") -> list[str]:
    return textwrap.wrap(text, TEXT_WIDTH, initial_indent=indent, subsequent_indent=indent + hang,
                         break_on_hyphens=False)


def _json(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _round(v) for k, v in data.items()}


# --- the board -----------------------------------------------------------------------------------

BOARD_COLUMNS = ("class", "actual", "ideal", "diff", "ratio", "actual_bar", "ideal_bar")
BOARD_HEADERS = {"actual_bar": "actual", "ideal_bar": "ideal"}
BOARD_ALIGN = {"actual": "right", "ideal": "right", "diff": "right", "ratio": "right"}


def board_rows(board: Board) -> list[dict[str, Any]]:
    largest = max([r.actual for r in board.classes] + [r.ideal for r in board.classes])
    return [{
        "class": stage_letter(r.stage),
        "actual": r.actual,
        "ideal": fmt_count(r.ideal),
        "diff": _signed(r.difference),
        "ratio": fmt_percent(r.ratio) if r.ratio is not None else "",
        "actual_bar": bar(r.actual, largest),
        "ideal_bar": bar(r.ideal, largest),
    } for r in board.classes]


def whose(board: Board) -> str:
    """Whose board it is, in words: an owner's, or the team's with its owners and how the target adds up."""
    if board.owner and board.owner != "team":
        return board.owner
    owners = [o for o in board.owners if o != NO_OWNER]
    if board.owner == "team" or len(board.owners) > 1:
        unowned = " and contacts with no owner, which add no target" if NO_OWNER in board.owners else ""
        return (f"the team ({len(owners)} owner{'s' if len(owners) != 1 else ''}{unowned}, "
                f"target {fmt_count(board.target)}: the sum of each owner's)")
    return owners[0] if owners else ""


def _title(board: Board) -> str:
    name = whose(board)
    who = f" of {name}" if name else ""
    when = f"as of {board.as_of} (rebuilt from the stage histories)" if board.from_history else f"on {board.as_of}"
    return f"Board{who} {when}"


def _cycle(board: Board) -> str:
    first, last = board.cycle
    return f"cycle {first} to {last} ({(last - first).days + 1} days), target {fmt_count(board.target)} closes"


def _support_term(r: ClassCount) -> str:
    how = f"×{_num_p(r.probability)}" if r.by_chance else f"÷{_num_p(r.per_close)}"
    return f"{stage_letter(r.stage)} {r.actual}{how} = {fmt_count(r.supports)}"


def need_lines(board: Board) -> list[str]:
    """This cycle, what the pipeline supports, and the first appointments needed: the board's model in words."""
    lines = []
    if board.target_reached:
        lines.append(f"This cycle: {board.closed} closed, the target of {fmt_count(board.target)} is reached.")
    else:
        lines.append(f"This cycle: {board.closed} closed of the target {fmt_count(board.target)}.")
    narrow = board.narrowest
    lines.append(f"The pipeline supports {fmt_count(board.expected_from_pipeline)} closes a cycle, what its narrowest "
                 f"class supports ({_support_term(narrow)}; "
                 + ", ".join(_support_term(board.row(s)) for s in CLOSING if s != narrow.stage)
                 + f"); forecast {fmt_count(board.expected_closes)} = {board.closed} closed + "
                 f"{fmt_count(board.expected_from_pipeline)}.")
    short = ", ".join(f"{stage_letter(r.stage)} {r.actual} of {fmt_count(r.ideal)}" for r in board.short)
    need = board.first_appointments_needed
    per = _num_p(board.first_appointments_per_close)
    if need:
        when = "the next cycle" if board.target_reached else "the target"
        lines.append(f"Short of the ideal: {short}. The pipeline lacks {fmt_count(board.gap)} closes for {when}: "
                     f"{need} new first appointment{'s' if need != 1 else ''} needed (1 in {per} closes).")
    else:
        lines.append("The pipeline supports the target: no new first appointments needed"
                     + (f"; short of the ideal: {short}." if short else "."))
    more = board.opportunities_needed
    if more:
        lines.append(f"Find {more} new opportunit{'ies' if more != 1 else 'y'} to set the first appointments from: "
                     f"O {board.row(OPPORTUNITY).actual} of ideal {fmt_count(board.row(OPPORTUNITY).ideal)}.")
    return lines


def _summary(board: Board) -> list[str]:
    """The lines under the table: reserve, this cycle, the need, where the ideal comes from."""
    lines = [f"Reserve: {board.reserve} (kept apart, not in the pipeline); closed before this cycle: {board.closed_before}."]
    lines += need_lines(board)
    ratios = ", ".join(f"{stage_letter(r.stage)} {_num_p(r.per_close)}" for r in board.classes if r.stage in PIPELINE)
    origin = "learned from your history" if board.ratios_source == "history" else "pipe.yaml funnel.ratios"
    lines.append(f"Ideal = target × cards per closed sale ({origin}): {ratios}; a class's close chance is 1 in its "
                 "ratio.")
    apart = [r for r in board.classes if r.by_chance]
    if apart:
        lines.append("Note: " + ", ".join(
            f"funnel.ratios.{r.stage} ({_num_p(r.per_close)}) and funnel.close_probability.{r.stage} "
            f"({_num_p(r.probability)})" for r in apart)
            + " are both set and disagree: the ideal follows the ratio, the support the chance, so an ideal board "
            "is not exactly on track; empty one of them to derive it from the other.")
    if board.ratios_note:
        lines.append(f"Note: {board.ratios_note}.")
    if board.undated:
        lines.append(f"Left out: {board.undated} contact{'s' if board.undated != 1 else ''} with no date at all "
                     "(no created, no history): they cannot be placed on a past day (pipe check lists them).")
    return lines


def _num_p(value: float) -> str:
    """A ratio or chance as it is used: up to four decimals (learned and derived ratios have two), no trailing zeros."""
    return f"{value:.4f}".rstrip("0").rstrip(".")


def board_text(board: Board, fmt: str) -> str:
    """The board as a terminal table (fmt 'table') or as markdown."""
    table = render(board_rows(board), BOARD_COLUMNS, fmt, BOARD_HEADERS, BOARD_ALIGN)
    table = "\n".join(line.rstrip() for line in table.splitlines())
    if fmt == "markdown":
        out = [f"## {md(_title(board))}", "", f"{_cycle(board).capitalize()}.", "", table, ""]
        out += [f"- {line}" for line in _summary(board)]
        out += ["", "### Diagnosis", ""]
        if board.findings:
            out += [f"- **{f.pattern}**: {f.evidence}  \n  {f.advice}" for f in board.findings]
        else:
            out.append(f"- {_no_pattern(board)}")
        return "\n".join(out)
    out = [f"{_title(board)} · {_cycle(board)}", "", table, ""]
    out += [wrapped for line in _summary(board) for wrapped in _wrap(line)]
    out += ["", "Diagnosis:"]
    if board.findings:
        for f in board.findings:
            out += _wrap(f"{f.pattern}: {f.evidence}", "  ") + _wrap(f.advice, "    ", "")
    else:
        out.append(f"  {_no_pattern(board)}")
    return "\n".join(out)


def _no_pattern(board: Board) -> str:
    return "No pattern of the method stands out" + ("; see what the pipeline lacks above." if board.gap > 0 else ".")


def board_data(board: Board) -> dict[str, Any]:
    """The board as JSON: a documented contract; keys may be added, never renamed or removed."""
    first, last = board.cycle
    return _json({
        "owner": board.owner,
        "as_of": board.as_of.isoformat(),
        "from_history": board.from_history,
        "cycle": {"start": first.isoformat(), "end": last.isoformat(), "days": (last - first).days + 1},
        "target_closes": float(board.target),
        "classes": [{
            "stage": r.stage, "class": stage_letter(r.stage), "actual": r.actual, "ideal": float(r.ideal),
            "difference": float(r.difference), "ratio": r.ratio, "per_close": float(r.per_close),
            "close_probability": float(r.probability),
        } for r in board.classes],
        "reserve": board.reserve,
        "closed_this_cycle": board.closed,
        "closed_before_cycle": board.closed_before,
        "expected_closes": float(board.expected_closes),
        "expected_from_pipeline": float(board.expected_from_pipeline),
        "gap": float(board.gap),
        "first_appointments_per_close": float(board.first_appointments_per_close),
        "first_appointments_needed": board.first_appointments_needed,
        "ratios_source": board.ratios_source,
        "ratios_note": board.ratios_note,
        "demotions": dict(board.demotions),
        "diagnosis": [{"pattern": f.pattern, "evidence": f.evidence, "advice": f.advice, "numbers": dict(f.numbers)}
                      for f in board.findings],
        "whose": whose(board),
        "owners": list(board.owners),
        "supports": {stage_letter(r.stage): float(r.supports) for r in board.classes if r.stage in CLOSING},
        "narrowest": stage_letter(board.narrowest.stage),
        "short": [stage_letter(r.stage) for r in board.short],
        "target_reached": board.target_reached,
        "opportunities_needed": board.opportunities_needed,
        "undated_left_out": board.undated,
    })


def boards_text(boards: Sequence[Board], team: Board | None, fmt: str) -> str:
    """Several boards one under the other (one per owner), then the team's."""
    parts = [board_text(b, fmt) for b in boards]
    if team is not None:
        parts.append(board_text(team, fmt))
    return "\n\n".join(parts)


# --- stats ---------------------------------------------------------------------------------------

STATS_COLUMNS = ("step", "entered", "moved_on", "fell_back", "reserve", "jumped", "still", "conversion",
                 "median_days")
STATS_HEADERS = {"moved_on": "moved on", "fell_back": "fell back", "still": "still there",
                 "median_days": "median days"}
STATS_ALIGN = {c: "right" for c in STATS_COLUMNS[1:]}


def stats_rows(stats: Stats) -> list[dict[str, Any]]:
    return [{
        "step": f"{stage_letter(s.stage)} → {stage_letter(s.then)}",
        "entered": s.entered, "moved_on": s.moved_on, "fell_back": s.fell_back, "reserve": s.reserve,
        "jumped": s.jumped, "still": s.still,
        "conversion": fmt_percent(s.conversion) if s.conversion is not None else "",
        "median_days": fmt_count(s.median_days) if s.median_days is not None else "",
    } for s in stats.steps]


def quiz_sentence(stats: Stats) -> str:
    q = stats.quiz
    return (f"At the closing ratio of 1 in {_num_p(q.one_in)}, the {q.had} prospects you had are used up by the "
            f"{q.closed} you closed: {q.remain} real prospect{'s' if q.remain != 1 else ''} remain; "
            f"you need {q.needed} new first appointment{'s' if q.needed != 1 else ''} for the pipeline to support "
            f"your target of {fmt_count(q.target)} a cycle (as pipe board says).")


def closing_text(stats: Stats) -> str:
    """The closing ratio over the contacts that reached an end, or why there is none to show."""
    counted = (f"{stats.closed} closed of the {stats.ended} contacts that reached an end, {stats.taken_out} taken "
               "out after a first appointment; open contacts are not counted")
    ratio = stats.closing_ratio
    if ratio:
        return f"1 in {fmt_count(1 / ratio)} ({counted})"
    if stats.ended and not stats.enough:
        return f"too few ends to tell ({counted}; at least {stats.min_ends} needed: funnel.min_ends)"
    return f"none yet ({counted})"


def cohort_text(stats: Stats) -> str:
    """The cohort view beside the printed ratio: the last cycle's first appointments and what became of them."""
    co = stats.cohort
    assert co is not None
    head = f"Cohort of the last cycle ({co.cycle[0]} to {co.cycle[1]}): "
    if not co.size:
        return head + "no contact reached a first appointment in it."
    return (head + f"of the {co.size} contact{'s' if co.size != 1 else ''} that reached a first appointment in it, "
            f"{co.closed} closed, {co.taken_out} taken out, {co.open} still open (the closing ratio above counts the "
            "ends, not a cohort).")


def _stats_lines(stats: Stats) -> list[str]:
    q = stats.quiz
    lines = [
        f"Closing ratio: {closing_text(stats)}.",
        *([cohort_text(stats)] if stats.cohort is not None else []),
        f"This cycle ({q.cycle[0]} to {q.cycle[1]}): a" + quiz_sentence(stats)[1:],
        "(The ratio is the board's: " + ("your own, learned from the histories" if q.source == "history" else
                                        "pipe.yaml's funnel.ratios.first-appointment")
        + "; the prospects you had are the contacts at FA or beyond during the cycle, the closed ones included.)",
    ]
    if q.stale:
        lines.append(f"Of the {q.still_listed} contacts still in FA, C, B and A, about {q.stale} have already "
                     "left the sales process (an estimate: those still listed beyond the real prospects that remain "
                     "at your ratio).")
    if any(s.jumped for s in stats.steps):
        lines.append("jumped: stays left by a forced or imported move over the next rungs; they are not counted as "
                     "moving on, nor in the conversion, and nobody is counted on the rungs jumped over.")
    if stats.left:
        n = len(stats.left)
        lines.append(f"The files name {n} contact{'s' if n != 1 else ''} in FA, C, B and A that left the sales "
                     "process (pipe review --apply and pipe classify --apply move exactly these):")
        lines.extend(f"  {c.slug} ({stage_letter(c.stage)}): {why}" for c, why in stats.left[:LEFT_SHOWN])
        if n > LEFT_SHOWN:
            lines.append(f"  and {n - LEFT_SHOWN} more: pipe review and pipe classify list them all (so does "
                         "pipe stats --format json)")
    elif q.stale >= 0.5:
        lines.append("No rule and no gate names them yet: log what happened (pipe log, pipe done) and the rules "
                     "will find the ones who said no without saying it.")
    t = stats.thirds
    if t is not None and t.ended:
        def part(group: Sequence[tuple[Contact, int]], what: str) -> str:
            med = Thirds.median_effort(group)
            return (f"{len(group)} ({fmt_percent(len(group) / t.ended)}) {what}"
                    + (f", median effort {fmt_count(med)}" if med is not None else ""))
        easy = f"closed with little effort (at most {t.easy_effort} calls, e-mails, meetings and visits)"
        lines.append(f"The one-third rule, over the {t.ended} prospects that reached an end: "
                     f"{part(t.easy, easy)}; "
                     f"{part(t.won, 'won by effort (more than that)')}; "
                     f"{part(t.never, 'never closed (taken out after a first appointment)')}. "
                     "The method expects about a third each: the middle third is the one managing your prospects wins.")
    return lines


def stats_text(stats: Stats, fmt: str) -> str:
    table = render(stats_rows(stats), STATS_COLUMNS, fmt, STATS_HEADERS, STATS_ALIGN)
    table = "\n".join(line.rstrip() for line in table.splitlines())
    who = " of the team" if stats.owner == "team" else (f" of {stats.owner}" if stats.owner else "")
    scope = f"stays entered since {stats.since}" if stats.since else "all history"
    if fmt == "markdown":
        return "\n".join([f"## Stats{md(who)} on {stats.as_of} ({scope})", "", table, ""]
                         + [f"  - {line[2:]}" if line.startswith("  ") else f"- {line}" for line in _stats_lines(stats)])
    lines = [wrapped for line in _stats_lines(stats)
             for wrapped in (_wrap(line[2:], "  ") if line.startswith("  ") else _wrap(line))]
    return "\n".join([f"Stats{who} on {stats.as_of} · {scope}", "", table, "", *lines])


def stats_data(stats: Stats) -> dict[str, Any]:
    """Stats as JSON: a documented contract; keys may be added, never renamed or removed."""
    q = stats.quiz
    ratio = stats.closing_ratio
    return _json({
        "owner": stats.owner,
        "as_of": stats.as_of.isoformat(),
        "since": stats.since.isoformat() if stats.since else None,
        "steps": [{
            "step": f"{stage_letter(s.stage)}→{stage_letter(s.then)}", "stage": s.stage, "to": s.then,
            "entered": s.entered, "moved_on": s.moved_on, "fell_back": s.fell_back, "reserve": s.reserve,
            "still": s.still, "conversion": s.conversion, "median_days": s.median_days, "jumped": s.jumped,
        } for s in stats.steps],
        "closing_ratio": {"closed": stats.closed, "first_appointments": stats.first_appointments,
                          "ratio": ratio, "one_in": 1 / ratio if ratio else None,
                          "ended": stats.ended, "taken_out": stats.taken_out, "enough": stats.enough,
                          "min_ends": stats.min_ends if stats.since is not None else 1, "basis": "ended",
                          "text": closing_text(stats)},
        "quiz": {
            "cycle": {"start": q.cycle[0].isoformat(), "end": q.cycle[1].isoformat()},
            "one_in": float(q.one_in), "source": q.source, "had": q.had, "closed": q.closed,
            "used": float(q.used), "remain": q.remain, "still_listed": q.still_listed,
            "stale": q.stale, "target": float(q.target), "needed": q.needed, "text": quiz_sentence(stats),
        },
        "first_appointments_needed": q.needed,
        "cohort": None if stats.cohort is None else {
            "cycle": {"start": stats.cohort.cycle[0].isoformat(), "end": stats.cohort.cycle[1].isoformat()},
            "reached_first_appointment": stats.cohort.size, "closed": stats.cohort.closed,
            "taken_out": stats.cohort.taken_out, "open": stats.cohort.open},
        "left": [{"slug": c.slug, "stage": c.stage, "why": why} for c, why in stats.left],
        "thirds": None if stats.thirds is None else {
            "easy_effort": stats.thirds.easy_effort, "ended": stats.thirds.ended,
            **{name: {"count": len(group), "median_effort": Thirds.median_effort(group),
                      "contacts": [c.slug for c, _ in group]}
               for name, group in (("easy", stats.thirds.easy), ("won", stats.thirds.won),
                                   ("never", stats.thirds.never))},
        },
    })


# --- classify ------------------------------------------------------------------------------------

CLASSIFY_COLUMNS = ("slug", "recorded_class", "supported_class", "direction", "why")
CLASSIFY_HEADERS = {"slug": "contact", "recorded_class": "recorded", "supported_class": "supported",
                    "direction": "mismatch"}


def mismatch_row(m: Mismatch) -> dict[str, Any]:
    """One mismatch; the JSON contract: keys may be added, never renamed or removed."""
    c = m.contact
    return {
        "slug": c.slug, "id": c.id, "name": c.name, "company": c.company, "owner": c.owner,
        "recorded": m.recorded, "supported": m.supported,
        "recorded_class": stage_letter(m.recorded), "supported_class": stage_letter(m.supported),
        "direction": m.direction, "missing": list(m.missing), "evidence": list(m.evidence),
        "why": "; ".join(m.missing or m.evidence),
    }


def classify_summary(found: Sequence[Mismatch], counted: int, *, applied: bool) -> str:
    """The line under the mismatches: how many, which way, and what --apply did or would do."""
    over = sum(m.direction == "over" for m in found)
    head = f"{len(found)} of {counted} contacts in O to A misclassified ({over} over, {len(found) - over} under)"
    if not found:
        return f"{head}: every class matches its evidence."
    if not applied:
        return f"{head}; move them with: pipe classify --apply"
    moves = [f"  {m.contact.label}: {stage_letter(m.recorded)} -> {stage_letter(m.supported)}" for m in found]
    return "\n".join([f"{head}; moved:", *moves])
