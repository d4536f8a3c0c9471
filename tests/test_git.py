"""pipe as a git citizen, with real git in temporary folders: one commit per command, undo, history, sync."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest
from conftest import TODAY, contact_file
from typer.testing import CliRunner, Result

from pipecli.cli import app

# What ZHANG_TO_B commits, newest first (after "add Zhang Wei (Huaxin Logistics)").
ZHANG_COMMITS = [
    "promote Zhang Wei (Huaxin Logistics): C -> B",
    "qualify Zhang Wei (Huaxin Logistics)",
    "promote Zhang Wei (Huaxin Logistics): FA -> C",
    "log Zhang Wei (Huaxin Logistics): meeting held",
    "meet Zhang Wei (Huaxin Logistics): 2026-11-25, O -> FA",
    "add Zhang Wei (Huaxin Logistics)",
]
ZHANG_TO_B = [
    ("meet", "zhang", "2026-11-25"),
    ("log", "zhang", "meeting", "--outcome", "held", "--date", "2026-11-27", "--next", "send the proposal", "--due", "+1w"),
    ("promote", "zhang"),
    ("qualify", "zhang", "--decision-maker", "--proposal-fits", "--budget", "--decision-date", "+3w",
     "--start-date", "+2m", "--next-step", "workshop with IT"),
    ("promote", "zhang"),
]


@pytest.fixture(autouse=True)
def _hermetic_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user or system git settings leak in; new repositories start on 'main'."""
    config = tmp_path / "gitconfig"
    config.write_text("[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n", encoding="utf-8")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)


def pipe(root: Path, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, ["-C", str(root), "--today", TODAY, *args], input=input)


def ok(root: Path, *args: str) -> Result:
    result = pipe(root, *args)
    assert result.exit_code == 0, result.output
    return result


def git(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, encoding="utf-8",
                          env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stderr
    return done.stdout


def subjects(root: Path) -> list[str]:
    return git(root, "log", "--format=%s").splitlines()


def files_of(root: Path, rev: str = "HEAD") -> list[str]:
    return git(root, "show", "--name-only", "--format=", rev).split()


def trailer(root: Path, rev: str = "HEAD", key: str = "Pipe-Command") -> str:
    return git(root, "log", "-1", f"--format=%(trailers:key={key},valueonly)", rev).strip()


def init(root: Path) -> Path:
    result = CliRunner().invoke(app, ["init", str(root)])
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A pipeline in its own git repository with two contacts, each added by its own commit."""
    root = init(tmp_path / "sales")
    ok(root, "add", "Anna Berg", "--company", "Nordlys AS")
    ok(root, "add", "Zhang Wei", "--company", "Huaxin Logistics")
    return root


def by_hand(warning: str) -> list[list[str]]:
    """The commands a warning tells the user to run, as argument lists."""
    lines = warning.split("run:\n", 1)[1].splitlines()
    return [shlex.split(line, comments=True) for line in lines if line.startswith("    ")]


# --- one commit per command ----------------------------------------------------------------------


def test_init_commits_the_settings_so_a_clone_gets_them(tmp_path: Path) -> None:
    root = init(tmp_path / "sales")
    assert subjects(root) == ["init pipeline"]
    assert sorted(files_of(root)) == [".gitattributes", ".gitignore", "pipe.yaml"]  # with the merge driver's line
    assert trailer(root) == "init"
    assert git(root, "status", "--porcelain") == ""


def test_each_command_is_one_commit_of_its_file_with_a_readable_message(repo: Path) -> None:
    for args in ZHANG_TO_B:
        ok(repo, *args)
    assert subjects(repo) == [*ZHANG_COMMITS, "add Anna Berg (Nordlys AS)", "init pipeline"]
    for rev in range(6):
        assert files_of(repo, f"HEAD~{rev}") == ["contacts/zhang-wei.yaml"]
    assert files_of(repo, "HEAD~6") == ["contacts/anna-berg.yaml"]
    assert trailer(repo) == "promote"
    assert trailer(repo, "HEAD~1") == "qualify"
    assert "stage: b" in git(repo, "show", "HEAD:contacts/zhang-wei.yaml")
    assert git(repo, "status", "--porcelain") == ""


def test_what_the_user_staged_or_left_stays_exactly_as_it_was(repo: Path) -> None:
    (repo / "notes.txt").write_text("call list\n", encoding="utf-8")
    git(repo, "add", "notes.txt")
    with (repo / "pipe.yaml").open("a", encoding="utf-8") as handle:
        handle.write("# staged by the user\n")
    git(repo, "add", "pipe.yaml")
    with (repo / "pipe.yaml").open("a", encoding="utf-8") as handle:
        handle.write("# and more, not staged\n")
    anna = contact_file(repo, "anna-berg")
    anna.write_text(anna.read_text(encoding="utf-8") + "# a note by hand\n", encoding="utf-8")
    (repo / "scratch.txt").write_text("untracked\n", encoding="utf-8")
    staged_before = git(repo, "diff", "--cached")
    unstaged_before = git(repo, "diff")

    ok(repo, "log", "zhang", "call", "--outcome", "talked")

    assert subjects(repo)[0] == "log Zhang Wei (Huaxin Logistics): call talked"
    assert files_of(repo) == ["contacts/zhang-wei.yaml"]
    assert git(repo, "diff", "--cached") == staged_before
    assert git(repo, "diff") == unstaged_before
    assert sorted(git(repo, "status", "--porcelain").splitlines()) == [
        " M contacts/anna-berg.yaml", "?? scratch.txt", "A  notes.txt", "MM pipe.yaml"]


def test_a_bulk_change_is_one_commit(repo: Path) -> None:
    ok(repo, "add", "Ola Nordmann")
    for slug in ("anna-berg", "zhang-wei", "ola-nordmann"):  # three unanswered calls: a soft no
        for day in ("2026-11-02", "2026-11-09", "2026-11-16"):
            ok(repo, "--no-commit", "log", slug, "call", "--outcome", "no-answer", "--date", day)
    git(repo, "add", "contacts")
    git(repo, "commit", "-qm", "calls")
    before = len(subjects(repo))
    result = pipe(repo, "review", "--apply", "--rule", "no-response", "--yes")
    assert result.exit_code == 0, result.output

    assert len(subjects(repo)) == before + 1
    assert subjects(repo)[0] == "review --apply: 3 contacts to reserve"
    assert sorted(files_of(repo)) == ["contacts/anna-berg.yaml", "contacts/ola-nordmann.yaml", "contacts/zhang-wei.yaml"]
    assert trailer(repo) == "review"
    assert git(repo, "status", "--porcelain") == ""


def test_no_commit_leaves_the_change_for_the_next_commit(repo: Path) -> None:
    before = subjects(repo)
    ok(repo, "--no-commit", "log", "anna", "call", "--outcome", "talked")
    ok(repo, "--no-commit", "add", "Ola Nordmann")
    assert subjects(repo) == before
    assert git(repo, "status", "--porcelain").splitlines() == [" M contacts/anna-berg.yaml", "?? contacts/ola-nordmann.yaml"]
    # the next command on a file git does not know yet still commits it
    ok(repo, "log", "ola", "call", "--outcome", "no-answer")
    assert subjects(repo)[0] == "log Ola Nordmann: call no-answer"
    assert files_of(repo) == ["contacts/ola-nordmann.yaml"]
    assert git(repo, "status", "--porcelain").splitlines() == [" M contacts/anna-berg.yaml"]


def test_the_autocommit_setting_turns_commits_off(repo: Path) -> None:
    config = repo / "pipe.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("autocommit: true", "autocommit: false"), encoding="utf-8")
    git(repo, "commit", "-qam", "no autocommit")
    result = ok(repo, "log", "anna", "call")
    assert subjects(repo)[0] == "no autocommit"
    assert result.stderr == ""
    assert git(repo, "status", "--porcelain") == " M contacts/anna-berg.yaml\n"


def test_outside_git_commands_work_and_say_once_that_nothing_is_versioned(tmp_path: Path) -> None:
    root = tmp_path / "sales"
    result = CliRunner().invoke(app, ["init", "--no-git", str(root)])
    assert "nothing is versioned" in result.output
    assert not (root / ".git").exists()
    first = ok(root, "add", "Anna Berg")
    assert first.stderr == ""  # said at init already
    moved = tmp_path / "elsewhere"
    init(moved)
    ok(moved, "add", "Anna Berg")
    subprocess.run(["rm", "-rf", str(moved / ".git")], check=True)
    first = ok(moved, "log", "anna", "call")
    second = ok(moved, "log", "anna", "email")
    assert "nothing is versioned" in first.stderr
    assert "is not in a git repository" in first.stderr
    assert second.stderr == ""
    assert "kind: email" in contact_file(moved, "anna-berg").read_text(encoding="utf-8")


def test_without_git_on_the_machine_commands_still_work(repo: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "no-git-here"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    first = ok(repo, "log", "anna", "call")
    second = ok(repo, "log", "anna", "email")
    assert "git is not installed" in first.stderr
    assert second.stderr == ""
    monkeypatch.undo()
    assert git(repo, "status", "--porcelain") == " M contacts/anna-berg.yaml\n"


def test_a_locked_index_leaves_the_file_written_and_says_what_to_run(repo: Path) -> None:
    before = subjects(repo)
    lock = repo / ".git" / "index.lock"
    lock.touch()
    result = ok(repo, "promote", "anna", "--to", "FA", "--force", "--reason", "met at the fair")
    assert subjects(repo) == before
    assert "stage: first-appointment" in contact_file(repo, "anna-berg").read_text(encoding="utf-8")
    assert "git did not commit" in result.stderr
    assert "index.lock" in result.stderr
    commands = by_hand(result.stderr)
    assert commands[0][0] == "rm"
    for command in commands:  # exactly what the user is told to run
        subprocess.run(command, check=True, capture_output=True)
    assert subjects(repo)[0] == "promote Anna Berg (Nordlys AS): O -> FA (forced)"
    assert trailer(repo) == "promote"
    assert git(repo, "status", "--porcelain") == ""


def test_a_rejecting_hook_leaves_the_file_and_the_index_as_they_were(repo: Path) -> None:
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'no commits on a Friday' >&2\nexit 1\n", encoding="utf-8")
    hook.chmod(0o755)
    before = subjects(repo)
    result = ok(repo, "add", "Ola Nordmann")
    assert subjects(repo) == before
    assert contact_file(repo, "ola-nordmann").is_file()
    assert "no commits on a Friday" in result.stderr
    assert git(repo, "status", "--porcelain") == "?? contacts/ola-nordmann.yaml\n"  # no intent-to-add left behind
    hook.unlink()
    for command in by_hand(result.stderr):
        subprocess.run(command, check=True, capture_output=True)
    assert subjects(repo)[0] == "add Ola Nordmann"
    assert files_of(repo) == ["contacts/ola-nordmann.yaml"]


def test_no_user_name_says_how_to_set_it_and_commit(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    config = home / ".gitconfig"
    # useConfigOnly: git must not guess an identity from the host name, so the test fails the same everywhere
    config.write_text("[user]\n\tuseConfigOnly = true\n", encoding="utf-8")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    before = subjects(repo)
    result = ok(repo, "log", "anna", "call", "--outcome", "talked")
    assert subjects(repo) == before
    assert "kind: call" in contact_file(repo, "anna-berg").read_text(encoding="utf-8")
    commands = by_hand(result.stderr)
    assert commands[0][-4:-1] == ["config", "--global", "user.name"]
    assert commands[1][-4:-1] == ["config", "--global", "user.email"]
    for command in commands:
        subprocess.run(command, check=True, capture_output=True)
    assert subjects(repo)[0] == "log Anna Berg (Nordlys AS): call talked"
    assert git(repo, "log", "-1", "--format=%an") == "Your Name\n"


def test_a_command_during_a_stopped_rebase_changes_nothing(repo: Path) -> None:
    (repo / ".git" / "rebase-merge").mkdir()
    before = subjects(repo)
    file_before = contact_file(repo, "anna-berg").read_bytes()
    result = pipe(repo, "log", "anna", "call")
    assert result.exit_code == 1
    assert "a rebase is in progress" in result.stderr and "pipe sync --continue" in result.stderr
    assert "git -c" not in result.stderr and "git rebase" not in result.stderr  # pipe's own way out
    assert subjects(repo) == before
    assert contact_file(repo, "anna-berg").read_bytes() == file_before  # a write would block --continue
    assert pipe(repo, "list").exit_code == 0  # reading still works


# --- history, undo, changes ---------------------------------------------------------------------


def test_history_merges_the_files_stage_history_with_its_commits(repo: Path) -> None:
    for args in ZHANG_TO_B:
        ok(repo, *args)
    ok(repo, "log", "anna", "call")
    result = ok(repo, "history", "zhang", "--format", "json")
    import json

    rows = json.loads(result.stdout)
    commits = [r["change"] for r in rows if r["kind"] == "commit"]
    stages = [r["change"] for r in rows if r["kind"] == "stage"]
    assert commits == ZHANG_COMMITS
    assert stages == ["C -> B", "FA -> C", "O -> FA: first meeting set for 2026-11-25", "-> O: added"]
    assert all(r["author"] == "Test Seller" for r in rows if r["kind"] == "commit")
    dates = [r["date"] for r in rows]
    assert dates == sorted(dates, reverse=True)
    table = ok(repo, "history", "zhang").stdout
    assert "promote Zhang Wei (Huaxin Logistics): C -> B" in table
    assert "Anna" not in table


def test_undo_reverts_the_last_pipe_commit_after_showing_it(repo: Path) -> None:
    ok(repo, "log", "anna", "call", "--outcome", "talked")
    ok(repo, "meet", "anna", "2026-12-02")
    met = git(repo, "rev-parse", "HEAD").strip()
    (repo / "notes.txt").write_text("mine\n", encoding="utf-8")
    git(repo, "add", "notes.txt")
    git(repo, "commit", "-qm", "my own notes")  # a commit pipe did not make is never undone
    result = ok(repo, "undo", "--yes")
    assert "This undoes" in result.stdout
    assert "meet Anna Berg (Nordlys AS): 2026-12-02, O -> FA" in result.stdout
    assert "contacts/anna-berg.yaml" in result.stdout
    assert subjects(repo)[:2] == ["undo meet Anna Berg (Nordlys AS): 2026-12-02, O -> FA", "my own notes"]
    assert trailer(repo) == "undo"
    assert trailer(repo, key="Pipe-Undoes") == met
    anna = contact_file(repo, "anna-berg").read_text(encoding="utf-8")
    assert "stage: opportunity" in anna
    assert "first_meeting" not in anna
    assert "kind: call" in anna
    assert (repo / "notes.txt").is_file()
    # undoing again takes back the pipe commit before (its file changed since, and back), not the undo
    ok(repo, "undo", "--yes")
    assert subjects(repo)[0] == "undo log Anna Berg (Nordlys AS): call talked"
    assert "activities" not in contact_file(repo, "anna-berg").read_text(encoding="utf-8")
    ok(repo, "undo", "--yes")
    assert subjects(repo)[0] == "undo add Zhang Wei (Huaxin Logistics)"
    assert not contact_file(repo, "zhang-wei").exists()
    assert git(repo, "status", "--porcelain") == ""


def test_undo_asks_first(repo: Path) -> None:
    before = subjects(repo)
    declined = pipe(repo, "undo", input="n\n")
    assert declined.exit_code == 1
    assert "Nothing undone" in declined.stdout
    assert subjects(repo) == before
    accepted = pipe(repo, "undo", input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert subjects(repo)[0] == "undo add Zhang Wei (Huaxin Logistics)"


def test_undo_refuses_when_the_commit_is_not_the_newest_change_to_its_file(repo: Path) -> None:
    from pipecli.commands.common import STATE, session
    from pipecli.model import Append

    STATE.reset(directory=str(repo), today=TODAY)
    s = session()
    for slug in ("anna-berg", "zhang-wei"):
        s.save(s.resolve(slug), [Append(("tags",), "fair")])
    s.commit("tag: 2 contacts")
    anna = contact_file(repo, "anna-berg")
    anna.write_text(anna.read_text(encoding="utf-8") + "# edited by hand\n", encoding="utf-8")
    git(repo, "commit", "-qam", "fix anna by hand")
    before = subjects(repo)
    result = pipe(repo, "undo", "--yes")
    assert result.exit_code == 1
    assert "cannot undo" in result.stderr
    assert "'tag: 2 contacts': it is not the newest change to contacts/anna-berg.yaml;" in result.stderr
    assert "'fix anna by hand' (Test Seller" in result.stderr
    assert subjects(repo) == before
    assert git(repo, "status", "--porcelain") == ""


def test_undo_refuses_over_uncommitted_or_staged_changes(repo: Path) -> None:
    zhang = contact_file(repo, "zhang-wei")
    zhang.write_text(zhang.read_text(encoding="utf-8") + "# not committed\n", encoding="utf-8")
    before = subjects(repo)
    dirty = pipe(repo, "undo", "--yes")
    assert dirty.exit_code == 1
    assert "contacts/zhang-wei.yaml has changes not committed" in dirty.stderr
    git(repo, "add", "contacts/zhang-wei.yaml")
    staged = pipe(repo, "undo", "--yes")
    assert staged.exit_code == 1
    assert "staged changes" in staged.stderr
    assert subjects(repo) == before
    assert git(repo, "status", "--porcelain") == "M  contacts/zhang-wei.yaml\n"


def test_undo_with_nothing_to_undo(tmp_path: Path) -> None:
    root = init(tmp_path / "sales")
    result = pipe(root, "undo", "--yes")
    assert result.exit_code == 1
    assert "nothing to undo" in result.stderr
    outside = tmp_path / "plain"
    CliRunner().invoke(app, ["init", "--no-git", str(outside)])
    assert "needs git" in pipe(outside, "undo", "--yes").stderr


def test_changes_lists_pipes_commits_by_date_and_author(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_AUTHOR_DATE", "2026-11-02T10:00:00")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-11-02T10:00:00")
    ok(repo, "log", "anna", "call")
    monkeypatch.setenv("GIT_AUTHOR_DATE", "2026-11-26T10:00:00")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-11-26T10:00:00")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Bo Li")
    ok(repo, "log", "zhang", "email", "--outcome", "replied")
    (repo / "notes.txt").write_text("x\n", encoding="utf-8")
    git(repo, "add", "notes.txt")
    git(repo, "commit", "-qm", "not a pipe commit")

    every = ok(repo, "changes", "--format", "json")
    import json

    changes = [row["change"] for row in json.loads(every.stdout)]
    assert changes[:2] == ["log Zhang Wei (Huaxin Logistics): email replied", "log Anna Berg (Nordlys AS): call"]
    assert "not a pipe commit" not in changes
    recent = ok(repo, "changes", "--since", "-1w").stdout  # today is 2026-11-30
    assert "email replied" in recent
    assert "Anna" not in recent
    assert recent.rstrip().endswith("1 change")
    by_bo = ok(repo, "changes", "--author", "bo").stdout
    assert "email replied" in by_bo
    assert "Anna Berg" not in by_bo


# --- the team: two clones of one shared repository -------------------------------------------------


@pytest.fixture
def team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Anna's clone (which published the pipeline) and Bo's clone of the same bare repository."""
    shared = tmp_path / "shared.git"
    git(tmp_path, "init", "--quiet", "--bare", str(shared))
    anna = init(tmp_path / "anna")
    ok(anna, "add", "Zhang Wei", "--company", "Huaxin Logistics")
    ok(anna, "add", "Ola Nordmann", "--company", "Fjord AS")
    git(anna, "remote", "add", "origin", str(shared))
    published = ok(anna, "sync")
    assert "Published" in published.stdout
    git(tmp_path, "clone", "--quiet", str(shared), "bo")
    return anna, tmp_path / "bo"


def as_bo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Bo Li")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Bo Li")


def test_edits_to_different_contacts_sync_cleanly_both_ways(team: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    anna, bo = team
    ok(anna, "log", "ola", "call", "--outcome", "talked", "--note", "anna called")
    with monkeypatch.context() as env:
        as_bo(env)
        ok(bo, "meet", "zhang", "2026-12-03")
        ok(bo, "add", "Li Na", "--company", "Jade Trading")
    assert "Sent 1 commit" in ok(anna, "sync").stdout
    with monkeypatch.context() as env:
        as_bo(env)
        synced = ok(bo, "sync")
    assert "Arrived from origin/main: 1 commit by Test Seller" in synced.stdout
    assert "changed  Ola Nordmann (Fjord AS)" in synced.stdout
    assert "Sent 2 commits" in synced.stdout
    back = ok(anna, "sync")
    assert "2 commits by Bo Li" in back.stdout
    assert "moved    Zhang Wei (Huaxin Logistics): O -> FA" in back.stdout
    assert "added    Li Na (Jade Trading) at O" in back.stdout
    for name in ("zhang-wei", "ola-nordmann", "li-na"):
        assert contact_file(anna, name).read_bytes() == contact_file(bo, name).read_bytes()
    assert "anna called" in contact_file(bo, "ola-nordmann").read_text(encoding="utf-8")
    assert git(anna, "rev-parse", "HEAD") == git(bo, "rev-parse", "HEAD")
    assert git(bo, "log", "--merges", "--format=%s") == ""  # rebased: a straight history
    assert ok(anna, "check").exit_code == 0
    assert "Up to date with origin/main" in ok(anna, "sync").stdout


def test_without_the_merge_driver_edits_to_one_contact_are_a_conflict_with_nothing_lost(
        team: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    anna, bo = team
    (bo / ".pipe").mkdir(exist_ok=True)
    (bo / ".pipe" / "local.yaml").write_text("git:\n  merge: false\n", encoding="utf-8")  # git's line merge
    ok(anna, "log", "zhang", "call", "--outcome", "talked", "--note", "Anna: wants a demo")
    ok(anna, "sync")
    with monkeypatch.context() as env:
        as_bo(env)
        ok(bo, "log", "zhang", "call", "--outcome", "left-message", "--note", "Bo: left a message")
        bo_commit = git(bo, "rev-parse", "HEAD").strip()
        stopped = pipe(bo, "sync")
    assert stopped.exit_code == 1
    assert "sync stopped" in stopped.stderr
    assert "contacts/zhang-wei.yaml  Zhang Wei (Huaxin Logistics)" in stopped.stderr
    assert "pipe check" in stopped.stderr
    told = [shlex.split(line) for line in stopped.stderr.splitlines() if line.startswith("          ")]
    assert [cmd[:3] for cmd in told] == [["pipe", "sync", "--continue"]]
    assert "pipe sync --abort" in stopped.stderr and "git rebase" not in stopped.stderr
    text = contact_file(bo, "zhang-wei").read_text(encoding="utf-8")
    assert "Anna: wants a demo" in text
    assert "Bo: left a message" in text
    assert "<<<<<<<" in text
    checked = pipe(bo, "check")
    assert checked.exit_code == 1
    assert "contacts/zhang-wei.yaml" in checked.stdout
    assert "unresolved git merge conflict" in checked.stdout
    # nothing lost: Bo's commit is still his branch, Anna's is on the remote
    assert git(bo, "rev-parse", "refs/heads/main").strip() == bo_commit
    assert "Bo: left a message" in git(bo, "show", "main:contacts/zhang-wei.yaml")
    assert "Anna: wants a demo" in git(bo, "show", "origin/main:contacts/zhang-wei.yaml")
    # a second sync before resolving refuses, and says how to go on
    again = pipe(bo, "sync")
    assert again.exit_code == 1
    assert "rebase is in progress" in again.stderr

    # Bo resolves by keeping both calls, as the message says, and syncs again
    kept = "".join(line + "\n" for line in text.splitlines() if not line.startswith(("<<<<<<<", "=======", ">>>>>>>")))
    contact_file(bo, "zhang-wei").write_text(kept, encoding="utf-8")
    assert ok(bo, "check").exit_code == 0
    with monkeypatch.context() as env:
        as_bo(env)
        went_on = ok(bo, *told[0][1:3])  # pipe sync --continue: it adds the file, its markers gone
        assert "Added contacts/zhang-wei.yaml: no conflict markers left." in went_on.stdout
        assert "Sent 1 commit" in went_on.stdout
    ok(anna, "sync")
    final = contact_file(anna, "zhang-wei").read_text(encoding="utf-8")
    assert "Anna: wants a demo" in final
    assert "Bo: left a message" in final


def test_the_owner_is_set_per_clone_without_touching_the_shared_settings(team: tuple[Path, Path],
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    anna, bo = team
    (bo / ".pipe").mkdir()
    (bo / ".pipe" / "local.yaml").write_text("owner: bo\n", encoding="utf-8")
    with monkeypatch.context() as env:
        as_bo(env)
        ok(bo, "add", "Li Na")
    ok(anna, "add", "Kari Holm")  # no local setting: git's author name
    with monkeypatch.context() as env:
        env.delenv("GIT_AUTHOR_NAME")
        git(anna, "config", "user.name", "Anna Berg")
        ok(anna, "add", "Per Dahl")  # git's user.name
    assert "owner: bo\n" in contact_file(bo, "li-na").read_text(encoding="utf-8")
    assert "owner: Test Seller\n" in contact_file(anna, "kari-holm").read_text(encoding="utf-8")
    assert "owner: Anna Berg\n" in contact_file(anna, "per-dahl").read_text(encoding="utf-8")
    assert git(bo, "status", "--porcelain", "--ignored") == "!! .pipe/\n"  # the local settings are never committed
    listed = ok(bo, "list", "--owner", "bo").stdout
    assert "li-na" in listed
    assert "zhang-wei" not in listed
    (bo / ".pipe" / "local.yaml").write_text("owners: bo\n", encoding="utf-8")
    bad = pipe(bo, "list")
    assert bad.exit_code == 1
    assert ".pipe/local.yaml: unknown setting 'owners'" in bad.stderr


def test_a_command_that_changes_nothing_makes_no_commit_and_no_warning(repo: Path) -> None:
    ok(repo, "qualify", "zhang", "--budget")
    before = subjects(repo)
    again = ok(repo, "qualify", "zhang", "--budget")
    assert subjects(repo) == before
    assert again.stderr == ""
