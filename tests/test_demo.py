"""Every command runs on the bundled demo pipeline, as the README promises, with no traceback."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import typer.main
from conftest import TODAY
from typer.testing import CliRunner

from pipecli.cli import app

DEMO = Path(__file__).parent.parent / "examples" / "demo"

# Each command with arguments that make sense on the demo; 1 is a finding (review, classify), not a failure.
COMMANDS: list[list[str]] = [
    ["list"], ["list", "--all", "-f", "json"], ["list", "-s", "有效潜在客户二", "-f", "markdown"],
    ["show", "wang-fang"], ["show", "zhang-wei", "-f", "json"], ["check"], ["check", "-f", "json"],
    ["review"], ["review", "--explain", "wang-fang"], ["review", "-f", "json"],
    ["board"], ["board", "--by", "owner"], ["board", "-f", "json"], ["stats"], ["classify"],
    ["log", "wang-fang", "call", "--outcome", "talked", "--next", "meet the director", "--due", "+2d"],
    ["done", "wang-fang", "--kind", "meeting", "--outcome", "held", "--next", "send the proposal", "--due", "+1w"],
    ["meet", "felix-novak", "+3d"], ["qualify", "wang-fang", "--decision-maker"],
    ["log", "felix-novak", "meeting", "--outcome", "held", "--next", "send the proposal", "--due", "+1w"],
    ["promote", "felix-novak"], ["demote", "felix-novak", "--reason", "no next step after all"],
    ["defer", "henrik-haugen", "--until", "+6m", "--reason", "call me after the summer"],
    ["add", "Demo Person", "--company", "Demo AS"], ["review", "--apply", "--yes"], ["classify", "--apply", "--yes"],
    ["plan"], ["plan", "--day", "-f", "json"], ["report"], ["report", "--by", "owner", "-f", "html"],
    ["history", "wang-fang"], ["changes"], ["undo", "--yes"], ["help"], ["help", "promote"],
    ["export", "--all"], ["export", "-f", "ics"], ["export", "-f", "vcf", "-s", "B"],
    ["import", str(Path(__file__).parent / "fixtures" / "interop" / "hubspot-deals.csv")],
]


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    copy = tmp_path / "demo"
    shutil.copytree(DEMO, copy, ignore=shutil.ignore_patterns(".pipe"))
    git = ["git", "-c", "user.name=Demo", "-c", "user.email=demo@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=copy, check=True)
    subprocess.run([*git, "add", "."], cwd=copy, check=True)
    subprocess.run([*git, "commit", "-qm", "the demo"], cwd=copy, check=True)
    # The demo's pipe.yaml turns commits off (it sits in pipe's own repository); this clone's own
    # settings turn them back on, as a salesperson's .pipe/local.yaml would.
    (copy / ".pipe").mkdir()
    (copy / ".pipe" / "local.yaml").write_text("git:\n  autocommit: true\n", encoding="utf-8")
    return copy


def test_every_command_runs_on_the_demo(demo: Path) -> None:
    ran = set()
    for args in COMMANDS:
        result = CliRunner().invoke(app, ["-C", str(demo), "--today", TODAY, *args])
        assert result.exit_code in (0, 1), (args, result.output)
        assert "Traceback" not in result.output and "internal error" not in result.output, (args, result.output)
        if result.exit_code == 1:
            assert args[0] in ("review", "classify"), (args, result.output)
        ran.add(args[0])
    check = CliRunner().invoke(app, ["-C", str(demo), "--today", TODAY, "check"])
    assert check.exit_code == 0, check.output  # the commands left every file valid
    status = subprocess.run(["git", "status", "--porcelain"], cwd=demo, capture_output=True, text=True).stdout
    assert status == ""  # and committed every change they made
    commands = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    # tested elsewhere: they need a new folder, an editor, a remote, a stopped sync, git running a merge
    untried = commands - ran - {"init", "edit", "sync", "resolve", "merge-file"}
    assert not untried, f"add these commands to COMMANDS: {sorted(untried)}"
