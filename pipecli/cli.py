"""The root `pipe` command: global options, the one error boundary, and the command modules."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from typing import Any, NoReturn

# Plain help and usage errors (no rich panels): quicker to start, and friendly to scripts and pipes.
os.environ.setdefault("TYPER_USE_RICH", "0")

import typer  # noqa: E402
from typer.core import TyperGroup  # noqa: E402

from . import __version__  # noqa: E402
from .commands import common  # noqa: E402
from .errors import ExitCode, PipeError, UsageError  # noqa: E402


class PipeGroup(TyperGroup):
    """Maps every PipeError to `pipe: error: ...` on stderr and its exit code; no traceback unless --debug."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return self._invoke(ctx)
        finally:
            common.STATE.release()

    def _invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except PipeError as exc:
            if common.STATE.debug:
                raise
            typer.echo(f"pipe: error: {exc}", err=True)
            raise typer.Exit(int(exc.code)) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except BrokenPipeError:
            # The reader went away (pipe list | head): stop quietly, as a Unix tool does.
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(141) from None
        except OSError as exc:  # the world outside said no: a full disk, a read-only folder, no permission
            if common.STATE.debug:
                raise
            typer.echo(f"pipe: error: {os_error(exc)}", err=True)
            raise typer.Exit(int(ExitCode.FAILED)) from None
        except Exception as exc:  # the boundary: anything unexpected is still one clear line
            if common.STATE.debug or _is_click_exception(exc):
                raise
            typer.echo(f"pipe: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
                       err=True)
            raise typer.Exit(int(ExitCode.FAILED)) from None


_OS_HINTS = {
    errno.ENOSPC: "the disk is full: free some space, then run the command again",
    errno.EDQUOT: "your disk quota is used up: free some space, then run the command again",
    errno.EFBIG: "the file size limit (ulimit -f) is too low for this file",
    errno.EROFS: "the file system is read-only: pipe can only read here",
    errno.EACCES: "check the permissions of the file and its folder (ls -l)",
    errno.EPERM: "check the permissions of the file and its folder (ls -l)",
}


def os_error(exc: OSError) -> str:
    """An OSError in one line, naming the file and the reason, with what to do; a command that fails
    this way has written nothing (writes are staged, then renamed into place)."""
    where = f"{exc.filename}: " if exc.filename else ""
    hint = _OS_HINTS.get(exc.errno or 0, "")
    return f"{where}{exc.strerror or exc}; nothing was written" + (f"\n  hint: {hint}" if hint else "")


def _is_click_exception(exc: Exception) -> bool:
    # Usage errors belong to click, which typer may bundle under its own name (typer._click).
    return any("click" in cls.__module__.split(".") or cls.__module__.endswith("._click.exceptions")
               for cls in type(exc).__mro__)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pipe {__version__}")
        raise typer.Exit()


def root(
    directory: str = typer.Option(None, "--dir", "-C", envvar="PIPE_DIR", metavar="DIR",
                                  help="The pipeline folder (default: the nearest pipe.yaml upwards)."),
    today: str = typer.Option(None, "--today", envvar="PIPE_TODAY", metavar="DATE",
                              help="Take DATE as today, for reproducible reports and tests."),
    no_commit: bool = typer.Option(False, "--no-commit", help="Do not commit this command's changes to git."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    common.STATE.reset(directory=directory, today=today, no_commit=no_commit, debug=debug)


def make_app(command: str | None = None) -> typer.Typer:
    """The `pipe` command with every subcommand, or with only the module that holds `command`
    (a run of `pipe list` need not import, nor have typer build, the other 21 commands)."""
    app = typer.Typer(
        cls=PipeGroup,
        name="pipe",
        help="Run a prospect pipeline out of plain YAML files in a git repository.",
        epilog="Start with 'pipe init', then 'pipe add NAME'. Every command has --help with examples.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(root)
    common.register(app, command)
    return app


def __getattr__(name: str) -> Any:
    if name == "app":  # the whole command, built on first use (tests drive it with typer's CliRunner)
        globals()["app"] = whole = make_app()
        return whole
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


GLOBAL_WITH_VALUE = ("-C", "--dir", "--today")
GLOBAL_FLAGS = ("--no-commit", "--debug")


def _command_at(argv: list[str]) -> int:
    """Where the subcommand stands: after the global options (and their values) written before it."""
    at = 0
    while at < len(argv) and argv[at].startswith("-"):
        at += 2 if argv[at] in GLOBAL_WITH_VALUE else 1
    return at


def hoist_globals(argv: list[str]) -> list[str]:
    """Move global options written after the command to before it: `pipe list --today fri` works too."""
    at = _command_at(argv)
    if at >= len(argv):
        return argv
    moved: list[str] = []
    rest: list[str] = []
    i = at + 1
    while i < len(argv):
        token = argv[i]
        if token == "--":
            rest += argv[i:]
            break
        if token in GLOBAL_WITH_VALUE:
            if i + 1 == len(argv):
                raise UsageError(f"{token} needs a value", "for example: pipe list --today 2026-12-07, or pipe list -C ~/sales")
            moved += argv[i : i + 2]
            i += 2
            continue
        if token in GLOBAL_FLAGS or token.startswith(("--dir=", "--today=")):
            moved.append(token)
        else:
            rest.append(token)
        i += 1
    return [*argv[:at], *moved, argv[at], *rest]


def command_of(argv: list[str]) -> str | None:
    """The subcommand an argument list names (after hoist_globals), if any."""
    at = _command_at(argv)
    return argv[at] if at < len(argv) else None


def main() -> None:
    code: object = 0
    try:
        args = hoist_globals(sys.argv[1:])
        make_app(command_of(args))(args=args)
    except PipeError as exc:  # raised outside a command (e.g. in the root callback)
        typer.echo(f"pipe: error: {exc}", err=True)
        code = int(exc.code)
    except SystemExit as exc:  # how click ends every run, success included
        code = exc.code
    exit_now(code)


def exit_now(code: object) -> NoReturn:
    """End the process without tearing down the heap: a command that loaded 10,000 contacts would
    otherwise spend longer freeing them than it took to print its answer. Every file pipe writes
    is closed (contacts and reports also fsynced) before this; only stdout and stderr may still
    hold buffered output."""
    if isinstance(code, str):  # sys.exit("message"): say it, as Python would
        print(code, file=sys.stderr)
        code = 1
    status = code if isinstance(code, int) else 0 if code is None else 1
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):  # the reader went away (pipe list | head)
        status = status or 141
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(status)
