"""The real entry point, as a process: exit codes and output survive the quick exit (cli.exit_now)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TODAY


# Buffered, as pipe's output is when written to a file or a pipe (whatever this shell has set).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


def pipe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipecli", *args], capture_output=True, text=True, env=ENV)


def many(pipeline: Path, n: int) -> None:
    for i in range(n):
        (pipeline / "contacts" / f"p-{i:04d}.yaml").write_text(
            f"id: id-{i}\nname: Person {i}\nstage: opportunity\ncreated: 2026-11-01\n", encoding="utf-8")


def test_all_of_a_long_listing_reaches_a_file(pipeline: Path) -> None:
    many(pipeline, 1500)
    done = pipe("-C", str(pipeline), "--today", TODAY, "list", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == 1500  # nothing lost in the buffer at exit


def test_exit_codes_of_the_process(pipeline: Path) -> None:
    assert pipe("-C", str(pipeline), "list").returncode == 0
    missing = pipe("-C", str(pipeline), "show", "nobody")
    assert missing.returncode == 1 and "pipe: error: no contact matches 'nobody'" in missing.stderr
    assert pipe("-C", str(pipeline), "list", "--format", "bogus").returncode == 2
    assert pipe("--no-such-option").returncode == 2
    assert pipe("-C", str(pipeline / "nowhere"), "list").returncode == 1
    version = pipe("--version")
    assert version.returncode == 0 and version.stdout.startswith("pipe ")


@pytest.mark.skipif(os.name != "posix", reason="SIGPIPE semantics")
def test_a_reader_that_goes_away_ends_it_quietly(pipeline: Path) -> None:
    many(pipeline, 3000)
    with subprocess.Popen([sys.executable, "-m", "pipecli", "-C", str(pipeline), "--today", TODAY, "list"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.readline()  # like `pipe list | head -1`
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait() == 141
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_each_command_is_built_from_the_module_the_map_names() -> None:
    import typer
    from typer.main import get_command

    from pipecli.cli import make_app
    from pipecli.commands.common import COMMANDS

    def names(app: typer.Typer) -> list[str]:
        group = get_command(app)
        return list(group.commands)  # type: ignore[attr-defined]

    assert names(make_app()) == list(COMMANDS)  # every command, in the order --help lists them
    for command, module in COMMANDS.items():
        alone = names(make_app(command))
        assert command in alone
        assert alone == [c for c, m in COMMANDS.items() if m == module]
    assert names(make_app("no-such-command")) == list(COMMANDS)  # click then says what it does not know


def test_a_command_runs_with_only_its_module(pipeline: Path) -> None:
    assert pipe("-C", str(pipeline), "add", "Anna Berg").returncode == 0
    for args in (["show", "anna-berg"], ["promote", "anna-berg", "--help"], ["board"], ["check"], ["list", "-h"]):
        done = pipe("-C", str(pipeline), "--today", TODAY, *args)
        assert done.returncode in (0, 1), (args, done.stderr)
        assert "Traceback" not in done.stderr
    typo = pipe("lst")
    assert typo.returncode == 2
    assert typo.stderr == "pipe: error: no such command 'lst'; did you mean 'list'?\n  hint: 'pipe help' lists the commands\n"


@pytest.mark.parametrize(("code", "status", "stderr"), [(0, 0, ""), (None, 0, ""), (3, 3, ""), ("bye", 1, "bye\n")])
def test_the_quick_exit_flushes_what_is_still_buffered(code: object, status: int, stderr: str) -> None:
    # typer.echo flushes as it writes; this is for anything written otherwise, which os._exit would drop.
    script = f"import sys; from pipecli.cli import exit_now; sys.stdout.write('x' * 100); exit_now({code!r})"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=ENV)
    assert (done.returncode, done.stdout, done.stderr) == (status, "x" * 100, stderr)
