"""Commands for the week: the eight-priority plan, and the weekly report."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from .common import Session, session

if TYPE_CHECKING:
    from ..model import Contact
    from ..store import Broken, Loaded
    from ..week import Rejected


def _rejected(found: list[Broken], loaded: Loaded, chosen: list[Contact]) -> list[Rejected]:
    """What pipe check found, less the files of contacts that are not chosen (another owner's)."""
    from ..model import CONTACTS_DIR
    from ..store import SUFFIX
    from ..week import Rejected

    keep = list(found)
    if chosen is not loaded.contacts:
        mine = {c.slug for c in chosen}
        others = {c.slug for c in loaded.contacts} - mine
        head, tail = f"{CONTACTS_DIR}/", SUFFIX
        keep = [b for b in found if not (b.path.startswith(head) and b.path.endswith(tail)
                                         and b.path[len(head):-len(tail)] in others)]
    return [Rejected(b.path, b.line, b.message) for b in keep]


def _warn_rules(s: Session) -> None:
    """Say so when your own rules in pipe.yaml do not read: the findings then come from the built-in rules only."""
    for problem in s.store.rule_problems():
        typer.echo(f"pipe: warning: {problem}; your own rules are left out until it is fixed", err=True)


def _choice(value: str, allowed: tuple[str, ...], what: str = "format") -> str:
    from ..errors import UsageError

    if value not in allowed:
        raise UsageError(f"unknown {what} '{value}'", f"use one of: {', '.join(allowed)}")
    return value


def plan(
    week: bool = typer.Option(False, "--week", help="The seven days from today (the default)."),
    day: bool = typer.Option(False, "--day", help="Today only."),
    owner: str = typer.Option(None, "--owner", help="This person's contacts (any case, first name or start of it)."),
    team: bool = typer.Option(False, "--team", help="Everyone's contacts (on a folder several owners share)."),
    limit: int = typer.Option(None, "--limit", metavar="N",
                              help="At most N items a category (default: week.list_limit; 0: every item)."),
    fmt: str = typer.Option("table", "--format", "-f", help="Output format: table, markdown or json."),
) -> None:
    """Show the work of the week (or today) in the method's eight categories, in order.

    1 new contacts to call or e-mail, 2 first meetings with new contacts, 3 A to
    close, 4 B to bring to A, 5 C to bring to B, 6 service calls to customers,
    7 first meetings with fallback opportunities, 8 admin (the weekly report,
    files pipe check rejects, review findings to decide). Each line is a
    contact with its next action; overdue ones come first and are marked. For
    a week, or on a Monday, the plan opens with prospecting: the new
    opportunities and first appointments the board needs this week.

    On a folder several owners share, the plan is your own (pipe.yaml's or
    .pipe/local.yaml's owner, else git's user.name); --owner or --team for
    others'. Each category lists at most week.list_limit items, the overdue and
    the most valuable first, then "and K more: pipe list ..."; JSON has all.

    \b
    Examples:
      pipe plan
      pipe plan --team --limit 5
      pipe plan --day --owner anna
      pipe plan --format markdown > plan.md
      pipe plan --format json | jq '.categories[2].items'
    """
    from ..errors import UsageError
    from ..render import to_json
    from ..report import PLAN_FORMATS, plan_data, plan_text
    from ..week import DAY, WEEK, plan_for

    _choice(fmt, PLAN_FORMATS)
    if week and day:
        raise UsageError("--week and --day do not go together", "choose one (the default is --week)")
    if limit is not None and limit < 0:
        raise UsageError(f"--limit {limit}: give 0 (every item) or more", "pipe plan --limit 10")
    s = session()
    loaded = s.load_all()
    contacts, whose = s.whose(loaded.contacts, owner, team)
    found = s.store.check(s.today, loaded)
    _warn_rules(s)
    result = plan_for(contacts, s.store.config, s.today, scope=DAY if day else WEEK,
                      rejected=_rejected(found, loaded, contacts), owner=whose)
    shown = s.store.config["week.list_limit"] if limit is None else limit
    typer.echo(to_json(plan_data(result)) if fmt == "json" else plan_text(result, fmt, limit=shown))


def report(
    since: str = typer.Option(None, "--since", metavar="DATE", help="The period starts on DATE (up to today)."),
    week: bool = typer.Option(False, "--week", help="The seven days up to today (the default)."),
    owner: str = typer.Option(None, "--owner", help="Only this person's contacts."),
    by: str = typer.Option(None, "--by", metavar="owner", help="'owner': the team's report, then one per owner."),
    fmt: str = typer.Option(None, "--format", "-f",
                            help="Output format: markdown, html or json (default: from --output's ending, else markdown)."),
    output: str = typer.Option(None, "--output", "-o", metavar="FILE",
                               help="Write to FILE (atomically; its folder is made) instead of stdout."),
    full: bool = typer.Option(False, "--full",
                              help="Every row in markdown and HTML (default: at most week.report_rows a section)."),
) -> None:
    """Write the weekly report: board, what moved, activity, conversion, findings, next week's plan.

    The board with its diagnosis; what moved in the period, from the stage
    histories (new contacts, promotions, demotions, closes with their value,
    sent to the reserve and why, brought back); the activities by kind and
    outcome; the conversion of the period beside the all-time one; the review
    findings; and the plan of the week from today in the eight categories.
    --format html is one self-contained page (inline styles, an SVG funnel, no
    scripts), fit for a browser or an e-mail. The same files and --today give
    the same bytes, so reports can be committed and diffed week to week.
    Markdown and HTML summarise: counts, the largest closes, the board, the
    findings by rule, at most week.report_rows rows a section; --full or
    --format json has every row. The report is of everyone's contacts.

    \b
    Examples:
      pipe report
      pipe report --since 2026-11-01 --owner anna
      pipe report --by owner --format html --output week.html
      pipe report --week --output reports/2026-W49.md
    """
    from datetime import timedelta
    from pathlib import Path

    from ..dates import parse_date
    from ..errors import FileProblem, UsageError
    from ..funnel import by_owner, owned_by, owner_names
    from ..report import REPORT_FORMATS, report_output
    from ..store import refuse_own_files, write_atomic
    from ..week import report_for

    if fmt is None:  # report --output week.html means HTML
        ending = (output or "").rsplit(".", 1)[-1].lower()
        fmt = {"html": "html", "htm": "html", "json": "json"}.get(ending, "markdown")
    _choice(fmt, REPORT_FORMATS)
    if since is not None and week:
        raise UsageError("--since and --week do not go together", "--week is the seven days up to today")
    if by is not None and _choice(by, ("owner",), "grouping") and owner is not None:
        raise UsageError("--owner and --by owner do not go together", "choose one")
    s = session()
    if output is not None:
        refuse_own_files(s.store.root, output)
    first = parse_date(since, s.today, past=True) if since is not None else s.today - timedelta(days=6)
    if first > s.today:
        raise UsageError(f"--since {first} is after today ({s.today})", "give a day on or before today")
    loaded = s.load_all()
    found = s.store.check(s.today, loaded)
    _warn_rules(s)
    if owner is not None:
        owner = s.owner_named(loaded.contacts, owner)
    contacts = owned_by(loaded.contacts, owner) if owner is not None else loaded.contacts
    groups = by_owner(contacts) if by else {}
    shared = owner is None and len(owner_names(contacts)) > 1
    reports = [report_for(contacts, s.store.config, s.today, first, owner="team" if by or shared else owner,
                          rejected=_rejected(found, loaded, contacts))]
    reports += [report_for(group, s.store.config, s.today, first, owner=name,
                           rejected=_rejected(found, loaded, group)) for name, group in groups.items()]
    text = report_output(reports, fmt, split=by is not None,
                         limit=0 if full else s.store.config["week.report_rows"])
    if output is None:
        typer.echo(text, nl=False)
        return
    path = Path(output)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text.encode("utf-8"))
    except OSError as exc:
        raise FileProblem(f"cannot write {output}: {exc.strerror or exc}", "check the folder and its permissions") from None
    typer.echo(f"Wrote the {fmt} report to {output}.")


def register(app: typer.Typer) -> None:
    for command in (plan, report):
        app.command()(command)
