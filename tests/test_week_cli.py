"""pipe plan and pipe report through the real CLI: golden files on the demo, formats, options, the cron script.

Regenerate the golden files after an intended change of the output with
    PIPE_UPDATE_GOLDEN=1 python -m pytest tests/test_week_cli.py
then review the diff of tests/golden/ before committing it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from conftest import TODAY, Run, docs_text
from test_board_cli import golden
from typer.testing import CliRunner, Result

from pipecli.cli import app

ROOT = Path(__file__).parent.parent
DEMO = ROOT / "examples" / "demo"
SCRIPT = ROOT / "examples" / "weekly-report.sh"


def demo(*args: str, today: str = TODAY) -> Result:
    return CliRunner().invoke(app, ["-C", str(DEMO), "--today", today, *args])


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


# --- golden files on the demo --------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "name"), [("table", "plan.table.txt"), ("markdown", "plan.markdown.txt"),
                                           ("json", "plan.json")])
def test_plan_golden(fmt: str, name: str) -> None:
    golden(name, ok(demo("plan", "--format", fmt)))


@pytest.mark.parametrize(("args", "name"), [
    (("--format", "markdown"), "report.week.markdown.txt"),
    (("--since", "2026-11-01", "--format", "markdown"), "report.markdown.txt"),
    (("--since", "2026-11-01", "--format", "html"), "report.html"),
    (("--since", "2026-11-01", "--format", "json"), "report.json"),
])
def test_report_golden(args: tuple[str, ...], name: str) -> None:
    golden(name, ok(demo("report", *args)))


@pytest.mark.parametrize("args", [("plan",), ("plan", "-f", "markdown"), ("plan", "-f", "json"), ("plan", "--day"),
                                  ("report",), ("report", "-f", "html"), ("report", "-f", "json"),
                                  ("report", "--by", "owner", "-f", "html")])
def test_same_input_and_today_give_the_same_bytes(args: tuple[str, ...]) -> None:
    first = demo(*args).stdout_bytes
    assert first
    assert demo(*args).stdout_bytes == first


def test_the_report_is_of_the_day_given() -> None:
    for day in ("2026-11-30", "2026-12-07"):
        data = json.loads(ok(demo("report", "-f", "json", today=day)))
        assert (data["until"], data["board"]["as_of"], data["plan"]["today"]) == (day, day, day)
    assert ok(demo("report", today="2026-11-30")) != ok(demo("report", today="2026-12-07"))


# --- pipe plan -----------------------------------------------------------------------------------


def test_plan_json_lists_the_eight_categories_with_their_contacts() -> None:
    data = json.loads(ok(demo("plan", "-f", "json")))
    assert (data["scope"], data["start"], data["end"]) == ("week", "2026-11-30", "2026-12-06")
    assert [c["id"] for c in data["categories"]] == [
        "new-contacts", "first-meetings", "a-to-closed", "b-to-a", "c-to-b", "service", "fallback", "admin"]
    items = {c["id"]: [i["slug"] or i["subject"] for i in c["items"]] for c in data["categories"]}
    # henrik-moe (stalled) and olga-hansen (pushed back) await a decision: listed once, under admin
    assert items["a-to-closed"] == []  # the other A's next actions fall after the week
    assert items["b-to-a"] == ["yusuf-moreau", "ines-olsen"]  # the overdue one first
    assert {"henrik-moe", "olga-hansen"} <= set(items["admin"])
    assert items["c-to-b"] == ["wu-hao", "wang-fang"]
    assert items["service"] == ["li-na", "sven-kowalski", "zhang-wei"]
    assert items["fallback"] == []
    assert items["admin"][0] == "weekly report"
    first = data["categories"][3]["items"][0]
    assert (first["overdue"], first["due"], first["action"]) == (True, "2026-11-29", "meet the CFO")
    # the demo is shared by three owners and the one running the tests is none of them: the team's plan, target 12
    assert data["owner"] == "team"
    assert data["prospecting"]["opportunities"] == 57  # 14 a week for the ideal, 169 short over 4 weeks
    assert data["prospecting"]["first_appointments"] == 19  # 4.7 a week, 57 needed over 4 weeks
    assert data["prospecting"]["first_appointments_needed"] == json.loads(ok(demo("board", "-f", "json")))[
        "first_appointments_needed"]


def test_plan_day_owner_and_the_prospecting_block() -> None:
    table = ok(demo("plan", "--team"))
    assert table.startswith("Plan of the team for the week 2026-11-30 to 2026-12-06\n\nProspecting first")
    assert "This week: find 57 new opportunities and set 19 first appointments." in table
    assert "\n3. A to close (0)\n" in table  # its one A awaits a decision (stalled): under admin
    tuesday = ok(demo("plan", "--day", "--team", today="2026-12-01"))
    assert tuesday.startswith("Plan of the team for Tue 2026-12-01\n\n1. New contacts")  # no prospecting on Tuesday
    monday = ok(demo("plan", "--day"))
    assert "Prospecting first" in monday
    mine = json.loads(ok(demo("plan", "--owner", "ben", "-f", "json")))
    owners = {i["owner"] for c in mine["categories"] for i in c["items"] if i["slug"]}
    assert owners == {"ben"}
    assert mine["owner"] == "ben"


def test_plan_admin_lists_files_pipe_check_rejects_and_findings(pipeline: Path, run: Run) -> None:
    contacts = pipeline / "contacts"
    contacts.mkdir(exist_ok=True)
    (contacts / "broken.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    (contacts / "future.yaml").write_text(yaml.safe_dump({
        "id": "f1", "name": "Future Call", "stage": "opportunity", "created": date(2026, 11, 1),
        "activities": [{"date": date(2027, 1, 1), "kind": "call", "outcome": "talked"}]}), encoding="utf-8")
    (contacts / "silent.yaml").write_text(yaml.safe_dump({
        "id": "s1", "name": "Silent Sam", "stage": "opportunity", "created": date(2026, 10, 1),
        "activities": [{"date": date(2026, 10, d), "kind": "call", "outcome": "no-answer"} for d in (2, 9, 16)]}),
        encoding="utf-8")
    result = run("plan", "-f", "json")
    assert result.exit_code == 0, result.output
    admin = json.loads(result.stdout)["categories"][7]["items"]
    assert [(i["kind"], i["subject"] or i["slug"]) for i in admin] == [
        ("report", "weekly report"), ("file", "contacts/broken.yaml"), ("file", "contacts/future.yaml"),
        ("finding", "silent")]
    assert admin[2]["line"] == 2
    assert "dated in the future" in admin[2]["action"]
    assert admin[3]["action"] == "decide: reserve (no-response)"
    assert admin[3]["rule"] == "no-response"
    assert "skipped contacts/broken.yaml" in result.stderr


def test_rules_a_file_problem_blocks_are_said_with_that_file_once(pipeline: Path, run: Run) -> None:
    contacts = pipeline / "contacts"
    contacts.mkdir(exist_ok=True)
    (contacts / "odd.yaml").write_text(yaml.safe_dump({
        "id": "o1", "name": "Odd Kind", "stage": "opportunity", "created": date(2026, 10, 1),
        "activities": [{"date": date(2026, 10, 2), "kind": "fax"}]}), encoding="utf-8")
    admin = json.loads(run("plan", "-f", "json").stdout)["categories"][7]["items"]
    files = [i for i in admin if i["kind"] == "file"]
    assert [i["subject"] for i in files] == ["contacts/odd.yaml"]
    assert not [i for i in admin if i["kind"] == "finding"]  # not once more per rule it blocks
    assert "until then, pipe review cannot evaluate: no-response, refused, stalled, pitch-bombardment" in files[0]["notes"]
    review = run("review", "-f", "json")  # review itself still says so, rule by rule
    assert {(v["rule"], v["status"]) for v in json.loads(review.stdout)} == {
        (rule, "cannot-evaluate") for rule in ("no-response", "refused", "stalled", "pitch-bombardment")}


# --- pipe report ---------------------------------------------------------------------------------


def test_report_period_defaults_to_the_seven_days_up_to_today() -> None:
    week = json.loads(ok(demo("report", "-f", "json")))
    assert (week["since"], week["until"], week["days"]) == ("2026-11-24", "2026-11-30", 7)
    assert week == json.loads(ok(demo("report", "--week", "-f", "json")))
    assert week == json.loads(ok(demo("report", "--since", "2026-11-24", "-f", "json")))
    assert [e["slug"] for e in week["movement"]["events"]] == ["wenche-olsen"]
    assert week["movement"]["events"][0]["reason"] == "call me in six months"


def test_report_json_has_every_part() -> None:
    data = json.loads(ok(demo("report", "--since", "2026-11-01", "-f", "json")))
    assert data["board"] == json.loads(ok(demo("board", "-f", "json")))
    assert data["plan"] == json.loads(ok(demo("plan", "-f", "json")))
    assert data["findings"] == json.loads(demo("review", "-f", "json").stdout)
    assert data["conversion"]["all_time"] == json.loads(ok(demo("stats", "-f", "json")))
    assert data["conversion"]["period"] == json.loads(ok(demo("stats", "--since", "2026-11-01", "-f", "json")))
    counts = data["movement"]["counts"]
    assert counts == {"new": 6, "promotion": 27, "demotion": 0, "close": 3, "reserve": 12, "back": 0}
    closes = [e for e in data["movement"]["events"] if e["kind"] == "close"]
    assert sorted((e["slug"], e["value"]) for e in closes) == [
        ("li-na", 90000), ("sven-kowalski", 90000), ("zhang-wei", 24000)]
    assert data["movement"]["closed_value"] == 204000
    assert data["activity"]["total"] == sum(r["count"] for r in data["activity"]["by_kind_outcome"])


def test_report_movement_across_the_period_boundary(pipeline: Path, run: Run) -> None:
    def day(n: int) -> date:
        return date(2026, 11, 30) - timedelta(days=n)

    (pipeline / "contacts").mkdir(exist_ok=True)
    (pipeline / "contacts" / "edge.yaml").write_text(yaml.safe_dump({
        "id": "e1", "name": "Edge Case", "stage": "c", "created": day(20),
        "first_meeting": {"date": day(15), "held": True}, "next": {"action": "send it", "due": day(-3)},
        "activities": [{"date": day(11), "kind": "call", "outcome": "talked"},
                       {"date": day(10), "kind": "meeting", "outcome": "held"}],
        "history": [{"date": day(20), "to": "opportunity", "reason": "added"},
                    {"date": day(11), "from": "opportunity", "to": "first-appointment"},
                    {"date": day(10), "from": "first-appointment", "to": "c"}]}), encoding="utf-8")
    since = day(10).isoformat()
    inside = json.loads(run("report", "--since", since, "-f", "json").stdout)
    assert [(e["date"], e["kind"], e["to"]) for e in inside["movement"]["events"]] == [(since, "promotion", "c")]
    assert inside["activity"]["meetings_held"] == 1
    assert inside["activity"]["calls"] == 0
    before = json.loads(run("report", "--since", day(11).isoformat(), "-f", "json").stdout)
    assert [e["to"] for e in before["movement"]["events"]] == ["first-appointment", "c"]
    assert before["activity"]["calls"] == 1
    after = json.loads(run("report", "--since", day(9).isoformat(), "-f", "json").stdout)
    assert after["movement"]["events"] == []
    assert after["activity"]["total"] == 0
    text = run("report", "--since", since).stdout
    assert "### Promotions (1)" in text
    assert "| FA → C |" in text.replace("  ", " ").replace("  ", " ")


def test_report_markdown_sections_in_order() -> None:
    text = ok(demo("report", "--since", "2026-11-01"))
    heads = [line for line in text.splitlines() if line.startswith("## ")]
    assert heads == ["## Board of the team (3 owners, target 12: the sum of each owner's) on 2026-11-30",
                     "## What moved", "## Activity", "## Conversion",
                     "## Review findings (14)", "## Plan of the team for the week 2026-11-30 to 2026-12-06"]
    assert text.startswith("# Monthly report of the team: November 2026\n")  # titled by its period
    assert "### Closes (3)" in text
    assert "90,000" in text


class _Html(HTMLParser):
    VOID = {"meta", "br", "rect", "img", "hr", "link", "input"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def test_report_html_is_one_self_contained_page() -> None:
    page = ok(demo("report", "--since", "2026-11-01", "-f", "html"))
    parser = _Html()
    parser.feed(page)
    assert parser.problems == []
    assert parser.stack == []
    assert page.startswith("<!DOCTYPE html>\n<html")
    assert page.endswith("</html>\n")
    assert not {"script", "style", "link", "img", "iframe", "object"} & set(parser.tags)
    names = {name for name, _ in parser.attrs}
    assert not {"src", "href", "class", "onload", "onclick"} & names  # inline styles only, nothing fetched
    urls = re.findall(r"https?://[^\"' ]+", page)
    assert set(urls) == {"http://www.w3.org/2000/svg"}  # the SVG namespace, never fetched
    assert parser.tags.count("svg") == 1
    assert parser.tags.count("h1") == 1
    svg = page[page.index("<svg"): page.index("</svg>") + len("</svg>")]
    root = ET.fromstring(svg)
    rects = root.findall("{http://www.w3.org/2000/svg}rect")
    assert len(rects) == 6 * 2 + 2  # per class the ideal and the actual bar, then the legend
    texts = [t.text for t in root.findall("{http://www.w3.org/2000/svg}text")]
    assert "11 of 180 (6%)" in texts  # the team's board: three owners' targets of 4
    assert "4 of 13.2 (30%)" in texts
    assert "<table" in page.split("</svg>")[1]  # the numbers as a table too, for mail that drops the SVG
    assert "overdue</span>" in page
    assert "Sent to the reserve (12)" in page


def test_report_by_owner_and_for_one_owner() -> None:
    data = json.loads(ok(demo("report", "--by", "owner", "-f", "json")))
    assert [r["owner"] for r in data["owners"]] == ["anna", "ben", "li.na"]
    assert data["team"]["owner"] == "team"
    assert data["team"]["board"]["target_closes"] == 12  # three people
    anna = json.loads(ok(demo("report", "--owner", "anna", "-f", "json")))
    assert anna["board"] == data["owners"][0]["board"] | {"owner": "anna"}
    assert {f["owner"] for f in anna["findings"]} == {"anna"}
    text = ok(demo("report", "--by", "owner"))
    assert text.count("\n---\n") == 3
    assert text.startswith("# Weekly report of the team:")


def test_report_output_writes_the_file_atomically(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "2026-W49.md"
    result = demo("report", "--output", str(target))
    assert result.exit_code == 0
    assert result.stdout == f"Wrote the markdown report to {target}.\n"  # says where
    assert target.read_bytes() == demo("report").stdout_bytes
    assert [p.name for p in target.parent.iterdir()] == ["2026-W49.md"]  # no temporary file left
    blocked = tmp_path / "file"
    blocked.write_text("x", encoding="utf-8")
    bad = demo("report", "--output", str(blocked / "r.md"))
    assert bad.exit_code == 1
    assert "pipe: error: cannot write" in bad.stderr


@pytest.mark.parametrize(("args", "message"), [
    (("plan", "--week", "--day"), "--week and --day do not go together"),
    (("plan", "-f", "csv"), "unknown format 'csv'"),
    (("report", "--since", "2026-11-01", "--week"), "--since and --week do not go together"),
    (("report", "--since", "2026-12-01"), "--since 2026-12-01 is after today"),
    (("report", "--owner", "anna", "--by", "owner"), "--owner and --by owner do not go together"),
    (("report", "--by", "stage"), "unknown grouping 'stage'"),
    (("report", "-f", "table"), "unknown format 'table'"),
    (("report", "--since", "someday"), "'someday' is not a date"),
])
def test_usage_errors_exit_2(args: tuple[str, ...], message: str) -> None:
    result = demo(*args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_the_readme_documents_the_week_and_its_json() -> None:
    readme = docs_text()
    section = readme[readme.index("# The week"):]
    for word in ("Prospecting first", "weekly-report.sh", "crontab", "0 17 * * 5"):
        assert word in section
    plan = json.loads(ok(demo("plan", "-f", "json")))
    report = json.loads(ok(demo("report", "-f", "json")))
    keys = (set(plan) | set(plan["prospecting"]) | set(plan["categories"][0]) | set(plan["categories"][0]["items"][0])
            | set(report) | set(report["movement"]) | set(report["movement"]["events"][0]) | set(report["activity"]))
    spans = " ".join(re.findall(r"`([^`]*)`", section))
    for key in sorted(keys):
        assert re.search(rf"(?<![\w-]){re.escape(key)}(?![\w-])", spans), f"README does not document the JSON key {key}"


# --- the cron script -----------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


@pytest.mark.skipif(shutil.which("git") is None or shutil.which("bash") is None, reason="needs git and bash")
def test_the_cron_script_writes_the_weeks_report_and_commits_exactly_it(tmp_path: Path) -> None:
    sales = tmp_path / "sales"
    assert CliRunner().invoke(app, ["init", str(sales)]).exit_code == 0
    shutil.copytree(DEMO / "contacts", sales / "contacts", dirs_exist_ok=True)
    _git(sales, "add", "-A")
    _git(sales, "commit", "-q", "-m", "the demo")
    (sales / "notes.txt").write_text("not for the report\n", encoding="utf-8")  # untracked
    (sales / "contacts" / "li-na.yaml").write_text("name: changed\n", encoding="utf-8")  # modified, unstaged
    (sales / "staged.txt").write_text("staged\n", encoding="utf-8")
    _git(sales, "add", "staged.txt")
    env = {**os.environ, "PIPE": f"{sys.executable} -m pipecli", "PIPE_TODAY": "2026-12-04",
           "PYTHONPATH": str(ROOT)}
    env.pop("PIPE_DIR", None)
    before = _git(sales, "rev-parse", "HEAD").strip()

    def cron() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(SCRIPT), str(sales)], cwd=tmp_path, env=env, capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=120)

    first = cron()
    assert first.returncode == 0, first.stderr
    assert "committed reports/2026-W49.md" in first.stdout
    assert _git(sales, "rev-parse", "HEAD~1").strip() == before
    assert _git(sales, "log", "-1", "--format=%s").strip() == "report: week 2026-W49"
    assert _git(sales, "show", "--name-only", "--format=", "HEAD").split() == ["reports/2026-W49.md"]
    report = (sales / "reports" / "2026-W49.md").read_text(encoding="utf-8")
    assert report.startswith("# Weekly report of the team: 2026-11-28 to 2026-12-04\n")
    assert _git(sales, "show", "HEAD:reports/2026-W49.md") == report
    status = _git(sales, "status", "--porcelain")
    assert "A  staged.txt" in status
    assert " M contacts/li-na.yaml" in status
    assert "?? notes.txt" in status
    again = cron()
    assert again.returncode == 0
    assert "unchanged, nothing to commit" in again.stdout
    assert _git(sales, "rev-list", "--count", "HEAD").strip() == "3"  # init, the demo, one report


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_cron_script_fails_loudly(tmp_path: Path) -> None:
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert result.returncode != 0
    assert "usage: weekly-report.sh PIPELINE_DIR" in result.stderr
    plain = tmp_path / "plain"
    assert CliRunner().invoke(app, ["init", str(plain), "--no-git"]).exit_code == 0
    env = {**os.environ, "PIPE": f"{sys.executable} -m pipecli", "PYTHONPATH": str(ROOT),
           "GIT_CEILING_DIRECTORIES": str(tmp_path)}
    outside = subprocess.run(["bash", str(SCRIPT), str(plain)], env=env, capture_output=True, text=True,
                             stdin=subprocess.DEVNULL, timeout=120)
    assert outside.returncode != 0  # not a git repository: set -e stops at git add
    assert "committed" not in outside.stdout
