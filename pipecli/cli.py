"""The root `pipe` command: global options, the one error boundary, and the command modules."""

from __future__ import annotations

import contextlib
import errno
import functools
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

DOCS = "docs/ in pipe's source (commands.md, file-format.md, settings.md, ...) and the README"
# The page of docs/ that goes deeper than docs/commands.md, by the module a command lives in.
DOC_PAGES = {"board": "board.md", "review": "rules.md", "week": "week.md", "git": "git.md", "contacts": "file-format.md"}


class PipeGroup(TyperGroup):
    """Maps every PipeError to `pipe: error: ...` on stderr and its exit code; no traceback unless --debug.

    Usage errors found by the bundled click (an unknown command or option, a missing argument, a bad
    value) come out the same way, exit 2. Every command's placeholders are written one way (CONTACT,
    --date DATE), its values complete in the shell by what they name, and its help ends by saying
    where the docs are: set here, once, so that the commands need not each repeat it.

    For the whole run, stdout and stderr show control characters escaped (render.VisibleStream):
    text from the files, in any output or message, never drives the reader's terminal.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for command in self.commands.values():
            _tune(command)

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except Exception as exc:  # the root's own options: pipe --no-such-option
            _usage_error(exc)
            raise

    def main(self, *args: Any, **kwargs: Any) -> Any:
        from .render import VisibleStream

        streams = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = VisibleStream(sys.stdout), VisibleStream(sys.stderr)
        try:
            return super().main(*args, **kwargs)
        finally:
            sys.stdout, sys.stderr = streams

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
            _usage_error(exc, ctx, self.commands.get(ctx.invoked_subcommand or ""))
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


def _usage_error(exc: Exception, parent: Any = None, command: Any = None) -> None:
    """A click usage error said as pipe says every error (one line, a hint), then exit 2; else nothing."""
    if not _is_click_exception(exc) or type(exc).__name__ == "NoArgsIsHelpError" or not hasattr(exc, "format_message"):
        return  # `pipe` alone prints the help, as it should
    message = str(exc.format_message()).strip().rstrip(".")
    message = (message[:1].lower() + message[1:]).replace(". Did you mean", "; did you mean")
    ctx = getattr(exc, "ctx", None)
    if (ctx is None or ctx.command is not command) and command is not None:  # found while reading its options
        ctx = typer.Context(command, info_name=command.name, parent=parent)
    path = ctx.command_path if ctx is not None else "pipe"
    if message.startswith("no such command"):
        hint = "'pipe help' lists the commands"
    elif ctx is not None and path != "pipe":  # the command's usage line says what it takes
        usage = " ".join(ctx.command.collect_usage_pieces(ctx))
        hint = f"{path} {usage}; see '{path} --help'"
    else:
        hint = f"see '{path} --help'"
    typer.echo(f"pipe: error: {message}\n  hint: {hint}", err=True)
    raise typer.Exit(int(getattr(exc, "exit_code", ExitCode.USAGE))) from None


def _tune(command: Any) -> None:
    """One placeholder style (CONTACT, [CONTACT]..., --date DATE), shell completion by what each
    parameter names, and the docs' address at the end of the help."""
    from .complete import FORMATS, KIND_OF_PARAMETER

    for param in command.params:
        kind = KIND_OF_PARAMETER.get(param.name or "")
        if kind is not None and param._custom_shell_complete is None:
            param._custom_shell_complete = _completer(kind)
        if param.name == "fmt" and param.help:  # the formats a command takes are the ones its help names
            words = "".join(ch if ch.isalpha() else " " for ch in param.help).split()
            named = tuple(dict.fromkeys(w for w in words if w in FORMATS))
            param._custom_shell_complete = _completer("choice", named)
        if param.param_type_name == "argument":
            param.metavar = (param.metavar or param.name or "VALUE").upper()
            setattr(param, "make_metavar", functools.partial(_argument_metavar, param))  # noqa: B010
        elif not getattr(param, "is_flag", False) and not getattr(param, "count", False) and param.metavar is None:
            longest = max(param.opts, key=len).lstrip("-")
            param.metavar = longest.replace("-", "_").upper()
    if command.epilog is None:
        page = DOC_PAGES.get(common.COMMANDS.get(command.name, ""))
        command.epilog = f"Docs: docs/commands.md{f' and docs/{page}' if page else ''} in pipe's source."


def _argument_metavar(param: Any, ctx: Any = None, *, usage: bool = False) -> str:
    name = str(param.metavar)
    if not usage or name.startswith("["):
        return name
    if param.nargs != 1:
        name += "..."
    return name if param.required else f"[{name}]"


def _completer(kind: str, choices: tuple[str, ...] = ()) -> Any:
    def complete(ctx: Any, param: Any, incomplete: str) -> list[Any]:
        from . import complete as completing

        if kind == "choice":
            return completing.choices(choices, incomplete)
        shell = os.environ.get("_PIPE_COMPLETE", "").removeprefix("complete_")
        directory = ctx.find_root().params.get("directory") or os.environ.get("PIPE_DIR")
        return completing.values(kind, incomplete, directory, shell)

    return complete


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
        epilog="Start with 'pipe init', then 'pipe add NAME'. Every command has --help with examples "
               f"('pipe help COMMAND'). Docs: {DOCS}.",
        no_args_is_help=True,
        add_completion=True,
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


def _completing() -> list[str] | None:
    """The words typed so far when the shell asks for completions (pipe --show-completion's script), else None."""
    if "_PIPE_COMPLETE" not in os.environ:
        return None
    import shlex

    typed = os.environ.get("COMP_WORDS") or os.environ.get("_TYPER_COMPLETE_ARGS", "")
    try:
        words = shlex.split(typed)
    except ValueError:  # an open quote: the word being completed
        words = typed.split()
    return words[1:]


SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")


def _shell_named(args: list[str]) -> None:
    """`pipe --show-completion zsh` names the shell; bare, typer detects the one running pipe."""
    named = len(args) > 1 and args[0] in ("--show-completion", "--install-completion") and args[1] in SHELLS
    if named or any(a.startswith(("--show-completion=", "--install-completion=")) for a in args[:1]):
        os.environ["_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION"] = "1"  # typer's switch: the option then takes a shell


def main() -> None:
    code: object = 0
    try:
        words = _completing()
        if words is not None:  # build only the command being completed, as a run would
            args: list[str] = []
            with contextlib.suppress(PipeError):
                words = hoist_globals(words)
            command = command_of(words)
        else:
            args = hoist_globals(sys.argv[1:])
            command = command_of(args)
            _shell_named(args)
        if command == "help":  # pipe help COMMAND: the help of any command, so all of them
            command = None
        make_app(command)(args=args, prog_name="pipe")
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
