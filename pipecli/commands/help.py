"""`pipe help [COMMAND]`: the help of pipe, or of one command, as --help prints it."""

from __future__ import annotations

import typer


def help_(
    ctx: typer.Context,
    command: str = typer.Argument(None, help="The command to explain; none: every command."),
) -> None:
    """Print the help of a command (the same as 'pipe COMMAND --help'), or of pipe itself.

    \b
    Examples:
      pipe help
      pipe help log
    """
    from ..errors import UsageError

    root = ctx.find_root()
    group = root.command
    if command is None:
        typer.echo(group.get_help(root))
        return
    found = group.get_command(root, command)  # type: ignore[attr-defined]
    if found is None:
        from difflib import get_close_matches

        close = get_close_matches(command, group.list_commands(root), n=1)  # type: ignore[attr-defined]
        raise UsageError(f"no such command '{command}'" + (f"; did you mean '{close[0]}'?" if close else ""),
                         "'pipe help' lists the commands")
    with found.make_context(command, [], parent=root, resilient_parsing=True) as sub:
        typer.echo(found.get_help(sub))


def register(app: typer.Typer) -> None:
    app.command("help")(help_)
