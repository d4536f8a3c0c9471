"""`pipe check`: validate every file and report every problem as path:line: message."""

from __future__ import annotations

import typer

from .common import STATE, session


def check(
    fmt: str = typer.Option("text", "--format", "-f", help="text (path:line: message) or json."),
) -> None:
    """Validate every contact file and pipe.yaml; report every problem. Exit 1 if any.

    Finds YAML that does not parse, git conflict markers, unknown stages or sources, impossible
    dates, wrong types, a stage the history does not lead to, duplicate ids, two files that
    are the same person, and user rules in pipe.yaml (rules.custom) that do not read; what pipe
    skips (links, FIFOs, folders named *.yaml, files over files.max_size_kb). Warns, without
    failing, about contact files git has not committed and a .pipe/ that git tracks,
    and contacts with no date at all (no created, no history).

    \b
    Examples:
      pipe check
      pipe check --format json | jq '.[].path'
    """
    from ..checks import undated
    from ..errors import ConfigError, ExitCode, UsageError
    from ..gitio import state_warnings
    from ..model import CONTACTS_DIR
    from ..render import to_json
    from ..store import CACHE_DIR, find_root, settings_problems

    if fmt not in ("text", "json"):
        raise UsageError(f"unknown format '{fmt}'", "use text or json")
    try:
        s = session()
    except ConfigError:  # pipe.yaml stops every other command at its first problem: here, all of them
        found = settings_problems(find_root(STATE.directory))
        if not found:
            raise
        total = None
    else:
        loaded = s.store.load_all()  # not s.load_all(): the problems are the output here, not warnings
        found = s.store.check(s.today, loaded)
        total = len(loaded.contacts) + len(loaded.broken)
        for warning in state_warnings(s.store.root, CONTACTS_DIR, CACHE_DIR):
            typer.echo(f"pipe: warning: {warning}", err=True)
        for c in undated(loaded.contacts):
            typer.echo(f"pipe: warning: {s.store.rel(s.store.path_of(c.slug))}: no date at all (no created, no "
                       "history): pipe board --as-of leaves it out and the rules that count days cannot evaluate "
                       "it; add created: DATE", err=True)
    if fmt == "json":
        typer.echo(to_json([{"path": f.path, "line": f.line, "message": f.message} for f in found]))
    else:
        for finding in found:
            typer.echo(str(finding))
    if found:
        files = len({f.path for f in found})
        if fmt == "text":
            problems = f"{len(found)} problem{'s' if len(found) != 1 else ''}"
            if total is None:
                typer.echo(f"{problems} in {', '.join(sorted({f.path for f in found}))}: fix them, then run "
                           "'pipe check' again for the contacts", err=True)
            else:
                typer.echo(f"{problems} in {files} of {total} files", err=True)
        raise typer.Exit(int(ExitCode.FAILED))
    if fmt == "text":
        typer.echo(f"{total} contacts checked, no problems.")


def register(app: typer.Typer) -> None:
    app.command()(check)
