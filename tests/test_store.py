"""The store on real files: atomic writes, refusing concurrent changes, broken files, check."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest
from conftest import Run, contact_file

from pipecli.errors import ConcurrentChange
from pipecli.model import SetKey
from pipecli.store import Store, line_of, load_config, write_atomic

GOOD = "id: g1\nname: Good One\nstage: opportunity\n"


def store(root: Path) -> Store:
    return Store(root, load_config(root))


def test_interrupted_write_leaves_the_old_file_and_no_debris(tmp_path: Path) -> None:
    target = tmp_path / "c.yaml"
    target.write_bytes(b"old\n")

    def crash() -> None:
        raise KeyboardInterrupt  # the process dies between writing the new file and renaming it

    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, b"new\n", before_replace=crash)
    assert target.read_bytes() == b"old\n"
    assert os.listdir(tmp_path) == ["c.yaml"]
    write_atomic(target, b"new\n")
    assert target.read_bytes() == b"new\n"
    assert os.listdir(tmp_path) == ["c.yaml"]


def test_a_new_file_follows_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "new.yaml", b"x\n")
    finally:
        os.umask(old)
    assert (tmp_path / "new.yaml").stat().st_mode & 0o777 == 0o644


def test_write_keeps_the_file_mode(tmp_path: Path) -> None:
    target = tmp_path / "c.yaml"
    target.write_bytes(b"old\n")
    target.chmod(0o640)
    write_atomic(target, b"new\n")
    assert target.stat().st_mode & 0o777 == 0o640


def test_a_file_changed_since_it_was_read_is_not_overwritten(pipeline: Path) -> None:
    path = contact_file(pipeline, "good-one")
    path.write_text(GOOD, encoding="utf-8")
    s = store(pipeline)
    contact = s.load("good-one")
    path.write_text(GOOD + "# edited by hand meanwhile\n", encoding="utf-8")
    with pytest.raises(ConcurrentChange) as caught:
        s.apply(contact, [SetKey(("stage",), "reserve")])
    assert "changed on disk" in str(caught.value)
    assert path.read_text(encoding="utf-8").endswith("# edited by hand meanwhile\n")


def test_a_file_changed_since_the_whole_folder_was_read_is_not_overwritten(pipeline: Path) -> None:
    path = contact_file(pipeline, "good-one")
    path.write_text(GOOD, encoding="utf-8")
    s = store(pipeline)
    s.load("good-one")  # read alone first, then with the folder: the folder's read is the one that counts
    (contact,) = s.load_all().contacts
    assert s.apply(contact, [SetKey(("stage",), "b")])  # unchanged since: written
    (contact,) = s.load_all().contacts
    path.write_text(path.read_text(encoding="utf-8") + "# edited by hand meanwhile\n", encoding="utf-8")
    with pytest.raises(ConcurrentChange):
        s.apply(contact, [SetKey(("stage",), "reserve")])
    assert path.read_text(encoding="utf-8").endswith("# edited by hand meanwhile\n")


def test_broken_files_are_skipped_with_path_and_line_and_never_written(pipeline: Path, run: Run) -> None:
    contact_file(pipeline, "good-one").write_text(GOOD, encoding="utf-8")
    bad = contact_file(pipeline, "bad-one")
    bad_text = "id: b1\nname: Bad\nstage: [c\n"
    bad.write_text(bad_text, encoding="utf-8")
    result = run("list")
    assert result.exit_code == 0
    assert "good-one" in result.stdout
    assert "pipe: warning: skipped contacts/bad-one.yaml:" in result.stderr
    assert run("promote", "Good One", "--force", "--reason", "test").exit_code == 0
    assert bad.read_text(encoding="utf-8") == bad_text


def test_check_reports_every_problem_with_its_line(pipeline: Path, run: Run) -> None:
    files = {
        "good-one": GOOD,
        "unparsable": "id: u1\nname: U\nstage: c\nnotes: [unclosed\n",
        "conflicted": "id: k1\nname: K\n<<<<<<< HEAD\nstage: c\n=======\nstage: b\n>>>>>>> theirs\n",
        "wrong-stage": "id: w1\nname: W\nstage: maybe\nsource: friend\n",
        "bad-dates": "id: d1\nname: D\nstage: c\ncreated: 2026-02-30\nnext:\n  action: call\n  due: soon\n",
        "wrong-types": "id: t1\nname: T\nstage: c\nvalue: lots\ntags: 5\ncriteria:\n  budget: maybe\n",
        "history-off": "id: h1\nname: H\nstage: b\nhistory:\n  - {date: 2026-10-01, to: opportunity}\n"
                       "  - {date: 2026-10-02, from: c, to: c}\n",
        "dup-id-a": "id: same\nname: First\nstage: c\n",
        "dup-id-b": "id: same\nname: Second\nstage: c\n",
        "twin-a": "id: t2\nname: Anna Berg\ncompany: Nordlys AS\nstage: c\n",
        "twin-b": "id: t3\nname: anna berg\ncompany: nordlys as\nstage: b\n",
    }
    for slug, text in files.items():
        contact_file(pipeline, slug).write_text(text, encoding="utf-8")
    result = run("check")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    expected = [
        "contacts/bad-dates.yaml:4: created: 2026-02-30 is not a real date",
        "contacts/bad-dates.yaml:7: next.due should be a date like 2026-12-03, not 'soon'",
        "contacts/conflicted.yaml:3: unresolved git merge conflict",
        "contacts/dup-id-a.yaml:1: duplicate id 'same', also in dup-id-b: give each contact its own id",
        "contacts/dup-id-b.yaml:1: duplicate id 'same', also in dup-id-a: give each contact its own id",
        "contacts/history-off.yaml:3: stage is B but the history ends at C: use pipe promote/demote, or fix the history",
        "contacts/history-off.yaml:6: history entry 2 leaves C but the entry before it led to O",
        "contacts/twin-a.yaml:2: same name and company as twin-b: the same person twice?",
        "contacts/twin-b.yaml:2: same name and company as twin-a: the same person twice?",
        "contacts/unparsable.yaml:4: YAML does not parse: did not find expected ',' or ']' "
        "(while parsing a flow sequence at line 4)",
        "contacts/wrong-stage.yaml:3: unknown stage 'maybe': use one of opportunity, first-appointment, c, b, a, closed, reserve",
        "contacts/wrong-stage.yaml:4: unknown source 'friend': use one of candidate, suspect, inbound, referral, fallback",
        "contacts/wrong-types.yaml:4: value should be a number, not 'lots'",
        "contacts/wrong-types.yaml:5: tags should be a list like [a, b], not 5",
        "contacts/wrong-types.yaml:7: criteria.budget should be true or false, not 'maybe'",
    ]
    for line in expected:
        assert line in lines, f"{line}\n--- got:\n{result.stdout}"
    assert len(lines) == len(expected)
    assert "15 problems in 10 of 11 files" in result.stderr


def test_check_json_and_a_clean_pipeline(pipeline: Path, run: Run) -> None:
    contact_file(pipeline, "good-one").write_text(GOOD, encoding="utf-8")
    result = run("check")
    assert result.exit_code == 0
    assert result.stdout == "1 contacts checked, no problems.\n"
    contact_file(pipeline, "bad").write_text("id: b\nname: B\nstage: c\nvalue: x\n", encoding="utf-8")
    result = run("check", "--format", "json")
    assert result.exit_code == 1
    assert '"path": "contacts/bad.yaml"' in result.stdout and '"line": 4' in result.stdout


def test_line_of_finds_nested_keys() -> None:
    data = b"id: a\nnext:\n  action: x\n  due: y\nactivities:\n  - {date: 1}\n  - {date: 2}\n"
    assert line_of(data, ("next", "due")) == 4
    assert line_of(data, ("activities", 1, "date")) == 7
    assert line_of(data, ("missing",)) == 1


def test_config_errors_name_the_key(pipeline: Path, run: Run) -> None:
    config = pipeline / "pipe.yaml"
    config.write_text("mode: feild\n", encoding="utf-8")
    result = run("list")
    assert result.exit_code == 1
    assert "pipe: error: pipe.yaml: 'mode' is 'feild'; use one of: field, phone" in result.stderr
    config.write_text("sales_cycle: 90\n", encoding="utf-8")
    assert "unknown setting 'sales_cycle'" in run("list").stderr
    config.write_text("sales_cycle_days: ninety\n", encoding="utf-8")
    assert "'sales_cycle_days' should be a whole number, not 'ninety'" in run("list").stderr
    assert "Traceback" not in run("list").output


def test_dates_in_files_are_dates(pipeline: Path) -> None:
    contact_file(pipeline, "good-one").write_text(GOOD + "created: 2026-10-01\n", encoding="utf-8")
    assert store(pipeline).load("good-one").created == date(2026, 10, 1)


def test_the_lean_reader_reads_exactly_what_the_c_loader_reads(tmp_path: Path) -> None:
    """The fast parser must agree with PyYAML's C loader on every file and on YAML's odd corners."""
    import yaml

    from pipecli.yamlread import ContactLoader, load_yaml

    demo = Path(__file__).parent.parent / "examples" / "demo" / "contacts"
    samples = [p.read_bytes() for p in sorted(demo.glob("*.yaml"))]
    samples += [b"a: &x 1\nb: *x\n", b"base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n", b"d: 2026-02-30\n",
                b"x: !!str 12\ny: '12'\n", b"n: ~\nt: yes\nf: 1.5\ne: ''\nz: 0x1F\nb: !!binary aGk=\n", b"",
                b"when: 2026-10-01 10:30:00\nlist: [1, two, 3.0, null, {k: v}]\n", "名字: 张伟\n".encode()]
    for data in samples:
        assert load_yaml(data) == yaml.load(data, Loader=ContactLoader), data  # noqa: S506


@pytest.mark.parametrize(("text", "words"), [
    ("id: x\nname: Anna\nstage: AA\n", "unknown stage 'AA'"),
    ("id: x\nname: Anna\n", "has no stage"),
    ("id: x\nstage: c\n", "has no name"),
    ("- just\n- a list\n", "should hold a mapping"),
    ("", "should hold a mapping"),
])
def test_a_file_that_is_no_contact_is_skipped_not_counted_as_an_opportunity(pipeline: Path, run: Run,
                                                                           text: str, words: str) -> None:
    contact_file(pipeline, "good-one").write_text(GOOD, encoding="utf-8")
    odd = contact_file(pipeline, "odd")
    odd.write_text(text, encoding="utf-8")
    listing = run("list", "--all", "-f", "json")
    assert [r["slug"] for r in json.loads(listing.stdout)] == ["good-one"]
    assert "pipe: warning: skipped contacts/odd.yaml" in listing.stderr and words in listing.stderr
    shown = run("show", "odd")
    assert shown.exit_code == 1 and words in shown.stderr and "pipe edit odd" in shown.stderr
    assert run("log", "odd", "call").exit_code == 1
    assert odd.read_text(encoding="utf-8") == text
    assert words in run("check").stdout


def test_a_utf16_file_is_reported_not_crashed_on(pipeline: Path, run: Run) -> None:
    contact_file(pipeline, "wide").write_bytes(GOOD.encode("utf-16"))
    result = run("show", "wide")
    assert result.exit_code == 1 and "not UTF-8 text" in result.stderr and "internal error" not in result.stderr
    assert "contacts/wide.yaml: not UTF-8 text" in run("check").stdout


def test_the_folder_loads_in_slug_order(pipeline: Path) -> None:
    for slug in ("b", "a0", "a-b", "a"):  # '-' sorts before '.', so file names would order these differently
        contact_file(pipeline, slug).write_text(f"id: {slug}\nname: N {slug}\nstage: c\n", encoding="utf-8")
    assert [c.slug for c in store(pipeline).load_all().contacts] == ["a", "a-b", "a0", "b"]


def test_check_lists_every_settings_problem_at_its_line(pipeline: Path, run: Run) -> None:
    config = pipeline / "pipe.yaml"
    config.write_text("mode: field\ntarget_close: 5\nsales_cycle_days: ninety\nrules:\n  stalled:\n    o_days: -3\n",
                      encoding="utf-8")
    (pipeline / ".pipe").mkdir(exist_ok=True)
    (pipeline / ".pipe" / "local.yaml").write_text("owner: [ola]\n", encoding="utf-8")
    result = run("check")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        ".pipe/local.yaml:1: 'owner' should be text, not ['ola']",
        "pipe.yaml:2: unknown setting 'target_close' (did you mean 'target_closes'?)",
        "pipe.yaml:3: 'sales_cycle_days' should be a whole number, not 'ninety'",
        "pipe.yaml:6: 'rules.stalled.o_days' must be between 1 and 3,650, not -3",
    ]
    assert "4 problems in .pipe/local.yaml, pipe.yaml" in result.stderr
    as_json = json.loads(run("check", "--format", "json").stdout)
    assert [(p["path"], p["line"]) for p in as_json] == [(".pipe/local.yaml", 1), ("pipe.yaml", 2), ("pipe.yaml", 3),
                                                         ("pipe.yaml", 6)]
    listing = run("list")  # every other command stops at the first problem
    assert listing.exit_code == 1
    assert "pipe: error: pipe.yaml: unknown setting 'target_close'" in listing.stderr
    assert "did you mean 'target_closes'?" in listing.stderr
    config.write_text("mode: field\nsales_cycle_days: 90\nsales_cycle_days: [\n", encoding="utf-8")
    broken = run("check")
    assert broken.exit_code == 1
    assert "\npipe.yaml:4: does not parse: did not find expected node content\n" in broken.stdout


def test_a_key_written_twice_is_located_where_it_counts() -> None:
    assert line_of(b"a: 1\nb: 2\na: 3\n", ("a",)) == 3  # the last one, as YAML loaders take it
