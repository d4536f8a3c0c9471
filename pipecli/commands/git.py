"""Commands over the pipeline's git history: a contact's history, undo, the changes made, sync with the team."""

from __future__ import annotations

import typer

from .common import FORMAT_HELP, STATE, confirm, session


def history(
    contact: str = typer.Argument(..., help="Slug, id, slug prefix or name."),
    fmt: str = typer.Option("table", "--format", "-f", help=FORMAT_HELP),
) -> None:
    """Show a contact's stage history merged with the git commits that touched its file, newest first.

    Outside git only the history written in the file is shown.

    \b
    Examples:
      pipe history zhang-wei
      pipe history "Anna Berg" --format json
    """
    from .. import gitio
    from ..render import render
    from ..versions import TIMELINE_COLUMNS, timeline

    s = session()
    c = s.resolve(contact)
    repo = gitio.locate(s.store.root)
    commits = gitio.file_commits(repo, s.store.rel(s.store.path_of(c.slug))) if repo else []
    typer.echo(render(timeline(c, commits), TIMELINE_COLUMNS, fmt))
    if repo is None and fmt == "table":
        typer.echo("(not in a git repository: only the history written in the file)", err=True)


def undo(yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before undoing.")) -> None:
    """Take back the last change pipe committed, with git revert, after showing what it undoes.

    Only a commit pipe made (marked by its 'Pipe-Command:' trailer) is undone, and only when it is
    still the newest change to its files. Undoing again takes back the pipe commit before it.

    \b
    Examples:
      pipe undo
      pipe undo --yes
    """
    from .. import gitio
    from ..errors import UsageError

    if STATE.no_commit:
        raise UsageError("pipe undo always commits (it runs git revert)", "run it without --no-commit")
    s = session()
    s.store.lock()  # no pipe command writes while git reverts
    repo = gitio.require(s.store.root, "pipe undo")
    plan = gitio.plan_undo(repo)
    c = plan.commit
    typer.echo(f"This undoes {c.short} ({c.date}, {c.author}): {c.subject}")
    if plan.stat:
        typer.echo("\n".join(f"  {line.strip()}" for line in plan.stat.splitlines()))
    if not yes and not confirm("Undo it?", flag="--yes"):
        typer.echo("Nothing undone.")
        raise typer.Exit(1)
    made = gitio.undo(repo, plan)
    typer.echo(f"Undone: {c.subject} (commit {made[:7]} reverts {c.short}).")


def changes(
    since: str = typer.Option(None, "--since", metavar="DATE", help="Only changes made on or after DATE (e.g. -1w)."),
    author: str = typer.Option(None, "--author", metavar="A", help="Only changes by authors whose name or e-mail holds A."),
    fmt: str = typer.Option("table", "--format", "-f", help=FORMAT_HELP),
) -> None:
    """List every change pipe committed, one line each, newest first: date, commit, author, what.

    ('pipe log' records an activity with a contact; this lists the commits.)

    \b
    Examples:
      pipe changes --since -1w
      pipe changes --since 2026-11-01 --author anna --format csv
    """
    from datetime import timedelta

    from .. import gitio
    from ..dates import parse_date
    from ..render import render
    from ..versions import CHANGES_COLUMNS, change_rows

    s = session()
    repo = gitio.require(s.store.root, "pipe changes")
    day = parse_date(since, s.today) if since else None
    # git's --since reads committer dates; a day's margin, then the author date decides
    commits = gitio.pipe_commits(repo, *([f"--since={day - timedelta(days=1)} 00:00"] if day else []))
    rows = change_rows(commits, day, author)
    out = render(rows, CHANGES_COLUMNS, fmt)
    if out:
        typer.echo(out)
    if fmt == "table":
        typer.echo(f"{len(rows)} change{'s' if len(rows) != 1 else ''}")


def sync() -> None:
    """Share the pipeline with the team: pull (rebasing your commits), then push; say what arrived.

    Changes to different contacts never conflict. When the same contact changed on both sides the
    rebase stops: pipe says which contacts and how to resolve them ('pipe check' shows the
    conflict markers until they are gone). Nothing is lost on either side.

    \b
    Examples:
      pipe sync
      pipe -C ~/sales sync
    """
    import contextlib

    from .. import gitio
    from ..errors import SyncConflict
    from ..model import CONTACTS_DIR
    from ..store import Unreadable, contact_of
    from ..versions import arrived_lines, conflict_message, sent_line

    s = session()
    s.store.lock()  # no pipe command writes while git rebases
    repo = gitio.require(s.store.root, "pipe sync")
    result = gitio.sync(repo, CONTACTS_DIR)
    sides = {}
    for path, before, after in result.files:
        with contextlib.suppress(Unreadable):  # a file that does not parse is just "changed"
            sides[path] = (None if before is None else contact_of(before, path),
                           None if after is None else contact_of(after, path))
    for line in arrived_lines(result, sides):
        typer.echo(line)
    if result.conflicts:
        raise SyncConflict(conflict_message(result, sides), gitio.resolve_hint(repo, result.conflicts))
    typer.echo(sent_line(result))


def register(app: typer.Typer) -> None:
    for command in (history, undo, changes, sync):
        app.command()(command)
