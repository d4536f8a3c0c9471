"""Commands that show the shape of the pipeline: the board, the stats of the ladder, and classify."""

from __future__ import annotations

import typer

from .common import confirm, session

BOARD_FORMATS = ("table", "markdown", "json")


def _format(fmt: str, allowed: tuple[str, ...] = BOARD_FORMATS) -> str:
    from ..errors import UsageError

    if fmt not in allowed:
        raise UsageError(f"unknown format '{fmt}'", f"use one of: {', '.join(allowed)}")
    return fmt


def board(
    owner: str = typer.Option(None, "--owner",
                              help="Only this person's contacts (their board): any case, first name or start of it."),
    by: str = typer.Option(None, "--by", metavar="owner", help="'owner': one board per owner, then the team's."),
    as_of: str = typer.Option(None, "--as-of", metavar="DATE",
                              help="The board as it was on DATE, rebuilt from the stage histories in the files."),
    learn: bool = typer.Option(None, "--learn/--no-learn",
                               help="Use your own ratios, learned from the histories (default: funnel.learn)."),
    fmt: str = typer.Option("table", "--format", "-f", help="Output format: table, markdown or json."),
) -> None:
    """Show the board: each class against its ideal, what the pipeline supports, diagnosis.

    The ideal is the target times the cards per closed sale (funnel.ratios
    in pipe.yaml); on a folder several owners share, the target is the sum
    of each owner's (owner_targets, else target_closes) and the title says
    whose board it is. closed counts the sales of the current cycle; the
    reserve is counted apart. The pipeline supports what its narrowest class
    supports; the first appointments needed make up the rest. The diagnosis names the shapes of the method the board
    shows: not-prospecting, prospecting-gap, proposal-pending, falling-back,
    healthy; each with its evidence in numbers and the method's advice.

    \b
    Examples:
      pipe board
      pipe board --owner anna --as-of 2026-09-30
      pipe board --by owner --format markdown
      pipe board --learn --format json
    """
    from ..boardview import board_data, board_text, boards_text
    from ..dates import parse_date
    from ..errors import UsageError
    from ..funnel import FunnelRules, build_board, by_owner, owned_by
    from ..render import to_json

    _format(fmt)
    if by not in (None, "owner"):
        raise UsageError(f"--by {by}: boards can only be split by owner", "use --by owner")
    s = session()
    day = parse_date(as_of, s.today, past=True) if as_of else s.today
    rules = FunnelRules.from_config(s.store.config)
    contacts = s.load_all().contacts
    if owner is not None:
        owner = s.owner_named(contacts, owner)
        contacts = owned_by(contacts, owner)
    groups = by_owner(contacts)
    if by is None:
        one = build_board(contacts, rules, day, from_history=as_of is not None,
                          owner=owner or ("team" if len(groups) > 1 else None), learn_ratios=learn)
        typer.echo(to_json(board_data(one)) if fmt == "json" else board_text(one, fmt))
        return
    boards = [build_board(group, rules, day, from_history=as_of is not None, owner=name, learn_ratios=learn)
              for name, group in groups.items()]
    team = build_board(contacts, rules, day, from_history=as_of is not None, owner="team", learn_ratios=learn)
    if fmt == "json":
        typer.echo(to_json({"owners": [board_data(b) for b in boards], "team": board_data(team)}))
    else:
        typer.echo(boards_text(boards, team, fmt))


def stats(
    since: str = typer.Option(None, "--since", metavar="DATE", help="Only stays in a class entered on or after DATE."),
    owner: str = typer.Option(None, "--owner", help="Only this person's contacts."),
    fmt: str = typer.Option("table", "--format", "-f", help="Output format: table, markdown or json."),
) -> None:
    """Show the ladder's steps, your closing ratio and the closing-ratio quiz.

    From the stage histories, for each step (O → FA ... A → closed): how many
    entered the class, moved on, fell back, went to the reserve or are still
    there; the conversion (moved on ÷ entered) and the median days spent in
    the class (stays left by a forced or imported jump are counted apart, as
    jumped). Then your closing ratio over the contacts that reached an end
    (closed, or taken out after a first appointment; open ones are not
    failures) and what it means this cycle: how many real prospects remain,
    and the board's new first appointments needed.

    \b
    Examples:
      pipe stats
      pipe stats --since 2026-01-01 --owner anna
      pipe stats --format json
    """
    from ..boardview import stats_data, stats_text
    from ..dates import parse_date
    from ..funnel import owned_by, owner_names
    from ..render import to_json
    from ..week import stats_for

    _format(fmt)
    s = session()
    contacts = s.load_all().contacts
    if owner is not None:
        owner = s.owner_named(contacts, owner)
        contacts = owned_by(contacts, owner)
    if owner is None and len(owner_names(contacts)) > 1:
        owner = "team"
    result = stats_for(contacts, s.store.config, s.today, since=parse_date(since, s.today, past=True) if since else None,
                       owner=owner)
    typer.echo(to_json(stats_data(result)) if fmt == "json" else stats_text(result, fmt))


def classify(
    contacts: list[str] = typer.Argument(None, metavar="[CONTACT]...", help="Slug, id, slug prefix or name (default: all)."),
    owner: str = typer.Option(None, "--owner", help="Only this person's contacts."),
    apply: bool = typer.Option(False, "--apply", help="Move each mismatched contact to the class its evidence supports."),
    yes: bool = typer.Option(False, "--yes", "-y", help="With --apply: do not ask first."),
    fmt: str = typer.Option("table", "--format", "-f", help="Output format: table, markdown, csv or json."),
) -> None:
    """Compare each contact's class with the class its evidence supports.

    Lists the over-classified (an A with no verbal yes, a B without a budget
    discussed) and the under-classified (a meeting held and a next step
    agreed, still at FA), with what is missing or what supports the move.
    Exit 1 when there are mismatches. --apply shows the moves, asks once
    (unless --yes), then moves them, recording "classify: ..." in their
    histories, in one commit. Covers O to A; closing is 'pipe promote X --to
    closed'.

    \b
    Examples:
      pipe classify
      pipe classify zhang-wei "Anna Berg"
      pipe classify --owner anna --apply
      pipe classify --apply --yes
    """
    from ..boardview import CLASSIFY_COLUMNS, CLASSIFY_HEADERS, classify_summary, mismatch_row
    from ..errors import ExitCode
    from ..ladder import classify as compare
    from ..ladder import reclassify
    from ..model import PIPELINE
    from ..render import FORMATS, render

    _format(fmt, FORMATS)
    s = session(write=apply)
    loaded = s.load_all()
    chosen = [s.resolve(name, loaded) for name in contacts] if contacts else loaded.contacts
    if owner is not None:
        chosen = s.owned(chosen, owner)
    for c in chosen:
        if contacts and c.stage not in PIPELINE:
            typer.echo(f"pipe: note: {c.slug} is {c.stage}: classify covers O to A", err=True)
    found = [m for m in (compare(c, s.today, s.rules) for c in chosen) if m is not None]
    if found or fmt == "json":
        typer.echo(render([mismatch_row(m) for m in found], CLASSIFY_COLUMNS, fmt, CLASSIFY_HEADERS))
    if apply and found and not yes and not confirm(
            f"Move {'these' if len(found) != 1 else 'this'} {len(found)} contact{'s' if len(found) != 1 else ''}?",
            flag="--yes"):
        typer.echo("Nothing changed.", err=True)
        raise typer.Exit(int(ExitCode.FAILED))
    if apply and found:
        for m in found:
            s.save(m.contact, reclassify(m, s.today, s.rules))
        s.commit(f"classify --apply: {len(found)} contact{'s' if len(found) != 1 else ''} moved")
    if fmt in ("table", "markdown"):
        typer.echo(classify_summary(found, sum(c.stage in PIPELINE for c in chosen), applied=apply))
    if found and not apply:
        raise typer.Exit(int(ExitCode.FAILED))

def register(app: typer.Typer) -> None:
    for command in (board, stats, classify):
        app.command()(command)
