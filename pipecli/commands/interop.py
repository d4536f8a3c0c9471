"""Commands that bring a pipeline in from a CRM, a spreadsheet or an address book, and take it out again."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from .common import Session, session, stage_ids

if TYPE_CHECKING:
    from ..interop.plan import Plan
    from ..model import Contact
    from ..store import Store

EXPORT_FORMATS = ("csv", "json", "vcf", "ics")


def import_(
    file: Path = typer.Argument(..., metavar="FILE", help="A CSV export (any delimiter or encoding) or a vCard file (.vcf)."),
    preset: str = typer.Option(None, "--preset", help="Read the file as this export: pipe, pipedrive-deals, hubspot-deals, "
                               "hubspot-contacts, salesforce-opportunities or csv (default: recognised from the header row)."),
    map_: list[str] = typer.Option([], "--map", metavar="COLUMN=FIELD", help="Read a column into a field (name, company, email, "
                                   "phone, owner, stage, status, value, created, record_id...; a wrong one lists "
                                   "them all); repeat."),
    stage_map: list[str] = typer.Option([], "--stage-map", metavar="'CRM STAGE=STAGE'",
                                        help="What a stage of the file means in pipe (id, letter or Chinese); repeat."),
    encoding: str = typer.Option(None, "--encoding", help="The file's encoding (default: detected)."),
    date_format: str = typer.Option(None, "--date-format", metavar="FORMAT",
                                    help="How the file writes dates, as strftime does: '%d.%m.%Y' (default: the preset's)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be created and updated; write nothing."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Import the good rows when some rows are bad."),
) -> None:
    """Import contacts from a CRM export, a spreadsheet or vCards; an import again updates them.

    Pipedrive, HubSpot and Salesforce exports and pipe's own CSV are recognised from their header
    row. Every row is checked before anything is written; the run is one git commit, and a killed
    run leaves all of it or none. CRM stages are not evidence: see 'pipe classify' afterwards.

    \b
    Examples:
      pipe import deals.csv --dry-run
      pipe import hubspot-contacts.csv
      pipe import leads.csv --map "Full name=name" --stage-map "Proposal=b" --skip-bad
      pipe import contacts.vcf
    """
    from ..errors import InputError
    from ..gitio import user_name
    from ..interop import plan as interop
    from ..interop import report

    s = session(write=not dry_run)  # the lock before reading: no other command writes between the plan and its files
    owner = s.store.config["owner"] or user_name(s.store.root)  # as pipe add: for rows that name no owner
    options = interop.Options(preset, tuple(map_), tuple(stage_map), encoding, date_format, owner)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {file}: {exc.strerror}", "check the file's name") from None
    source = interop.read(data, file.name, file.suffix, options, s.today)
    loaded = s.load_all()
    plan = interop.plan(source.drafts, loaded.contacts, lambda c: _data_of(s.store, c), s.today)
    if dry_run:
        typer.echo(report.dry_run(file.name, source, plan))
        return
    if source.bad and not skip_bad:
        raise report.bad_rows(file.name, source.bad)
    _write(s, plan, report.commit_message(file.name, source, plan))
    typer.echo(report.summary(file.name, source, plan, s.today, s.rules))


def export(
    fmt: str = typer.Option("csv", "--format", "-f", help="csv (a spreadsheet), json, vcf (address books) or ics (calendars)."),
    stage: list[str] = typer.Option([], "--stage", "-s", help="Only these stages (id, letter or Chinese); repeat."),
    owner: str = typer.Option(None, "--owner", help="Only this owner's contacts (any case)."),
    all_: bool = typer.Option(False, "--all", "-a", help="Include closed contacts and the reserve."),
    output: Path = typer.Option(None, "--output", "-o", metavar="FILE", help="Write to FILE (default: standard output)."),
) -> None:
    """Export contacts: CSV for a spreadsheet, vCards for an address book, iCalendar for a calendar.

    The pipeline (O to A) unless --stage or --all says otherwise. CSV cells that a spreadsheet would
    run as a formula are written as text; 'pipe import' reads the CSV back. vCards carry pipe's id
    as their UID and calendar entries UIDs made from it, so exporting again updates them.

    \b
    Examples:
      pipe export --output pipeline.csv
      pipe export --format ics --output ~/calendars/pipe.ics
      pipe export --format vcf --all --owner anna > contacts.vcf
      pipe export --format json --stage B --stage A
    """
    from ..errors import UsageError
    from ..interop import report
    from ..listing import Filter, select
    from ..model import LADDER, PIPELINE, RESERVE
    from ..store import refuse_own_files

    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"unknown format '{fmt}'", f"use one of: {', '.join(EXPORT_FORMATS)}")
    s = session()
    if output is not None:
        refuse_own_files(s.store.root, str(output.expanduser()))  # never over pipe.yaml, a contact, .git
    stages = stage_ids(stage) if stage else ((*LADDER, RESERVE) if all_ else PIPELINE)
    loaded = s.load_all()
    if owner is not None:
        s.owned(loaded.contacts, owner)  # only to warn about a name nobody has
    chosen = select(loaded.contacts, Filter(stages=stages, owner=owner))
    data = report.exported(fmt, chosen, s.today, to_file=output is not None)
    if output is None:
        typer.echo(data.decode("utf-8"), nl=False)
        return
    _save(output, data)
    typer.echo(f"Exported {len(chosen)} contact{'s' if len(chosen) != 1 else ''} to {output}.", err=True)


def _data_of(store: Store, c: Contact) -> dict[str, Any]:
    """A contact file's plain data, to compare an imported row with."""
    from ..store import parse

    data = parse(store.text_of(c.slug).encode("utf-8"), c.slug)
    return data if isinstance(data, dict) else {}


def _write(s: Session, plan: Plan, message: str) -> None:
    """Stage every new and updated file, then write them in one commit (all or none: the store's journal),
    with a progress bar on a terminal for a big import."""
    import sys

    total = len(plan.new) + len(plan.updated)
    bar: Any = None
    if total > PROGRESS_FROM and sys.stderr.isatty():
        from rich.progress import Progress

        bar = Progress(transient=True)
        bar.start()
        task = bar.add_task("importing", total=2 * total)
    try:
        s.writable()
        for d in plan.new:
            s.create(d.data, d.name, " ".join(p for p in (d.company, d.deal) if p) or None)
            if bar is not None:
                bar.advance(task)
        for u in plan.updated:
            s.save(u.contact, u.changes)
            if bar is not None:
                bar.advance(task)
        s.commit(message, (lambda done: bar.update(task, completed=total + done)) if bar is not None else None)
    finally:
        if bar is not None:
            bar.stop()


def _save(output: Path, data: bytes) -> None:
    from ..errors import PipeError
    from ..store import write_atomic

    try:
        write_atomic(output.expanduser(), data)
    except OSError as exc:
        raise PipeError(f"cannot write {output}: {exc.strerror}", "choose a folder you can write to") from None


PROGRESS_FROM = 300  # rows: fewer are done before a bar would be seen


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
    app.command()(export)
