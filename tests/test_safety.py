"""pipe under concurrency, faults and hostile folders: no lost update, no code run, nothing outside the folder.

Real processes, real files, real git. Each test asserts the exact outcome: the message and exit
code, the bytes of every file, and that nothing outside the pipeline was touched.
"""

from __future__ import annotations

import os
import pickle
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from pipecli import cache, locking
from pipecli.store import JOURNAL, Store

TODAY = "2026-11-30"


def pipe(root: Path, *args: str, timeout: float = 60, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipecli", "-C", str(root), "--today", TODAY, *args],
                          capture_output=True, text=True, timeout=timeout, **kw)  # type: ignore[call-overload]


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout


def person(root: Path, slug: str, name: str, stage: str = "opportunity", created: str = "2026-11-01") -> Path:
    path = root / "contacts" / f"{slug}.yaml"
    path.write_text(f"id: id-{slug}\nname: {name}\nstage: {stage}\ncreated: {created}\n", encoding="utf-8")
    return path


@pytest.fixture
def team(tmp_path: Path) -> Path:
    """A pipeline in a git repository with five committed contacts."""
    root = tmp_path / "sales"
    done = subprocess.run([sys.executable, "-m", "pipecli", "init", str(root)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    person(root, "anna-berg", "Anna Berg")
    for i in range(4):
        person(root, f"p-{i}", f"Person {i}")
    git(root, "add", "contacts")
    git(root, "commit", "-qm", "contacts")
    return root


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- §1 no lost update ---------------------------------------------------------------------------

def test_writers_on_one_contact_and_on_different_contacts_all_land_and_commit(team: Path) -> None:
    def writers(slug_of: list[str], rounds: int) -> list[str]:
        procs, notes = [], []
        for r in range(rounds):
            for p, slug in enumerate(slug_of):
                note = f"r{r}p{p}"
                notes.append(note)
                procs.append(subprocess.Popen([sys.executable, "-m", "pipecli", "-C", str(team), "log", slug, "call",
                                               "--note", note], stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err.decode()
            assert b"warning" not in err, err.decode()  # "git did not commit" would be a warning
        return notes

    same = writers(["anna-berg"] * 4, 3)
    text = (team / "contacts" / "anna-berg.yaml").read_text(encoding="utf-8")
    assert sorted(a["note"] for a in yaml.safe_load(text)["activities"]) == sorted(same)
    spread = writers([f"p-{i}" for i in range(4)], 2)
    got = [a["note"] for i in range(4)
           for a in yaml.safe_load((team / "contacts" / f"p-{i}.yaml").read_text(encoding="utf-8"))["activities"]]
    assert sorted(got) == sorted(spread)
    assert len(git(team, "log", "--oneline", "--grep=^log ").splitlines()) == len(same) + len(spread)
    assert git(team, "status", "--porcelain", "--", "contacts") == ""  # every write is in a commit


def _setting(root: Path, default: str, value: str) -> None:
    """Change a setting where pipe init wrote it (a second files: section would be a key written twice)."""
    config = root / "pipe.yaml"
    text = config.read_text(encoding="utf-8")
    assert text.count(default) == 1
    config.write_text(text.replace(default, value), encoding="utf-8")


def test_a_writer_that_cannot_get_the_lock_says_nothing_was_written(team: Path) -> None:
    _setting(team, "  lock_timeout: 5\n", "  lock_timeout: 0.3\n")
    before = snapshot(team / "contacts")
    (team / ".pipe").mkdir(exist_ok=True)
    fd = locking.acquire(str(team / ".pipe" / "lock"), 1)
    try:
        done = pipe(team, "log", "anna-berg", "call")
    finally:
        locking.release(fd)
    assert done.returncode == 1
    assert "another pipe command is changing this pipeline (waited 0.3 s for .pipe/lock); nothing was written" in done.stderr
    assert snapshot(team / "contacts") == before
    assert pipe(team, "log", "anna-berg", "call").returncode == 0  # free again: it goes through


def test_a_waiting_writer_reads_what_the_other_one_wrote(team: Path) -> None:
    path = team / "contacts" / "anna-berg.yaml"
    (team / ".pipe").mkdir(exist_ok=True)
    fd = locking.acquire(str(team / ".pipe" / "lock"), 1)
    waiting = subprocess.Popen([sys.executable, "-m", "pipecli", "-C", str(team), "--today", TODAY, "log", "anna-berg",
                                "call", "--note", "second"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.0)  # it is waiting for the lock by now (or has not read yet: either way it must read after)
    path.write_text(path.read_text(encoding="utf-8") + "# written by the first writer\n", encoding="utf-8")
    locking.release(fd)
    _, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, err.decode()
    text = path.read_text(encoding="utf-8")
    assert "# written by the first writer" in text
    assert "note: second" in text


# --- §2 a repository can never run code ----------------------------------------------------------

class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_payload_in_any_cache_never_runs(team: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = pickle.dumps((cache.STAMP, 0, {"anna-berg": _Payload(marker)}))
    (team / ".pipe").mkdir(exist_ok=True)
    for place in (team / ".pipe" / "cache", team / ".pipe" / "settings-cache",
                  cache.path_in(team), cache.path_in(team, cache.SETTINGS_FILE)):
        place.parent.mkdir(parents=True, exist_ok=True)
        place.write_bytes(payload)
    git(team, "add", "-f", ".pipe/cache")
    git(team, "commit", "-qm", "a hostile cache")
    done = pipe(team, "list")
    assert done.returncode == 0, done.stderr
    assert "Anna Berg" in done.stdout
    assert not marker.exists()
    checked = pipe(team, "check")
    assert not marker.exists()
    assert "pipe: warning: .pipe/ is tracked by git (.pipe/cache)" in checked.stderr
    assert " rm -r --cached --quiet -- .pipe && git " in checked.stderr


def test_the_caches_live_outside_the_pipeline(team: Path) -> None:
    assert pipe(team, "list").returncode == 0
    assert cache.path_in(team).is_file()
    assert not cache.path_in(team).is_relative_to(team)
    assert not (team / ".pipe" / "cache").exists()
    assert not (team / ".pipe" / "settings-cache").exists()


# --- §3 never outside the folder -----------------------------------------------------------------

def test_a_symlinked_contact_file_is_never_read_written_or_replaced(team: Path, tmp_path: Path) -> None:
    secret = tmp_path / "id_rsa"
    secret.write_text("name: SECRET KEY MATERIAL\nstage: opportunity\n", encoding="utf-8")
    link = team / "contacts" / "notes.yaml"
    link.symlink_to(secret)
    for command in (["list", "--all"], ["report"], ["show", "notes"], ["review"], ["board"], ["plan"]):
        done = pipe(team, *command)
        assert "SECRET" not in done.stdout + done.stderr, command
    listed = pipe(team, "list")
    assert "pipe: warning: skipped contacts/notes.yaml: is a symbolic link: pipe reads only regular files" in listed.stderr
    written = pipe(team, "log", "notes", "call")
    assert written.returncode == 1
    assert "SECRET" not in written.stderr
    assert link.is_symlink()
    assert secret.read_text(encoding="utf-8").startswith("name: SECRET")
    checked = pipe(team, "check")
    assert checked.returncode == 1
    assert "contacts/notes.yaml: is a symbolic link" in checked.stdout


def test_a_contacts_folder_that_is_a_link_is_neither_read_nor_written(team: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "victim.yaml").write_text("name: Victim\nstage: opportunity\n", encoding="utf-8")
    before = snapshot(elsewhere)
    os.rename(team / "contacts", tmp_path / "real-contacts")
    (team / "contacts").symlink_to(elsewhere)
    listed = pipe(team, "list", "--all")
    assert "Victim" not in listed.stdout
    assert "pipe: warning: skipped contacts: is a symbolic link (to " in listed.stderr
    assert "not a folder: pipe never reads or writes through it, so its contacts are skipped" in listed.stderr
    added = pipe(team, "add", "Mallory")
    assert added.returncode == 1
    assert "contacts is a symbolic link" in added.stderr
    assert "nothing was written" in added.stderr
    logged = pipe(team, "log", "victim", "call")
    assert logged.returncode == 1
    assert snapshot(elsewhere) == before
    assert (team / "contacts").is_symlink()


def test_a_pipe_folder_that_is_a_link_is_never_written_through(team: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "local.yaml").write_text("owner: mallory\n", encoding="utf-8")
    before = snapshot(elsewhere)
    contacts = snapshot(team / "contacts")
    if (team / ".pipe").exists():
        os.rename(team / ".pipe", tmp_path / "old-pipe")
    (team / ".pipe").symlink_to(elsewhere)
    logged = pipe(team, "log", "anna-berg", "call")
    assert logged.returncode == 1
    assert ".pipe is a symbolic link (to " in logged.stderr
    assert "nothing was written" in logged.stderr
    assert snapshot(elsewhere) == before
    assert snapshot(team / "contacts") == contacts
    added = pipe(team, "add", "Nina", "--owner", "x")
    assert added.returncode == 1
    assert snapshot(team / "contacts") == contacts
    checked = pipe(team, "check")
    assert ".pipe: is a symbolic link" in checked.stdout
    assert "local settings are ignored" in checked.stdout


@pytest.mark.parametrize("kind", ["fifo", "zero", "folder"])
def test_a_fifo_a_device_or_a_folder_named_yaml_is_skipped_not_read(team: Path, kind: str) -> None:
    path = team / "contacts" / "x.yaml"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "zero":
        path.symlink_to("/dev/zero")
    else:
        path.mkdir()
    what = {"fifo": "a named pipe (FIFO)", "zero": "a symbolic link", "folder": "a folder"}[kind]
    for command in ("list", "check", "board", "review", "report"):
        done = pipe(team, command, timeout=30)  # a read of the FIFO would block, of /dev/zero never end
        assert "internal error" not in done.stderr, command
        assert f"contacts/x.yaml: is {what}" in done.stdout + done.stderr, command
    logged = pipe(team, "log", "anna-berg", "call", timeout=30)
    assert logged.returncode == 0, logged.stderr


def test_files_over_the_size_limit_are_not_loaded(team: Path) -> None:
    big = team / "contacts" / "big.yaml"
    big.write_text("name: Big\nstage: opportunity\nnotes: |\n" + "  filler line of text\n" * 60000, encoding="utf-8")
    size = big.stat().st_size
    listed = pipe(team, "list")
    assert f"contacts/big.yaml: is {size:,} bytes, over the limit of 1,048,576 (files.max_size_kb in pipe.yaml)" \
        in listed.stderr
    assert "Big" not in listed.stdout
    assert pipe(team, "show", "big").returncode == 1
    _setting(team, "  max_size_kb: 1024\n", "  max_size_kb: 4096\n")
    assert "Big" in pipe(team, "list").stdout


# --- §6 faults in the world outside ---------------------------------------------------------------

def _stalled(root: Path, n: int) -> list[Path]:
    """n opportunities untouched since January: review --apply moves each to the reserve, in one command."""
    return [person(root, f"old-{i:02d}", f"Old {i}", created="2026-01-05") for i in range(n)]


def test_a_killed_multi_file_command_lands_all_of_its_files_or_none(team: Path) -> None:
    files = _stalled(team, 12)
    git(team, "add", "contacts")
    git(team, "commit", "-qm", "stalled ones")
    start = git(team, "rev-parse", "HEAD").strip()
    rng = random.Random(11)
    outcomes = set()
    for _ in range(8):
        proc = subprocess.Popen([sys.executable, "-m", "pipecli", "-C", str(team), "--today", TODAY, "review",
                                 "--apply", "--yes", "--rule", "stalled"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 1.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        after = pipe(team, "list", "--all")  # the next command finishes what the journal holds
        assert after.returncode == 0, after.stderr
        stages = {yaml.safe_load(f.read_text(encoding="utf-8"))["stage"] for f in files}
        assert len(stages) == 1, "some files moved and others not"
        moved = stages == {"reserve"}
        outcomes.add(moved)
        assert git(team, "status", "--porcelain", "--", "contacts") == ""
        assert not os.path.lexists(team / JOURNAL)
        assert after.stdout.count("Old ") == len(files)  # a killed writer's temporary files are no contacts
        if moved:
            assert git(team, "log", "-1", "--format=%s").startswith("review --apply")
        git(team, "reset", "-q", "--hard", start)
    assert outcomes  # at least one round ran; which ones moved depends on the timing


def test_the_next_command_finishes_a_journal_and_commits_it(team: Path) -> None:
    files = _stalled(team, 3)
    git(team, "add", "contacts")
    git(team, "commit", "-qm", "stalled ones")
    from pipecli.model import SetKey

    store = Store.open(str(team))
    store.begin()
    for contact in store.load_all().contacts:
        if contact.slug.startswith("old-"):
            store.apply(contact, [SetKey(("stage",), "reserve")])
    items = sorted((store._pending or {}).items())
    store._write_journal(items, "review --apply: 3 contacts to reserve", True)  # then "killed"
    store.unlock()
    assert all("stage: opportunity" in f.read_text(encoding="utf-8") for f in files)
    done = pipe(team, "list", "--all")
    assert "pipe: note: finished an interrupted command: 'review --apply: 3 contacts to reserve' (3 files written " \
           "and committed)" in done.stderr
    assert all("stage: reserve" in f.read_text(encoding="utf-8") for f in files)
    assert git(team, "log", "-1", "--format=%s").strip() == "review --apply: 3 contacts to reserve"
    assert git(team, "status", "--porcelain", "--", "contacts") == ""


def test_a_forged_journal_is_set_aside_and_nothing_of_it_applied(team: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("mine\n", encoding="utf-8")
    (team / ".pipe" / "tmp").mkdir(parents=True, exist_ok=True)
    (team / ".pipe" / "tmp" / ".x.tmp").write_text("name: X\nstage: a\n", encoding="utf-8")
    (team / JOURNAL).write_text('{"format": 1, "message": "m", "commit": true, "files": '
                                '[[".pipe/tmp/.x.tmp", "../outside.yaml", false]]}', encoding="utf-8")
    done = pipe(team, "list")
    assert done.returncode == 0
    assert "did not read (it names a file outside pipe's own: .pipe/tmp/.x.tmp -> ../outside.yaml)" in done.stderr
    assert outside.read_text(encoding="utf-8") == "mine\n"
    assert (team / ".pipe" / "journal.rejected").exists()
    assert not (team / JOURNAL).exists()


def test_a_file_size_limit_fails_cleanly_with_nothing_half_written(team: Path) -> None:
    path = team / "contacts" / "anna-berg.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "notes: |\n" + "  a line of notes\n" * 400, encoding="utf-8")
    git(team, "commit", "-qam", "notes")
    before = path.read_bytes()

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    done = pipe(team, "log", "anna-berg", "call", preexec_fn=small_files)
    assert done.returncode == 1
    assert done.stderr.startswith("pipe: error: ")
    assert "contacts/anna-berg.yaml: File too large; nothing was written" in done.stderr
    assert "ulimit -f" in done.stderr
    assert "Traceback" not in done.stderr
    assert path.read_bytes() == before
    assert [p for p in (team / "contacts").iterdir() if p.name.startswith(".")] == []
    assert os.listdir(team / ".pipe" / "tmp") == []


def test_temporary_files_of_a_killed_writer_are_cleared_by_the_next_one(team: Path) -> None:
    tmp = team / ".pipe" / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / ".anna-berg.yaml.abc123.tmp").write_text("half", encoding="utf-8")
    assert pipe(team, "list").returncode == 0
    assert (tmp / ".anna-berg.yaml.abc123.tmp").exists()  # a reader leaves them (a writer may be busy)
    assert pipe(team, "log", "anna-berg", "call").returncode == 0
    assert os.listdir(tmp) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads and writes whatever the modes say")
def test_a_contact_file_without_read_permission_is_one_clear_error(team: Path) -> None:
    path = team / "contacts" / "anna-berg.yaml"
    path.chmod(0)
    done = pipe(team, "log", "anna-berg", "call")
    assert done.returncode == 1
    assert "contacts/anna-berg.yaml: Permission denied; nothing was written" in done.stderr


def test_commits_on_a_detached_head_are_refused_with_the_way_back(team: Path) -> None:
    git(team, "checkout", "-q", "--detach")
    before = snapshot(team / "contacts")
    done = pipe(team, "log", "anna-berg", "call")
    assert done.returncode == 1
    assert "HEAD is detached" in done.stderr
    assert "git switch -" in done.stderr
    assert snapshot(team / "contacts") == before
    assert pipe(team, "--no-commit", "log", "anna-berg", "call").returncode == 0  # no commit, nothing to lose


def test_check_names_contact_files_left_uncommitted_and_says_how_to_commit_them(team: Path) -> None:
    assert pipe(team, "--no-commit", "log", "anna-berg", "call").returncode == 0
    person(team, "zoe", "Zoe")
    done = pipe(team, "check")
    assert done.returncode == 0
    assert ("pipe: warning: 2 contact files are not committed (1 never added): contacts/anna-berg.yaml, "
            "contacts/zoe.yaml") in done.stderr
    assert " add -- contacts/anna-berg.yaml contacts/zoe.yaml && git " in done.stderr


def test_a_pipe_that_is_a_file_is_named_as_itself_and_links_are_never_offered_for_a_commit(team: Path, tmp_path: Path) -> None:
    (team / ".pipe").write_text("not a folder\n", encoding="utf-8")
    (team / "contacts" / "link.yaml").symlink_to(tmp_path)
    done = pipe(team, "check")
    assert ".pipe: is a file, not a folder: pipe never reads or writes through it" in done.stdout
    assert "contacts/.pipe.yaml" not in done.stdout + done.stderr
    assert "contacts/link.yaml: is a symbolic link" in done.stdout
    assert "link.yaml" not in done.stderr  # not among the files to commit


def test_a_next_step_set_before_the_first_meeting_does_not_open_the_gate_to_c(team: Path) -> None:
    """From a new user's trial: a step agreed on the phone before the meeting let FA -> C through."""
    assert pipe(team, "meet", "anna-berg", "2026-12-03").returncode == 0
    assert pipe(team, "log", "anna-berg", "call", "--outcome", "talked", "--next", "confirm agenda",
                "--due", "2026-12-02").returncode == 0
    assert pipe(team, "--today", "2026-12-03", "log", "anna-berg", "meeting", "--outcome", "held").returncode == 0
    refused = pipe(team, "--today", "2026-12-03", "promote", "anna-berg")
    assert refused.returncode == 1
    assert "a further step agreed at or after the first meeting ('confirm agenda' was set on 2026-11-30" in refused.stderr
    assert pipe(team, "--today", "2026-12-03", "log", "anna-berg", "note", "--next", "send the proposal",
                "--due", "2026-12-10").returncode == 0
    assert pipe(team, "--today", "2026-12-03", "promote", "anna-berg").returncode == 0
