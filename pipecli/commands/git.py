"""Commands over the pipeline's git history: a contact's history, undo, the changes made, sync with the team."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import typer

from .common import FORMAT_HELP, STATE, session

if TYPE_CHECKING:
    from ..model import Contact


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
    repo = gitio.require(s.store.root, "pipe undo")
    plan = gitio.plan_undo(repo)
    c = plan.commit
    typer.echo(f"This undoes {c.short} ({c.date}, {c.author}): {c.subject}")
    if plan.stat:
        typer.echo("\n".join(f"  {line.strip()}" for line in plan.stat.splitlines()))
    if not yes and not typer.confirm("Undo it?", default=False):
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
    from .. import gitio
    from ..errors import SyncConflict
    from ..store import CONTACTS_DIR

    s = session()
    repo = gitio.require(s.store.root, "pipe sync")
    result = gitio.sync(repo, CONTACTS_DIR)
    if result.arrived:
        names = sorted({c.author for c in result.arrived})
        typer.echo(f"Arrived from {result.upstream}: {len(result.arrived)} commit{'s' if len(result.arrived) != 1 else ''}"
                   f" by {', '.join(names)}")
        for line in _arrivals(result.files):
            typer.echo(f"  {line}")
    if result.conflicts:
        labels = _labels(result.files)
        listed = "\n  ".join(f"{path}  {labels.get(path, '')}".rstrip() for path in result.conflicts)
        count = len(result.conflicts)
        raise SyncConflict(
            f"sync stopped: {count} file{'s' if count != 1 else ''} changed both here and on {result.upstream}:\n  {listed}\n"
            "Nothing is lost: each file holds both versions, what arrived between <<<<<<< and =======, "
            "yours between ======= and >>>>>>>.", gitio.resolve_hint(repo, result.conflicts))
    if result.published:
        typer.echo(f"Published this pipeline to {result.upstream} ({result.pushed} commits).")
    elif result.pushed:
        typer.echo(f"Sent {result.pushed} commit{'s' if result.pushed != 1 else ''} to {result.upstream}.")
    if not result.arrived and not result.pushed:
        typer.echo(f"Up to date with {result.upstream}.")


def _contact(path: str, data: bytes | None) -> Contact | None:
    """The contact a file's text holds, None when there is no file; Unreadable when it does not parse."""
    from ..model import contact_from_data
    from ..store import parse

    return None if data is None else contact_from_data(path.rsplit("/", 1)[-1].removesuffix(".yaml"), parse(data, path))


def _arrivals(files: Sequence[tuple[str, bytes | None, bytes | None]]) -> list[str]:
    from ..store import Unreadable
    from ..versions import arrival

    out = []
    for path, old, new in files:
        try:
            out.append(arrival(path, _contact(path, old), _contact(path, new)))
        except Unreadable:
            out.append(f"changed  {path}")
    return out


def _labels(files: Sequence[tuple[str, bytes | None, bytes | None]]) -> dict[str, str]:
    from ..store import Unreadable

    out = {}
    for path, _, new in files:
        try:
            contact = _contact(path, new)
        except Unreadable:
            continue
        if contact is not None:
            out[path] = contact.label
    return out


def register(app: typer.Typer) -> None:
    for command in (history, undo, changes, sync):
        app.command()(command)
