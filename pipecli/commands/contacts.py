"""Commands that create, list, show and edit contacts."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from .common import FORMAT_HELP, STATE, confirm, session, source_of, stage_ids

if TYPE_CHECKING:
    from ..model import Contact


def init(
    folder: str = typer.Argument(".", metavar="DIR", help="Folder for the new pipeline (created if missing)."),
    no_git: bool = typer.Option(False, "--no-git", help="Do not run 'git init' (nor commit the new files)."),
) -> None:
    """Create a pipeline: pipe.yaml with every setting commented, contacts/, and a git repository.

    In a git work tree, pipe.yaml and .gitignore are committed ("init pipeline") unless --no-commit.

    \b
    Examples:
      pipe init ~/sales
      pipe init --no-git .
    """
    from .. import gitio
    from ..config import CONFIG_FILE, Config, template
    from ..errors import PipeError, UsageError
    from ..model import CONTACTS_DIR

    if not folder.strip():
        raise UsageError("the folder name is empty", "pipe init ~/sales, or pipe init . for this folder")
    directory = Path(folder).expanduser()
    if (directory / CONFIG_FILE).exists():
        raise PipeError(f"{directory / CONFIG_FILE} already exists: this is a pipeline already",
                        "use it as it is, or choose another folder")
    outer = next((f for f in directory.resolve().parents if (f / CONFIG_FILE).is_file()), None)
    if outer is not None:
        raise PipeError(f"{directory} is inside the pipeline in {outer}: a pipeline in a pipeline would be read as contacts",
                        "choose a folder outside it")
    try:
        (directory / CONTACTS_DIR).mkdir(parents=True, exist_ok=True)
        (directory / CONFIG_FILE).write_text(template(), encoding="utf-8")
    except OSError as exc:
        raise PipeError(f"cannot create a pipeline in {directory}: {exc.strerror}",
                        "choose a folder you can write to (a path whose parts are folders)") from None
    written = [directory / CONFIG_FILE]
    ignore = directory / ".gitignore"
    if not ignore.exists():
        ignore.write_text(".pipe/\n", encoding="utf-8")
        written.append(ignore)
    gitted = False
    if not no_git and gitio.have_git() and not gitio.in_work_tree(directory):
        gitio.init(directory)
        gitted = True
    typer.echo(f"Created a pipeline in {directory}{' (and a git repository)' if gitted else ''}.")
    if gitio.locate(directory) is None:
        gitio.mark_unversioned(directory)
        typer.echo("Not in a git repository: nothing is versioned. Run 'git init' there to keep every change.")
    elif not STATE.no_commit and not no_git:
        attributes = directory / ".gitattributes"
        if not attributes.exists() and gitio.write_attribute(directory):  # contact files merge by their meaning
            written.append(attributes)
        gitio.set_merge_driver(directory, True, has_attribute=True)
        note = gitio.commit_changes(directory, written, "init pipeline", Config(), new=written)
        if note:
            typer.echo(note, err=True)
    typer.echo("Next: pipe add \"Anna Berg\" --company \"Nordlys AS\"")


def add(
    name: str = typer.Argument(..., help="The person's name (Chinese is fine: 张伟)."),
    company: str = typer.Option(None, "--company", "-c"),
    title: str = typer.Option(None, "--title"),
    email: str = typer.Option(None, "--email"),
    phone: str = typer.Option(None, "--phone"),
    source: str = typer.Option(None, "--source", help="candidate, suspect, inbound, referral or fallback."),
    owner: str = typer.Option(None, "--owner", help="Default: pipe.yaml's owner, else git's user.name."),
    value: str = typer.Option(None, "--value", help="Deal size: 24000, 24k, €24,000 (a currency typed is kept)."),
    tag: list[str] = typer.Option([], "--tag", "-t", help="A tag; repeat for more."),
    note: str = typer.Option(None, "--note", help="Free text kept under 'notes'."),
    stage: str = typer.Option(None, "--stage", help="Start above opportunity: the gates must be met."),
    meeting: str = typer.Option(None, "--meeting", metavar="DATE", help="First meeting date (the O -> FA evidence)."),
    force: bool = typer.Option(False, "--force", help="Skip the gates (needs --reason)."),
    reason: str = typer.Option(None, "--reason", help="Why the gates are skipped."),
    allow_duplicate: bool = typer.Option(False, "--allow-duplicate", help="Add even if the same person exists."),
) -> None:
    """Add a contact, at opportunity unless --stage says otherwise.

    \b
    Examples:
      pipe add "Anna Berg" --company "Nordlys AS" --email anna@nordlys.no --source referral
      pipe add 张伟 --company 华信物流 --tag logistics
      pipe add "Ola Nordmann" --meeting fri      # a first meeting set: at FA at once
    """
    from ..dates import parse_date
    from ..errors import PipeError, UsageError
    from ..gitio import user_name
    from ..ladder import demote, promote
    from ..model import OPPORTUNITY, RESERVE, apply_to_data, contact_from_data, new_contact_data
    from ..record import amount, duplicates_of, new_contact, set_meeting

    s = session(write=True)
    worth, currency = amount(value)
    src = source_of(source) if source is not None else None
    target = OPPORTUNITY
    if stage is not None:
        target = stage_ids([stage])[0]
    if force and not reason:
        raise UsageError("--force needs --reason", "say why the gates are skipped: --reason \"met at the fair\"")
    loaded = s.load_all()
    dupes = duplicates_of(name, company, email, loaded.contacts)
    if dupes and not allow_duplicate:
        raise PipeError(f"{name} looks like a contact you have: " + ", ".join(f"{d.slug} ({d.label})" for d in dupes),
                        "use that contact, or add with --allow-duplicate")
    data = new_contact(
        name, s.today, company=company, title=title, email=email, phone=phone, source=src,
        owner=owner or s.store.config["owner"] or user_name(s.store.root), value=worth, currency=currency, tags=list(tag),
        notes=note, first_meeting={"date": parse_date(meeting, s.today), "held": False} if meeting and stage else None)
    if meeting and not stage:  # as pipe meet does: the meeting date is the O -> FA evidence
        changes, _, _ = set_meeting(contact_from_data("new", data), parse_date(meeting, s.today), s.today, s.rules)
        apply_to_data(data, changes)
        target = data["stage"]
    if target != data["stage"]:
        draft = contact_from_data("new", data)
        if target == RESERVE:
            changes = demote(draft, RESERVE, s.today, reason or "added to the reserve")
        else:
            changes = promote(draft, target, s.today, s.rules, force_reason=reason if force else None, reason=reason)
        apply_to_data(data, changes)
    slug = s.create(new_contact_data(data), name, company)  # keys back in the file order (a gate may add some)
    s.commit(f"add {name}{f' ({company})' if company else ''}")
    typer.echo(f"Added {name} as {slug} ({target}).")


def list_(
    stage: list[str] = typer.Option([], "--stage", "-s", help="Only these stages (id, letter or Chinese); repeat."),
    owner: str = typer.Option(None, "--owner",
                              help="Only this owner's contacts (any case, first name or start of it)."),
    team: bool = typer.Option(False, "--team", help="Everyone's contacts (on a folder several owners share)."),
    source: str = typer.Option(None, "--source", help="Only this kind of opportunity: candidate, suspect, inbound, "
                               "referral or fallback (English or Chinese)."),
    tag: list[str] = typer.Option([], "--tag", "-t", help="Only contacts with this tag; repeat for all of them."),
    due: bool = typer.Option(False, "--due", help="Only contacts whose next action is due today or overdue."),
    all_: bool = typer.Option(False, "--all", "-a", help="Include closed contacts and the reserve."),
    fmt: str = typer.Option("table", "--format", "-f", help=FORMAT_HELP),
) -> None:
    """List contacts, one line each: stage, company, next action, due date, days in the stage.

    Shows the pipeline (O, FA, C, B, A) unless --stage or --all says otherwise; sorted by stage,
    then by due date. On a folder several owners share, your own contacts (pipe.yaml's or
    .pipe/local.yaml's owner, else git's user.name); --owner or --team for others'. The footer
    counts what the filter kept.

    \b
    Examples:
      pipe list
      pipe list --stage B --stage A
      pipe list -s 有效潜在客户二 --format json
      pipe list --due --owner anna
      pipe list --team --stage A
    """
    from ..listing import COLUMNS, HEADERS, Filter, counts_left_out, row, select
    from ..model import LADDER, PIPELINE, RESERVE
    from ..render import render

    s = session()
    stages = stage_ids(stage) if stage else ((*LADDER, RESERVE) if all_ else PIPELINE)
    flt = Filter(stages=stages, source=source_of(source) if source else None, tags=tuple(tag),
                 due_by=s.today if due else None)
    loaded = s.load_all()
    contacts, whose = s.whose(loaded.contacts, owner, team)
    rows = [row(c, s.today) for c in select(contacts, flt)]
    out = render(rows, COLUMNS, fmt, HEADERS)
    if out:
        typer.echo(out)
    if fmt == "table":
        hidden = counts_left_out(contacts, flt)
        extra = ", ".join(f"{n} {k}" for k, n in sorted(hidden.items())) if not stage and not all_ else ""
        of = "" if whose is None else (" of the team" if whose == "team" else f" of {whose}")
        typer.echo(f"{len(rows)} contact{'s' if len(rows) != 1 else ''}{of}"
                   + (f" ({extra} not shown: --all)" if extra else ""))


def show(
    contact: str = typer.Argument(..., help="Slug, id, slug prefix or name."),
    fmt: str = typer.Option("yaml", "--format", "-f", help="yaml (the file, under a summary) or json."),
) -> None:
    """Show everything about one contact, history included.

    \b
    Examples:
      pipe show zhang-wei
      pipe show "Anna Berg" --format json
    """
    from ..errors import UsageError
    from ..ladder import evidence_for, gate_skipped, judged_gate, last_move_down, next_up
    from ..listing import row
    from ..model import CLOSED, STEP_WORDS, STEPS, stage_letter
    from ..render import plain, to_json

    if fmt not in ("yaml", "json"):
        raise UsageError(f"unknown format '{fmt}'", "use yaml or json")
    s = session()
    c = s.resolve(contact)
    facts = row(c, s.today)
    target = None if c.stage == CLOSED else next_up(c.stage)
    missing = judged_gate(c, target, s.today, s.rules) if target else []  # evidence since the last move down
    cut = last_move_down(c)
    skipped = gate_skipped(c, s.today, s.rules)
    steps = {step: min((a.date for a in c.activities if a.step == step), default=None) for step in STEPS}
    text = s.store.text_of(c.slug)
    if fmt == "json":
        from ..store import parse

        data = plain(facts)
        data.update(path=s.store.rel(s.store.path_of(c.slug)), next_class=target, missing_for_next_class=missing,
                    evidence_since=cut.isoformat() if cut else None,
                    gate_skipped=None if skipped is None else {"from": skipped[0], "to": skipped[1],
                                                               "missing": skipped[2]},
                    steps={k: v.isoformat() if v else None for k, v in steps.items()},
                    file=plain(parse(text.encode("utf-8"), c.slug)))
        typer.echo(to_json(data))
        return
    days = facts["days_in_stage"]
    typer.echo(f"# {c.label} · {s.store.rel(s.store.path_of(c.slug))} · {stage_letter(c.stage)}"
               + (f" for {days} days" if days is not None else ""))
    if skipped is not None:
        typer.echo(f"# moved from {stage_letter(skipped[0])} to {stage_letter(skipped[1])} by hand: the gate was "
                   f"skipped (missing {'; '.join(skipped[2])})")
    if target:
        since = f" (evidence since the move down on {cut})" if cut and evidence_for(c, target) is not c else ""
        typer.echo(f"# to reach {stage_letter(target)}{since}: "
                   + ("; ".join(missing) if missing else "every gate is met (pipe promote)"))
    if any(steps.values()):
        typer.echo("# the sale: " + " · ".join(f"{STEP_WORDS[k]} {v}" if v else f"{STEP_WORDS[k]} -"
                                               for k, v in steps.items()))
    typer.echo(text, nl=not text.endswith("\n"))


def edit(contact: str = typer.Argument(..., metavar="CONTACT", help="Slug, id, slug prefix or name.")) -> None:
    """Open the contact's file in $VISUAL or $EDITOR; a result that breaks the file is not saved.

    When the edited file does not parse or breaks the schema, pipe says why and offers to edit
    again; an abandoned edit leaves the file as it was. A file pipe cannot read is opened too,
    by its slug, so that you can repair it.

    \b
    Examples:
      pipe edit zhang-wei
      EDITOR=nano pipe edit "Anna Berg"
    """
    import os
    import shlex
    import subprocess
    import tempfile

    from ..checks import contact_problems
    from ..errors import FileProblem, PipeError
    from ..store import Unreadable, contact_of, is_safe_slug

    s = session()
    slug = contact.strip()
    if is_safe_slug(slug) and s.store.path_of(slug).is_file():
        before: Contact | None = None  # by slug: the file may be one pipe cannot read yet
    else:
        before = s.resolve(contact)
        slug = before.slug
    rel = s.store.rel(s.store.path_of(slug))
    original = s.store.text_of(slug).encode("utf-8")
    if before is None:
        with contextlib.suppress(Unreadable):
            before = contact_of(original, rel)
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:  # say so before the screen changes: a user who never chose vi should know how to leave it
        editor = "vi"
        typer.echo(f"pipe: opening {rel} in vi ($VISUAL and $EDITOR are not set; quit with :q, or set "
                   "EDITOR=nano)", err=True)
    with tempfile.TemporaryDirectory(prefix="pipe-edit-") as folder:
        draft = Path(folder) / f"{slug}.yaml"
        draft.write_bytes(original)
        while True:
            try:
                code = subprocess.call([*shlex.split(editor), str(draft)])
            except OSError as exc:
                raise PipeError(f"cannot start the editor '{editor}': {exc.strerror}",
                                "set EDITOR to an editor on your PATH, e.g. EDITOR=nano") from None
            if code != 0:
                raise PipeError(f"the editor exited with code {code}; {rel} is unchanged")
            new = draft.read_bytes()
            if new == original:
                typer.echo("No change.")
                return
            try:
                edited = contact_of(new, rel)
                problems = [p.message for p in contact_problems(edited, s.today)]
                if before is not None and before.id and edited.id != before.id:
                    problems.append(f"the id changed from {before.id!r} to {edited.id!r}: an id never changes")
            except Unreadable as exc:
                problems = [str(exc.broken)]
            if not problems:
                break
            typer.echo("The edited file has problems:\n  " + "\n  ".join(problems), err=True)
            if not confirm("Edit again?", default=True, unanswered=False):
                raise FileProblem(f"edit abandoned; {rel} is unchanged")
    s.replace(slug, new)
    s.commit(f"edit {edited.label}")
    typer.echo(f"Saved {rel}.")


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(add)
    app.command("list")(list_)
    app.command()(show)
    app.command()(edit)
