"""Defects a new-user trial found in the team sync (issue 15's follow-up): real clones of a bare remote."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import contact_file
from test_git import _hermetic_git, git, init, ok, pipe
from test_merge_team import bo_does, chained, commit_by_hand, data, same_everywhere, team

__all__ = ["_hermetic_git", "team"]  # the fixtures, shared with test_git and test_merge_team


# --- 2: sync --commit commits only regular files that read as contacts, and checks all first ------------------


def test_sync_commit_refuses_links_and_broken_files_and_commits_nothing(
        team: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    anna, bo, _ = team
    secret = tmp_path / "secret.txt"
    secret.write_text("name: the host\nstage: opportunity\n", encoding="utf-8")  # it would even read as a contact
    os.symlink(secret, contact_file(bo, "host"))
    contact_file(bo, "broken").write_text("name: [Broken\nstage: opportunity\n", encoding="utf-8")
    contact_file(bo, "good").write_text("id: g1\nname: Good One\nstage: opportunity\n", encoding="utf-8")
    before = git(bo, "rev-parse", "HEAD")
    refused = bo_does(monkeypatch, bo, "sync", "--commit", code=1)
    assert "nothing was committed" in refused.stderr
    assert f"contacts/host.yaml is a symbolic link (to {secret})" in refused.stderr
    assert "contacts/broken.yaml does not read as a contact (line" in refused.stderr
    assert "contacts/good.yaml" not in refused.stderr
    assert "pipe check" in refused.stderr
    assert git(bo, "rev-parse", "HEAD") == before  # all or nothing: the good file waits too
    assert git(bo, "ls-files", "contacts") == git(anna, "ls-files", "contacts")
    contact_file(bo, "host").unlink()
    contact_file(bo, "broken").write_text("id: b1\nname: Broken\nstage: opportunity\n", encoding="utf-8")
    synced = bo_does(monkeypatch, bo, "sync", "--commit")
    assert "Committed contacts/good.yaml" in synced.stdout
    assert "Committed contacts/broken.yaml" in synced.stdout
    ok(anna, "sync")
    same_everywhere(anna, bo)


def test_sync_commit_without_a_remote_commits_nothing(tmp_path: Path) -> None:
    root = init(tmp_path / "alone")
    ok(root, "add", "Zhang Wei")
    contact_file(root, "kari").write_text("id: k1\nname: Kari\nstage: opportunity\n", encoding="utf-8")
    before = git(root, "rev-parse", "HEAD")
    refused = pipe(root, "sync", "--commit")
    assert refused.exit_code == 1
    assert "no remote to sync with" in refused.stderr
    assert git(root, "rev-parse", "HEAD") == before
    assert "?? contacts/kari.yaml" in git(root, "status", "--porcelain")


# --- 1: the value not picked by pipe resolve stays, in the file and in the branch's history ----------------------


def set_title(clone: Path, slug: str, title: str, who: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = contact_file(clone, slug)
    path.write_text(path.read_text(encoding="utf-8").replace("owner:", f"title: {title}\nowner:"), encoding="utf-8")
    if who == "bo":
        with monkeypatch.context() as env:
            from test_git import as_bo

            as_bo(env)
            commit_by_hand(clone, f"title {title}")
    else:
        commit_by_hand(clone, f"title {title}")


@pytest.mark.parametrize("side", ["--theirs", "--mine"])
def test_resolve_keeps_the_value_not_picked_in_the_contact_and_in_history(
        team: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch, side: str) -> None:
    anna, bo, _ = team
    set_title(anna, "zhang-wei", "Head of IT", "anna", monkeypatch)
    ok(anna, "sync")
    set_title(bo, "zhang-wei", "CFO", "bo", monkeypatch)
    bo_does(monkeypatch, bo, "sync", code=1)
    waiting = bo_does(monkeypatch, bo, "sync", "--continue", code=1)  # untouched: still waits for pipe resolve
    assert "Added" not in waiting.stdout and "pipe resolve zhang-wei --mine" in waiting.stderr
    bo_does(monkeypatch, bo, "resolve", "zhang-wei", side)
    ok(anna, "sync")
    same_everywhere(anna, bo)
    kept, aside = ("Head of IT", "CFO") if side == "--theirs" else ("CFO", "Head of IT")
    assert data(anna, "zhang-wei")["title"] == kept
    text = contact_file(anna, "zhang-wei").read_text(encoding="utf-8")
    note = next(line for line in text.splitlines() if "pipe resolve" in line)
    assert f"title '{aside}' (" in note and f"set aside for '{kept}'" in note
    assert ("Bo Li" if aside == "CFO" else "Test Seller") in note.split("set aside")[0]
    assert text.index(note) < text.index("title:")  # right above the key
    history = git(anna, "log", "-p", "--all", "--", "contacts/zhang-wei.yaml")
    assert "CFO" in history and "Head of IT" in history
    assert ok(anna, "check").exit_code == 0


# --- 3: a stage settled by resolve (or by the evidence) leaves one chain of moves that leads to it ------------


@pytest.mark.parametrize(("side", "stage"), [("--mine", "reserve"), ("--theirs", "first-appointment")])
def test_resolve_on_a_stage_conflict_leaves_a_history_that_leads_to_the_stage_kept(
        team: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch, side: str, stage: str) -> None:
    anna, bo, _ = team
    ok(anna, "meet", "ola", "2026-12-04")  # O -> FA
    ok(anna, "sync")
    bo_does(monkeypatch, bo, "demote", "ola", "--to", "reserve", "--reason", "went elsewhere")  # O -> reserve
    bo_does(monkeypatch, bo, "sync", code=1)
    bo_does(monkeypatch, bo, "resolve", "ola", side)
    ok(anna, "sync")
    same_everywhere(anna, bo)
    merged = data(anna, "ola-nordmann")
    history = merged["history"]
    assert merged["stage"] == stage
    assert chained(history), history
    assert history[-1]["to"] == stage
    moves = [(h.get("from"), h["to"]) for h in history]
    assert ("opportunity", "first-appointment") in moves and ("opportunity", "reserve") in moves  # both kept
    assert any("merge: both sides moved it" in str(h.get("reason")) for h in history)
    stats = ok(anna, "stats", "--format", "json")
    assert stats.exit_code == 0


# --- 4 and 5: a taken file name: each replayed commit kept, and the same person twice said as such ------------


def test_a_renamed_person_keeps_one_commit_per_command(team: tuple[Path, Path, Path],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    anna, bo, _ = team
    ok(anna, "add", "李明", "--company", "Jade Trading")
    ok(anna, "sync")
    bo_does(monkeypatch, bo, "add", "李明", "--company", "Pearl Ltd")
    bo_does(monkeypatch, bo, "log", "李明", "call", "--outcome", "talked", "--note", "Bo's Li Ming")
    mine = git(bo, "log", "--format=%s%x09%an%x09%ad", "origin/main..HEAD").splitlines()
    slug = next(p.stem for p in (bo / "contacts").iterdir() if p.stem not in ("zhang-wei", "ola-nordmann"))
    synced = bo_does(monkeypatch, bo, "sync")
    assert "Sent 2 commits" in synced.stdout
    new = f"contacts/{slug}-pearl-ltd.yaml"
    assert f"renamed  yours contacts/{slug}.yaml -> {new}: contacts/{slug}.yaml is another person" in synced.stdout
    sent = git(bo, "log", "--format=%s%x09%an%x09%ad", "HEAD~2..HEAD").splitlines()
    assert sent == mine  # the same commits: messages, authors and dates, one per command
    assert git(bo, "show", "--name-status", "--format=", "HEAD~1").split() == ["A", new]
    assert git(bo, "show", "--name-status", "--format=", "HEAD").split() == ["M", new]
    ok(anna, "sync")
    same_everywhere(anna, bo)
    assert data(anna, f"{slug}-pearl-ltd")["activities"][-1]["note"] == "Bo's Li Ming"
    assert data(anna, slug)["company"] == "Jade Trading"


@pytest.mark.parametrize("same", ["email", "name and company"])
def test_the_same_person_added_twice_is_said_to_be_one_person(team: tuple[Path, Path, Path],
                                                              monkeypatch: pytest.MonkeyPatch, same: str) -> None:
    anna, bo, _ = team
    extra = ("--email", "li@jade.example") if same == "email" else ()
    ok(anna, "add", "Li Na", "--company", "Jade Trading", *extra)
    ok(anna, "sync")
    bo_does(monkeypatch, bo, "add", "Li Na", "--company", "Jade Trading" if same != "email" else "Jade",
            *(("--email", "LI@jade.example") if same == "email" else ()))
    synced = bo_does(monkeypatch, bo, "sync")
    assert "another person" not in synced.stdout
    assert "probably the same person twice" in synced.stdout
    assert ("same e-mail, li@jade.example" if same == "email" else "same name and company") in synced.stdout
    assert "pipe demote li-na-jade" in synced.stdout and "--to reserve" in synced.stdout
    ok(anna, "sync")
    assert git(anna, "rev-parse", "HEAD") == git(bo, "rev-parse", "HEAD")
    checked = pipe(anna, "check")
    assert ("same e-mail as" if same == "email" else "same name and company as") in checked.output


def test_two_different_people_still_say_another_person(team: tuple[Path, Path, Path],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    anna, bo, _ = team
    ok(anna, "add", "Li Na", "--company", "Jade Trading", "--email", "li@jade.example")
    ok(anna, "sync")
    bo_does(monkeypatch, bo, "add", "Li Na", "--company", "Pearl Ltd", "--email", "lina@pearl.example")
    synced = bo_does(monkeypatch, bo, "sync")
    assert "contacts/li-na.yaml is another person from the team (both kept)" in synced.stdout
    assert "same person" not in synced.stdout


# --- 6: while a sync is stopped, every message points to pipe's own way out -------------------------------------


def stop_on_markers(anna: Path, bo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A broken file changed on the same line on both sides: git's line merge stops with markers in Bo's clone."""
    for clone, owner in ((anna, "owner: [anna"), (bo, "owner: [bo")):
        path = contact_file(clone, "zhang-wei")
        path.write_text(path.read_text(encoding="utf-8").replace("owner: Test Seller", owner), encoding="utf-8")
        commit_by_hand(clone, f"{owner} by hand")
    ok(anna, "sync")
    stopped = bo_does(monkeypatch, bo, "sync", code=1)
    assert "pipe sync --continue" in stopped.stderr and "pipe sync --abort" in stopped.stderr
    assert "git rebase" not in stopped.stderr
    return contact_file(bo, "zhang-wei")


def test_while_stopped_commands_point_to_pipes_way_out_and_continue_adds_unmarked_files(
        team: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    anna, bo, _ = team
    mine = stop_on_markers(anna, bo, monkeypatch)
    refused = bo_does(monkeypatch, bo, "log", "ola", "call", code=1)
    for way in ("pipe sync", "pipe resolve", "pipe sync --continue", "pipe sync --abort"):
        assert way in refused.stderr
    assert "git -c" not in refused.stderr and "git rebase" not in refused.stderr
    text = mine.read_text(encoding="utf-8")
    still = bo_does(monkeypatch, bo, "sync", "--continue", code=1)  # markers still there: named again
    assert "contacts/zhang-wei.yaml" in still.stderr and "Added" not in still.stdout
    # markers removed, the file still does not read: refused by name, not added
    unmarked = "".join(line for line in text.splitlines(keepends=True)
                       if not line.startswith(("<<<<<<<", "=======", ">>>>>>>", "owner: [anna")))
    mine.write_text(unmarked, encoding="utf-8")
    broken = bo_does(monkeypatch, bo, "sync", "--continue", code=1)
    assert "no conflict markers left, but does not read as a contact" in broken.stderr
    assert "each file holds both versions" not in broken.stderr
    mine.write_text(unmarked.replace("owner: [bo", "owner: bo"), encoding="utf-8")
    went_on = bo_does(monkeypatch, bo, "sync", "--continue")  # no git add: pipe adds it
    assert "Added contacts/zhang-wei.yaml: no conflict markers left." in went_on.stdout
    assert "each file holds both versions" not in went_on.stdout + went_on.stderr
    assert "Sent 1 commit" in went_on.stdout
    ok(anna, "sync")
    same_everywhere(anna, bo)
    assert data(anna, "zhang-wei")["owner"] == "bo"


def test_sync_abort_puts_everything_back(team: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    anna, bo, _ = team
    stop_on_markers(anna, bo, monkeypatch)
    bos_commit = git(bo, "rev-parse", "ORIG_HEAD")  # Bo's branch as it was before the sync
    aborted = bo_does(monkeypatch, bo, "sync", "--abort")
    assert "nothing was sent" in aborted.stdout
    assert git(bo, "rev-parse", "HEAD") == bos_commit
    assert git(bo, "log", "-1", "--format=%s") == "owner: [bo by hand\n"
    text = contact_file(bo, "zhang-wei").read_text(encoding="utf-8")
    assert "owner: [bo\n" in text and "<<<<<<<" not in text
    assert git(bo, "status", "--porcelain") == ""
    assert not (bo / ".git" / "rebase-merge").exists()
    bo_does(monkeypatch, bo, "log", "ola", "call")  # commands change contacts again
    again = bo_does(monkeypatch, bo, "sync", "--abort", code=2)
    assert "nothing to abort" in again.stderr


# --- 7: every contact file that arrived is named, even one that did not read before ------------------------------


def test_a_file_fixed_by_hand_elsewhere_is_named_when_it_arrives(team: tuple[Path, Path, Path],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    anna, bo, _ = team
    path = contact_file(anna, "zhang-wei")
    good = path.read_text(encoding="utf-8")
    path.write_text(good.replace("name: Zhang Wei", "name: [Zhang Wei"), encoding="utf-8")
    commit_by_hand(anna, "a typo")
    ok(anna, "sync")
    bo_does(monkeypatch, bo, "sync")
    fixed = contact_file(bo, "zhang-wei")
    fixed.write_text(fixed.read_text(encoding="utf-8").replace("name: [Zhang Wei", "name: Zhang Wei"), encoding="utf-8")
    with monkeypatch.context() as env:
        from test_git import as_bo

        as_bo(env)
        commit_by_hand(bo, "fix Zhang's file")
    bo_does(monkeypatch, bo, "sync")
    synced = ok(anna, "sync")
    assert "Arrived from origin/main: 1 commit by Bo Li" in synced.stdout
    assert "  changed  Zhang Wei (Huaxin Logistics): changed by hand, did not read before\n" in synced.stdout
    # and the other way round: a file that reads no more after the change is named too
    ok(anna, "sync")
    path.write_text(good.replace("stage: first-appointment", "stage: [x"), encoding="utf-8")
    commit_by_hand(anna, "another typo")
    ok(anna, "sync")
    got = bo_does(monkeypatch, bo, "sync")
    assert "  changed  Zhang Wei (Huaxin Logistics) (contacts/zhang-wei.yaml): changed by hand, does not read now" \
        in got.stdout


def test_the_rename_works_for_a_pipeline_in_a_subfolder_of_the_repository(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "shared.git"
    git(tmp_path, "init", "--quiet", "--bare", str(shared))
    top = tmp_path / "anna"
    top.mkdir()
    git(top, "init", "--quiet")
    (top / "README").write_text("the team's things\n", encoding="utf-8")
    git(top, "add", "README")
    git(top, "commit", "--quiet", "-m", "start")
    anna = init(top / "sales")
    assert not (anna / ".git").exists()
    ok(anna, "add", "Li Na", "--company", "Jade Trading")
    git(top, "remote", "add", "origin", str(shared))
    ok(anna, "sync")
    git(tmp_path, "clone", "--quiet", str(shared), "bo")
    bo = tmp_path / "bo" / "sales"
    ok(bo, "list")
    ok(anna, "add", "Kari Holm")
    ok(anna, "sync")
    bo_does(monkeypatch, bo, "add", "Kari Holm", "--company", "Fjell AS")
    bo_does(monkeypatch, bo, "log", "kari", "call", "--outcome", "talked", "--note", "Bo's Kari")
    synced = bo_does(monkeypatch, bo, "sync")
    assert "renamed  yours contacts/kari-holm.yaml -> contacts/kari-holm-fjell-as.yaml" in synced.stdout
    assert "Sent 2 commits" in synced.stdout
    ok(anna, "sync")
    assert data(anna, "kari-holm-fjell-as")["activities"][-1]["note"] == "Bo's Kari"
    assert "company" not in data(anna, "kari-holm")
    assert git(top, "status", "--porcelain") == ""


def test_a_choice_settled_by_editing_the_file_goes_on_with_sync_continue(
        team: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    anna, bo, _ = team
    set_title(anna, "zhang-wei", "Head of IT", "anna", monkeypatch)
    ok(anna, "sync")
    set_title(bo, "zhang-wei", "CFO", "bo", monkeypatch)
    bo_does(monkeypatch, bo, "sync", code=1)
    path = contact_file(bo, "zhang-wei")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("title: Head of IT", "title: CFO and head of IT"), encoding="utf-8")
    went_on = bo_does(monkeypatch, bo, "sync", "--continue")
    assert "Added contacts/zhang-wei.yaml" in went_on.stdout
    ok(anna, "sync")
    same_everywhere(anna, bo)
    assert data(anna, "zhang-wei")["title"] == "CFO and head of IT"
