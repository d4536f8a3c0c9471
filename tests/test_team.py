"""A team in one folder: thirty owners, the team's target, whose board, your own plan and list, bounded output;
and the one "first appointments needed" that board, stats, plan and report all print."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import Run
from funnelkit import TODAY, data_for, write

FIRST = ("Anna", "Bo", "Carla", "David", "Eva", "Felix", "Grace", "Henrik", "Ines", "Jonas", "Kari", "Lars", "Maria",
         "Nils", "Olga", "Paul", "Rita", "Sven", "Tara", "Ulla", "Victor", "Wenche", "Yusuf", "Zoe", "Ada", "Bob",
         "Cora", "Dag", "Elin", "Frode")
OWNERS = tuple(f"{first} {'Lind' if first == 'Bo' else 'Berg'}" for first in FIRST)
SHAPE = {"O": 3, "FA": 2, "C": 1, "B": 1, "A": 1, "closed": 1, "reserve": 1}


def team(root: Path, owners: tuple[str, ...] = OWNERS) -> None:
    """Every owner with the same small board (ten contacts), a customer each."""
    for owner in owners:
        tag = owner.split()[0].lower()
        for stage, n in SHAPE.items():
            for i in range(n):
                slug = f"{tag}-{stage.lower()}-{i}"
                write(root, slug, data_for(slug, stage, owner=owner))


def me(root: Path, name: str) -> None:
    (root / ".pipe").mkdir(exist_ok=True)
    (root / ".pipe" / "local.yaml").write_text(f"owner: {name}\n", encoding="utf-8")


def js(run: Run, *args: str) -> dict:  # type: ignore[type-arg]
    result = run(*args, "--format", "json")
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


# --- the team's board -----------------------------------------------------------------------------


def test_a_shared_folder_has_the_teams_board_and_target(run: Run, pipeline: Path) -> None:
    team(pipeline)
    data = js(run, "board")
    assert data["target_closes"] == 120  # 30 owners x target_closes 4
    assert data["owner"] == "team" and len(data["owners"]) == 30
    assert [c["actual"] for c in data["classes"]] == [90, 60, 30, 30, 30, 30]
    assert data["classes"][5]["ratio"] == 0.25  # not 30 of one person's 4 (750%)
    out = run("board").stdout
    assert out.startswith("Board of the team (30 owners, target 120: the sum of each owner's) on 2026-11-30")


def test_each_owner_can_have_a_target_of_their_own(run: Run, pipeline: Path) -> None:
    team(pipeline)
    (pipeline / "pipe.yaml").write_text("owner_targets:\n  Bo Lind: 10\n  anna berg: 1\n", encoding="utf-8")
    assert js(run, "board")["target_closes"] == 4 * 28 + 10 + 1
    bo = js(run, "board", "--owner", "bo")
    assert (bo["owner"], bo["target_closes"], bo["classes"][0]["ideal"]) == ("Bo Lind", 10, 150)
    by = js(run, "board", "--by", "owner")
    assert sum(b["target_closes"] for b in by["owners"]) == by["team"]["target_closes"] == 123
    (pipeline / "pipe.yaml").write_text("owner_targets:\n  Bo Lind: -2\n", encoding="utf-8")
    bad = run("board")
    assert bad.exit_code == 1 and "'owner_targets' gives Bo Lind the target -2" in bad.stderr


@pytest.mark.parametrize("query", ["bo", "BO", "Bo Lind", "bo lind", "bo l", "lind"])
def test_owner_matches_any_case_first_word_or_start(run: Run, pipeline: Path, query: str) -> None:
    team(pipeline)
    data = js(run, "board", "--owner", query)
    assert data["owner"] == "Bo Lind"
    assert [c["actual"] for c in data["classes"]] == [3, 2, 1, 1, 1, 1]
    assert run("board", "--owner", query).stdout.startswith("Board of Bo Lind on 2026-11-30")


def test_an_owner_that_matches_nobody_or_several_says_so(run: Run, pipeline: Path) -> None:
    team(pipeline)
    miss = run("board", "--owner", "xavier")
    assert miss.exit_code == 1
    assert "no contact has the owner 'xavier'" in miss.stderr
    assert "the owners are: Ada Berg, Anna Berg, Bo Lind, Bob Berg" in miss.stderr
    several = run("plan", "--owner", "b")  # Bo Lind, Bob Berg: no first word is "b"; both start with it
    assert several.exit_code == 1
    assert "'b' matches several owners: Bo Lind, Bob Berg" in several.stderr


# --- your own plan and list -------------------------------------------------------------------------


def test_plan_and_list_show_your_own_contacts_on_a_shared_folder(run: Run, pipeline: Path) -> None:
    team(pipeline)
    me(pipeline, "Bo Lind")
    plan = js(run, "plan")
    assert plan["owner"] == "Bo Lind"
    assert {i["owner"] for c in plan["categories"] for i in c["items"] if i["slug"]} == {"Bo Lind"}
    assert plan["prospecting"]["target_closes"] == 4
    everyone = js(run, "plan", "--team")
    assert everyone["owner"] == "team" and everyone["prospecting"]["target_closes"] == 120
    assert len({i["owner"] for c in everyone["categories"] for i in c["items"] if i["slug"]}) == 30
    assert js(run, "plan", "--owner", "zoe")["owner"] == "Zoe Berg"
    mine = run("list")
    assert mine.stdout.splitlines()[-1] == "8 contacts of Bo Lind (1 closed, 1 reserve not shown: --all)"
    assert run("list", "--team").stdout.splitlines()[-1] == (
        "240 contacts of the team (30 closed, 30 reserve not shown: --all)")
    assert run("list", "--stage", "A").stdout.splitlines()[-1] == "1 contact of Bo Lind"


def test_someone_who_owns_nothing_here_gets_the_team_with_a_note(run: Run, pipeline: Path) -> None:
    team(pipeline, OWNERS[:3])
    me(pipeline, "Newcomer Nobody")
    result = run("plan", "--format", "json")
    assert json.loads(result.stdout)["owner"] == "team"
    assert "3 owners share this folder and you (Newcomer Nobody) are not one of them" in result.stderr


# --- bounded output ---------------------------------------------------------------------------------


def _customers(root: Path, owner: str, n: int) -> None:
    """n customers closed in the last weeks, each due a service call, their values 1,000 to n,000."""
    for i in range(n):
        slug = f"cust-{i:02d}"
        write(root, slug, data_for(slug, "closed", owner=owner, value=1000 * (i + 1), next=None,
                                   start=TODAY - timedelta(days=28),  # climbs a class every 5 days: closed on D-3
                                   closed={"date": TODAY - timedelta(days=3), "value": 1000 * (i + 1)}))


def test_the_plan_lists_a_bounded_number_per_category_the_most_valuable_first(run: Run, pipeline: Path) -> None:
    team(pipeline, OWNERS[:2])
    _customers(pipeline, "Bo Lind", 30)
    me(pipeline, "Bo Lind")
    out = run("plan", "--limit", "5").stdout
    service = out[out.index("6. Service calls"):out.index("7. First meetings")]
    assert "6. Service calls to just-closed and existing customers (30)" in service  # the count is of all
    rows = [line.split()[1] for line in service.splitlines()[3:] if line.strip().startswith("2026-")]
    assert rows == ["cust-29", "cust-28", "cust-27", "cust-26", "cust-25"]  # due today, the largest first
    assert 'and 25 more: pipe list --stage closed --owner "Bo Lind"' in service
    assert "31 shown" not in out and "at most 5 a category" in out
    everything = run("plan", "--limit", "0").stdout
    assert "more: pipe list" not in everything
    assert len(js(run, "plan", "--limit", "5")["categories"][5]["items"]) == 30  # JSON keeps every item
    markdown = run("plan", "--limit", "5", "--format", "markdown").stdout
    assert '- and 25 more: `pipe list --stage closed --owner "Bo Lind"`' in markdown
    assert run("plan", "--limit", "-1").exit_code == 2


def test_the_reports_markdown_and_html_summarise_and_json_keeps_every_row(run: Run, pipeline: Path) -> None:
    team(pipeline)
    _customers(pipeline, "Bo Lind", 30)
    summary = run("report").stdout
    full = run("report", "--full").stdout
    assert len(summary.splitlines()) < len(full.splitlines()) / 2
    assert "Summarised: at most 5 rows a section (week.report_rows)" in summary
    assert "### Closes (30) (the largest first)" in summary
    assert "| cust-29 " in summary and "| cust-25 " in summary and "| cust-24 " not in summary
    assert "and 25 more rows: pipe report --full, or --format json" in summary
    assert "at most 5 a category, the overdue and the most valuable first (week.report\\_rows;" in summary
    assert "| rule " in summary  # the findings counted by rule
    data = js(run, "report")
    assert len([e for e in data["movement"]["events"] if e["kind"] == "close"]) == 30
    assert sum(c["count"] for c in data["plan"]["categories"]) == sum(
        len(c["items"]) for c in data["plan"]["categories"])
    html = run("report", "--format", "html").stdout
    assert "and 25 more rows: pipe report --full, or --format json" in html
    assert len(html) < len(run("report", "--format", "html", "--full").stdout)


# --- one number: first appointments needed ------------------------------------------------------------


@pytest.mark.parametrize("target", [2, 4, 7.5])
def test_board_stats_plan_and_report_agree_on_first_appointments_needed(run: Run, pipeline: Path,
                                                                       target: float) -> None:
    (pipeline / "pipe.yaml").write_text(f"target_closes: {target}\n", encoding="utf-8")
    for stage, n in {"O": 20, "FA": 7, "C": 5, "B": 3, "A": 2, "closed": 1, "reserve": 2}.items():
        for i in range(n):
            write(pipeline, f"{stage.lower()}-{i}", data_for(f"{stage.lower()}-{i}", stage))
    board = js(run, "board")["first_appointments_needed"]
    assert board > 0
    assert js(run, "stats")["quiz"]["needed"] == board
    assert js(run, "stats")["first_appointments_needed"] == board
    assert js(run, "plan")["prospecting"]["first_appointments_needed"] == board
    report = js(run, "report")
    assert report["board"]["first_appointments_needed"] == report["plan"]["prospecting"][
        "first_appointments_needed"] == report["conversion"]["all_time"]["quiz"]["needed"] == board
    assert f"{board} new first appointments needed" in " ".join(run("board").stdout.split())
    assert f"you need {board} new first appointments" in " ".join(run("stats").stdout.split())
    assert f"{board} new first appointments needed for the target" in " ".join(run("plan").stdout.split())


def test_the_teams_commands_agree_for_one_owner_and_for_the_team(run: Run, pipeline: Path) -> None:
    team(pipeline, OWNERS[:5])
    me(pipeline, "Carla Berg")
    for who in (("--owner", "carla"), ()):
        board = js(run, "board", *who)["first_appointments_needed"]
        assert js(run, "stats", *who)["quiz"]["needed"] == board
        assert js(run, "report", *who)["board"]["first_appointments_needed"] == board
    assert js(run, "plan")["prospecting"]["first_appointments_needed"] == js(run, "board", "--owner", "carla")[
        "first_appointments_needed"]
    assert js(run, "plan", "--team")["prospecting"]["first_appointments_needed"] == js(run, "board")[
        "first_appointments_needed"]


# --- pipe check and contacts with no date ------------------------------------------------------------


def test_check_warns_about_a_contact_with_no_date(run: Run, pipeline: Path) -> None:
    (pipeline / "contacts").mkdir(exist_ok=True)
    (pipeline / "contacts" / "nodate.yaml").write_text("id: n1\nname: No Date\nstage: b\n", encoding="utf-8")
    write(pipeline, "dated", data_for("dated", "B"))
    result = run("check")
    assert result.exit_code == 0
    assert "pipe: warning: contacts/nodate.yaml: no date at all (no created, no history)" in result.stderr
    assert "dated.yaml" not in result.stderr
    past = js(run, "board", "--as-of", (TODAY - timedelta(days=30)).isoformat())
    assert past["classes"][3]["actual"] == 1 and past["undated_left_out"] == 1
