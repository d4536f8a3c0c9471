"""How the week reads: the plan as a table, markdown or JSON; the weekly report as markdown, HTML or JSON (pure).

Same data, same text: nothing here reads a clock, and every list is in a fixed order, so a report
made twice from the same files and --today is the same bytes (it can be committed and diffed).
The HTML is one file with inline styles only, no scripts and nothing fetched: the funnel is an
inline SVG, every number is also in a table (e-mail clients that drop the SVG still show them).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from datetime import timedelta
from html import escape
from typing import Any

from .amounts import fmt_money, fmt_sums
from .boardview import board_data, board_text, closing_text, need_lines, stats_data, whose
from .dates import MONTH_NAMES, WEEKDAYS
from .funnel import Board, Stats, fmt_count, fmt_percent
from .model import stage_letter
from .render import md, render
from .rules import row as finding_row
from .week import (
    A_TO_CLOSED,
    ADMIN,
    B_TO_A,
    BACK,
    C_TO_B,
    CLOSE,
    DAY,
    DEMOTION,
    FALLBACK,
    FIRST_MEETINGS,
    MOVES,
    NEW,
    NEW_CONTACT,
    PROMOTION,
    SERVICE,
    TO_RESERVE,
    ActivityTally,
    Category,
    Event,
    Item,
    Plan,
    Prospecting,
    Report,
)

TEXT_WIDTH = 100


def _r(value: float | None) -> float | None:
    """A number fit for JSON: 3 decimals, infinity as null."""
    if value is None or math.isinf(value) or math.isnan(value):
        return None
    return round(float(value), 3)


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def _weekday(day: Any) -> str:
    return WEEKDAYS[day.weekday()].capitalize()


# --- the plan ------------------------------------------------------------------------------------


def _of(owner: str | None) -> str:
    return " of the team" if owner == "team" else (f" of {owner}" if owner else "")


def plan_title(plan: Plan) -> str:
    who = _of(plan.owner)
    if plan.scope == DAY:
        return f"Plan{who} for {_weekday(plan.start)} {plan.start}"
    return f"Plan{who} for the week {plan.start} to {plan.end}"


def prospecting_lines(p: Prospecting) -> list[str]:
    """The prospecting block in sentences: what to find this week, and where the numbers come from."""
    b = p.board
    o, fa = b.row("opportunity"), b.row("first-appointment")
    need = b.first_appointments_needed
    target = ("no new first appointments needed for the target" if need == 0 else
              f"{_plural(need, 'new first appointment')} needed for the target")
    return [
        "Prospecting first: Monday afternoon starts with finding new contacts and setting first appointments.",
        f"This week: find {_plural(p.opportunities, 'new opportunity', 'new opportunities')} and set "
        f"{_plural(p.first_appointments, 'first appointment')}.",
        f"The board: O {o.actual} of ideal {fmt_count(o.ideal)}, FA {fa.actual} of ideal {fmt_count(fa.ideal)}; "
        f"the pipeline supports {fmt_count(b.expected_from_pipeline)} closes a cycle for a target of "
        f"{fmt_count(b.target)}: {target}.",
        f"Counted as the pace that keeps the board at its ideal (O {fmt_count(p.pace_opportunities)} and FA "
        f"{fmt_count(p.pace_first_appointments)} a week over a {round(p.cycle_weeks * 7)}-day cycle) plus the "
        f"shortfall made up over {_plural(p.catch_up_weeks, 'week')} (week.catch_up_weeks): "
        f"O {p.short_opportunities} short, {_plural(need, 'first appointment')} needed.",
    ]


def _who(item: Item) -> str:
    if item.kind == "file" and item.line:
        return f"{item.subject}:{item.line}"
    return item.who


def _letter(item: Item) -> str:
    return stage_letter(item.contact.stage) if item.contact is not None else ""


PLAN_COLUMNS = ("mark", "due", "who", "class", "action")
PLAN_HEADERS = {"mark": "!", "who": "contact"}


def _plan_rows(items: Sequence[Item]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for item in items:
        rows.append({"mark": "overdue" if item.overdue else "", "due": item.due.isoformat() if item.due else "",
                     "who": _who(item), "class": _letter(item), "action": item.action})
        rows += [{"action": f"  - {note}"} for note in item.notes]
    return rows


def _wrap(text: str, indent: str = "") -> list[str]:
    return textwrap.wrap(text, TEXT_WIDTH, initial_indent=indent, subsequent_indent=indent + "  ",
                         break_on_hyphens=False, break_long_words=False)


LIST_FOR: Mapping[str, str] = {  # where the items a bounded plan leaves out can be seen
    NEW: "pipe list --stage O", FIRST_MEETINGS: "pipe list --stage FA", A_TO_CLOSED: "pipe list --stage A",
    B_TO_A: "pipe list --stage B", C_TO_B: "pipe list --stage C", SERVICE: "pipe list --stage closed",
    FALLBACK: "pipe list --source fallback", ADMIN: "pipe review; pipe check",
}


def _whose_flag(owner: str | None) -> str:
    if owner == "team":
        return " --team"
    if owner:
        return f' --owner "{owner}"' if " " in owner else f" --owner {owner}"
    return ""


def _shown(items: Sequence[Item], limit: int) -> tuple[Sequence[Item], int]:
    """The first `limit` items (0: all of them), and how many are left out."""
    if limit <= 0 or len(items) <= limit:
        return items, 0
    return items[:limit], len(items) - limit


def more_line(cat: Category, left: int, owner: str | None) -> str:
    """The line under a bounded category: how many more, and the command that lists them."""
    where = LIST_FOR[cat.id]
    flag = _whose_flag(owner) if cat.id != ADMIN else ""
    return f"and {left} more: {where}{flag}"


PLAN_HINT = "week.list_limit; every item: --limit 0 or --format json"
REPORT_HINT = "week.report_rows; every item: pipe report --full, or --format json"


def plan_text(plan: Plan, fmt: str, level: int = 1, limit: int = 0, hint: str = PLAN_HINT) -> str:
    """The plan as a terminal listing ("table") or markdown (its title at heading `level`); `limit` items a category."""
    if fmt == "markdown":
        return _plan_markdown(plan, level, limit, hint)
    out = [plan_title(plan), ""]
    if plan.prospecting is not None:
        out += [w for line in prospecting_lines(plan.prospecting) for w in _wrap(line)] + [""]
    for cat in plan.categories:
        out.append(f"{cat.number}. {cat.title} ({len(cat.items)})")
        shown, left = _shown(cat.items, limit)
        if cat.items:
            table = render(_plan_rows(shown), PLAN_COLUMNS, "table", PLAN_HEADERS)
            out += ["   " + line.rstrip() if line.strip() else "" for line in table.splitlines()]
            if left:
                out.append("   " + more_line(cat, left, plan.owner))
        else:
            out.append("   nothing due")
        out.append("")
    out.append(_plan_summary(plan, limit, hint))
    return "\n".join(out)


def _plan_summary(plan: Plan, limit: int = 0, hint: str = PLAN_HINT) -> str:
    items = [i for cat in plan.categories for i in cat.items]
    overdue = sum(i.overdue for i in items)
    text = f"{_plural(len(items), 'item')} in 8 categories, {overdue} overdue."
    if limit > 0 and any(len(cat.items) > limit for cat in plan.categories):
        shown = sum(min(len(cat.items), limit) for cat in plan.categories)
        text += f" {shown} shown, at most {limit} a category, the overdue and the most valuable first ({hint})."
    return text


def _item_markdown(item: Item) -> list[str]:
    head = "**overdue** " if item.overdue else ""
    when = f"{item.due} · " if item.due else ""
    if item.contact is not None:
        c = item.contact
        who = f"`{c.slug}` {md(c.label)}, {_letter(item)}"
    else:
        who = f"`{_who(item)}`"
    lines = [f"- {head}{when}{who}: {md(item.action)}"]
    lines += [f"  - {md(note)}" for note in item.notes]
    return lines


def _plan_markdown(plan: Plan, level: int, limit: int = 0, hint: str = PLAN_HINT) -> str:
    h = "#" * level
    out = [f"{h} {md(plan_title(plan))}", ""]
    if plan.prospecting is not None:
        lines = prospecting_lines(plan.prospecting)
        out += [f"**{lines[0]}** {lines[1]}", "", *[f"- {line}" for line in lines[2:]], ""]
    for cat in plan.categories:
        out += [f"{h}# {cat.number}. {md(cat.title)} ({len(cat.items)})", ""]
        shown, left = _shown(cat.items, limit)
        if cat.items:
            for item in shown:
                out += _item_markdown(item)
            if left:
                out.append(f"- {more_line(cat, left, plan.owner).replace(': ', ': `', 1)}`")
        else:
            out.append("Nothing due.")
        out.append("")
    out.append(md(_plan_summary(plan, limit, hint)))
    return "\n".join(out)


def item_data(item: Item) -> dict[str, Any]:
    """One item of the plan; the JSON contract: keys may be added, never renamed or removed."""
    c = item.contact
    return {
        "kind": item.kind,
        "slug": c.slug if c else None,
        "id": c.id if c else None,
        "name": c.name if c else None,
        "company": c.company if c else None,
        "owner": c.owner if c else None,
        "stage": c.stage if c else None,
        "class": stage_letter(c.stage) if c else None,
        "subject": item.subject,
        "line": item.line,
        "action": item.action,
        "due": item.due.isoformat() if item.due else None,
        "overdue": item.overdue,
        "notes": list(item.notes),
        "missing": list(item.missing),
        "rule": item.rule,
    }


def prospecting_data(p: Prospecting) -> dict[str, Any]:
    b = p.board
    o, fa = b.row("opportunity"), b.row("first-appointment")
    return {
        "opportunities": p.opportunities,
        "first_appointments": p.first_appointments,
        "pace_opportunities": _r(p.pace_opportunities),
        "pace_first_appointments": _r(p.pace_first_appointments),
        "short_opportunities": p.short_opportunities,
        "first_appointments_needed": b.first_appointments_needed,
        "catch_up_weeks": p.catch_up_weeks,
        "cycle_days": round(p.cycle_weeks * 7),
        "opportunity_actual": o.actual,
        "opportunity_ideal": _r(o.ideal),
        "first_appointment_actual": fa.actual,
        "first_appointment_ideal": _r(fa.ideal),
        "expected_closes": _r(b.expected_closes),
        "target_closes": _r(b.target),
        "text": " ".join(prospecting_lines(p)[1:3]),
    }


def plan_data(plan: Plan) -> dict[str, Any]:
    """The plan as JSON: a documented contract; keys may be added, never renamed or removed."""
    return {
        "scope": plan.scope,
        "today": plan.today.isoformat(),
        "start": plan.start.isoformat(),
        "end": plan.end.isoformat(),
        "owner": plan.owner,
        "prospecting": prospecting_data(plan.prospecting) if plan.prospecting is not None else None,
        "categories": [{
            "number": cat.number, "id": cat.id, "title": cat.title, "count": len(cat.items),
            "overdue": sum(i.overdue for i in cat.items), "items": [item_data(i) for i in cat.items],
        } for cat in plan.categories],
    }


# --- the report's parts, as rows -----------------------------------------------------------------

MOVE_TITLES: Mapping[str, str] = {
    NEW_CONTACT: "New contacts", PROMOTION: "Promotions", DEMOTION: "Demotions", CLOSE: "Closes",
    TO_RESERVE: "Sent to the reserve", BACK: "Brought back from the reserve",
}
MOVE_WORDS: Mapping[str, tuple[str, str]] = {
    NEW_CONTACT: ("new", "new"), PROMOTION: ("promotion", "promotions"), DEMOTION: ("demotion", "demotions"),
    CLOSE: ("close", "closes"), TO_RESERVE: ("to the reserve", "to the reserve"), BACK: ("back", "back"),
}
MOVE_COLUMNS: Mapping[str, tuple[str, ...]] = {
    NEW_CONTACT: ("date", "slug", "name", "company", "class", "source"),
    PROMOTION: ("date", "slug", "name", "company", "move"),
    DEMOTION: ("date", "slug", "name", "company", "move", "why"),
    CLOSE: ("date", "slug", "name", "company", "value"),
    TO_RESERVE: ("date", "slug", "name", "company", "from", "why"),
    BACK: ("date", "slug", "name", "company", "to", "why"),
}
MOVE_HEADERS = {"slug": "contact"}
MOVE_ALIGN = {"value": "right"}


def event_data(e: Event) -> dict[str, Any]:
    """One movement; the JSON contract: keys may be added, never renamed or removed."""
    c = e.contact
    return {
        "date": e.date.isoformat(), "kind": e.kind, "slug": c.slug, "id": c.id, "name": c.name,
        "company": c.company, "owner": c.owner, "source": c.source,
        "from": e.from_, "to": e.to,
        "from_class": stage_letter(e.from_) if e.from_ else None, "to_class": stage_letter(e.to),
        "reason": e.reason, "rule": e.rule, "value": e.value, "currency": c.currency,
    }


def _event_row(e: Event) -> dict[str, Any]:
    c = e.contact
    why = "; ".join(part for part in (e.reason, f"rule {e.rule}" if e.rule else None) if part)
    return {
        "date": e.date.isoformat(), "slug": c.slug, "name": c.name, "company": c.company or "",
        "class": stage_letter(e.to), "source": c.source or "",
        "move": f"{stage_letter(e.from_)} → {stage_letter(e.to)}" if e.from_ else stage_letter(e.to),
        "from": stage_letter(e.from_) if e.from_ else "", "to": stage_letter(e.to), "why": why,
        "value": fmt_money(e.value, c.currency) if e.value is not None else "",
    }


def moved_summary(report: Report) -> str:
    parts = []
    for kind in MOVES:
        n = len(report.moved(kind))
        one, many = MOVE_WORDS[kind]
        text = f"{n} {one if n == 1 else many}"
        if kind == CLOSE and n:
            text += f" ({fmt_sums(report.closed_values)})"
        parts.append(text)
    return ", ".join(parts) + "."


def activity_summary(a: ActivityTally) -> str:
    answered = ("talked", "replied", "held", "refused")
    return (f"{_plural(a.total, 'activity', 'activities')}: {_plural(a.count(('call',)), 'call')} made, "
            f"{a.count(('call',), ('talked',))} talked; {_plural(a.count(('email',)), 'e-mail')} sent, "
            f"{a.count(('email',), answered)} answered; "
            f"{_plural(a.count(('meeting', 'visit'), ('held',)), 'meeting')} held.")


def activity_data(a: ActivityTally) -> dict[str, Any]:
    answered = ("talked", "replied", "held", "refused")
    return {
        "total": a.total,
        "calls": a.count(("call",)),
        "calls_talked": a.count(("call",), ("talked",)),
        "emails": a.count(("email",)),
        "emails_answered": a.count(("email",), answered),
        "meetings_held": a.count(("meeting", "visit"), ("held",)),
        "by_kind_outcome": [{"kind": k, "outcome": o, "count": n} for k, o, n in a.rows()],
    }


ACTIVITY_COLUMNS = ("kind", "outcome", "count")


def _activity_rows(a: ActivityTally) -> list[dict[str, Any]]:
    return [{"kind": k, "outcome": o or "(none)", "count": n} for k, o, n in a.rows()]


CONVERSION_COLUMNS = ("step", "entered", "moved_on", "period", "all_time", "all_entered")
CONVERSION_HEADERS = {"moved_on": "moved on", "period": "conversion (period)", "all_time": "conversion (all time)",
                      "entered": "entered (period)", "all_entered": "entered (all time)"}
CONVERSION_ALIGN = {c: "right" for c in CONVERSION_COLUMNS[1:]}


def _conversion_rows(period: Stats, whole: Stats) -> list[dict[str, Any]]:
    rows = []
    for p, w in zip(period.steps, whole.steps, strict=True):
        rows.append({
            "step": f"{stage_letter(p.stage)} → {stage_letter(p.then)}", "entered": p.entered,
            "moved_on": p.moved_on,
            "period": fmt_percent(p.conversion) if p.conversion is not None else "",
            "all_time": fmt_percent(w.conversion) if w.conversion is not None else "",
            "all_entered": w.entered,
        })
    return rows


def conversion_lines(report: Report) -> list[str]:
    return [f"Closing ratio in the period: {closing_text(report.period_stats)}; all time: "
            f"{closing_text(report.all_stats)}.",
            "(The steps count the stays in a class entered since the period's first day, as pipe stats --since does; "
            "the closing ratio counts the contacts that reached an end in the period, shown with at least "
            "funnel.min_ends of them.)"]


FINDING_COLUMNS = ("slug", "class", "rule", "evidence", "suggestion")
FINDING_HEADERS = {"slug": "contact", "suggestion": "action"}


def _title(report: Report) -> str:
    who = _of(report.owner)
    if report.days == 7:
        return f"Weekly report{who}: {report.since} to {report.until}"
    if report.days == 1:
        return f"Report{who}, one day: {report.since}"
    after = report.until + timedelta(days=1)
    if report.since.day == 1 and after.day == 1 and (after.month - report.since.month) % 12 == 1:
        return f"Monthly report{who}: {MONTH_NAMES[report.since.month - 1].capitalize()} {report.since.year}"
    return f"Report{who}, {report.days} days: {report.since} to {report.until}"


def _headline(report: Report) -> str:
    return (f"{_plural(report.days, 'day')}, {report.since} to {report.until} · moved: "
            f"{moved_summary(report).rstrip('.')} · {_plural(len(report.findings), 'review finding')}.")


# --- the report as markdown ----------------------------------------------------------------------


def _md_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], headers: Mapping[str, str] | None = None,
              align: Mapping[str, str] | None = None) -> str:
    return render(rows, columns, "markdown", headers, align)  # the renderer escapes every cell


def _top(report: Report, kind: str, limit: int) -> tuple[list[Event], int]:
    """A section's rows as the summary shows them: the closes by value, the other moves by date; `limit` of them."""
    events = report.moved(kind)
    if kind == CLOSE:
        events = sorted(events, key=lambda e: -(e.value or 0.0))  # stable: equal values keep their date order
    if limit <= 0 or len(events) <= limit:
        return events, 0
    return events[:limit], len(events) - limit


RULE_COLUMNS = ("rule", "contacts", "fires", "cannot", "actions")
RULE_HEADERS = {"cannot": "cannot evaluate"}
RULE_ALIGN = {"contacts": "right", "fires": "right", "cannot": "right"}


def findings_by_rule(report: Report) -> list[dict[str, Any]]:
    """The review's findings counted by rule, in the order the rules first appear."""
    rows: dict[str, dict[str, Any]] = {}
    for v in report.findings:
        r = rows.setdefault(v.rule.id, {"rule": v.rule.id, "contacts": 0, "fires": 0, "cannot": 0, "actions": []})
        r["contacts"] += 1
        if v.action is None:
            r["cannot"] += 1
        else:
            r["fires"] += 1
            if v.suggestion not in r["actions"]:
                r["actions"].append(v.suggestion)
    return [{**r, "actions": ", ".join(r["actions"])} for r in rows.values()]


def _left_note(left: int, what: str = "row") -> str:
    return f"and {_plural(left, 'more ' + what)}: pipe report --full, or --format json"


def report_markdown(report: Report, limit: int = 0) -> str:
    """One report as markdown: a git forge and most chats render it; with `limit`, a summary of at most that many
    rows a section (every row stays in the JSON, or with pipe report --full)."""
    out = [f"# {md(_title(report))}", "", _headline(report), ""]
    if limit > 0:
        out += [f"Summarised: at most {limit} rows a section (week.report_rows); every row: `pipe report --full`, "
                "or `--format json`.", ""]
    out += [board_text(report.board, "markdown"), ""]
    out += ["## What moved", "", moved_summary(report).capitalize(), ""]
    for kind in MOVES:
        events, left = _top(report, kind, limit)
        order = " (the largest first)" if kind == CLOSE and left else ""
        out += [f"### {MOVE_TITLES[kind]} ({len(report.moved(kind))}){order}", ""]
        if events:
            out.append(_md_table([_event_row(e) for e in events], MOVE_COLUMNS[kind], MOVE_HEADERS, MOVE_ALIGN))
            if left:
                out += ["", md(_left_note(left))]
        else:
            out.append("None.")
        out.append("")
    out += ["## Activity", "", activity_summary(report.activity), ""]
    if report.activity.total:
        out += [_md_table(_activity_rows(report.activity), ACTIVITY_COLUMNS, align={"count": "right"}), ""]
    out += ["## Conversion", "",
            _md_table(_conversion_rows(report.period_stats, report.all_stats), CONVERSION_COLUMNS,
                      CONVERSION_HEADERS, CONVERSION_ALIGN), ""]
    out += [f"- {md(line)}" for line in conversion_lines(report)] + [""]
    out += [f"## Review findings ({len(report.findings)})", ""]
    if report.findings:
        rows = [finding_row(v) for v in report.findings]
        shown = rows if limit <= 0 else rows[:limit]
        if limit > 0:
            out += [_md_table(findings_by_rule(report), RULE_COLUMNS, RULE_HEADERS, RULE_ALIGN), ""]
        out += [_md_table(shown, FINDING_COLUMNS, FINDING_HEADERS), ""]
        if len(rows) > len(shown):
            out += [md(_left_note(len(rows) - len(shown), "finding")), ""]
        out += ["To carry out the moves: `pipe review --apply`.", ""]
    else:
        out += ["Nothing fires.", ""]
    out.append(plan_text(report.plan, "markdown", level=2, limit=limit, hint=REPORT_HINT))
    return "\n".join(out)


def reports_markdown(reports: Sequence[Report], limit: int = 0) -> str:
    return "\n\n---\n\n".join(report_markdown(r, limit) for r in reports) + "\n"


# --- the report as JSON --------------------------------------------------------------------------


def report_data(report: Report) -> dict[str, Any]:
    """The report as JSON: a documented contract; keys may be added, never renamed or removed."""
    return {
        "owner": report.owner,
        "since": report.since.isoformat(),
        "until": report.until.isoformat(),
        "days": report.days,
        "board": board_data(report.board),
        "movement": {
            "counts": {kind: len(report.moved(kind)) for kind in MOVES},
            "closed_value": _r(report.closed_value),
            "closed_values": [{"currency": c, "value": _r(v)} for c, v in report.closed_values.items()],
            "events": [event_data(e) for e in report.events],
        },
        "activity": activity_data(report.activity),
        "conversion": {"period": stats_data(report.period_stats), "all_time": stats_data(report.all_stats)},
        "findings": [finding_row(v) for v in report.findings],
        "plan": plan_data(report.plan),
    }


# --- the report as HTML --------------------------------------------------------------------------

FONT = "-apple-system,'Segoe UI',Helvetica,Arial,'Noto Sans','PingFang SC','Microsoft YaHei',sans-serif"
INK, MUTED, LINE, LIGHT, ACCENT, IDEAL, WARN = (
    "#1f2328", "#59636e", "#d0d7de", "#eaeef2", "#0b5cad", "#c9d1d9", "#b42318")
S_BODY = f"margin:0;padding:24px 12px;background:#f6f8fa;font-family:{FONT};color:{INK};font-size:14px;line-height:1.45;"
S_PAGE = f"max-width:920px;margin:0 auto;background:#ffffff;border:1px solid {LINE};border-radius:6px;padding:24px;"
S_H1 = "font-size:22px;margin:0 0 6px 0;"
S_H2 = f"font-size:18px;margin:28px 0 8px 0;padding-bottom:4px;border-bottom:1px solid {LINE};"
S_H3 = "font-size:15px;margin:18px 0 6px 0;"
S_P = "margin:6px 0;"
S_MUTED = f"margin:6px 0;color:{MUTED};"
S_TABLE = "border-collapse:collapse;width:100%;margin:6px 0 10px 0;font-size:13px;"
_RIGHT = "text-align:right;"
S_TH = f"text-align:left;padding:5px 8px;border-bottom:2px solid {LINE};background:#f6f8fa;white-space:nowrap;"
S_TD = f"padding:4px 8px;border-bottom:1px solid {LIGHT};vertical-align:top;"
S_NOTE = f"color:{MUTED};font-size:12px;"
S_BADGE = f"display:inline-block;padding:0 6px;border-radius:9px;background:{WARN};color:#ffffff;font-size:11px;font-weight:bold;"
S_CODE = "font-family:Menlo,Consolas,monospace;font-size:12px;"


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _table_html(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], headers: Mapping[str, str] | None = None,
                align: Mapping[str, str] | None = None) -> str:
    heads = [(headers or {}).get(c, c) for c in columns]
    side = [(align or {}).get(c, "left") for c in columns]
    out = [f'<table style="{S_TABLE}" cellpadding="0" cellspacing="0">', "<tr>"]
    out += [f'<th style="{S_TH}{_RIGHT if a == "right" else ""}">{_e(h)}</th>' for h, a in zip(heads, side, strict=True)]
    out.append("</tr>")
    for r in rows:
        cells = [f'<td style="{S_TD}{_RIGHT if a == "right" else ""}">{_cell_html(r.get(c))}</td>'
                 for c, a in zip(columns, side, strict=True)]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _cell_html(value: Any) -> str:
    if isinstance(value, _Raw):
        return value.html
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return _e(f"{value:g}")
    return _e(value)


class _Raw:
    """Markup already escaped, to put in a cell as it is."""

    def __init__(self, html: str) -> None:
        self.html = html


def funnel_svg(board: Board) -> str:
    """The board as a funnel: per class, the ideal (grey) and the actual (blue) bar, centred, with the counts."""
    rows = board.classes
    largest = max([r.actual for r in rows] + [r.ideal for r in rows] + [1])
    label_w, number_w, bar_w, row_h = 56, 150, 420, 34
    width = label_w + bar_w + number_w
    height = row_h * len(rows) + 30
    centre = label_w + bar_w / 2
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'role="img" aria-label="{_e(_funnel_label(board))}" style="max-width:100%;" '
           f'font-family="{_e(FONT)}" font-size="12">',
           f"<title>{_e(_funnel_label(board))}</title>"]
    for i, r in enumerate(rows):
        y = i * row_h
        ideal_w = r.ideal / largest * bar_w
        actual_w = r.actual / largest * bar_w
        letter = stage_letter(r.stage)
        out.append(f'<text x="0" y="{y + 21}" fill="{INK}" font-weight="bold">{_e(letter)}</text>')
        out.append(f'<rect x="{centre - ideal_w / 2:.1f}" y="{y + 4}" width="{ideal_w:.1f}" height="12" rx="2" '
                   f'fill="{IDEAL}"/>')
        if r.actual:
            out.append(f'<rect x="{centre - max(actual_w, 2) / 2:.1f}" y="{y + 17}" width="{max(actual_w, 2):.1f}" '
                       f'height="12" rx="2" fill="{ACCENT}"/>')
        ratio = f" ({fmt_percent(r.ratio)})" if r.ratio is not None else ""
        out.append(f'<text x="{label_w + bar_w + 10}" y="{y + 21}" fill="{INK}">{r.actual} of {_e(fmt_count(r.ideal))}'
                   f"{_e(ratio)}</text>")
    y = row_h * len(rows) + 14
    out.append(f'<rect x="{label_w}" y="{y - 9}" width="12" height="10" rx="2" fill="{ACCENT}"/>'
               f'<text x="{label_w + 18}" y="{y}" fill="{MUTED}">actual</text>'
               f'<rect x="{label_w + 80}" y="{y - 9}" width="12" height="10" rx="2" fill="{IDEAL}"/>'
               f'<text x="{label_w + 98}" y="{y}" fill="{MUTED}">ideal</text>')
    out.append("</svg>")
    return "\n".join(out)


def _funnel_label(board: Board) -> str:
    return "Board: " + ", ".join(f"{stage_letter(r.stage)} {r.actual} of {fmt_count(r.ideal)}" for r in board.classes)


BOARD_COLUMNS = ("class", "actual", "ideal", "diff", "ratio")
BOARD_ALIGN = {"actual": "right", "ideal": "right", "diff": "right", "ratio": "right"}


def _board_html(board: Board) -> list[str]:
    first, last = board.cycle
    rows = [{"class": stage_letter(r.stage), "actual": r.actual, "ideal": fmt_count(r.ideal),
             "diff": ("+" if r.difference > 0 else "") + fmt_count(r.difference),
             "ratio": fmt_percent(r.ratio) if r.ratio is not None else ""} for r in board.classes]
    name = whose(board)
    out = [f'<h2 style="{S_H2}">Board{_e(" of " + name if name else "")} on {_e(board.as_of)}</h2>',
           f'<p style="{S_MUTED}">Cycle {_e(first)} to {_e(last)} ({(last - first).days + 1} days), target '
           f"{_e(fmt_count(board.target))} closes. Reserve: {board.reserve}; closed before this cycle: "
           f"{board.closed_before}.</p>",
           f'<div style="margin:10px 0;">{funnel_svg(board)}</div>',
           _table_html(rows, BOARD_COLUMNS, align=BOARD_ALIGN),
           *[f'<p style="{S_P}">{_e(line)}</p>' for line in need_lines(board)],
           f'<h3 style="{S_H3}">Diagnosis</h3>']
    if board.findings:
        out.append('<ul style="margin:4px 0 8px 18px;padding:0;">')
        out += [f'<li style="margin:4px 0;"><b>{_e(f.pattern)}</b>: {_e(f.evidence)}<br>'
                f'<span style="{S_NOTE}">{_e(f.advice)}</span></li>' for f in board.findings]
        out.append("</ul>")
    else:
        out.append(f'<p style="{S_P}">No pattern of the method stands out.</p>')
    return out


def _items_html(items: Sequence[Item]) -> str:
    rows = []
    for item in items:
        badge = f'<span style="{S_BADGE}">overdue</span> ' if item.overdue else ""
        notes = "".join(f'<br><span style="{S_NOTE}">{_e(n)}</span>' for n in item.notes)
        who = _e(_who(item))
        if item.contact is not None:
            who = f'<span style="{S_CODE}">{who}</span><br><span style="{S_NOTE}">{_e(item.contact.label)}</span>'
        else:
            who = f'<span style="{S_CODE}">{who}</span>'
        due = f'<span style="white-space:nowrap;">{badge}{_e(item.due or "")}</span>'
        rows.append({"due": _Raw(due), "who": _Raw(who), "class": _letter(item),
                     "action": _Raw(_e(item.action) + notes)})
    return _table_html(rows, ("due", "who", "class", "action"), {"who": "contact"})


def _plan_html(plan: Plan, limit: int = 0, hint: str = PLAN_HINT) -> list[str]:
    out = [f'<h2 style="{S_H2}">{_e(plan_title(plan))}</h2>']
    if plan.prospecting is not None:
        lines = prospecting_lines(plan.prospecting)
        out.append(f'<div style="margin:8px 0;padding:10px 12px;background:#eef5fc;border-left:4px solid {ACCENT};">'
                   f'<p style="{S_P}"><b>{_e(lines[0])}</b></p><p style="{S_P}">{_e(lines[1])}</p>'
                   + "".join(f'<p style="{S_MUTED}">{_e(line)}</p>' for line in lines[2:]) + "</div>")
    for cat in plan.categories:
        out.append(f'<h3 style="{S_H3}">{cat.number}. {_e(cat.title)} ({len(cat.items)})</h3>')
        shown, left = _shown(cat.items, limit)
        out.append(_items_html(shown) if cat.items else f'<p style="{S_MUTED}">Nothing due.</p>')
        if left:
            out.append(f'<p style="{S_MUTED}">{_e(more_line(cat, left, plan.owner))}</p>')
    out.append(f'<p style="{S_MUTED}">{_e(_plan_summary(plan, limit, hint))}</p>')
    return out


def _report_html(report: Report, limit: int = 0) -> list[str]:
    out = [f'<h1 style="{S_H1}">{_e(_title(report))}</h1>', f'<p style="{S_MUTED}">{_e(_headline(report))}</p>']
    if limit > 0:
        out.append(f'<p style="{S_MUTED}">Summarised: at most {limit} rows a section (week.report_rows); every row: '
                   f'<span style="{S_CODE}">pipe report --full</span>, or --format json.</p>')
    out += _board_html(report.board)
    out += [f'<h2 style="{S_H2}">What moved</h2>', f'<p style="{S_P}">{_e(moved_summary(report).capitalize())}</p>']
    for kind in MOVES:
        events, left = _top(report, kind, limit)
        out.append(f'<h3 style="{S_H3}">{_e(MOVE_TITLES[kind])} ({len(report.moved(kind))})</h3>')
        out.append(_table_html([_event_row(e) for e in events], MOVE_COLUMNS[kind], MOVE_HEADERS, MOVE_ALIGN)
                   if events else f'<p style="{S_MUTED}">None.</p>')
        if left:
            out.append(f'<p style="{S_MUTED}">{_e(_left_note(left))}</p>')
    out += [f'<h2 style="{S_H2}">Activity</h2>', f'<p style="{S_P}">{_e(activity_summary(report.activity))}</p>']
    if report.activity.total:
        out.append(_table_html(_activity_rows(report.activity), ACTIVITY_COLUMNS, align={"count": "right"}))
    out += [f'<h2 style="{S_H2}">Conversion</h2>',
            _table_html(_conversion_rows(report.period_stats, report.all_stats), CONVERSION_COLUMNS,
                        CONVERSION_HEADERS, CONVERSION_ALIGN)]
    out += [f'<p style="{S_MUTED}">{_e(line)}</p>' for line in conversion_lines(report)]
    out.append(f'<h2 style="{S_H2}">Review findings ({len(report.findings)})</h2>')
    if report.findings:
        rows = [finding_row(v) for v in report.findings]
        shown = rows if limit <= 0 else rows[:limit]
        if limit > 0:
            out.append(_table_html(findings_by_rule(report), RULE_COLUMNS, RULE_HEADERS, RULE_ALIGN))
        out.append(_table_html(shown, FINDING_COLUMNS, FINDING_HEADERS))
        if len(rows) > len(shown):
            out.append(f'<p style="{S_MUTED}">{_e(_left_note(len(rows) - len(shown), "finding"))}</p>')
        out.append(f'<p style="{S_MUTED}">To carry out the moves: <span style="{S_CODE}">pipe review --apply</span>.</p>')
    else:
        out.append(f'<p style="{S_MUTED}">Nothing fires.</p>')
    out += _plan_html(report.plan, limit, REPORT_HINT)
    return out


def reports_html(reports: Sequence[Report], limit: int = 0) -> str:
    """One self-contained HTML page: inline styles, no scripts, nothing fetched from the network."""
    title = _title(reports[0])
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">', f"<title>{_e(title)}</title>",
           "</head>", f'<body style="{S_BODY}">']
    for i, report in enumerate(reports):
        if i:
            out.append('<div style="height:24px;"></div>')
        out.append(f'<div style="{S_PAGE}">')
        out += _report_html(report, limit)
        out.append("</div>")
    out += [f'<p style="{S_MUTED}text-align:center;">Made by pipe report from the contact files.</p>',
            "</body>", "</html>"]
    return "\n".join(out) + "\n"


# --- one entry point for the command --------------------------------------------------------------

REPORT_FORMATS = ("markdown", "html", "json")
PLAN_FORMATS = ("table", "markdown", "json")


def report_output(reports: Sequence[Report], fmt: str, *, split: bool = False, limit: int = 0) -> str:
    """The reports in a format; with `split` (by owner) the first is the team's and JSON is {owners, team}.

    Markdown and HTML show at most `limit` rows a section (0: every row); JSON always has every row.
    """
    from .render import to_json

    if fmt == "json":
        if split:
            return to_json({"owners": [report_data(r) for r in reports[1:]], "team": report_data(reports[0])}) + "\n"
        return to_json(report_data(reports[0])) + "\n"
    if fmt == "html":
        return reports_html(reports, limit)
    return reports_markdown(reports, limit)

