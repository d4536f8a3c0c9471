"""`pipe review`: the contacts who said "no" without saying it, why, and (with --apply) out they go."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from .common import FORMAT_HELP, Session, confirm, session, stage_ids

if TYPE_CHECKING:
    from ..rules import Verdict


def review(
    rule: list[str] = typer.Option([], "--rule", "-r", metavar="ID", help="Only this rule; repeat for more."),
    owner: str = typer.Option(None, "--owner", help="Only contacts of this owner."),
    stage: list[str] = typer.Option([], "--stage", "-s", help="Only contacts in this stage; repeat for more."),
    fmt: str = typer.Option("table", "--format", "-f", help=FORMAT_HELP),
    apply: bool = typer.Option(False, "--apply", help="Move to the reserve or demote, as the rules suggest."),
    yes: bool = typer.Option(False, "--yes", "-y", help="With --apply: do not ask first."),
    explain: str = typer.Option(None, "--explain", metavar="CONTACT",
                                help="Every rule on one contact: whether it fires, and why or why not."),
) -> None:
    """List the contacts a rule fires on: the soft no's, with the evidence and the suggested action.

    The rules are the method's (no-response, refused, no-show, pushed-back, decision-deferred, meeting-put-off,
    stalled, no-next-step, overdue, pitch-bombardment; tuned under rules in pipe.yaml) and your own (rules.custom).
    Exit 0 when nothing fires, 1 when something does.

    --apply moves contacts to the reserve or one class back, with the rule and the evidence in their history. Flags
    are never applied and nothing is deleted: pipe promote X --to opportunity brings a contact back.

    \b
    Examples:
      pipe review
      pipe review --rule no-response --rule pushed-back --owner anna
      pipe review --stage B --format json
      pipe review --explain zhang-wei
      pipe review --apply --yes
    """
    from ..errors import ExitCode, UsageError
    from ..listing import Filter, select
    from ..model import LADDER, RESERVE
    from ..render import FORMATS, render
    from ..rules import COLUMNS, HEADERS, evaluate, row

    if fmt not in FORMATS:
        raise UsageError(f"unknown format '{fmt}'", f"use one of: {', '.join(FORMATS)}")
    if explain is not None and apply:
        raise UsageError("--explain and --apply do not go together", "explain first, then apply")
    s = session(write=apply)
    if explain is not None:
        raise typer.Exit(_explain(s, explain, rule, fmt))
    everyone = s.load_all().contacts
    if owner is not None:
        owner = s.owner_named(everyone, owner)  # any case, first word or start of the name; a miss lists them
    flt = Filter(stages=stage_ids(stage) if stage else (*LADDER, RESERVE), owner=owner)
    contacts = select(everyone, flt)
    found = evaluate(contacts, s.store.config.values, s.today, only=rule)
    if apply:
        raise typer.Exit(_apply(s, found, fmt, yes))
    if found or fmt != "table":
        typer.echo(render([row(v) for v in found], COLUMNS, fmt, HEADERS))
    if fmt == "table":
        typer.echo(_summary(found, len(contacts)))
    if found:
        raise typer.Exit(int(ExitCode.FAILED))


def _summary(found: list[Verdict], reviewed: int) -> str:
    from ..rules import FIRES

    if not found:
        return f"Nothing fires on {reviewed} contact{'s' if reviewed != 1 else ''}."
    counts = {"reserve": 0, "demote": 0, "flag": 0, "cannot": 0}
    for v in found:
        counts[v.action if v.status == FIRES and v.action else "cannot"] += 1
    words = {"reserve": "to the reserve", "demote": "to demote", "flag": "flagged", "cannot": "cannot evaluate"}
    parts = ", ".join(f"{n} {words[key]}" for key, n in counts.items() if n)
    contacts = len({v.contact.slug for v in found})
    movable = counts["reserve"] + counts["demote"]
    return (f"{len(found)} finding{'s' if len(found) != 1 else ''} on {contacts} of {reviewed} contacts ({parts})."
            + (" To carry out the moves: pipe review --apply" if movable else ""))


def _explain(s: Session, query: str, only: list[str], fmt: str) -> int:
    from ..model import stage_letter
    from ..render import render
    from ..rules import EXPLAIN_COLUMNS, EXPLAIN_HEADERS, FIRES, explain, row

    c = s.resolve(query)
    verdicts = explain(c, s.store.config.values, s.today, only=only)
    if fmt == "table":
        days = c.days_in_stage(s.today)
        typer.echo(f"# {c.label} · {stage_letter(c.stage)}" + (f" for {days} days" if days is not None else ""))
    typer.echo(render([row(v) for v in verdicts], EXPLAIN_COLUMNS, fmt, EXPLAIN_HEADERS))
    return 1 if any(v.status == FIRES for v in verdicts) else 0


def _apply(s: Session, found: list[Verdict], fmt: str, yes: bool) -> int:
    from ..model import RESERVE, stage_letter
    from ..render import render
    from ..rules import FIRES, plan, row

    moves = plan(found, s.today)
    left = [v for v in found if v.status != FIRES or v.action not in ("reserve", "demote")]
    remain = f" {len(left)} flag(s) or problem(s) not applied: see 'pipe review'." if left else ""
    talk = fmt in ("json", "csv")  # keep stdout pure data; the conversation goes to stderr
    if not moves:
        typer.echo("Nothing to apply." + remain, err=talk)
        return 1 if left else 0
    rows = [{**row(m.verdict), "move": f"{stage_letter(m.verdict.contact.stage)} -> {stage_letter(m.verdict.to or RESERVE)}"}
            for m in moves]
    typer.echo(render(rows, ("slug", "move", "rule", "evidence"), fmt, {"slug": "contact"}))
    question = f"Apply these {len(moves)} change{'s' if len(moves) != 1 else ''}?"
    if not yes and not confirm(question, flag="--yes"):
        typer.echo("Nothing changed.", err=talk)
        return 1
    for move in moves:
        s.save(move.verdict.contact, move.changes)
    reserved = sum(m.verdict.to == RESERVE for m in moves)
    demoted = len(moves) - reserved
    parts = [f"{reserved} contact{'s' if reserved != 1 else ''} to reserve" if reserved else "",
             f"{demoted} demoted" if demoted else ""]
    s.commit("review --apply: " + ", ".join(p for p in parts if p))
    said = [f"moved {reserved} contact{'s' if reserved != 1 else ''} to the reserve" if reserved else "",
            f"demoted {demoted}" + ("" if reserved else f" contact{'s' if demoted != 1 else ''}") if demoted else ""]
    cleared = sum(any(getattr(ch, "path", None) == ("past_actions",) for ch in m.changes) for m in moves)
    ended = (f" {cleared} next action{'s' if cleared != 1 else ''} cleared with the move to the reserve "
             "(kept under past_actions).") if cleared else ""
    typer.echo(", ".join(p for p in said if p).capitalize() + "." + ended + remain,
               err=talk)
    return 1 if left else 0


def register(app: typer.Typer) -> None:
    app.command()(review)
