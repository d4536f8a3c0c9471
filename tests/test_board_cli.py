"""pipe board, pipe stats and pipe classify through the real CLI on real files; golden files for the reports.

Regenerate the golden files after an intended change of the output with
    PIPE_UPDATE_GOLDEN=1 python -m pytest tests/test_board_cli.py
then review the diff of tests/golden/ before committing it.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import Run, contact_file, docs_text
from funnelkit import TODAY, UP_AND_DOWN, climb, data_for, write, write_shape

from pipecli.boardview import bar

GOLDEN = Path(__file__).parent / "golden"


def golden(name: str, text: str) -> None:
    """Compare with tests/golden/NAME; with PIPE_UPDATE_GOLDEN=1 rewrite it instead."""
    path = GOLDEN / name
    if os.environ.get("PIPE_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {path.name}: run with PIPE_UPDATE_GOLDEN=1 to create it"
    assert text == path.read_text(encoding="utf-8")


def D(days: int) -> date:  # reads as "D-10": ten days before today
    return TODAY - timedelta(days=days)


def demoted(slug: str, days_ago: int, frm: str, to: str, **extra: Any) -> dict[str, Any]:
    history = [*climb(frm, D(80)), {"date": D(days_ago), "from": frm, "to": to, "reason": "no next step"}]
    return data_for(slug, to, history=history, **extra)


def reference_pipeline(root: Path) -> None:
    """A board with a hole at C, a bulge at B, recent demotions, old closes and a reserve."""
    write_shape(root, {"O": 40, "FA": 12, "C": 1, "B": 12, "A": 1, "closed": 2, "reserve": 6})
    for i in range(2):
        write(root, f"old-win-{i}", data_for(f"old-win-{i}", "closed", start=D(300),
                                             closed={"date": D(200 + i), "value": 5000}))
    for i, (frm, to) in enumerate([("b", "c"), ("b", "c"), ("c", "first-appointment"), ("a", "b"), ("b", "c")]):
        write(root, f"fell-{i}", demoted(f"fell-{i}", 3 + 5 * i, frm, to))


@pytest.fixture
def reference(pipeline: Path) -> Path:
    reference_pipeline(pipeline)
    return pipeline


# --- pipe board ----------------------------------------------------------------------------------


def test_board_table_golden(run: Run, reference: Path) -> None:
    result = run("board")
    assert result.exit_code == 0, result.output
    golden("board.table.txt", result.stdout)


def test_board_markdown_golden(run: Run, reference: Path) -> None:
    result = run("board", "--format", "markdown")
    assert result.exit_code == 0, result.output
    golden("board.markdown.txt", result.stdout)


def test_board_table_shows_counts_bars_and_diagnosis(run: Run, reference: Path) -> None:
    out = run("board").stdout
    lines = {line.split()[0]: line for line in out.splitlines() if line.split() and line.split()[0] in
             ("O", "FA", "C", "B", "A", "closed")}
    assert lines["O"].split()[1:5] == ["40", "60", "-20", "67%"]
    assert lines["C"].split()[1:5] == ["4", "16", "-12", "25%"]  # 1 + three fallen back from B
    assert lines["B"].split()[1:5] == ["13", "8", "+5", "163%"]  # 12 + one fallen back from A
    assert "█" in lines["O"]
    assert "Reserve: 6" in out
    assert "closed before this cycle: 2" in out
    for pattern in ("prospecting-gap", "proposal-pending", "falling-back"):
        assert f"  {pattern}: " in out
    assert "healthy" not in out


def test_board_json_is_the_documented_contract(run: Run, reference: Path) -> None:
    result = run("board", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"owner", "as_of", "from_history", "cycle", "target_closes", "classes", "reserve",
                         "closed_this_cycle", "closed_before_cycle", "expected_closes", "expected_from_pipeline", "gap",
                         "first_appointments_per_close", "first_appointments_needed", "ratios_source", "ratios_note",
                         "demotions", "diagnosis"}
    assert [c["class"] for c in data["classes"]] == ["O", "FA", "C", "B", "A", "closed"]
    assert set(data["classes"][0]) >= {"stage", "class", "actual", "ideal", "difference", "ratio", "per_close",
                                       "close_probability"}
    assert data["classes"][4] == {"stage": "a", "class": "A", "actual": 1, "ideal": 4.4, "difference": -3.4,
                                  "ratio": 0.227, "per_close": 1.1, "close_probability": 0.909}  # 1 in 1.1
    assert data["cycle"] == {"start": "2026-09-02", "end": "2026-11-30", "days": 90}
    assert (data["reserve"], data["closed_this_cycle"], data["closed_before_cycle"]) == (6, 2, 2)
    assert [d["pattern"] for d in data["diagnosis"]] == ["prospecting-gap", "proposal-pending", "falling-back"]
    assert set(data["diagnosis"][0]) >= {"pattern", "evidence", "advice", "numbers"}


def test_board_support_gap_and_need_in_the_output(run: Run, pipeline: Path) -> None:
    # FA 10 ÷ 5 = 2, C 4 ÷ 4 = 1, B 8 ÷ 2 = 4, A 5 ÷ 1.1 = 4.5: the pipeline supports 1 close (C); gap 3 -> 15 FA
    write_shape(pipeline, {"O": 60, "FA": 10, "C": 4, "B": 8, "A": 5, "closed": 1})
    data = json.loads(run("board", "--format", "json").stdout)
    assert (data["expected_from_pipeline"], data["expected_closes"], data["gap"]) == (1, 2, 3)
    assert (data["first_appointments_needed"], data["narrowest"], data["short"]) == (15, "C", ["FA", "C"])
    out = " ".join(run("board").stdout.split())
    assert "This cycle: 1 closed of the target 4." in out
    assert ("The pipeline supports 1 closes a cycle, what its narrowest class supports (C 4÷4 = 1; FA 10÷5 = 2, "
            "B 8÷2 = 4, A 5÷1.1 = 4.5); forecast 2 = 1 closed + 1.") in out
    assert ("Short of the ideal: FA 10 of 20, C 4 of 16. The pipeline lacks 3 closes for the target: 15 new first "
            "appointments needed (1 in 5 closes).") in out


def _two_owners(root: Path) -> None:
    write_shape(root, {"O": 3, "B": 2}, owner="anna")
    for i in range(4):
        write(root, f"ben-{i}", data_for(f"ben-{i}", "C", owner="Ben"))
    write(root, "nobody", data_for("nobody", "A", owner=""))


def test_board_for_one_owner(run: Run, pipeline: Path) -> None:
    _two_owners(pipeline)
    data = json.loads(run("board", "--owner", "ANNA", "--format", "json").stdout)
    assert data["owner"] == "anna"  # the owner's name as the files spell it
    assert data["whose"] == "anna"
    assert [c["actual"] for c in data["classes"]] == [3, 0, 0, 2, 0, 0]


def test_board_by_owner_gives_one_board_each_and_the_team(run: Run, pipeline: Path) -> None:
    _two_owners(pipeline)
    data = json.loads(run("board", "--by", "owner", "--format", "json").stdout)
    assert [b["owner"] for b in data["owners"]] == ["anna", "Ben", "(no owner)"]
    assert [c["actual"] for c in data["owners"][1]["classes"]] == [0, 0, 4, 0, 0, 0]
    assert data["team"]["owner"] == "team"
    assert [c["actual"] for c in data["team"]["classes"]] == [3, 0, 4, 2, 1, 0]
    assert data["team"]["target_closes"] == 8  # two owners' targets of 4: the contact with no owner adds none
    assert data["team"]["classes"][0]["ideal"] == 120
    out = run("board", "--by", "owner").stdout
    assert out.count("\nclass ") == 4
    assert "Board of Ben on 2026-11-30" in out
    assert ("Board of the team (2 owners and contacts with no owner, which add no target, target 8: the sum of "
            "each owner's) on 2026-11-30") in out


def test_board_as_of_rebuilds_the_classes_from_the_histories(run: Run, pipeline: Path) -> None:
    write(pipeline, "up-down", data_for("up-down", "reserve", history=UP_AND_DOWN, start=date(2026, 9, 1)))
    write(pipeline, "late", data_for("late", "A", start=date(2026, 11, 1)))

    def counts(*args: str) -> tuple[list[int], int]:
        data = json.loads(run("board", *args, "--format", "json").stdout)
        return [c["actual"] for c in data["classes"]], data["reserve"]

    assert counts("--as-of", "2026-09-05") == ([1, 0, 0, 0, 0, 0], 0)
    assert counts("--as-of", "2026-10-25") == ([0, 0, 0, 1, 0, 0], 0)
    assert counts("--as-of", "2026-11-12") == ([0, 0, 2, 0, 0, 0], 0)
    assert counts() == ([0, 0, 0, 0, 1, 0], 1)
    out = run("board", "--as-of", "2026-10-25").stdout
    assert "as of 2026-10-25 (rebuilt from the stage histories)" in out
    assert "cycle 2026-07-28 to 2026-10-25" in out


def test_board_learn_says_when_the_history_is_too_short(run: Run, reference: Path) -> None:
    out = run("board", "--learn").stdout
    assert "Note: not enough history to learn your own ratios: 4 closed sales, 5 needed" in out
    (reference / "pipe.yaml").write_text("funnel:\n  learn: true\n  learn_min_closed: 4\n", encoding="utf-8")
    data = json.loads(run("board", "--format", "json").stdout)
    assert data["ratios_source"] == "history"
    # 4 closed and 6 taken out at O reached an end: 10 per 4 closes (the 70 open at O to A are no failures);
    # every contact that reached FA closed
    assert [c["per_close"] for c in data["classes"][:5]] == [2.5, 1, 1, 1, 1]
    assert json.loads(run("board", "--no-learn", "--format", "json").stdout)["ratios_source"] == "settings"


def test_board_thresholds_and_target_come_from_pipe_yaml(run: Run, reference: Path) -> None:
    settings = {"target_closes": 2, "funnel": {"patterns": {"proposal-pending": {"min_b_ratio": 4}}}}
    (reference / "pipe.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    data = json.loads(run("board", "--format", "json").stdout)
    assert data["classes"][3]["ideal"] == 4
    assert "proposal-pending" not in [d["pattern"] for d in data["diagnosis"]]  # B 14 of 4 is 350%, below 400%


def test_a_bad_funnel_setting_is_an_error_naming_the_key(run: Run, pipeline: Path) -> None:
    (pipeline / "pipe.yaml").write_text("funnel:\n  close_probability:\n    b: 1.5\n", encoding="utf-8")
    result = run("board")
    assert result.exit_code == 1
    assert "'funnel.close_probability.b' must be between 0 and 1" in result.stderr


def test_pipe_init_writes_the_funnel_settings_commented(pipeline: Path) -> None:
    text = (pipeline / "pipe.yaml").read_text(encoding="utf-8")
    for line in ("  ratios:", "    first-appointment:", "    a:", "    not-prospecting:", "      min_b_ratio: 1.5"):
        assert f"\n{line}\n" in text
    assert "empty: 5, or 1 / its close chance when that is set" in text
    assert "Chance that a first appointment closes; empty: 1 / its ratio (0.2)." in text


def test_board_refuses_an_unknown_format_or_split(run: Run, pipeline: Path) -> None:
    result = run("board", "--format", "csv")
    assert result.exit_code == 2
    assert "unknown format 'csv'" in result.stderr
    result = run("board", "--by", "team")
    assert result.exit_code == 2
    assert "--by owner" in result.stderr
    assert run("board", "--as-of", "someday").exit_code == 2


def test_an_empty_pipeline_has_a_board(run: Run) -> None:
    result = run("board")
    assert result.exit_code == 0, result.output
    assert "not-prospecting: thin at the start: O + FA 0 vs ideal 80 (0%)" in result.stdout
    assert "15 new first appointments" not in result.stdout
    assert "20 new first appointments needed" in result.stdout  # 4 closes x 5


@pytest.mark.parametrize(("value", "largest", "expected"), [
    (0, 10, ""), (10, 10, "█" * 20), (5, 10, "█" * 10), (0.01, 10, "▌"), (4.4, 60, "█▌"), (3, 0, ""),
])
def test_bars_scale_to_the_largest_value(value: float, largest: float, expected: str) -> None:
    assert bar(value, largest) == expected


# --- pipe stats ----------------------------------------------------------------------------------


def test_stats_table_golden(run: Run, reference: Path) -> None:
    result = run("stats")
    assert result.exit_code == 0, result.output
    golden("stats.table.txt", result.stdout)


def _quiz_files(root: Path) -> None:
    """20 prospects worked this cycle: 4 closed in it, 16 still listed at FA, C, B and A."""
    for i in range(4):
        write(root, f"won-{i}", data_for(f"won-{i}", "closed", start=D(80), closed={"date": D(5), "value": 1}))
    for i, stage in enumerate(["FA"] * 6 + ["C"] * 5 + ["B"] * 3 + ["A"] * 2):
        write(root, f"p-{i}", data_for(f"p-{i}", stage, start=D(80)))


def test_stats_makes_the_quiz_concrete(run: Run, pipeline: Path) -> None:
    _quiz_files(pipeline)
    out = " ".join(run("stats").stdout.split())  # as one line, however the terminal text wraps
    # the board: FA 6 ÷ 5 = 1.2 is the narrowest, 2.8 closes short: 14 new first appointments
    assert ("At the closing ratio of 1 in 5, the 20 prospects you had are used up by the 4 you closed: "
            "0 real prospects remain; you need 14 new first appointments for the pipeline to support your target "
            "of 4 a cycle (as pipe board says).") in out.replace("This cycle (2026-09-02 to 2026-11-30): a", "A")
    assert ("Closing ratio: 1 in 1 (4 closed of the 4 contacts that reached an end, 0 taken out after a first "
            "appointment; open contacts are not counted).") in out
    assert "Of the 16 contacts still in FA, C, B and A, about 16 have already left the sales process" in out
    quiz = json.loads(run("stats", "--format", "json").stdout)["quiz"]
    assert {k: quiz[k] for k in ("one_in", "had", "closed", "remain", "still_listed", "needed")} == {
        "one_in": 5, "had": 20, "closed": 4, "remain": 0, "still_listed": 16, "needed": 14}
    assert json.loads(run("board", "--format", "json").stdout)["first_appointments_needed"] == 14


def test_stats_json_steps(run: Run, pipeline: Path) -> None:
    _quiz_files(pipeline)
    data = json.loads(run("stats", "--format", "json").stdout)
    assert set(data) >= {"owner", "as_of", "since", "steps", "closing_ratio", "quiz"}
    steps = {s["step"]: s for s in data["steps"]}
    assert list(steps) == ["O→FA", "FA→C", "C→B", "B→A", "A→closed"]
    # B was entered by the 4 won, 3 still at B and 2 at A; the 4 won and the 2 at A moved on
    assert steps["B→A"] == {"step": "B→A", "stage": "b", "to": "a", "entered": 9, "moved_on": 6, "fell_back": 0,
                            "reserve": 0, "still": 3, "conversion": 0.667, "median_days": 5, "jumped": 0}
    ratio = {k: data["closing_ratio"][k] for k in ("closed", "first_appointments", "ratio", "one_in", "ended",
                                                    "taken_out", "basis")}
    # over the ends: the 16 still open are no failures (won ÷ all that reached FA would say 1 in 5)
    assert ratio == {"closed": 4, "first_appointments": 20, "ratio": 1, "one_in": 1, "ended": 4, "taken_out": 0,
                     "basis": "ended"}


def test_stats_since_and_owner(run: Run, pipeline: Path) -> None:
    _quiz_files(pipeline)
    write(pipeline, "other", data_for("other", "C", owner="ben"))
    data = json.loads(run("stats", "--since", "2026-09-25", "--format", "json").stdout)
    assert data["since"] == "2026-09-25"
    assert data["steps"][0]["entered"] == 1  # only ben's O stay (from 10-01) began on or after 09-25
    data = json.loads(run("stats", "--owner", "ben", "--format", "json").stdout)
    assert data["steps"][2]["entered"] == 1
    assert data["quiz"]["had"] == 1


# --- pipe classify -------------------------------------------------------------------------------


def _misclassified(root: Path) -> None:
    write_shape(root, {"O": 2, "FA": 1, "C": 1, "B": 1, "A": 1, "closed": 1, "reserve": 1})
    write(root, "no-yes", data_for("no-yes", "A", verbal_yes=None))
    write(root, "no-budget", data_for("no-budget", "B", criteria={
        "decision_maker": True, "proposal_fits": True, "budget": False, "decision_date": D(-20),
        "start_date": D(-50), "next_step": "workshop"}))
    write(root, "met", data_for("met", "FA", first_meeting={"date": D(5), "held": True},
                                next={"action": "send the quote", "due": D(-3)}))


def test_classify_lists_the_mismatches_and_exits_1(run: Run, pipeline: Path) -> None:
    _misclassified(pipeline)
    result = run("classify")
    assert result.exit_code == 1
    rows = {line.split()[0]: line.split()[1:4] for line in result.stdout.splitlines()[2:-1]}
    assert rows == {"no-yes": ["A", "B", "over"], "no-budget": ["B", "C", "over"], "met": ["FA", "C", "under"]}
    assert "3 of 9 contacts in O to A misclassified (2 over, 1 under)" in result.stdout
    assert "pricing basics not discussed" in result.stdout


def test_classify_named_contacts_only(run: Run, pipeline: Path) -> None:
    _misclassified(pipeline)
    result = run("classify", "met", "a-0")
    assert result.exit_code == 1
    assert "met" in result.stdout
    assert "no-yes" not in result.stdout
    assert run("classify", "a-0", "b-0").exit_code == 0
    result = run("classify", "closed-0")
    assert result.exit_code == 0
    assert "closed-0 is closed: classify covers O to A" in result.stderr


def test_classify_json(run: Run, pipeline: Path) -> None:
    _misclassified(pipeline)
    result = run("classify", "--format", "json")
    assert result.exit_code == 1
    rows = json.loads(result.stdout)
    assert {r["slug"]: (r["recorded"], r["supported"], r["direction"]) for r in rows} == {
        "no-yes": ("a", "b", "over"), "no-budget": ("b", "c", "over"), "met": ("first-appointment", "c", "under")}
    assert set(rows[0]) >= {"slug", "id", "name", "company", "owner", "recorded", "supported", "recorded_class",
                            "supported_class", "direction", "missing", "evidence"}


def test_classify_apply_moves_them_with_a_reason_in_one_commit(run: Run, pipeline: Path) -> None:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=pipeline, check=True)
    _misclassified(pipeline)
    subprocess.run([*git, "add", "."], cwd=pipeline, check=True)
    subprocess.run([*git, "commit", "-qm", "start"], cwd=pipeline, check=True)
    untouched = contact_file(pipeline, "a-0").read_bytes()
    declined = run("classify", "--apply", input="n\n")  # (the first command commits the merge driver's line)
    before = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=pipeline, capture_output=True, text=True)
    assert declined.exit_code == 1 and "Move these 3 contacts?" in declined.output
    assert yaml.safe_load(contact_file(pipeline, "met").read_text(encoding="utf-8"))["stage"] == "first-appointment"
    result = run("classify", "--apply", "--yes")
    assert result.exit_code == 0, result.output
    log = subprocess.run(["git", "log", "--format=%s", "--name-only", "-1"], cwd=pipeline, capture_output=True,
                         text=True, check=True).stdout.split()
    assert log[:4] == ["classify", "--apply:", "3", "contacts"]
    assert sorted(name for name in log if name.startswith("contacts/")) == [
        "contacts/met.yaml", "contacts/no-budget.yaml", "contacts/no-yes.yaml"]
    count = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=pipeline, capture_output=True, text=True)
    assert int(count.stdout) == int(before.stdout) + 1  # one commit for the whole command
    assert "3 of 9 contacts in O to A misclassified (2 over, 1 under); moved:" in result.stdout
    assert "  Met: FA -> C" in result.stdout
    data = yaml.safe_load(contact_file(pipeline, "no-yes").read_text(encoding="utf-8"))
    assert data["stage"] == "b"
    assert data["history"][-1]["reason"].startswith("classify: the evidence supports B; missing A: a verbal agreement")
    data = yaml.safe_load(contact_file(pipeline, "met").read_text(encoding="utf-8"))
    assert data["stage"] == "c"
    assert data["history"][-1]["reason"].startswith("classify: the evidence supports C")
    assert contact_file(pipeline, "a-0").read_bytes() == untouched
    again = run("classify")
    assert again.exit_code == 0
    assert "0 of 9 contacts in O to A misclassified" in again.stdout


# --- help and documentation ----------------------------------------------------------------------


@pytest.mark.parametrize("command", ["board", "stats", "classify"])
def test_each_command_has_help_and_a_readme_entry(run: Run, command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    readme = docs_text()
    assert f"| `pipe {command}" in readme
