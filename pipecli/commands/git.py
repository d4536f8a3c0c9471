"""Commands over the pipeline's git history: a contact's history, undo, the changes made, sync with the team."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from .common import FORMAT_HELP, STATE, confirm, session

if TYPE_CHECKING:
    from .. import gitio
    from .common import Session


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
    day = parse_date(since, s.today, past=True) if since else None
    # git's --since reads committer dates; a day's margin, then the author date decides
    commits = gitio.pipe_commits(repo, *([f"--since={day - timedelta(days=1)} 00:00"] if day else []))
    rows = change_rows(commits, day, author)
    out = render(rows, CHANGES_COLUMNS, fmt)
    if out:
        typer.echo(out)
    if fmt == "table":
        typer.echo(f"{len(rows)} change{'s' if len(rows) != 1 else ''}")


def sync(
    commit: bool = typer.Option(False, "--commit", help="First commit contact files left uncommitted (else sync refuses)."),
    resume: bool = typer.Option(False, "--continue", help="Go on with a sync that stopped, after you settled its files."),
    abort: bool = typer.Option(False, "--abort", help="Give up a sync that stopped: all back as before it."),
) -> None:
    """Share the pipeline with the team: pull (rebasing your commits), then push; say what arrived.

    Contact files changed on both sides merge by their meaning (both sides' activities and history,
    each side's changes to different keys). When the same key changed to two values, the sync stops
    and names the contact, the key and both values; 'pipe resolve CONTACT --mine' or '--theirs'
    picks a side and finishes it. Contact files not committed are named first, never left out.

    \b
    Examples:
      pipe sync
      pipe sync --commit
      pipe sync --continue
      pipe -C ~/sales sync
    """
    from .. import gitio
    from ..errors import GitError, UsageError
    from ..model import CONTACTS_DIR

    if sum((commit, resume, abort)) > 1:
        raise UsageError("--commit, --continue and --abort go one at a time", "pipe sync --continue")
    s = session()
    s.store.lock()  # no pipe command writes while git rebases
    repo = gitio.require(s.store.root, "pipe sync")
    if abort:
        if not repo.busy():
            raise UsageError("nothing to abort: no sync is stopped here", "pipe sync")
        done = repo.run("rebase" if gitio.rebasing(repo) else "merge", "--abort")
        if done.returncode != 0:
            raise GitError(f"git could not abort: {(done.stderr + done.stdout).strip()}", "see git status")
        (repo.gitdir / gitio.RENAMED).unlink(missing_ok=True)
        typer.echo("Sync given up: your branch and files are as they were before it; nothing was sent.")
        return
    if resume and repo.busy():
        _add_settled(s, repo)
    waiting = gitio.unmerged(repo) if repo.busy() and not resume else []
    if waiting:  # an earlier sync stopped: say again what it waits for
        typer.echo(f"pipe sync stopped earlier: {repo.busy()} is in progress.", err=True)
        _report(s, repo, gitio.SyncResult("the team's branch", conflicts=waiting))
    _report(s, repo, gitio.sync(repo, CONTACTS_DIR, commit_first=commit, resume=resume, limit=s.store.max_bytes))


def _add_settled(s: Session, repo: gitio.Repo) -> None:
    """Before going on with a stopped sync: each file you freed of its conflict markers (or a contact you
    settled by editing it) is added for git, as 'git add' would; a file still marked is left, and said."""
    from .. import gitio
    from ..errors import GitError
    from ..mergefile import choices
    from ..model import CONTACTS_DIR
    from ..store import NotPlain, Unreadable, conflict_line, contact_of, read_plain

    for rel in gitio.unmerged(repo):
        try:
            data = read_plain(s.store.root / rel, s.store.max_bytes)
        except (NotPlain, OSError):
            continue  # removed, or no file: git's own message follows
        if conflict_line(data) is not None:
            continue  # still marked: the stop message names it again
        if rel.startswith(f"{CONTACTS_DIR}/"):
            chosen, _ = choices(repo, s.store.root, [rel], s.today)
            if chosen and _untouched(repo, s, rel, data):
                continue  # a choice pipe resolve makes: still waiting for it
            try:
                contact_of(data, rel)
            except Unreadable as exc:
                raise GitError(f"{rel} has no conflict markers left, but does not read as a contact: {exc.broken}",
                               "fix it (pipe check shows the problem), then pipe sync --continue") from None
        repo.run("add", "--", rel)
        typer.echo(f"Added {rel}: no conflict markers left.")


def _untouched(repo: gitio.Repo, s: Session, rel: str, data: bytes) -> bool:
    """Whether a contact the merge driver left for pipe resolve still holds just what the driver wrote."""
    from .. import gitio
    from ..merge import TwoPeople, Unmergeable
    from ..mergefile import merge_bytes

    try:
        result = merge_bytes(*gitio.stages(repo, rel), rel, s.store.root, s.today)
    except Unmergeable:
        return False
    return not isinstance(result, TwoPeople) and result.text.encode("utf-8") == data


def _report(s: Session, repo: gitio.Repo, result: gitio.SyncResult) -> None:
    """What a sync did, one line per contact; a stop is an error naming what to choose and how."""
    import contextlib

    from .. import gitio
    from ..errors import SyncConflict
    from ..mergefile import choices
    from ..store import Unreadable, contact_of
    from ..versions import arrived_lines, choice_message, conflict_message, sent_line

    for path in result.committed:
        typer.echo(f"Committed {path} (it was not committed).")
    sides = {}
    unread = {}  # a side that does not read as a contact: named, and said so
    for path, before, after in result.files:
        read = []
        for data in (before, after):
            contact = None
            with contextlib.suppress(Unreadable):
                contact = None if data is None else contact_of(data, path)
            read.append(contact)
        sides[path] = (read[0], read[1])
        unread[path] = (before is not None and read[0] is None, after is not None and read[1] is None)
    for line in arrived_lines(result, sides, unread):
        typer.echo(line)
    for old, new, why in result.renamed:
        if why:
            slug = new.rsplit("/", 1)[-1].removesuffix(".yaml")
            typer.echo(f"  renamed  yours {old} -> {new}: probably the same person twice ({why} as the team's "
                       f"{old}, another id); both kept. To merge them by hand, copy what {new} holds (activities, "
                       f"history, notes) into {old}, then move yours to the reserve: pipe demote {slug} --to "
                       "reserve --reason 'the same person as " + old.rsplit("/", 1)[-1].removesuffix(".yaml")
                       + "' ('pipe check' flags the pair until then)")
        else:
            typer.echo(f"  renamed  yours {old} -> {new}: {old} is another person from the team (both kept)")
    if result.conflicts:
        chosen, by_lines = choices(repo, s.store.root, result.conflicts, s.today)
        if by_lines:
            result.conflicts = by_lines
            message = conflict_message(result, sides)
            if chosen:
                message += "\n" + choice_message(chosen, result.upstream)
            raise SyncConflict(message, gitio.resolve_hint(repo, by_lines))
        raise SyncConflict(choice_message(chosen, result.upstream),
                           f"keep yours: pipe resolve {chosen[0].path.rsplit('/', 1)[-1][:-5]} --mine   "
                           "or the team's: --theirs" + ("  (then the next contact)" if len(chosen) > 1 else ""))
    typer.echo(sent_line(result))


def resolve(
    contact: str = typer.Argument(..., metavar="CONTACT", help="The contact a stopped sync named (slug or name)."),
    mine: bool = typer.Option(False, "--mine", "--ours", help="Keep your values of the keys both sides changed."),
    theirs: bool = typer.Option(False, "--theirs", help="Keep the team's values of the keys both sides changed."),
) -> None:
    """Settle a contact that a stopped 'pipe sync' could not merge, then finish the sync.

    Only the keys changed on both sides to different values take the side you pick; everything
    else stays merged (both sides' activities, history and other changes). The value not picked
    is kept in the file, as a comment line above its key saying whose it was and since when.

    \b
    Examples:
      pipe resolve zhang-wei --mine
      pipe resolve "Zhang Wei" --theirs
    """
    from .. import gitio
    from ..errors import UsageError
    from ..mergefile import settle
    from ..model import CONTACTS_DIR

    if mine == theirs:
        raise UsageError("pick one side: --mine or --theirs", "pipe resolve zhang-wei --mine")
    s = session()
    s.store.lock()  # no pipe command writes while git finishes the rebase
    repo = gitio.require(s.store.root, "pipe resolve")
    rel = settle(repo, s.store.root, contact, mine, s.today)
    typer.echo(f"Resolved {rel}: {'your' if mine else 'the team' + chr(39) + 's'} values kept where both changed.")
    if any(r for r in gitio.unmerged(repo)):
        left = ", ".join(gitio.unmerged(repo))
        typer.echo(f"Still to resolve: {left}")
        return
    _report(s, repo, gitio.sync(repo, CONTACTS_DIR, resume=True))


def merge_file(
    base: str = typer.Argument(..., help="The common ancestor's version (git's %O)."),
    ours: str = typer.Argument(..., help="Git's 'ours' (%A): the merged file is written here."),
    theirs: str = typer.Argument(..., help="Git's 'theirs' (%B)."),
    path: str = typer.Argument("", help="The file's path in the repository (%P)."),
) -> None:
    """Git's merge driver for contact files: merge one file three ways by its meaning (git runs this).

    Registered by every pipe command in this clone's git config (merge.pipe-contacts) and in the
    pipeline's .gitattributes; see docs/git.md, also for turning it off.

    \b
    Examples:
      git config merge.pipe-contacts.driver
      pipe merge-file base.yaml ours.yaml theirs.yaml contacts/zhang-wei.yaml
    """
    from ..mergefile import driver
    from ..store import today_from

    raise typer.Exit(driver(base, ours, theirs, path or ours, today_from(STATE.today)))


def register(app: typer.Typer) -> None:
    for command in (history, undo, changes, sync, resolve):
        app.command()(command)
    app.command("merge-file", hidden=True)(merge_file)
