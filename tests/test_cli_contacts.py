"""The contact commands through the real CLI on real folders."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import TODAY, Run, contact_file, docs_text
from typer.testing import CliRunner

from pipecli.cli import app


def read(root: Path, slug: str) -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(contact_file(root, slug).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


# init and finding the pipeline

def test_init_writes_settings_and_a_git_repository(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["init", str(tmp_path / "sales")])
    assert result.exit_code == 0, result.output
    root = tmp_path / "sales"
    config = (root / "pipe.yaml").read_text(encoding="utf-8")
    for key in ("mode: field", "sales_cycle_days: 90", "target_closes: 4", "owner:"):
        assert key in config
    assert "# How the O -> FA gate is met" in config
    assert (root / "contacts").is_dir()
    assert (root / ".git").is_dir()
    assert subprocess.run(["git", "status"], cwd=root, capture_output=True).returncode == 0
    again = CliRunner().invoke(app, ["init", str(root)])
    assert again.exit_code == 1
    assert "already exists" in again.stderr


def test_init_inside_a_work_tree_does_not_nest_a_repository(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert CliRunner().invoke(app, ["init", str(tmp_path / "sales")]).exit_code == 0
    assert not (tmp_path / "sales" / ".git").exists()
    assert CliRunner().invoke(app, ["init", str(tmp_path / "other"), "--no-git"]).exit_code == 0


def test_init_no_git(tmp_path: Path) -> None:
    assert CliRunner().invoke(app, ["init", str(tmp_path / "s"), "--no-git"]).exit_code == 0
    assert not (tmp_path / "s" / ".git").exists()


def test_the_pipeline_is_found_by_dir_env_and_walking_up(pipeline: Path, monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["-C", str(pipeline), "add", "Anna Berg"]).exit_code == 0
    monkeypatch.setenv("PIPE_DIR", str(pipeline))
    assert "anna-berg" in runner.invoke(app, ["list"]).stdout
    monkeypatch.delenv("PIPE_DIR")
    monkeypatch.chdir(pipeline / "contacts")
    assert "anna-berg" in runner.invoke(app, ["list"]).stdout
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 1
    assert "no pipeline here" in result.stderr and "pipe init" in result.stderr
    result = runner.invoke(app, ["-C", str(tmp_path / "nowhere"), "list"])
    assert result.exit_code == 1 and "pipe init" in result.stderr


def test_today_comes_from_the_option_or_the_environment(pipeline: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    runner.invoke(app, ["-C", str(pipeline), "--today", "2026-10-01", "add", "Anna Berg"])
    assert read(pipeline, "anna-berg")["created"].isoformat() == "2026-10-01"
    monkeypatch.setenv("PIPE_TODAY", "2026-10-11")
    result = runner.invoke(app, ["-C", str(pipeline), "list", "--format", "json"])
    assert json.loads(result.stdout)[0]["days_in_stage"] == 10
    result = runner.invoke(app, ["-C", str(pipeline), "--today", "someday", "list"])
    assert result.exit_code == 2 and "'someday' is not a date" in result.stderr


# add

def test_add_writes_a_complete_file(pipeline: Path, run: Run) -> None:
    result = run("add", "张伟", "--company", "华信物流", "--email", "zw@hx.example", "--source", "推荐客户",
                 "--tag", "logistics", "--value", "48000", "--title", "采购经理", "--phone", "+86 1", "--note", "met at fair")
    assert result.exit_code == 0, result.output
    assert "zhang-wei" in result.stdout
    data = read(pipeline, "zhang-wei")
    assert data["name"] == "张伟" and data["company"] == "华信物流" and data["source"] == "referral"
    assert data["stage"] == "opportunity" and data["owner"] == "tester" and data["value"] == 48000
    assert data["tags"] == ["logistics"] and data["notes"] == "met at fair"
    assert re.fullmatch(r"[0-9a-f]{12}", data["id"])
    assert data["history"] == [{"date": data["created"], "to": "opportunity", "reason": "added"}]
    assert list(data)[:3] == ["id", "name", "company"]


def test_add_refuses_duplicates_unless_allowed(pipeline: Path, run: Run) -> None:
    assert run("add", "Anna Berg", "--company", "Nordlys AS", "--email", "anna@n.example").exit_code == 0
    same_mail = run("add", "A. Berg", "--email", "ANNA@n.example")
    assert same_mail.exit_code == 1 and "looks like a contact you have: anna-berg" in same_mail.stderr
    same_person = run("add", "anna berg", "--company", "nordlys as")
    assert same_person.exit_code == 1
    allowed = run("add", "Anna Berg", "--company", "Nordlys AS", "--allow-duplicate")
    assert allowed.exit_code == 0
    assert contact_file(pipeline, "anna-berg-nordlys-as").exists()
    assert run("add", "Anna Berg", "--company", "Fjord Foods").exit_code == 0
    assert contact_file(pipeline, "anna-berg-fjord-foods").exists()


def test_add_at_a_stage_must_pass_its_gates(pipeline: Path, run: Run) -> None:
    refused = run("add", "Ola", "--stage", "B")
    assert refused.exit_code == 1 and "missing" in refused.stderr
    assert not list((pipeline / "contacts").iterdir())
    assert run("add", "Ola", "--stage", "FA", "--meeting", "fri").exit_code == 0
    data = read(pipeline, "ola")
    assert data["stage"] == "first-appointment" and data["first_meeting"]["date"].isoformat() == "2026-12-04"
    assert run("add", "Kari", "--stage", "c", "--force").exit_code == 2
    assert run("add", "Kari", "--stage", "c", "--force", "--reason", "imported from the old CRM").exit_code == 0
    assert read(pipeline, "kari")["history"][-1]["forced"] is True
    assert run("add", "Per", "--stage", "备用").exit_code == 0
    assert read(pipeline, "per")["stage"] == "reserve"
    assert run("add", "Liv", "--meeting", "+2d").exit_code == 0  # as pipe meet: the date is the FA evidence
    assert read(pipeline, "liv")["stage"] == "first-appointment"
    assert [h["to"] for h in read(pipeline, "liv")["history"]] == ["opportunity", "first-appointment"]


def test_a_new_file_has_its_keys_in_the_documented_order(pipeline: Path, run: Run) -> None:
    from pipecli.model import FIELD_ORDER

    assert run("add", "Liv", "--meeting", "+2d", "--company", "Fjord", "--tag", "x").exit_code == 0  # a gate adds keys
    assert run("add", "Kari", "--stage", "c", "--force", "--reason", "import", "--note", "n").exit_code == 0
    for slug in ("liv", "kari"):
        keys = list(read(pipeline, slug))
        assert keys == [k for k in FIELD_ORDER if k in keys], slug


@pytest.mark.parametrize(("args", "code", "words"), [
    (["add", "X", "--source", "friend"], 2, "unknown source"),
    (["add", "X", "--stage", "D"], 2, "unknown stage"),
    (["add", "   "], 2, "the name is empty"),
    (["promote", "nobody"], 1, "no contact matches 'nobody'"),
    (["list", "--stage", "Z"], 2, "unknown stage 'Z'"),
    (["list", "--format", "xml"], 2, "unknown format"),
    (["log", "anna", "fax"], 2, "unknown activity kind"),
    (["log", "anna", "call", "--outcome", "maybe"], 2, "unknown outcome"),
    (["log", "anna", "call", "--date", "tomorrow"], 2, "in the future"),
    (["log", "anna", "call", "--due", "fri"], 2, "--due needs --next"),
    (["defer", "anna", "--until", "yesterday", "--reason", "x"], 2, "not in the future"),
    (["meet", "anna", "someday"], 2, "is not a date"),
    (["promote", "anna", "--force"], 2, "--force needs --reason"),
    (["promote", "anna", "--to", "reserve"], 2, "pipe demote"),
    (["demote", "anna", "--reason", "x"], 2, "--to reserve"),
    (["demote", "anna"], 2, "--reason"),
])
def test_bad_input_is_one_clear_line_without_traceback(run: Run, args: list[str], code: int, words: str) -> None:
    assert run("add", "Anna Berg").exit_code == 0
    result = run(*args)
    assert result.exit_code == code, result.output
    assert words in result.stderr
    assert "Traceback" not in result.output


# list

def seed(run: Run) -> None:
    run("add", "Olav O", "--tag", "vip", "--owner", "ben")
    run("add", "Fay FA", "--meeting", "+3d", "--stage", "FA")
    for name, stage in (("Cora C", "c"), ("Bo B", "b"), ("Bea B", "b"), ("Ada A", "a")):
        run("add", name, "--stage", stage, "--force", "--reason", "test")
    run("log", "Bo B", "call", "--next", "quote", "--due", "+5d")
    run("log", "Bea B", "call", "--next", "call back", "--due", "-2d", "--date", "-3d")
    run("add", "Res R", "--stage", "reserve")


def test_list_sorts_by_stage_then_due_and_hides_the_reserve(run: Run) -> None:
    seed(run)
    result = run("list", "--team")
    assert result.exit_code == 0
    slugs = [line.split()[0] for line in result.stdout.splitlines()[2:-1]]
    assert slugs == ["olav-o", "fay-fa", "cora-c", "bea-b", "bo-b", "ada-a"]
    assert result.stdout.splitlines()[-1] == "6 contacts of the team (1 reserve not shown: --all)"
    assert "res-r" in run("list", "--all").stdout


def test_list_on_a_shared_folder_shows_your_own_and_counts_only_them(run: Run) -> None:
    seed(run)  # Olav is ben's, every other contact the owner of this clone's (pipe.yaml owner: tester)
    result = run("list")
    slugs = [line.split()[0] for line in result.stdout.splitlines()[2:-1]]
    assert slugs == ["fay-fa", "cora-c", "bea-b", "bo-b", "ada-a"]
    assert result.stdout.splitlines()[-1] == "5 contacts of tester (1 reserve not shown: --all)"
    ben = run("list", "--owner", "BE", "--all")  # the start of a name, any case
    assert [line.split()[0] for line in ben.stdout.splitlines()[2:-1]] == ["olav-o"]
    assert ben.stdout.splitlines()[-1] == "1 contact of ben"  # ben's reserve is empty: nothing hidden is counted
    assert run("list", "--team", "--tag", "vip").stdout.splitlines()[-1] == "1 contact of the team"
    assert run("list", "--owner", "ben", "--team").exit_code == 2


@pytest.mark.parametrize(("names", "slugs"), [
    (["B"], {"bea-b", "bo-b"}),
    (["有效潜在客户二"], {"bea-b", "bo-b"}),
    (["首次会晤"], {"fay-fa"}),
    (["first-appointment"], {"fay-fa"}),
    (["FA", "a"], {"fay-fa", "ada-a"}),
    (["备用"], {"res-r"}),
    (["reserve"], {"res-r"}),
])
def test_list_accepts_stage_ids_letters_and_chinese(run: Run, names: list[str], slugs: set[str]) -> None:
    seed(run)
    args = [arg for name in names for arg in ("--stage", name)]
    rows = json.loads(run("list", *args, "--format", "json").stdout)
    assert {r["slug"] for r in rows} == slugs


def test_list_filters_and_formats(run: Run) -> None:
    seed(run)
    assert [r["slug"] for r in json.loads(run("list", "--owner", "BEN", "-f", "json").stdout)] == ["olav-o"]
    assert [r["slug"] for r in json.loads(run("list", "--team", "--tag", "vip", "-f", "json").stdout)] == ["olav-o"]
    assert json.loads(run("list", "--tag", "vip", "-f", "json").stdout) == []  # Olav is ben's, not tester's
    run("demote", "fay-fa", "--reason", "no show")  # falls back to O: source fallback
    assert [r["slug"] for r in json.loads(run("list", "--source", "后退客户", "-f", "json").stdout)] == ["fay-fa"]
    assert run("list", "--source", "friend").exit_code == 2
    due = json.loads(run("list", "--due", "-f", "json").stdout)
    assert [(r["slug"], r["overdue"]) for r in due] == [("bea-b", True)]
    csv_out = run("list", "--stage", "b", "-f", "csv").stdout.splitlines()
    assert csv_out[0] == "slug,name,class,company,next,due,days_in_stage"
    assert csv_out[1] == "bea-b,Bea B,B,,call back,2026-11-28,0"
    markdown = run("list", "-f", "markdown").stdout
    assert markdown.startswith("| contact ") and "|--" in markdown


# show

def test_show_prints_the_file_under_a_summary(pipeline: Path, run: Run) -> None:
    run("add", "Anna Berg", "--company", "Nordlys AS")
    result = run("show", "anna")
    assert result.exit_code == 0
    head, second, *rest = result.stdout.splitlines(keepends=True)
    assert head.startswith("# Anna Berg (Nordlys AS) · contacts/anna-berg.yaml · O for 0 days")
    assert second.startswith("# to reach FA: a first meeting date")
    assert "".join(rest) == contact_file(pipeline, "anna-berg").read_text(encoding="utf-8")
    data = json.loads(run("show", "Anna Berg", "--format", "json").stdout)
    assert data["slug"] == "anna-berg" and data["next_class"] == "first-appointment"
    assert data["file"]["history"][0]["reason"] == "added"


def test_contacts_are_named_by_slug_id_prefix_or_name(pipeline: Path, run: Run) -> None:
    run("add", "Anna Berg")
    run("add", "Anna Lund")
    cid = read(pipeline, "anna-berg")["id"]
    for query in ("anna-berg", cid, "anna-b", "ANNA BERG", "berg"):
        assert json.loads(run("show", query, "-f", "json").stdout)["slug"] == "anna-berg", query
    renamed = contact_file(pipeline, "anna-berg").rename(contact_file(pipeline, "berg-anna"))
    assert json.loads(run("show", cid, "-f", "json").stdout)["slug"] == "berg-anna"  # the id stays; the file moved
    renamed.rename(contact_file(pipeline, "anna-berg"))
    ambiguous = run("show", "anna")
    assert ambiguous.exit_code == 1
    assert "'anna' matches 2 contacts" in ambiguous.stderr
    assert "anna-berg" in ambiguous.stderr and "anna-lund" in ambiguous.stderr
    assert "[O]" in ambiguous.stderr  # the stage as the listing shows it, a letter for every class


# edit

def editor(tmp_path: Path, body: str) -> str:
    script = tmp_path / "editor.py"
    script.write_text("import sys, pathlib\np = pathlib.Path(sys.argv[1])\n" + body, encoding="utf-8")
    return f"{sys.executable} {script}"


def test_edit_saves_a_valid_result(pipeline: Path, run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run("add", "Anna Berg")
    before = contact_file(pipeline, "anna-berg").read_text(encoding="utf-8")
    monkeypatch.setenv("EDITOR", editor(tmp_path, "p.write_text(p.read_text() + '# my note\\nvalue: 5\\n')"))
    result = run("edit", "anna")
    assert result.exit_code == 0, result.output
    assert contact_file(pipeline, "anna-berg").read_text(encoding="utf-8") == before + "# my note\nvalue: 5\n"


def test_a_broken_edit_is_offered_again_and_can_be_abandoned(pipeline: Path, run: Run, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    run("add", "Anna Berg")
    path = contact_file(pipeline, "anna-berg")
    before = path.read_bytes()
    monkeypatch.setenv("EDITOR", editor(tmp_path, "p.write_text(p.read_text() + 'stage: [\\n')"))
    result = run("edit", "anna", input="n\n")
    assert result.exit_code == 1
    assert "YAML does not parse" in result.stderr and "Edit again?" in result.stderr
    assert "edit abandoned" in result.stderr
    assert path.read_bytes() == before


def test_a_schema_error_reopens_the_editor_until_fixed(pipeline: Path, run: Run, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    run("add", "Anna Berg")
    counter = tmp_path / "rounds"
    body = (f"c = pathlib.Path({str(counter)!r})\nn = int(c.read_text()) if c.exists() else 0\nc.write_text(str(n + 1))\n"
            "t = p.read_text()\n"
            "p.write_text(t.replace('stage: opportunity', 'stage: maybe') if n == 0 else "
            "t.replace('stage: maybe', 'stage: reserve'))\n")
    monkeypatch.setenv("EDITOR", editor(tmp_path, body))
    result = run("edit", "anna", input="y\n")
    assert result.exit_code == 1  # the history does not lead to the reserve: still refused
    assert "unknown stage 'maybe'" in result.stderr
    assert read(pipeline, "anna-berg")["stage"] == "opportunity"


def test_an_editor_that_fails_changes_nothing(pipeline: Path, run: Run, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    run("add", "Anna Berg")
    before = contact_file(pipeline, "anna-berg").read_bytes()
    monkeypatch.setenv("EDITOR", editor(tmp_path, "p.write_text('garbage')\nsys.exit(3)"))
    result = run("edit", "anna")
    assert result.exit_code == 1 and "exited with code 3" in result.stderr
    assert contact_file(pipeline, "anna-berg").read_bytes() == before
    monkeypatch.setenv("EDITOR", "no-such-editor-here")
    assert "cannot start the editor" in run("edit", "anna").stderr


# log, meet, qualify, promote, demote, defer: the tutorial, step by step

def test_the_whole_ladder_through_the_cli(pipeline: Path, run: Run) -> None:
    assert run("add", "Anna Berg", "--company", "Nordlys AS").exit_code == 0
    assert run("log", "anna", "call", "--outcome", "talked", "--note", "interested").exit_code == 0
    meet = run("meet", "anna", "thu")
    assert "Now a first appointment (FA)" in meet.stdout
    data = read(pipeline, "anna-berg")
    assert data["stage"] == "first-appointment" and data["first_meeting"] == {"date": data["first_meeting"]["date"],
                                                                              "held": False}
    assert run("promote", "anna").exit_code == 1
    run("log", "anna", "meeting", "--outcome", "held", "--next", "send the proposal", "--due", "+1w")
    assert read(pipeline, "anna-berg")["first_meeting"]["held"] is True
    assert str(read(pipeline, "anna-berg")["first_meeting"]["date"]) == TODAY  # held earlier than planned
    assert run("promote", "anna").exit_code == 0
    partial = run("qualify", "anna", "--decision-maker", "--budget")
    assert "3 of 5 B criteria met" in partial.stdout  # the dated next action is the next step
    assert "[x] next step: send the proposal" in partial.stdout and "[ ] proposal fits" in partial.stdout
    refused = run("promote", "anna")
    assert refused.exit_code == 1
    assert "B: not confirmed that the proposal fits" in refused.stderr and "decision-maker" not in refused.stderr
    full = run("qualify", "anna", "--proposal-fits", "--decision-date", "+3w", "--start-date", "+2m",
               "--next-step", "workshop with IT")
    assert "5 of 5 B criteria met. Ready for B" in full.stdout
    assert run("promote", "anna").exit_code == 0
    assert run("qualify", "anna", "--verbal-yes", "today").exit_code == 0
    declined = run("promote", "anna", input="n\n")
    assert declined.exit_code == 1 and "Would you bet your salary on this deal?" in declined.output
    assert read(pipeline, "anna-berg")["stage"] == "b"
    assert run("promote", "anna", input="y\n").exit_code == 0
    assert run("promote", "anna", "--value", "24000").exit_code == 0
    data = read(pipeline, "anna-berg")
    assert data["stage"] == "closed" and data["closed"]["value"] == 24000
    assert [h["to"] for h in data["history"]] == ["opportunity", "first-appointment", "c", "b", "a", "closed"]
    assert [a["kind"] for a in data["activities"]] == ["call", "meeting"]
    assert run("promote", "anna").exit_code == 1
    assert run("check").exit_code == 0


def test_phone_mode_needs_a_second_effective_call(pipeline: Path, run: Run) -> None:
    config = pipeline / "pipe.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("mode: field", "mode: phone"), encoding="utf-8")
    run("add", "Anna Berg")
    first = run("meet", "anna", "+2d")
    assert "Still an opportunity" in first.stdout and "second effective call" in first.stdout
    run("log", "anna", "call", "--outcome", "talked", "--date", "-2d")
    run("log", "anna", "call", "--outcome", "talked")
    assert run("promote", "anna").exit_code == 0
    assert read(pipeline, "anna-berg")["stage"] == "first-appointment"


def test_force_is_kept_in_the_history(pipeline: Path, run: Run) -> None:
    run("add", "Anna Berg")
    assert run("promote", "anna", "--to", "c", "--force", "--reason", "met at the fair").exit_code == 0
    last = read(pipeline, "anna-berg")["history"][-1]
    assert last["forced"] is True and last["reason"] == "met at the fair" and last["from"] == "opportunity"


def test_demote_defer_and_back_from_the_reserve(pipeline: Path, run: Run) -> None:
    run("add", "Anna Berg", "--stage", "c", "--force", "--reason", "import")
    assert run("demote", "anna", "--to", "opportunity", "--reason", "no next step").exit_code == 0
    data = read(pipeline, "anna-berg")
    assert data["source"] == "fallback" and data["history"][-1]["reason"] == "no next step"
    assert run("defer", "anna", "--until", "+6m", "--reason", "call me after the summer").exit_code == 0
    assert read(pipeline, "anna-berg")["deferred"] == {
        "until": read(pipeline, "anna-berg")["deferred"]["until"], "reason": "call me after the summer",
        "asked": read(pipeline, "anna-berg")["created"]}
    assert str(read(pipeline, "anna-berg")["deferred"]["until"]) == "2027-05-30"
    assert run("demote", "anna", "--to", "备用", "--reason", "call me in six months").exit_code == 0
    assert read(pipeline, "anna-berg")["stage"] == "reserve"
    assert run("promote", "anna", "--to", "opportunity").exit_code == 0
    assert read(pipeline, "anna-berg")["stage"] == "opportunity"
    assert run("check").exit_code == 0


def test_every_command_has_help_with_examples_and_a_readme_entry() -> None:
    readme = docs_text()
    import typer.main

    group = typer.main.get_command(app)
    names = sorted(group.commands)  # type: ignore[attr-defined]
    assert {"init", "add", "list", "show", "edit", "log", "meet", "qualify", "promote", "demote", "defer",
            "check"} <= set(names)
    for name in names:
        result = CliRunner().invoke(app, [name, "--help"])
        assert result.exit_code == 0
        assert "Examples:" in result.stdout, name
        assert f"`pipe {name}" in readme, f"pipe {name} is not in the docs"


def test_the_demo_pipeline_is_clean_and_every_listing_runs() -> None:
    demo = Path(__file__).parent.parent / "examples" / "demo"
    runner = CliRunner()
    assert runner.invoke(app, ["-C", str(demo), "--today", TODAY, "check"]).exit_code == 0
    listing = runner.invoke(app, ["-C", str(demo), "--today", TODAY, "list", "--all", "-f", "json"])
    assert {r["stage"] for r in json.loads(listing.stdout)} == {
        "opportunity", "first-appointment", "c", "b", "a", "closed", "reserve"}
    assert runner.invoke(app, ["-C", str(demo), "--today", TODAY, "show", "wang-fang"]).exit_code == 0
