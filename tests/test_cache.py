"""The parse cache is never wrong: every way a file can change is seen at once."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipecli import cache
from pipecli.errors import ConfigError
from pipecli.store import Store, load_config


def write(root: Path, slug: str, name: str, stage: str = "c") -> Path:
    path = root / "contacts" / f"{slug}.yaml"
    path.write_text(f"id: {slug}\nname: {name}\nstage: {stage}\n", encoding="utf-8")
    return path


def names(root: Path) -> dict[str, str]:
    return {c.slug: c.name for c in Store(root, load_config(root)).load_all().contacts}


def age_cache(root: Path, seconds: int = 10) -> None:
    """Pretend the cache was written long after the files changed, so its entries are trusted."""
    started, entries = cache.read(cache.path_in(root))
    assert entries, "no cache was written"
    cache.write(cache.path_in(root), started + seconds * 1_000_000_000, entries)


def make(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    (root / "contacts").mkdir(parents=True)
    (root / "pipe.yaml").write_text("mode: field\n", encoding="utf-8")
    return root


def test_a_trusted_cache_is_used_and_a_hand_edit_is_seen_at_once(tmp_path: Path) -> None:
    root = make(tmp_path)
    path = write(root, "anna", "Anna")
    assert names(root) == {"anna": "Anna"}
    age_cache(root)
    # Prove the cache is really read: plant a different payload under the file's true stat.
    started, entries = cache.read(cache.path_in(root))
    key, kind, payload, digest = entries["anna"]
    entries["anna"] = (key, kind, (*payload[:2], "From the cache", *payload[3:]), digest)
    cache.write(cache.path_in(root), started, entries)
    assert names(root) == {"anna": "From the cache"}
    path.write_text(path.read_text(encoding="utf-8").replace("Anna", "Anne"), encoding="utf-8")  # same size
    assert names(root) == {"anna": "Anne"}


def test_an_mtime_set_back_is_still_seen(tmp_path: Path) -> None:
    root = make(tmp_path)
    path = write(root, "anna", "Anna")
    old = path.stat()
    os.utime(path, ns=(old.st_atime_ns - 3600 * 10**9, old.st_mtime_ns - 3600 * 10**9))
    assert names(root) == {"anna": "Anna"}
    age_cache(root)
    before = path.stat()
    with open(path, "r+b") as handle:  # in place: same inode, same size
        handle.write(b"id: anna\nname: Olga")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_mtime_ns == before.st_mtime_ns and path.stat().st_size == before.st_size
    assert names(root) == {"anna": "Olga"}


def test_a_racily_clean_entry_is_not_trusted(tmp_path: Path) -> None:
    """A file rewritten in the same tick as the cache run keeps its stat; only the margin catches it."""
    root = make(tmp_path)
    path = write(root, "anna", "Anna")
    names(root)
    started, entries = cache.read(cache.path_in(root))
    key, kind, payload, digest = entries["anna"]
    st = path.stat()
    assert key == (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    stale = {"anna": (key, kind, (*payload[:2], "Stale", *payload[3:]), digest)}
    cache.write(cache.path_in(root), max(st.st_mtime_ns, st.st_ctime_ns), stale)  # same tick
    assert names(root) == {"anna": "Anna"}
    cache.write(cache.path_in(root), max(st.st_mtime_ns, st.st_ctime_ns) + 3 * 10**9, stale)
    assert names(root) == {"anna": "Stale"}  # the same stat, safely older: trusted (which is why the margin matters)


def test_deleted_renamed_and_new_files(tmp_path: Path) -> None:
    root = make(tmp_path)
    write(root, "anna", "Anna")
    write(root, "ben", "Ben")
    names(root)
    age_cache(root)
    (root / "contacts" / "anna.yaml").unlink()
    (root / "contacts" / "ben.yaml").rename(root / "contacts" / "benjamin.yaml")
    write(root, "cora", "Cora")
    assert names(root) == {"benjamin": "Ben", "cora": "Cora"}


def test_a_corrupt_truncated_or_foreign_cache_is_rebuilt(tmp_path: Path) -> None:
    root = make(tmp_path)
    write(root, "anna", "Anna")
    names(root)
    path = cache.path_in(root)
    good = path.read_bytes()
    for damage in (b"garbage", good[: len(good) // 2], b""):
        path.write_bytes(damage)
        assert names(root) == {"anna": "Anna"}
        assert cache.read(path)[1], "the cache was not rebuilt"
    # A cache from another version of pipe, with a planted entry that matches the stat.
    started, entries = cache.read(path)
    key, kind, payload, digest = entries["anna"]
    foreign = (("pipe-cache", cache.FORMAT, "0.0.0-other", sys.version_info[:2]), started + 10**10,
               {"anna": (key, kind, (*payload[:2], "Other version", *payload[3:]), digest)})
    path.write_bytes(pickle.dumps(foreign))
    assert names(root) == {"anna": "Anna"}
    # This version, but records of another shape (a field added to Contact without a new version).
    other_shape = ((*cache.STAMP[:4], (("Contact", ("slug", "name")),)), started + 10**10,
                   {"anna": (key, kind, (*payload[:2], "Other shape", *payload[3:]), digest)})
    path.write_bytes(pickle.dumps(other_shape))
    assert names(root) == {"anna": "Anna"}


def test_a_broken_file_stays_reported_from_the_cache(tmp_path: Path) -> None:
    root = make(tmp_path)
    (root / "contacts" / "bad.yaml").write_text("name: [\n", encoding="utf-8")
    first = Store(root, load_config(root)).load_all().broken
    age_cache(root)
    assert Store(root, load_config(root)).load_all().broken == first
    assert first[0].path == "contacts/bad.yaml"


def test_git_checkout_of_an_older_commit_shows_the_older_pipeline(tmp_path: Path) -> None:
    root = make(tmp_path)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    write(root, "anna", "Anna", "c")
    subprocess.run([*git, "add", "contacts"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "one"], cwd=root, check=True)
    write(root, "anna", "Anna", "b")  # same size
    write(root, "ben", "Ben")
    subprocess.run([*git, "add", "contacts"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "two"], cwd=root, check=True)
    store = Store(root, load_config(root))
    assert {c.slug: c.stage for c in store.load_all().contacts} == {"anna": "b", "ben": "c"}
    age_cache(root)
    subprocess.run(["git", "checkout", "-q", "HEAD~1"], cwd=root, check=True)
    assert {c.slug: c.stage for c in store.load_all().contacts} == {"anna": "c"}


def test_processes_writing_the_cache_at_once_leave_a_valid_one(tmp_path: Path) -> None:
    root = make(tmp_path)
    for i in range(200):
        write(root, f"c{i}", f"Contact {i}")
    procs = [subprocess.Popen([sys.executable, "-m", "pipecli", "-C", str(root), "list"], stdout=subprocess.DEVNULL)
             for _ in range(4)]
    assert all(p.wait() == 0 for p in procs)
    started, entries = cache.read(cache.path_in(root))
    assert len(entries) == 200
    assert sorted(os.listdir(cache.path_in(root).parent)) == ["cache", "settings-cache"]  # no temporary files left


# Files written here are seconds young, so the cache rightly re-parses them: this property checks
# the bookkeeping (new, changed, removed and broken files across cache rewrites); the trusted path
# is covered by the tests above, which age the cache explicitly.
OPS = st.lists(st.tuples(st.sampled_from(["write", "edit", "delete", "break"]),
                         st.integers(0, 5), st.sampled_from(["Anna", "Bea", "Cy", "张伟"])), max_size=25)


@settings(max_examples=40, deadline=None)
@given(OPS)
def test_cached_load_equals_a_fresh_parse_after_any_edits(ops: list[tuple[str, int, str]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = make(Path(folder))
        for op, n, name in ops:
            path = root / "contacts" / f"c{n}.yaml"
            if op == "write":
                write(root, f"c{n}", name)
            elif op == "edit" and path.exists():
                path.write_text(path.read_text(encoding="utf-8").replace("stage: c", "stage: b"), encoding="utf-8")
            elif op == "delete" and path.exists():
                path.unlink()
            elif op == "break":
                path.write_text("name: [\n", encoding="utf-8")
            cached = Store(root, load_config(root)).load_all()
            cache.path_in(root).unlink(missing_ok=True)
            fresh = Store(root, load_config(root)).load_all()
            assert cached == fresh


def test_a_contact_named_by_slug_or_id_is_found_without_parsing_the_folder(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pipecli.cli import app

    root = make(tmp_path)
    write(root, "anna", "Anna")
    names(root)  # builds the cache, whose index finds ids
    (root / "contacts" / "broken.yaml").write_text("name: [\n", encoding="utf-8")
    for query in ("anna", "anna-id-is-slug"[:4]):
        result = CliRunner().invoke(app, ["-C", str(root), "show", query])
        assert result.exit_code == 0
        assert "skipped" not in result.stderr  # the broken file was never read
    # by id: the id differs from the slug here
    path = root / "contacts" / "anna.yaml"
    path.write_text("id: 7f3a9b\nname: Anna\nstage: c\n", encoding="utf-8")
    names(root)
    by_id = CliRunner().invoke(app, ["-C", str(root), "show", "7f3a9b"])
    assert by_id.exit_code == 0 and "skipped" not in by_id.stderr
    by_name = CliRunner().invoke(app, ["-C", str(root), "show", "Anna"])
    assert by_name.exit_code == 0 and "skipped contacts/broken.yaml" in by_name.stderr  # a name needs them all


def test_help_imports_only_what_it_uses() -> None:
    # -X importtime names every module the real entry point imports, on stderr.
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "pipecli", "--help"],
                          capture_output=True, text=True, check=True)
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "pipecli.cli" in imported  # the probe sees pipe's own modules
    heavy = ("ruamel.yaml", "tabulate", "yaml", "pypinyin", "wcwidth", "pipecli.store", "pipecli.yamledit",
             "pipecli.report", "pipecli.funnel", "pipecli.rules")
    assert sorted(m for m in heavy if m in imported) == []


def test_the_folder_reads_the_same_where_stat_cannot_take_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make(tmp_path)
    for i in range(5):
        write(root, f"c-{i}", f"Name {i}")
    with_dir_fd = names(root)
    monkeypatch.setattr(os, "supports_dir_fd", set())  # as on a platform without *at() calls
    cache.path_in(root).unlink()
    assert names(root) == with_dir_fd == {f"c-{i}": f"Name {i}" for i in range(5)}
    write(root, "c-0", "Changed")
    assert names(root)["c-0"] == "Changed"


def test_a_file_parsed_again_only_because_it_is_recent_does_not_rewrite_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make(tmp_path)
    for i in range(3):
        write(root, f"c-{i}", f"Name {i}")
    assert names(root)["c-1"] == "Name 1"  # first sight: the cache is written
    cache_file = cache.path_in(root)
    written = cache_file.stat()
    assert names(root)["c-1"] == "Name 1"  # all three parsed again (too recent to trust), nothing new
    assert cache_file.stat().st_mtime_ns == written.st_mtime_ns
    assert cache_file.stat().st_ino == written.st_ino  # not rewritten
    write(root, "c-1", "Renamed")  # something new: written
    assert names(root)["c-1"] == "Renamed"
    assert cache_file.stat().st_ino != written.st_ino
    # A cache from before the files' last change trusts none of them; a cache written now would
    # trust them all (no margin): worth rewriting, though nothing in them changed.
    started, entries = cache.read(cache_file)
    cache.write(cache_file, started - 10_000_000_000, entries)
    monkeypatch.setattr(cache, "MARGIN_NS", 0)
    aged = cache_file.stat()
    assert names(root)["c-1"] == "Renamed"
    assert cache_file.stat().st_ino != aged.st_ino
    started_now, entries = cache.read(cache_file)
    assert started_now > started
    assert set(entries) == {"c-0", "c-1", "c-2"}


def age_caches(root: Path, seconds: int = 10) -> None:
    """Both caches, as if written long after the files changed: their entries are trusted."""
    for name in (cache.CACHE_FILE, cache.SETTINGS_FILE):
        path = cache.path_in(root, name)
        if path.exists():
            started, entries = cache.read(path)
            assert entries, f"no {name} was written"
            cache.write(path, started + seconds * 1_000_000_000, entries)
    assert cache.path_in(root, cache.SETTINGS_FILE).exists()


def test_settings_edited_by_hand_are_seen_at_once(tmp_path: Path) -> None:
    root = make(tmp_path)
    (root / "pipe.yaml").write_text("mode: field\nsales_cycle_days: 90\n", encoding="utf-8")
    assert load_config(root)["sales_cycle_days"] == 90
    age_caches(root)
    assert load_config(root)["sales_cycle_days"] == 90  # from the cache
    path = root / "pipe.yaml"
    before = path.stat()
    path.write_text("mode: field\nsales_cycle_days: 30\n", encoding="utf-8")  # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the old mtime: ctime still tells
    assert load_config(root)["sales_cycle_days"] == 30
    local = root / ".pipe" / "local.yaml"
    local.parent.mkdir(exist_ok=True)
    local.write_text("owner: ola\n", encoding="utf-8")
    assert load_config(root)["owner"] == "ola"  # a local file that appears
    age_caches(root)
    local.unlink()
    assert load_config(root)["owner"] is None  # and one that goes
    path.write_text("mode: field\nsales_cycle_days: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="pipe.yaml:3: does not parse"):
        load_config(root)
    path.write_text("mode: field\nsales_cycle_day: 30\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown setting 'sales_cycle_day'"):
        load_config(root)


def test_a_warm_listing_does_not_import_a_yaml_parser(tmp_path: Path) -> None:
    root = make(tmp_path)
    for i in range(3):
        write(root, f"c{i}", f"Contact {i}")

    def imported(*args: str) -> set[str]:
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "pipecli", "-C", str(root), *args],
                              capture_output=True, text=True)
        assert done.returncode in (0, 1), done.stderr[-300:]  # review says 1 when a rule fires
        return {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}

    assert "yaml" in imported("list")  # the first time, everything is parsed
    age_caches(root)
    for command in ("list", "board", "review"):
        warm = imported(command)
        assert "pipecli.store" in warm
        assert "yaml" not in warm, command
        assert not warm & {"ruamel.yaml", "tabulate", "pipecli.report", "pipecli.yamledit"}, command
    assert "pipecli.funnel" not in imported("list")  # the board's code, for the board only
    write(root, "c1", "Changed")  # one file to parse: then PyYAML is needed, for that file alone
    assert "yaml" in imported("list")


def test_an_unreadable_cache_is_no_error(tmp_path: Path) -> None:
    root = make(tmp_path)
    write(root, "anna", "Anna")
    cache.path_in(root).mkdir(parents=True)  # a folder where the cache file should be: it can be neither read nor replaced
    assert names(root) == {"anna": "Anna"}
    assert names(root) == {"anna": "Anna"}


def test_init_keeps_the_cache_out_of_git(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "pipecli", "init", str(tmp_path / "sales"), "--no-git"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert ".pipe/" in (tmp_path / "sales" / ".gitignore").read_text(encoding="utf-8").splitlines()
