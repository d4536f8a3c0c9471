"""What a careless or new user runs into: each of these was found by trying pipe from the README."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import Run, contact_file


def test_global_options_may_follow_the_command(pipeline: Path) -> None:
    subprocess.run([sys.executable, "-m", "pipecli", "-C", str(pipeline), "add", "Anna Berg"], check=True,
                   capture_output=True)
    done = subprocess.run([sys.executable, "-m", "pipecli", "list", "-C", str(pipeline), "--today", "2026-12-10",
                           "--format", "json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert '"days_in_stage": ' in done.stdout and '"slug": "anna-berg"' in done.stdout


def test_a_name_that_matches_nothing_points_at_the_files_that_were_skipped(pipeline: Path, run: Run) -> None:
    contact_file(pipeline, "eva-berg").write_text("id: e\nname: Eva Berg\nstage: [c\n", encoding="utf-8")
    result = run("show", "Eva")
    assert result.exit_code == 1
    assert "no contact matches 'Eva'" in result.stderr and "1 file could not be read" in result.stderr
    assert run("show", "").exit_code == 2


def test_init_inside_a_pipeline_is_refused(pipeline: Path, run: Run) -> None:
    result = run("init", str(pipeline / "contacts"))
    assert result.exit_code == 1 and "is inside the pipeline" in result.stderr
    assert not (pipeline / "contacts" / "pipe.yaml").exists()


def test_a_relative_date_with_a_minus_is_a_date_not_an_option(pipeline: Path, run: Run) -> None:
    run("add", "Carla")
    assert run("meet", "carla", "-1w").exit_code == 0
    assert str(yaml.safe_load(contact_file(pipeline, "carla").read_text())["first_meeting"]["date"]) == "2026-11-23"


@pytest.mark.parametrize("value", ["nan", "inf", "-100"])
def test_a_deal_value_is_an_amount(run: Run, value: str) -> None:
    result = run("add", "Carla", "--value", value)
    assert result.exit_code == 2 and "is not an amount" in result.stderr


def test_non_finite_values_in_a_file_are_problems_not_invalid_json(pipeline: Path, run: Run) -> None:
    contact_file(pipeline, "x").write_text("id: x\nname: X\nstage: c\nvalue: .nan\n", encoding="utf-8")
    listing = run("list", "-f", "json")
    assert "NaN" not in listing.stdout and '"value": null' in listing.stdout
    assert "value should be an amount of 0 or more" in run("check").stdout


def test_closing_with_a_value_fills_the_deal_size(pipeline: Path, run: Run) -> None:
    run("add", "Ada", "--stage", "a", "--force", "--reason", "import")
    assert run("promote", "ada", "--value", "24000").exit_code == 0
    data = yaml.safe_load(contact_file(pipeline, "ada").read_text())
    assert data["value"] == 24000 and data["closed"]["value"] == 24000


def test_qualify_says_ready_only_for_the_class_above(pipeline: Path, run: Run) -> None:
    five = ["--decision-maker", "--proposal-fits", "--budget", "--decision-date", "+3w", "--start-date", "+2m",
            "--next-step", "workshop"]
    run("add", "Cora", "--stage", "FA", "--force", "--reason", "import")
    assert "Ready" not in run("qualify", "cora", *five).stdout  # at FA the next class is C
    run("promote", "cora", "--to", "c", "--force", "--reason", "import")
    assert "Ready for B" in run("qualify", "cora").stdout
    run("promote", "cora")
    assert "Ready" not in run("qualify", "cora").stdout  # at B without a verbal yes
    assert "Ready for A" in run("qualify", "cora", "--verbal-yes", "today").stdout


def test_a_question_without_a_terminal_names_the_flag_that_answers_it(run: Run) -> None:
    run("add", "Bo", "--stage", "b", "--force", "--reason", "import")
    result = run("promote", "bo", "--to", "a", "--force", "--reason", "import")  # no input to read
    assert result.exit_code == 2
    assert "Would you bet your salary on this deal?" in result.stderr and "--yes" in result.stderr
    assert "Aborted" not in result.output


def test_an_owner_nobody_has_is_an_error_listing_the_owners(run: Run) -> None:
    run("add", "Anna", "--owner", "anna")
    run("add", "Ben", "--owner", "ben")
    for command in (["list"], ["board"], ["review"], ["plan"], ["stats"], ["report"], ["classify"]):
        result = run(*command, "--owner", "nobody")
        assert result.exit_code == 1, command
        assert "pipe: error: no contact has the owner 'nobody'" in result.stderr, command
        assert "hint: the owners are: anna, ben" in result.stderr, command
    assert run("list", "--owner", "ANNA").stderr == ""


def test_qualify_refuses_a_start_before_the_decision(pipeline: Path, run: Run) -> None:
    run("add", "Cora", "--stage", "c", "--force", "--reason", "import")
    result = run("qualify", "cora", "--decision-date", "+1y", "--start-date", "today")
    assert result.exit_code == 2 and "before the decision date" in result.stderr
    assert "criteria" not in yaml.safe_load(contact_file(pipeline, "cora").read_text())


def test_report_output_ending_chooses_the_format(pipeline: Path, run: Run, tmp_path: Path) -> None:
    run("add", "Anna")
    assert run("report", "--output", str(tmp_path / "week.html")).exit_code == 0
    assert (tmp_path / "week.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert run("report", "--output", str(tmp_path / "week.md")).exit_code == 0
    assert (tmp_path / "week.md").read_text(encoding="utf-8").startswith("#")


def test_a_dir_inside_a_pipeline_points_at_the_pipeline(pipeline: Path, run: Run) -> None:
    from typer.testing import CliRunner

    from pipecli.cli import app

    result = CliRunner().invoke(app, ["-C", str(pipeline / "contacts"), "list"])
    assert result.exit_code == 1 and f"did you mean -C {pipeline.resolve()}?" in result.stderr


def test_init_where_no_folder_can_be_made(tmp_path: Path, run: Run) -> None:
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    result = run("init", str(tmp_path / "afile" / "sales"))
    assert result.exit_code == 1 and "cannot create a pipeline" in result.stderr
    assert "internal error" not in result.output
    assert run("init", "").exit_code == 2


def test_a_deferral_needs_a_reason(run: Run) -> None:
    run("add", "Anna")
    assert run("defer", "anna", "--until", "+6m", "--reason", " ").exit_code == 2


def test_plan_and_report_keep_the_built_in_findings_when_a_user_rule_is_broken(pipeline: Path, run: Run) -> None:
    run("add", "Anna")
    for day in ("2026-11-02", "2026-11-09", "2026-11-16"):
        run("log", "anna", "call", "--outcome", "no-answer", "--date", day)
    config = pipeline / "pipe.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "  custom: []", "  custom:\n    - {name: typo, action: flag, when: {nosuchfact: 1}}"), encoding="utf-8")
    assert "custom:\n    - {name: typo" in config.read_text(encoding="utf-8")
    report = run("report", "-f", "json")
    assert report.exit_code == 0
    assert "pipe: warning: pipe.yaml" in report.stderr and "your own rules are left out" in report.stderr
    assert '"no-response"' in report.stdout  # the built-in rule still found Anna
    plan = run("plan")
    assert "your own rules are left out" in plan.stderr and "no-response" in plan.stdout


def test_a_command_that_writes_a_contact_with_problems_says_so(pipeline: Path, run: Run) -> None:
    contact_file(pipeline, "una").write_text("id: u\nname: Una\nstage: c\nvalue: lots\n", encoding="utf-8")
    result = run("log", "una", "call")
    assert result.exit_code == 0
    assert "pipe: warning: contacts/una.yaml has 1 problem (value should be a number, not 'lots')" in result.stderr
