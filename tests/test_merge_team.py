"""A team that never sees a conflict marker: real clones of a bare remote, merging contact files by meaning."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import contact_file
from test_git import _hermetic_git, as_bo, git, init, ok, pipe, subjects

from pipecli.mergesetup import ATTRIBUTE_LINE, DRIVER, driver_command

__all__ = ["_hermetic_git"]  # the autouse fixture, shared with test_git


def data(root: Path, slug: str) -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(contact_file(root, slug).read_text(encoding="utf-8"))


def commit_by_hand(root: Path, message: str) -> None:
    git(root, "commit", "--quiet", "-am", message)


@pytest.fixture
def team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Path]:
    """Anna's clone (which published the pipeline), Bo's and Cai's clones of one bare repository."""
    shared = tmp_path / "shared.git"
    git(tmp_path, "init", "--quiet", "--bare", str(shared))
    anna = init(tmp_path / "anna")
    ok(anna, "add", "Zhang Wei", "--company", "Huaxin Logistics")
    ok(anna, "meet", "zhang", "2026-11-20")
    ok(anna, "add", "Ola Nordmann", "--company", "Fjord AS")
    git(anna, "remote", "add", "origin", str(shared))
    ok(anna, "sync")
    for name in ("bo", "cai"):
        git(tmp_path, "clone", "--quiet", str(shared), name)
        ok(tmp_path / name, "list")  # any command registers the driver in a fresh clone
    return anna, tmp_path / "bo", tmp_path / "cai"


def bo_does(monkeypatch: pytest.MonkeyPatch, bo: Path, *args: str, code: int = 0):  # type: ignore[no-untyped-def]
    with monkeypatch.context() as env:
        as_bo(env)
        result = pipe(bo, *args)
    assert result.exit_code == code, result.output
    return result


def same_everywhere(*clones: Path) -> None:
    heads = {git(c, "rev-parse", "HEAD") for c in clones}
    assert len(heads) == 1
    for clone in clones:
        assert git(clone, "status", "--porcelain") == ""
        assert ok(clone, "check").exit_code == 0


# --- §1 the driver is registered -------------------------------------------------------------------


def test_init_and_any_command_in_a_fresh_clone_register_the_driver(team: tuple[Path, Path, Path]) -> None:
    anna, bo, _ = team
    assert ".gitattributes" in git(anna, "show", "--name-only", "--format=", "HEAD~" + str(len(subjects(anna)) - 1))
    for clone in (anna, bo):
        assert git(clone, "config", f"merge.{DRIVER}.driver").strip() == driver_command()
        assert ATTRIBUTE_LINE in (clone / ".gitattributes").read_text(encoding="utf-8")
        assert git(clone, "check-attr", "merge", "contacts/zhang-wei.yaml").strip().endswith(f"merge: {DRIVER}")


def test_an_existing_pipeline_gets_the_attribute_committed_and_the_setting_turns_it_off(tmp_path: Path) -> None:
    root = init(tmp_path / "old")
    git(root, "rm", "--quiet", ".gitattributes")
    git(root, "commit", "--quiet", "-m", "a pipeline from before the driver")
    git(root, "config", "--remove-section", f"merge.{DRIVER}")
    ok(root, "list")
    assert subjects(root)[0] == "init: contact files merge by their meaning (.gitattributes)"
    assert git(root, "config", f"merge.{DRIVER}.driver").strip() == driver_command()
    assert git(root, "status", "--porcelain") == ""
    before = subjects(root)
    ok(root, "list")
    assert subjects(root) == before  # in place: nothing more is done
    (root / ".pipe").mkdir(exist_ok=True)
    (root / ".pipe" / "local.yaml").write_text("git:\n  merge: false\n", encoding="utf-8")
    ok(root, "list")
    assert subprocess.run(["git", "config", f"merge.{DRIVER}.driver"], cwd=root, capture_output=True).returncode == 1


def test_the_check_on_every_command_runs_no_git_when_all_is_in_place(team: tuple[Path, Path, Path],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    anna, _, _ = team
    from pipecli import gitio

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("git ran")

    monkeypatch.setattr(gitio, "set_merge_driver", refuse)
    monkeypatch.setattr(gitio, "git", refuse)
    ok(anna, "list")
    ok(anna, "show", "zhang")


# --- §2 and §3: the team syncs without stopping ------------------------------------------------------


def test_concurrent_activity_logs_on_one_contact_are_both_kept_in_date_order(
        team: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    anna, bo, cai = team
    ok(anna, "log", "zhang", "call", "--outcome", "talked", "--date", "2026-11-27", "--note", "Anna: wants a demo")
    ok(anna, "meet", "ola", "2026-12-03")  # Anna moves one contact ...
    ok(anna, "sync")
    bo_does(monkeypatch, bo, "log", "zhang", "email", "--outcome", "no-reply", "--date", "2026-11-25", "--note", "Bo")
    bo_does(monkeypatch, bo, "add", "Li Na", "--company", "Jade Trading")
    bo_does(monkeypatch, bo, "meet", "li-na", "2026-12-04")  # ... Bo another
    bo_does(monkeypatch, bo, "log", "ola", "call", "--outcome", "talked", "--note", "Bo called Ola")
    ok(cai, "log", "zhang", "visit", "--outcome", "held", "--date", "2026-11-29", "--note", "Cai visited")
    synced = bo_does(monkeypatch, bo, "sync")
    assert "Arrived from origin/main: 2 commits by Test Seller" in synced.stdout
    assert "  changed  Zhang Wei (Huaxin Logistics): 1 activity logged\n" in synced.stdout  # one line per contact
    assert "  moved    Ola Nordmann (Fjord AS): O -> FA; first_meeting, next\n" in synced.stdout
    assert "Sent 4 commits" in synced.stdout
    ok(cai, "sync")
    ok(anna, "sync")
    ok(bo, "sync")
    same_everywhere(anna, bo, cai)
    assert data(cai, "li-na")["stage"] == "first-appointment"
    assert data(cai, "ola-nordmann")["stage"] == "first-appointment"
    notes = [a.get("note") for a in data(anna, "zhang-wei")["activities"]]
    assert notes == ["Bo", "Anna: wants a demo", "Cai visited"]  # date order, each once
    assert "<<<<<<<" not in contact_file(anna, "zhang-wei").read_text(encoding="utf-8")
    assert git(anna, "log", "--merges", "--format=%s") == ""


def test_one_side_defers_while_the_other_changes_the_email(team: tuple[Path, Path, Path],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    anna, bo, _ = team
    ok(anna, "defer", "zhang", "--until", "+6m", "--reason", "call me after the summer")
    ok(anna, "sync")
    path = contact_file(bo, "zhang-wei")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("company: Huaxin Logistics\n",
                                 "company: Huaxin Logistics\nemail: zhang.wei@huaxin.example\n"), encoding="utf-8")
    commit_by_hand(bo, "Zhang's e-mail")
    # defer makes calling back the next action
    assert "  changed  Zhang Wei (Huaxin Logistics): deferred, next\n" in bo_does(monkeypatch, bo, "sync").stdout
    assert "  changed  Zhang Wei (Huaxin Logistics): email\n" in ok(anna, "sync").stdout
    same_everywhere(anna, bo)
    merged = data(anna, "zhang-wei")
    assert merged["email"] == "zhang.wei@huaxin.example"
    assert merged["deferred"]["reason"] == "call me after the summer"


def test_both_sides_move_the_stage_and_the_evidence_decides(team: tuple[Path, Path, Path],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    anna, bo, _ = team
    ok(anna, "log", "zhang", "meeting", "--outcome", "held", "--date", "2026-11-20", "--next", "send the quote",
       "--due", "+1w")
    ok(anna, "promote", "zhang")  # FA -> C, with the evidence
    ok(anna, "sync")
    bo_does(monkeypatch, bo, "demote", "zhang", "--reason", "no answer since")  # FA -> O
    bo_does(monkeypatch, bo, "sync")
    ok(anna, "sync")
    same_everywhere(anna, bo)
    merged = data(anna, "zhang-wei")
    assert merged["stage"] == "c"  # the merged evidence (meeting held, a next step) supports C, not O
    moves = [(h.get("from"), h["to"]) for h in merged["history"]]
    assert ("first-appointment", "c") in moves
    assert ("first-appointment", "opportunity") in moves  # both moves kept
    assert moves[-1][1] == "c"  # the history ends where the stage is (pipe check passed above)
    assert chained(merged["history"]), merged["history"]  # one chain: each move starts where the last one ended


def chained(history: list[dict]) -> bool:  # type: ignore[type-arg]
    return all(after.get("from") == before["to"] for before, after in zip(history, history[1:], strict=False))


def test_stage_moves_that_cannot_both_hold_stop_in_pipes_words_and_resolve_picks_a_side(
        team: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    anna, bo, _ = team
    ok(anna, "demote", "zhang", "--to", "reserve", "--reason", "bought elsewhere")
    ok(anna, "sync")
    bo_does(monkeypatch, bo, "demote", "zhang", "--reason", "meeting cancelled")
    bo_does(monkeypatch, bo, "log", "zhang", "call", "--outcome", "talked", "--note", "Bo: call in spring")
    stopped = bo_does(monkeypatch, bo, "sync", code=1)
    assert "<<<<<<<" not in contact_file(bo, "zhang-wei").read_text(encoding="utf-8")
    assert "Zhang Wei (Huaxin Logistics) (contacts/zhang-wei.yaml)" in stopped.stderr
    assert "stage: yours 'O', the team's 'reserve'" in stopped.stderr
    assert "pipe resolve zhang-wei --mine" in stopped.stderr
    refused = bo_does(monkeypatch, bo, "log", "zhang", "call", code=1)
    assert "rebase is in progress" in refused.stderr
    again = bo_does(monkeypatch, bo, "sync", code=1)  # says again what it waits for
    assert "stage: yours 'O', the team's 'reserve'" in again.stderr
    assert "pipe resolve zhang-wei --mine" in again.stderr
    resolved = bo_does(monkeypatch, bo, "resolve", "zhang-wei", "--theirs")
    assert "Sent" in resolved.stdout
    ok(anna, "sync")
    same_everywhere(anna, bo)
    merged = data(anna, "zhang-wei")
    assert merged["stage"] == "reserve"
    reasons = [h.get("reason") for h in merged["history"]]
    assert "bought elsewhere" in reasons
    assert "meeting cancelled" in reasons  # nothing either side wrote is lost
    assert any(a.get("note") == "Bo: call in spring" for a in merged["activities"])


def test_the_same_key_changed_to_two_values_stops_and_mine_keeps_mine(team: tuple[Path, Path, Path],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    anna, bo, _ = team
    for clone, title, who in ((anna, "CFO", "anna"), (bo, "Head of IT", "bo")):
        path = contact_file(clone, "zhang-wei")
        path.write_text(path.read_text(encoding="utf-8").replace("company: Huaxin Logistics\n",
                        f"company: Huaxin Logistics\ntitle: {title}\n"), encoding="utf-8")
        commit_by_hand(clone, f"title by {who}")
    ok(anna, "sync")
    stopped = bo_does(monkeypatch, bo, "sync", code=1)
    assert "title: yours 'Head of IT', the team's 'CFO'" in stopped.stderr
    bo_does(monkeypatch, bo, "resolve", "Zhang Wei", "--mine")
    ok(anna, "sync")
    same_everywhere(anna, bo)
    assert data(anna, "zhang-wei")["title"] == "Head of IT"


def test_two_people_with_the_same_file_name_both_survive_with_their_ids(
        team: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    anna, bo, _ = team
    ok(anna, "add", "Li Na", "--company", "Jade Trading")
    ok(anna, "sync")
    bo_does(monkeypatch, bo, "add", "Li Na", "--company", "Pearl Ltd")
    bo_does(monkeypatch, bo, "log", "li-na", "call", "--outcome", "talked", "--note", "Bo's Li Na")
    bos_id = data(bo, "li-na")["id"]
    synced = bo_does(monkeypatch, bo, "sync")
    assert "renamed  yours contacts/li-na.yaml -> contacts/li-na-pearl-ltd.yaml" in synced.stdout
    ok(anna, "sync")
    same_everywhere(anna, bo)
    assert data(anna, "li-na")["company"] == "Jade Trading"
    renamed = data(anna, "li-na-pearl-ltd")
    assert (renamed["id"], renamed["company"]) == (bos_id, "Pearl Ltd")
    assert renamed["activities"][-1]["note"] == "Bo's Li Na"


def test_a_comment_written_by_hand_on_one_side_is_kept(team: tuple[Path, Path, Path],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    anna, bo, _ = team
    ok(anna, "log", "zhang", "call", "--outcome", "talked", "--date", "2026-11-21", "--note", "first")
    ok(anna, "sync")
    bo_does(monkeypatch, bo, "sync")
    path = contact_file(anna, "zhang-wei")
    path.write_text(path.read_text(encoding="utf-8").replace("stage:", "# prefers WeChat to e-mail\nstage:")
                    .replace("activities:", "activities:  # calls and meetings"), encoding="utf-8")
    commit_by_hand(anna, "a note on Zhang")
    ok(anna, "log", "zhang", "call", "--outcome", "talked", "--date", "2026-11-28", "--note", "Anna")
    ok(anna, "sync")
    bo_does(monkeypatch, bo, "log", "zhang", "call", "--outcome", "no-answer", "--date", "2026-11-26", "--note", "Bo")
    path = contact_file(bo, "zhang-wei")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if "note: Bo}" in line)
    lines[at] = lines[at].rstrip("\n") + "  # he sounded busy\n"
    lines.insert(at, "  # Bo's own call\n")
    path.write_text("".join(lines), encoding="utf-8")
    commit_by_hand(bo, "Bo's comments")
    bo_does(monkeypatch, bo, "sync")
    ok(anna, "sync")
    same_everywhere(anna, bo)
    text = contact_file(anna, "zhang-wei").read_text(encoding="utf-8")
    assert "# prefers WeChat to e-mail\nstage:" in text
    assert "activities:  # calls and meetings\n" in text
    assert "  # Bo's own call\n  - {date: 2026-11-26, kind: call, outcome: no-answer, note: Bo}  # he sounded busy\n" in text
    assert [a["note"] for a in data(anna, "zhang-wei")["activities"]] == ["first", "Bo", "Anna"]


def test_a_broken_file_falls_back_to_gits_merge_with_nothing_lost(team: tuple[Path, Path, Path],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    anna, bo, _ = team
    path = contact_file(anna, "zhang-wei")
    path.write_text(path.read_text(encoding="utf-8").replace("name: Zhang Wei", "name: [Zhang Wei"), encoding="utf-8")
    commit_by_hand(anna, "a typo")
    ok(anna, "sync")
    bo_does(monkeypatch, bo, "log", "zhang", "call", "--outcome", "talked", "--note", "Bo: wants a demo")
    bo_does(monkeypatch, bo, "sync")  # git's line merge: the lines differ, so it merges cleanly
    text = contact_file(bo, "zhang-wei").read_text(encoding="utf-8")
    assert "name: [Zhang Wei\n" in text
    assert "Bo: wants a demo" in text
    # the same line changed on both sides of a broken file: git's conflict markers, as without the driver
    ok(anna, "sync")
    path.write_text(text.replace("owner: Test Seller", "owner: [anna"), encoding="utf-8")
    commit_by_hand(anna, "another typo")
    ok(anna, "sync")
    mine = contact_file(bo, "zhang-wei")
    mine.write_text(text.replace("owner: Test Seller", "owner: bo"), encoding="utf-8")
    commit_by_hand(bo, "Bo takes Zhang")
    stopped = bo_does(monkeypatch, bo, "sync", code=1)
    assert "contacts/zhang-wei.yaml" in stopped.stderr
    assert "pipe sync --continue" in stopped.stderr
    text = mine.read_text(encoding="utf-8")
    assert "<<<<<<<" in text
    assert "owner: [anna" in text
    assert "owner: bo" in text
    assert "Bo: wants a demo" in text
    mine.write_text(text.replace("owner: [anna", "owner: anna").replace("name: [Zhang Wei", "name: Zhang Wei"),
                    encoding="utf-8")
    kept = "".join(line for line in mine.read_text(encoding="utf-8").splitlines(keepends=True)
                   if not line.startswith(("<<<<<<<", "=======", ">>>>>>>", "owner: anna")))
    mine.write_text(kept, encoding="utf-8")
    git(bo, "add", "--", "contacts/zhang-wei.yaml")
    bo_does(monkeypatch, bo, "sync", "--continue")
    ok(anna, "sync")
    same_everywhere(anna, bo)
    assert data(anna, "zhang-wei")["owner"] == "bo"


def test_uncommitted_contact_files_are_named_then_committed_with_sync_commit(
        team: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    anna, bo, _ = team
    ok(anna, "log", "ola", "call", "--outcome", "talked")
    ok(anna, "sync")
    new = contact_file(bo, "kari-holm")
    new.write_text("id: k1\nname: Kari Holm\nstage: opportunity\n", encoding="utf-8")
    path = contact_file(bo, "zhang-wei")
    path.write_text(path.read_text(encoding="utf-8") + "# met at the fair\n", encoding="utf-8")
    before = git(bo, "rev-parse", "HEAD")
    refused = bo_does(monkeypatch, bo, "sync", code=1)
    assert "contacts/kari-holm.yaml  (new, not committed)" in refused.stderr
    assert "contacts/zhang-wei.yaml  (changed, not committed)" in refused.stderr
    assert "pipe sync --commit" in refused.stderr
    assert git(bo, "rev-parse", "HEAD") == before
    synced = bo_does(monkeypatch, bo, "sync", "--commit")
    assert "Committed contacts/kari-holm.yaml" in synced.stdout
    ok(anna, "sync")
    same_everywhere(anna, bo)
    assert data(anna, "kari-holm")["name"] == "Kari Holm"


def test_in_a_plain_git_merge_ours_is_mine_and_resolve_knows_it(team: tuple[Path, Path, Path],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    anna, bo, _ = team
    ok(anna, "log", "zhang", "call", "--outcome", "talked", "--note", "Anna")
    for clone, title in ((anna, "CFO"), (bo, "Head of IT")):
        path = contact_file(clone, "zhang-wei")
        path.write_text(path.read_text(encoding="utf-8").replace("owner:", f"title: {title}\nowner:"), encoding="utf-8")
        commit_by_hand(clone, f"title {title}")
    ok(anna, "sync")
    bo_does(monkeypatch, bo, "log", "zhang", "call", "--outcome", "no-answer", "--note", "Bo")
    merged = subprocess.run(["git", "pull", "--no-rebase", "--quiet"], cwd=bo, capture_output=True, text=True)
    assert merged.returncode != 0  # git merge stops on the true conflict: the title
    assert "'title' changed on both sides" in merged.stderr + merged.stdout
    assert "<<<<<<<" not in contact_file(bo, "zhang-wei").read_text(encoding="utf-8")
    bo_does(monkeypatch, bo, "resolve", "zhang", "--mine")
    ok(anna, "sync")
    same_everywhere(anna, bo)
    final = data(anna, "zhang-wei")
    assert final["title"] == "Head of IT"
    assert [a["note"] for a in final["activities"]] == ["Anna", "Bo"]


def test_a_renamed_person_and_a_true_conflict_in_one_sync_both_come_through(
        team: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    anna, bo, _ = team
    ok(anna, "add", "Li Na", "--company", "Jade Trading")
    bo_does(monkeypatch, bo, "add", "Li Na", "--company", "Pearl Ltd")
    for clone, title in ((anna, "CFO"), (bo, "Head of IT")):
        path = contact_file(clone, "zhang-wei")
        path.write_text(path.read_text(encoding="utf-8").replace("owner:", f"title: {title}\nowner:"), encoding="utf-8")
        commit_by_hand(clone, f"title {title}")
    ok(anna, "sync")
    stopped = bo_does(monkeypatch, bo, "sync", code=1)
    assert "title: yours 'Head of IT', the team's 'CFO'" in stopped.stderr
    assert contact_file(bo, "li-na-pearl-ltd").exists()  # renamed in Bo's own commit before the rebase
    assert "renamed  yours contacts/li-na.yaml -> contacts/li-na-pearl-ltd.yaml" in stopped.stdout
    bo_does(monkeypatch, bo, "resolve", "zhang-wei", "--mine")
    ok(anna, "sync")
    same_everywhere(anna, bo)
    assert data(anna, "li-na-pearl-ltd")["company"] == "Pearl Ltd"
    assert data(anna, "li-na")["company"] == "Jade Trading"
    assert data(anna, "zhang-wei")["title"] == "Head of IT"
