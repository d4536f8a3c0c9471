"""Commands that record what happened with a contact and move it along the ladder."""

from __future__ import annotations

import typer

from .common import Session, confirm, session, stage_ids

CONTACT = typer.Argument(..., metavar="CONTACT", help="Slug, id, slug prefix or name.")


def log(
    contact: str = CONTACT,
    kind: str = typer.Argument(..., help="call, email, meeting, visit or note (any case, or in Chinese: 电话...)."),
    outcome: str = typer.Option(None, "--outcome", "-o",
                                help="no-answer, left-message, no-reply, talked, held, replied, refused; for a "
                                     "meeting also no-show, cancelled or rescheduled (with --new-date)."),
    note: str = typer.Option(None, "--note", "-n"),
    when: str = typer.Option("today", "--date", "-d", metavar="DATE", help="When it happened."),
    step: str = typer.Option(None, "--step", help="The step of the sale it served: opening, information-gathering, "
                                                  "presentation or close."),
    new_date: str = typer.Option(None, "--new-date", metavar="DATE",
                                 help="A rescheduled meeting's new date (it moves the first meeting)."),
    next_action: str = typer.Option(None, "--next", metavar="ACTION",
                                    help="The next action agreed ('-' clears the one recorded)."),
    due: str = typer.Option(None, "--due", metavar="DATE", help="When the next action is due."),
) -> None:
    """Record an activity (a call, e-mail, meeting, visit or note), and optionally the next action.

    A first meeting held, missed (no-show) or cancelled ends the "first meeting" next action; a
    rescheduled one moves it. Finish any other next action with pipe done.

    \b
    Examples:
      pipe log zhang-wei call --outcome talked --next "send the quote" --due fri
      pipe log "Anna Berg" call --outcome no-answer
      pipe log anna meeting --outcome held --date yesterday --step information-gathering
      pipe log anna meeting --outcome rescheduled --new-date +3w
      pipe log anna note --next -
    """
    from ..dates import parse_date
    from ..errors import UsageError
    from ..record import activity_words, log_activity

    s = session(write=True)
    c = s.resolve(contact)
    day = parse_date(when, s.today, past=True)
    if day > s.today:
        raise UsageError(f"--date {day} is in the future", "log what happened; plan what comes with --next and --due")
    changes, said = log_activity(c, kind, day, s.today, outcome=outcome, note=note, next_action=next_action,
                                 due=parse_date(due, s.today) if due else None, step=step,
                                 new_date=parse_date(new_date, s.today) if new_date else None)
    s.save(c, changes)
    said_kind, said_outcome, _ = activity_words(kind, outcome, None)
    s.commit(f"log {c.label}: {said_kind}{f' {said_outcome}' if said_outcome else ''}")
    typer.echo(f"Logged {said_kind}{f' ({said_outcome})' if said_outcome else ''} for {c.label}.")
    if said:
        typer.echo(said)


def done(
    contact: str = CONTACT,
    note: str = typer.Option(None, "--note", "-n", help="What came of it (or, with --not-done, why not)."),
    kind: str = typer.Option("note", "--kind", "-k", help="The activity it was: call, email, meeting, visit or note."),
    outcome: str = typer.Option(None, "--outcome", "-o", help="Its outcome, as for pipe log."),
    step: str = typer.Option(None, "--step", help="The step of the sale it served."),
    when: str = typer.Option("today", "--date", "-d", metavar="DATE", help="When it was done."),
    next_action: str = typer.Option(None, "--next", metavar="ACTION", help="The action that follows."),
    due: str = typer.Option(None, "--due", metavar="DATE", help="When the following action is due."),
    not_done: bool = typer.Option(False, "--not-done", help="Clear the next action without doing it (no activity)."),
) -> None:
    """Finish the next action: record it as done (an activity) and clear it, or set the one that follows.

    With --not-done the next action is cleared without being done, and pipe says so. Either way the
    old action is kept in the file under past_actions.

    \b
    Examples:
      pipe done zhang-wei --note "quote sent" --next "call about the quote" --due +1w
      pipe done anna --kind call --outcome talked --note "they read it"
      pipe done bob --not-done --note "they bought elsewhere meanwhile"
    """
    from ..dates import parse_date
    from ..errors import UsageError
    from ..record import done as record

    s = session(write=True)
    c = s.resolve(contact)
    day = parse_date(when, s.today)
    if day > s.today:
        raise UsageError(f"--date {day} is in the future", "record it when it is done")
    changes, said = record(c, s.today, day, kind=kind, outcome=outcome, note=note, step=step,
                           next_action=next_action, due=parse_date(due, s.today) if due else None, not_done=not_done)
    s.save(c, changes)
    s.commit(f"done {c.label}: {'dropped' if not_done else 'done'} '{c.next.action if c.next else ''}'")
    typer.echo(said)


def meet(
    contact: str = CONTACT,
    when: str = typer.Argument(..., metavar="DATE", help="The first meeting's date."),
    next_action: str = typer.Option(None, "--next", metavar="ACTION",
                                    help="The next action instead of the meeting itself ('-': none)."),
    due: str = typer.Option(None, "--due", metavar="DATE", help="When that next action is due."),
) -> None:
    """Set the first meeting; an opportunity moves to first appointment (that is its gate).

    The meeting becomes the next action (the old one is kept under past_actions) unless --next
    gives another. In phone mode (mode: phone in pipe.yaml) the move needs a second effective call
    as well.

    \b
    Examples:
      pipe meet zhang-wei 2026-12-03
      pipe meet "Anna Berg" thu
      pipe meet anna thu --next "send the agenda" --due tue
    """
    from ..dates import parse_date
    from ..model import stage_letter
    from ..record import set_meeting

    s = session(write=True)
    c = s.resolve(contact)
    day = parse_date(when, s.today)
    changes, missing, said = set_meeting(c, day, s.today, s.rules, next_action=next_action,
                                         due=parse_date(due, s.today) if due else None)
    s.save(c, changes)
    moved = any(getattr(ch, "path", None) == ("stage",) for ch in changes)
    s.commit(f"meet {c.label}: {day}" + (f", {stage_letter(c.stage)} -> FA" if moved else ""))
    typer.echo(f"First meeting with {c.label} set for {day}." + (" Now a first appointment (FA)." if moved else ""))
    if said:
        typer.echo(said)
    if missing:
        typer.echo("Still an opportunity; for FA it needs: " + "; ".join(missing))


def qualify(
    contact: str = CONTACT,
    decision_maker: bool = typer.Option(None, "--decision-maker/--no-decision-maker",
                                        help="We deal with the real decision-maker."),
    proposal_fits: bool = typer.Option(None, "--proposal-fits/--no-proposal-fits",
                                       help="The proposal fits what they want."),
    budget: bool = typer.Option(None, "--budget/--no-budget",
                                help="Budget reasonable and price acceptable, discussed before calling it a B."),
    decision_date: str = typer.Option(None, "--decision-date", metavar="DATE"),
    start_date: str = typer.Option(None, "--start-date", metavar="DATE", help="Implementation date."),
    next_step: str = typer.Option(None, "--next-step", metavar="TEXT",
                                  help="The concrete next step: it is the next action ('-' clears it)."),
    due: str = typer.Option(None, "--due", metavar="DATE", help="When the next step is due."),
    verbal_yes: str = typer.Option(None, "--verbal-yes", metavar="DATE", help="When they agreed to buy (the A gate)."),
) -> None:
    """Record the five B criteria (and the verbal yes the A gate needs); prints which still fail.

    \b
    Examples:
      pipe qualify zhang-wei --decision-maker --budget --decision-date +3w --start-date +2m
      pipe qualify zhang-wei --proposal-fits --next-step "workshop with IT"
      pipe qualify zhang-wei --verbal-yes today
    """
    from ..dates import parse_date
    from ..errors import UsageError
    from ..ladder import criteria_checks
    from ..model import Criteria, Delete, NextAction, SetKey
    from ..record import qualify as record

    s = session(write=True)
    c = s.resolve(contact)
    decide = parse_date(decision_date, s.today) if decision_date else None
    start = parse_date(start_date, s.today) if start_date else None
    values = {
        "decision_maker": decision_maker, "proposal_fits": proposal_fits, "budget": budget,
        "decision_date": decide, "start_date": start,
    }
    yes = parse_date(verbal_yes, s.today, past=True) if verbal_yes else None
    decide, start = decide or c.criteria.decision_date, start or c.criteria.start_date
    if decide and start and start < decide:
        raise UsageError(f"the start date {start} is before the decision date {decide}",
                         "they start after they decide: give both dates again")
    changes, said = record(c, values, yes, s.today, next_step=next_step, due=parse_date(due, s.today) if due else None)
    if changes:
        s.save(c, changes)
        s.commit(f"qualify {c.label}")
    given = {ch.path[-1]: ch.value for ch in changes if isinstance(ch, SetKey) and ch.path[0] == "criteria"}
    nexts = [ch.value if isinstance(ch, SetKey) else None for ch in changes
             if isinstance(ch, (SetKey, Delete)) and ch.path == ("next",)]
    after = c._replace(criteria=c.criteria._replace(**{k: v for k, v in given.items() if k in Criteria._fields}),
                       verbal_yes=yes or c.verbal_yes,
                       next=(NextAction(nexts[-1]["action"], nexts[-1].get("due")) if nexts[-1] else None) if nexts
                       else c.next)
    if said:
        typer.echo(said)
    checks = criteria_checks(after, s.today, s.rules)
    for check in checks:
        typer.echo(f"  [{'x' if check.ok else ' '}] {check.name.replace('_', ' ')}: {check.detail}")
    failing = sum(not ch.ok for ch in checks)
    typer.echo(f"  [{'x' if after.verbal_yes else ' '}] verbal yes (for A): "
               + (str(after.verbal_yes) if after.verbal_yes else "none recorded"))
    ready = ""
    if not failing and c.stage == "c":
        ready = " Ready for B: pipe promote."
    elif not failing and c.stage == "b" and after.verbal_yes:
        ready = " Ready for A: pipe promote."
    typer.echo(f"{5 - failing} of 5 B criteria met.{ready}")


def promote(
    contact: str = CONTACT,
    to: str = typer.Option(None, "--to", metavar="STAGE", help="Target stage (default: one class up)."),
    force: bool = typer.Option(False, "--force", help="Move even though a gate is not met (needs --reason)."),
    reason: str = typer.Option(None, "--reason", help="Why; required with --force, kept in the history."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask the salary question for A."),
    value: str = typer.Option(None, "--value", help="Deal value, when promoting to closed: 24000, 24k, €24,000."),
    on: str = typer.Option(None, "--date", metavar="DATE", help="Date of the formal commitment (closed)."),
) -> None:
    """Move a contact up one class (or to --to) when every gate on the way is met.

    Otherwise exits 1 listing exactly what is missing. Promotion to A asks "Would you bet your
    salary on this deal?" unless --yes. From the reserve, --to opportunity brings a contact back.

    \b
    Examples:
      pipe promote zhang-wei
      pipe promote zhang-wei --to A --yes
      pipe promote anna --to closed --value 24000
      pipe promote old-lead --to opportunity
      pipe promote bob --force --reason "met at the fair, the meeting is implied"
    """
    from ..dates import parse_date
    from ..errors import GateError, UsageError
    from ..ladder import next_sentence, next_up
    from ..ladder import promote as plan
    from ..model import RESERVE, A, stage_letter
    from ..record import amount

    if force and not reason:
        raise UsageError("--force needs --reason", "say why the gate is skipped; it is kept in the history")
    worth, currency = amount(value)
    s = session(write=True)
    c = s.resolve(contact)
    if currency and c.currency and currency != c.currency:
        raise UsageError(f"{c.label}'s amounts are in {c.currency}; --value {value} is in {currency}",
                         f"give the value in {c.currency}, or change 'currency:' in the file first (pipe edit {c.slug})")
    target = next_up(c.stage) if to is None else stage_ids([to])[0]
    changes = plan(c, target, s.today, s.rules, force_reason=reason if force else None,
                   closed_on=parse_date(on, s.today, past=True) if on else None, value=worth, currency=currency,
                   reason=reason)
    if target == A and not yes and not confirm("Would you bet your salary on this deal?", flag="--yes"):
        raise GateError(f"{c.label} stays at {stage_letter(c.stage)}: an A is a deal you would bet your salary on")
    s.save(c, changes)
    forced = " (forced)" if force and any(getattr(ch, "item", {}).get("forced") for ch in changes) else ""
    s.commit(f"promote {c.label}: {stage_letter(c.stage)} -> {stage_letter(target)}{forced}")
    typer.echo(f"{c.label}: {stage_letter(c.stage)} -> {stage_letter(target)}{forced}.")
    if target == "closed" and c.next is not None:
        typer.echo(next_sentence(c.next, None, why="closed: the plan's service calls take over"))
    if c.stage == RESERVE:
        _warn_if_still_out(s, c.slug)


def _warn_if_still_out(s: Session, slug: str) -> None:
    """A contact brought back from the reserve that a rule would send straight back (a deferral that
    still stands, say): say so now rather than at the next review."""
    from ..rules import DEMOTE_ACTION, FIRES, RESERVE_ACTION, evaluate

    back = s.store.load(slug)
    for v in evaluate([back], s.store.config.values, s.today):
        if v.status == FIRES and v.action in (RESERVE_ACTION, DEMOTE_ACTION):
            typer.echo(f"pipe: warning: rule {v.rule.id} still fires on {back.label} ({v.why}): pipe review will "
                       f"suggest '{v.suggestion}' again; see pipe review --explain {slug}", err=True)


def demote(
    contact: str = CONTACT,
    reason: str = typer.Option(..., "--reason", help="Why it falls back; kept in the history."),
    to: str = typer.Option(None, "--to", metavar="STAGE", help="Target stage, reserve included (default: one class back)."),
    next_action: str = typer.Option(None, "--next", metavar="ACTION", help="The next action in the lower class."),
    due: str = typer.Option(None, "--due", metavar="DATE", help="When that next action is due."),
) -> None:
    """Move a contact back one class (or to --to, the reserve included). Nothing is deleted.

    A contact that falls back to opportunity gets source: fallback. The next action belonged to the
    higher class: it is cleared (kept under past_actions) unless --next gives a new one.

    \b
    Examples:
      pipe demote zhang-wei --reason "no decision-maker after all" --next "find the decision-maker" --due +1w
      pipe demote anna --to reserve --reason "call me after the summer"
    """
    from ..dates import parse_date
    from ..ladder import demote as plan
    from ..ladder import next_sentence
    from ..model import stage_letter
    from ..record import next_given

    s = session(write=True)
    c = s.resolve(contact)
    target = None
    if to is not None:
        target = stage_ids([to])[0]
    day = parse_date(due, s.today) if due else None
    wanted = next_given(next_action, day)
    changes = plan(c, target, s.today, reason, next_action=wanted or None, due=day, clear_next=True)
    new = changes[0].value  # type: ignore[union-attr]
    s.save(c, changes)
    s.commit(f"demote {c.label}: {stage_letter(c.stage)} -> {stage_letter(new)}")
    typer.echo(f"{c.label}: {stage_letter(c.stage)} -> {stage_letter(new)}.")
    said = next_sentence(c.next, {"action": wanted, "due": day} if wanted else None, why=f"it was {stage_letter(c.stage)}'s")
    if said:
        typer.echo(said)
    if not wanted and new in ("c", "b", "a"):
        typer.echo(f"A {stage_letter(new)} needs a further step they committed to: pipe log {c.slug} note --next ACTION "
                   "--due DATE (without one, pipe review flags it and pipe classify moves it back).")


def defer(
    contact: str = CONTACT,
    until: str = typer.Option(..., "--until", metavar="DATE", help="When they asked to be called again."),
    reason: str = typer.Option(..., "--reason", help="What they said, in their words."),
) -> None:
    """Record a "call me later": the rules engine takes long deferrals as a soft no.

    The next action becomes calling back on that day (the old one is kept under past_actions).

    \b
    Examples:
      pipe defer zhang-wei --until +6m --reason "call me after the summer"
      pipe defer anna --until 2027-03-01 --reason "discuss with my wife next month"
    """
    from ..dates import parse_date
    from ..record import defer as record

    s = session(write=True)
    c = s.resolve(contact)
    day = parse_date(until, s.today)
    changes, said = record(c, day, reason, s.today)
    s.save(c, changes)
    s.commit(f"defer {c.label} until {day}")
    typer.echo(f"{c.label} deferred until {day}: {reason}")
    if said:
        typer.echo(said)


def register(app: typer.Typer) -> None:
    for command in (log, done, meet, qualify, promote, demote, defer):
        # pipe meet X -1w: a date like -1w is a value there, not an option
        app.command(context_settings={"ignore_unknown_options": True} if command is meet else None)(command)
