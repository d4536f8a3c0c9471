"""Hostile and unusual input (issue 11, sections 4, 5 and 7): each case with its exact outcome.

A pipeline is shared through git with people and machines we do not control, so every file in it is
untrusted input, and everything pipe prints or writes may be read by a terminal, a spreadsheet or a
markdown renderer. Each test asserts the error and its exit code, that the file's bytes are unchanged
where nothing may be written, and that nothing outside the folder is touched.
"""

from __future__ import annotations

import csv
import io
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import yaml
from conftest import TODAY, Run, contact_file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from pipecli.cli import app
from pipecli.store import Unreadable, parse


@pytest.fixture(autouse=True, scope="module")
def built_once() -> Iterator[None]:
    """typer builds the click command again on every CliRunner.invoke (two thirds of a small run):
    build it once for this module, whose tests run hundreds of commands."""
    import typer.main
    import typer.testing

    command = typer.main.get_command(app)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(typer.testing, "_get_command", lambda _: command)
        yield


READ_COMMANDS = (("list", "--all"), ("check",), ("board",), ("review",), ("plan",), ("stats",), ("report",))


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of the pipeline but pipe's own cache, by path: what a refused command must leave alone."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".pipe" not in p.parts}


def no_internal_error(result: Result) -> None:
    assert "internal error" not in result.output, result.output
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


def bomb(levels: int, width: int = 9) -> str:
    """A "billion laughs": each alias level multiplies the values by `width`."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


# --- 4. hostile and unusual YAML -------------------------------------------------------------------


def test_an_alias_bomb_in_a_contact_is_refused_at_its_line_without_expanding_it(pipeline: Path, run: Run) -> None:
    # 9**30 values if expanded: a reader that expanded aliases would never finish this test
    text = "id: b1\nname: Bomb\nstage: c\n" + bomb(30) + "tags: *l29\n"
    contact_file(pipeline, "bomb").write_text(text, encoding="utf-8")
    run("add", "Anna Berg")
    before = snapshot(pipeline)
    listing = run("list")
    assert listing.exit_code == 0
    assert "anna-berg" in listing.stdout
    warning = "pipe: warning: skipped contacts/bomb.yaml:9: refused: aliases (*name) make this value expand to more " \
              "than 100,000 values (an alias bomb?): write the values out\n"
    assert listing.stderr == warning  # l5 is the first level past 100,000 values: line 9
    checked = run("check")
    assert checked.exit_code == 1
    assert "contacts/bomb.yaml:9: refused: aliases (*name) make this value expand" in checked.stdout
    shown = run("show", "bomb")
    assert shown.exit_code == 1
    assert "pipe: error: contacts/bomb.yaml:9: refused: aliases" in shown.stderr
    logged = run("log", "bomb", "call")
    assert logged.exit_code == 1
    assert "refused: aliases" in logged.stderr
    assert snapshot(pipeline) == before


def test_an_alias_bomb_in_pipe_yaml_stops_every_command_with_its_line(pipeline: Path, run: Run) -> None:
    config = pipeline / "pipe.yaml"
    text = config.read_text(encoding="utf-8")
    lines = text.count("\n")
    config.write_text(text + "x-bomb:\n" + "".join("  " + line + "\n" for line in bomb(30).splitlines()),
                      encoding="utf-8")
    before = snapshot(pipeline)
    at = lines + 7  # the header line, then l0..l5
    for args in (*READ_COMMANDS, ("add", "Anna Berg")):
        result = run(*args)
        no_internal_error(result)
        if args == ("check",):
            assert result.exit_code == 1
            assert f"pipe.yaml:{at}: refused: aliases (*name) make this value expand" in result.stdout
        else:
            assert result.exit_code == 1, args
            assert result.stderr.startswith(f"pipe: error: pipe.yaml:{at}: refused: aliases"), result.stderr
    assert snapshot(pipeline) == before


def test_an_alias_that_refers_to_its_own_node_is_refused(pipeline: Path, run: Run) -> None:
    contact_file(pipeline, "cycle").write_text("id: c1\nname: Cy\nstage: c\ntags: &t [a, *t]\n", encoding="utf-8")
    assert "contacts/cycle.yaml:4: refused: an alias (*name) refers to a node that contains it (a cycle)" \
        in run("check").stdout
    shown = run("show", "cycle", "--format", "json")
    assert shown.exit_code == 1
    assert "a cycle" in shown.stderr


DEEP_CONTACTS = {
    "flow": ("id: d\nname: Deep\nstage: c\nnotes: " + "[" * 300 + "]" * 300 + "\n", 4),
    # 200,000 levels: libyaml alone takes minutes on this; pipe stops reading at level 100
    "flow-huge": ("id: d\nname: Deep\nstage: c\nnotes: " + "{a: " * 200_000 + "}" * 200_000 + "\n", 4),
    "block": ("id: d\nname: Deep\nstage: c\nnotes:\n" + "".join(" " * i + "k:\n" for i in range(1, 300)), 103),
    "dashes": ("id: d\nname: Deep\nstage: c\nnotes:\n" + "- " * 300 + "x\n", 5),
}


@pytest.mark.parametrize("kind", DEEP_CONTACTS)
def test_nesting_hundreds_of_levels_deep_in_a_contact_is_a_clear_error(pipeline: Path, run: Run, kind: str) -> None:
    text, line = DEEP_CONTACTS[kind]
    contact_file(pipeline, "deep").write_bytes(text.encode("utf-8"))
    before = snapshot(pipeline)
    where = f"contacts/deep.yaml:{line}: refused: nested more than 100 levels deep"
    checked = run("check")
    assert checked.exit_code == 1
    assert where in checked.stdout
    for args in READ_COMMANDS:
        result = run(*args)
        no_internal_error(result)
        assert "RecursionError" not in result.output
        assert f"pipe: warning: skipped {where}" in result.stderr or (args == ("check",) and where in result.stdout)
    assert run("show", "deep").stderr.startswith(f"pipe: error: {where}")
    assert run("log", "deep", "call").exit_code == 1
    assert snapshot(pipeline) == before


def _with_rule(pipeline: Path, condition: str) -> None:
    config = pipeline / "pipe.yaml"
    text = config.read_text(encoding="utf-8")
    assert "  custom: []\n" in text
    config.write_text(text.replace("  custom: []\n", "  custom:\n    - id: deep\n      action: flag\n      when:\n"
                                   + condition), encoding="utf-8")


def _not_chain(levels: int) -> str:
    return "".join("  " * (4 + i) + "not:\n" for i in range(levels)) + "  " * (4 + levels) + "days_quiet: {gt: 3}\n"


def test_a_not_chain_hundreds_deep_in_a_custom_rule_is_a_clear_error_in_every_command(pipeline: Path, run: Run) -> None:
    run("add", "Anna Berg")
    _with_rule(pipeline, _not_chain(300))
    line = (pipeline / "pipe.yaml").read_text(encoding="utf-8").splitlines().index("  " * 99 + "not:") + 1
    for args in READ_COMMANDS:
        result = run(*args)
        no_internal_error(result)
        assert "RecursionError" not in result.output
        assert result.exit_code == 1
        said = result.stdout if args == ("check",) else result.stderr
        assert f"pipe.yaml:{line}: refused: nested more than 100 levels deep" in said


def test_a_not_chain_within_the_yaml_limit_but_past_the_rule_limit_is_a_rule_problem(pipeline: Path, run: Run) -> None:
    run("add", "Anna Berg")
    _with_rule(pipeline, _not_chain(70))
    checked = run("check")
    assert checked.exit_code == 1
    assert "rules.custom: rule 'deep': when" in checked.stdout
    assert "conditions nested more than 50 levels deep (all, any, not): write it flatter" in checked.stdout
    review = run("review")
    no_internal_error(review)
    assert review.exit_code == 1
    assert "conditions nested more than 50 levels deep" in review.stderr


def test_a_not_chain_of_forty_levels_still_works(pipeline: Path, run: Run) -> None:
    run("add", "Anna Berg")
    _with_rule(pipeline, _not_chain(40))  # an even number of nots: days_quiet > 3, which a new contact is not
    assert run("check").exit_code == 0
    assert run("review", today="2026-12-30").stdout.count("deep") == 1


def test_a_key_written_twice_is_an_error_and_the_file_is_never_edited(pipeline: Path, run: Run) -> None:
    path = contact_file(pipeline, "dup")
    path.write_text("id: d1\nname: Dup\nstage: c\nstage: b\n", encoding="utf-8")
    before = path.read_bytes()
    message = ("contacts/dup.yaml:4: refused: the key 'stage' is written twice in one mapping (first at line 3): "
               "pipe would edit one copy and read the other; keep one")
    checked = run("check")
    assert checked.exit_code == 1
    assert message in checked.stdout
    assert run("list").stderr == f"pipe: warning: skipped {message}\n"
    for args in (("log", "dup", "call"), ("promote", "dup", "--force", "--reason", "x"), ("demote", "dup", "--reason", "x"),
                 ("defer", "dup", "--until", "+6m", "--reason", "later")):
        result = run(*args)
        assert result.exit_code == 1, args
        assert result.stderr.startswith(f"pipe: error: {message}"), args
    assert path.read_bytes() == before


def test_a_key_written_twice_deeper_in_a_contact_or_in_pipe_yaml_is_an_error(pipeline: Path, run: Run) -> None:
    contact_file(pipeline, "dup").write_text("id: d1\nname: Dup\nstage: c\nnext:\n  action: a\n  action: b\n",
                                             encoding="utf-8")
    assert "contacts/dup.yaml:6: refused: the key 'action' is written twice" in run("check").stdout
    config = pipeline / "pipe.yaml"
    config.write_text("mode: field\nmode: phone\n", encoding="utf-8")
    result = run("list")
    assert result.exit_code == 1
    assert result.stderr.startswith("pipe: error: pipe.yaml:2: refused: the key 'mode' is written twice")


def test_the_editor_refuses_a_key_written_twice_even_when_asked_directly() -> None:
    from pipecli.model import SetKey
    from pipecli.yamledit import EditError, apply_changes

    with pytest.raises(EditError, match="written twice"):
        apply_changes("id: a\nname: A\nstage: c\nstage: b\n", [SetKey(("stage",), "a")])


NULLS = "id: n1\nname: Nils\nstage: c\nhistory: ~  # none yet\nactivities:\nnext: null\n"


def test_keys_with_a_null_value_are_edited_correctly(pipeline: Path, run: Run) -> None:
    path = contact_file(pipeline, "nils")
    path.write_text(NULLS, encoding="utf-8")
    assert run("log", "nils", "call", "--outcome", "talked", "--next", "send the quote", "--due", "+1d").exit_code == 0
    assert run("promote", "nils", "--force", "--reason", "import").exit_code == 0
    assert path.read_text(encoding="utf-8") == (  # a new next action is written whole, where a new file has it
        "id: n1\nname: Nils\nstage: b\n"
        "next:\n  action: send the quote\n  due: 2026-12-01\n  agreed: 2026-11-30\n"
        "history:\n  - {date: 2026-11-30, from: c, to: b, reason: import, forced: true}  # none yet\n"
        "activities:\n  - {date: 2026-11-30, kind: call, outcome: talked}\n")
    assert run("check").exit_code == 0


@pytest.mark.parametrize("null", ["~", "null", "Null", ""])
def test_a_scalar_key_with_a_null_value_is_set_in_place(null: str) -> None:
    from pipecli.model import SetKey
    from pipecli.yamledit import apply_changes

    text = f"id: a\nname: A\nstage: c\nverbal_yes: {null}\nnotes: kept\n".replace(": \n", ":\n")
    out = apply_changes(text, [SetKey(("verbal_yes",), date(2026, 11, 30))])
    assert out == "id: a\nname: A\nstage: c\nverbal_yes: 2026-11-30\nnotes: kept\n"


def test_a_byte_order_mark_is_read_and_kept_through_edits(pipeline: Path, run: Run) -> None:
    path = contact_file(pipeline, "bom")
    path.write_bytes(b"\xef\xbb\xbfid: b1\nname: Bo\nstage: c\nactivities:\n  - {date: 2026-11-01, kind: call}\n")
    assert run("show", "bom", "--format", "json").exit_code == 0
    assert run("log", "bom", "call", "--next", "call again").exit_code == 0
    assert path.read_bytes() == (b"\xef\xbb\xbfid: b1\nname: Bo\nstage: c\nnext:\n  action: call again\n"
                                 b"  agreed: 2026-11-30\nactivities:\n  - {date: 2026-11-01, kind: call}\n  - {date: 2026-11-30, kind: call}\n")
    assert parse(path.read_bytes(), "contacts/bom.yaml")["name"] == "Bo"
    assert run("check").exit_code == 0


def test_a_crlf_file_gets_its_appended_lines_with_crlf(pipeline: Path, run: Run) -> None:
    path = contact_file(pipeline, "crlf")
    path.write_bytes(b"id: c1\r\nname: Cr\r\nstage: c\r\nactivities:\r\n  - {date: 2026-11-01, kind: call}\r\n")
    assert run("log", "crlf", "call", "--next", "do it").exit_code == 0
    assert run("promote", "crlf", "--force", "--reason", "import").exit_code == 0
    assert path.read_bytes() == (
        b"id: c1\r\nname: Cr\r\nstage: b\r\nnext:\r\n  action: do it\r\n  agreed: 2026-11-30\r\nactivities:\r\n"
        b"  - {date: 2026-11-01, kind: call}\r\n  - {date: 2026-11-30, kind: call}\r\n"
        b"history:\r\n  - {date: 2026-11-30, from: c, to: b, reason: import, forced: true}\r\n")
    assert run("check").exit_code == 0


UNWRITABLE = [
    (("add", "Eve\x00Nul"), "the name holds a NUL (U+0000)"),
    (("add", "Eve\nForged"), "the name holds a line break (U+000A)"),
    (("add", "Eve\x1b[31mRed"), "the name holds a control character (U+001B)"),
    (("add", "Eve", "--company", "Acme\u2028Inc"), "the company holds a line break (U+2028)"),
    (("add", "Eve", "--email", "e@x\r"), "the email holds a line break (U+000D)"),
    (("add", "Eve", "--tag", "a\tb"), "the tags #1 holds a tab (U+0009)"),
    (("add", "Eve", "--note", "two\nlines\x00"), "the notes holds a NUL (U+0000)"),
    (("log", "anna", "call", "--next", "send\nit"), "the next.action holds a line break (U+000A)"),
    (("log", "anna", "call", "--note", "ok\x07"), "the activities.note holds a control character (U+0007)"),
    (("promote", "anna", "--force", "--reason", "met\x00"), "the history.reason holds a NUL (U+0000)"),
    (("demote", "anna", "--to", "reserve", "--reason", "gone\nnow"), "the history.reason holds a line break (U+000A)"),
    (("defer", "anna", "--until", "+6m", "--reason", "later\x1b"), "the deferred.reason holds a control character"),
    (("qualify", "anna", "--next-step", "work\nshop"), "the next.action holds a line break (U+000A)"),  # the step is next
]


@pytest.mark.parametrize(("args", "said"), UNWRITABLE, ids=[" ".join(a[:1]) + f"-{i}" for i, (a, _) in enumerate(UNWRITABLE)])
def test_a_nul_line_break_or_control_character_in_a_one_line_field_is_refused_before_writing(
        pipeline: Path, run: Run, args: tuple[str, ...], said: str) -> None:
    run("add", "Anna Berg")
    before = snapshot(pipeline)
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"pipe: error: {said}")
    assert "nothing was written" in result.stderr
    assert "\x00" not in result.stderr
    assert "\x1b" not in result.stderr
    assert snapshot(pipeline) == before


def test_line_breaks_and_tabs_belong_in_notes(pipeline: Path, run: Run) -> None:
    assert run("add", "Anna Berg", "--note", "two\nlines\tand a tab").exit_code == 0
    assert run("log", "anna", "call", "--note", "said:\nyes").exit_code == 0
    data = yaml.safe_load(contact_file(pipeline, "anna-berg").read_text(encoding="utf-8"))
    assert data["notes"] == "two\nlines\tand a tab\n"
    assert data["activities"][0]["note"] == "said:\nyes"


# --- 5. bounded numbers and dates --------------------------------------------------------------------


@pytest.mark.parametrize(("number", "line"), [("1" + "0" * 5000, 4), ("0x" + "f" * 5000, 2)])
def test_a_number_of_thousands_of_digits_is_refused_at_its_line(pipeline: Path, run: Run, number: str, line: int) -> None:
    text = f"id: a\nname: A\nstage: c\nvalue: {number}\n" if line == 4 else f"id: a\nname: {number}\nstage: c\n"
    contact_file(pipeline, "digits").write_text(text, encoding="utf-8")
    checked = run("check")
    assert checked.exit_code == 1
    assert (f"contacts/digits.yaml:{line}: refused: a number of {len(number):,} characters: pipe reads whole numbers "
            "of at most 3,900 digits") in checked.stdout
    for args in READ_COMMANDS:
        no_internal_error(run(*args))


@pytest.mark.parametrize("bound", [".nan", ".inf", "-.inf", "1" + "0" * 400])
def test_a_custom_rule_compares_with_bounded_numbers_only(pipeline: Path, run: Run, bound: str) -> None:
    run("add", "Anna Berg")
    _with_rule(pipeline, f"        days_quiet: {{gt: {bound}}}\n")
    checked = run("check")
    assert checked.exit_code == 1
    assert "when.days_quiet.gt: should be a number from -9,007,199,254,740,992 to 9,007,199,254,740,992" in checked.stdout
    no_internal_error(run("review"))


BAD_SETTINGS = [
    ("target_closes: 4", "target_closes: .inf", "'target_closes' must be greater than 0 and at most 1,000,000, not inf"),
    ("target_closes: 4", "target_closes: 1.0e+308",
     "'target_closes' must be greater than 0 and at most 1,000,000, not 1e+308"),
    ("target_closes: 4", "target_closes: .nan", "'target_closes' must be greater than 0 and at most 1,000,000, not nan"),
    ("sales_cycle_days: 90", "sales_cycle_days: 999999999999",
     "'sales_cycle_days' must be between 1 and 3,650, not 999999999999"),
    ("its close chance.\n    c:\n", "its close chance.\n    c: 1.0e+300\n",
     "'funnel.ratios.c' must be greater than 0 and at most 1,000, not 1e+300"),
    ("    o_days: 90", "    o_days: 100000000000000000000", "'rules.stalled.o_days' must be between 1 and 3,650"),
    ("  catch_up_weeks: 4", "  catch_up_weeks: 1000000000", "'week.catch_up_weeks' must be between 1 and 520"),
    ("  cycle_start:\n", "  cycle_start: 9999-12-31\n",
     "'funnel.cycle_start' 9999-12-31 is outside the dates pipe works with (1900-01-01 to 2999-12-31)"),
]


@pytest.mark.parametrize(("default", "bad", "said"), BAD_SETTINGS,
                         ids=[b.strip().split("\n")[-1].strip() for _, b, _ in BAD_SETTINGS])
def test_every_number_setting_has_a_sane_range_enforced_by_check_and_on_load(
        pipeline: Path, run: Run, default: str, bad: str, said: str) -> None:
    run("add", "Anna Berg", "--stage", "c", "--force", "--reason", "import")
    config = pipeline / "pipe.yaml"
    text = config.read_text(encoding="utf-8")
    assert text.count(default) == 1
    config.write_text(text.replace(default, bad), encoding="utf-8")
    written = config.read_text(encoding="utf-8")
    line = written[: written.index(bad) + len(bad.rstrip("\n"))].count("\n") + 1  # where the bad value stands
    checked = run("check")
    assert checked.exit_code == 1
    assert f"pipe.yaml:{line}: {said}" in checked.stdout
    for args in (("board",), ("plan",), ("stats",), ("report",)):
        result = run(*args)
        no_internal_error(result)
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith(f"pipe: error: pipe.yaml: {said}"), result.stderr


FAR_DATES = [
    ("activities:\n  - {date: 9999-12-31, kind: call}\n", 5, "activities #1.date: 9999-12-31"),
    ("activities:\n  - {date: 1000-01-01, kind: call}\n", 5, "activities #1.date: 1000-01-01"),
    ("next: {action: call, due: 9999-12-31}\n", 4, "next.due: 9999-12-31"),
    ("deferred: {until: 9999-12-31, reason: later, asked: 2026-11-01}\n", 4, "deferred.until: 9999-12-31"),
    ("created: 0001-01-01\n", 4, "created: 0001-01-01"),
    ("history:\n  - {date: 3000-01-01, to: c}\n", 5, "history #1.date: 3000-01-01"),
    ("closed: {date: 9999-12-31, value: 10}\n", 4, "closed.date: 9999-12-31"),
]


@pytest.mark.parametrize(("extra", "line", "key"), FAR_DATES, ids=[k for _, _, k in FAR_DATES])
def test_a_date_in_a_file_outside_1900_to_2999_is_a_problem_at_its_line_not_a_crash(
        pipeline: Path, run: Run, extra: str, line: int, key: str) -> None:
    contact_file(pipeline, "far").write_text("id: f1\nname: Far\nstage: c\n" + extra, encoding="utf-8")
    checked = run("check")
    assert checked.exit_code == 1
    assert (f"contacts/far.yaml:{line}: {key} is outside the dates pipe works with (1900-01-01 to 2999-12-31)"
            in checked.stdout)
    for args in (*READ_COMMANDS, ("show", "far"), ("review", "--explain", "far")):
        no_internal_error(run(*args))
    for today in ("2999-12-31", "1900-01-01"):
        for args in READ_COMMANDS:
            no_internal_error(run(*args, today=today))


TYPED_DATES = [
    (("log", "anna", "call", "--date", "+99999y"), "'+99999y' goes beyond the dates pipe works with"),
    (("log", "anna", "call", "--date", "-9999999999999d"), "'-9999999999999d' goes beyond the dates pipe works with"),
    (("log", "anna", "call", "--date", "1899-12-31"), "1899-12-31 is outside the dates pipe works with"),
    (("log", "anna", "call", "--next", "x", "--due", "3000-01-01"), "3000-01-01 is outside the dates pipe works with"),
    (("defer", "anna", "--until", "9999-12-31", "--reason", "later"), "9999-12-31 is outside the dates pipe works with"),
    (("meet", "anna", "+1200m"), "2126-11-30"),  # in range: accepted
    (("qualify", "anna", "--decision-date", "+2000y"), "4026-11-30 is outside the dates pipe works with"),
    (("report", "--since", "0001-01-01"), "0001-01-01 is outside the dates pipe works with"),
]


@pytest.mark.parametrize(("args", "said"), TYPED_DATES, ids=[" ".join(a) for a, _ in TYPED_DATES])
def test_every_typed_date_is_checked_against_the_range(pipeline: Path, run: Run, args: tuple[str, ...], said: str) -> None:
    run("add", "Anna Berg")
    before = snapshot(pipeline)
    result = run(*args)
    if said[0].isdigit() and said.startswith("2126"):
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"pipe: error: {said}")
    assert "hint: give a date from 1900-01-01 to 2999-12-31" in result.stderr
    assert snapshot(pipeline) == before


@pytest.mark.parametrize("today", ["9999-12-31", "+99999y", "1000-01-01", "3000-01-01"])
def test_a_today_outside_the_range_is_a_usage_error(run: Run, today: str) -> None:
    for args in (("list",), ("board",), ("plan",), ("report",)):
        result = run(*args, today=today)
        assert result.exit_code == 2 and "outside the dates pipe works with" in result.stderr \
            or "goes beyond the dates" in result.stderr, result.output


def test_a_value_above_two_to_the_53_is_refused_and_one_at_it_stored_exactly(pipeline: Path, run: Run) -> None:
    before = snapshot(pipeline)
    refused = run("add", "Val", "--value", "9007199254740993")
    assert refused.exit_code == 2
    assert refused.stderr.startswith("pipe: error: '9007199254740993' is more than pipe stores exactly "
                                     "(9,007,199,254,740,992)")
    assert snapshot(pipeline) == before
    assert run("add", "Val", "--value", "9007199254740992").exit_code == 0
    assert "\nvalue: 9007199254740992\n" in contact_file(pipeline, "val").read_text(encoding="utf-8")
    assert run("add", "Cent", "--value", "24000.5").exit_code == 0
    assert "\nvalue: 24000.5\n" in contact_file(pipeline, "cent").read_text(encoding="utf-8")
    run("add", "Ada", "--stage", "a", "--force", "--reason", "import")
    closing = run("promote", "ada", "--value", "9" * 300)
    assert closing.exit_code == 2
    assert "more than pipe stores exactly" in closing.stderr
    assert run("add", "Und", "--value", "1_000").exit_code == 2


@pytest.mark.parametrize("value", ["1.0e+308", "100000000000000000000", ".inf", "1" + "0" * 400, "-1" + "0" * 400])
def test_a_huge_value_in_a_file_is_a_problem_not_an_overflow(pipeline: Path, run: Run, value: str) -> None:
    for i in range(3):
        contact_file(pipeline, f"big-{i}").write_text(f"id: b{i}\nname: Big {i}\nstage: closed\nvalue: {value}\n"
                                                      f"closed: {{date: 2026-11-20, value: {value}}}\n", encoding="utf-8")
    checked = run("check")
    assert checked.exit_code == 1
    assert "contacts/big-0.yaml:4: value should be an amount" in checked.stdout
    for args in (*READ_COMMANDS, ("list", "--all", "--format", "json")):
        result = run(*args)
        no_internal_error(result)
        if args[0] in ("list", "board", "stats"):  # no infinite sum or value (the others quote the problem)
            assert not re.search(r"\binf\b|Infinity|NaN", result.stdout), result.stdout


# --- 7. output that cannot be turned against its reader ------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)", "\tTab", "\rCr"]


def _hostile_names(pipeline: Path) -> None:
    """Contacts whose names and next actions are formulas, written straight into files (as a clone could)."""
    for i, name in enumerate(FORMULAS):
        data = {"id": f"f{i}", "name": name, "stage": "c", "company": name, "created": date(2026, 11, 1),
                "next": {"action": name, "due": date(2026, 11, 20)}}
        contact_file(pipeline, f"f-{i}").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_every_csv_cell_that_starts_like_a_formula_is_prefixed(pipeline: Path, run: Run) -> None:
    _hostile_names(pipeline)
    rows = _csv_rows(run("list", "--format", "csv").stdout)
    names = {row[1] for row in rows[1:]}
    assert names == {"'" + name.replace("\r", "\\u000d") for name in FORMULAS}  # CR: shown escaped as well
    for row in rows[1:]:
        assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row), row
    review = _csv_rows(run("review", "--format", "csv").stdout)
    assert len(review) > 1
    assert all(not cell.startswith(("=", "+", "-", "@", "\t")) for row in review for cell in row)


def test_csv_keeps_numbers_pipe_computed_as_numbers(pipeline: Path, run: Run) -> None:
    from pipecli.render import render

    out = render([{"name": "-2+3", "days": -3, "value": -1.5}], ("name", "days", "value"), "csv")
    assert out == "name,days,value\n'-2+3,-3,-1.5"


FORGERS = {
    "pipe": "Eve | evil | row",
    "html": "<img src=x onerror=alert(1)>",
    "newline": "Eve\n| forged | row |",
    "link": "[click](http://evil)",
}


def _forgers(pipeline: Path) -> None:
    for i, (key, name) in enumerate(FORGERS.items()):
        data = {"id": f"m{i}", "name": name, "stage": "c", "company": name, "created": date(2026, 11, 25),
                "next": {"action": name, "due": date(2026, 11, 20)},
                "history": [{"date": date(2026, 11, 25), "to": "c", "reason": name}]}
        contact_file(pipeline, f"m-{key}").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def _assert_safe_markdown(text: str) -> None:
    assert not re.search(r"(?<!\\)<img", text)
    assert "\n| forged" not in text
    assert not re.search(r"(?<!\\)\]\(http", text)  # [x](url) is a link; \[x\](url) is text
    header = None
    for line in text.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        header = header or line
        assert _unescaped_pipes(line) == _unescaped_pipes(header), line  # no row forged, none split


def test_markdown_list_and_review_escape_user_text(pipeline: Path, run: Run) -> None:
    _forgers(pipeline)
    listing = run("list", "--format", "markdown").stdout
    _assert_safe_markdown(listing)
    assert "Eve \\| evil \\| row" in listing
    assert "\\<img src=x onerror=alert(1)\\>" in listing
    assert "Eve<br>\\| forged \\| row \\|" in listing
    assert len([line for line in listing.splitlines() if line.startswith("|")]) == 2 + len(FORGERS)
    _assert_safe_markdown(run("review", "--format", "markdown").stdout)
    _assert_safe_markdown(run("review", "--explain", "m-pipe", "--format", "markdown").stdout)


def test_markdown_report_escapes_user_text(pipeline: Path, run: Run) -> None:
    _forgers(pipeline)
    report = run("report", "--format", "markdown").stdout
    _assert_safe_markdown(report)
    assert "Eve \\| evil \\| row" in report
    owned = run("report", "--by", "owner").stdout
    _assert_safe_markdown(owned)


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "gitconfig"
    config.write_text("[init]\n\tdefaultBranch = main\n", encoding="utf-8")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    root = tmp_path / "sales"
    assert CliRunner().invoke(app, ["init", str(root)]).exit_code == 0
    return root


def test_markdown_and_csv_history_and_changes_escape_user_text(repo: Path) -> None:
    def pipe(*args: str) -> Result:
        return CliRunner().invoke(app, ["-C", str(repo), "--today", TODAY, *args])

    contact_file(repo, "eve").write_text("id: e1\nname: Eve\nstage: opportunity\n", encoding="utf-8")
    _git(repo, "add", "contacts/eve.yaml")
    _git(repo, "commit", "-qm", "=HYPERLINK(\"http://evil\") | forged | <b>row</b>")
    assert pipe("log", "eve", "call", "--note", "| x | <i>y</i>").exit_code == 0
    for command in (("history", "eve"), ("changes",)):
        markdown = pipe(*command, "--format", "markdown")
        assert markdown.exit_code == 0, markdown.output
        _assert_safe_markdown(markdown.stdout)
        rows = _csv_rows(pipe(*command, "--format", "csv").stdout)
        assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row), rows


ESCAPES = "Eve\x1b]0;owned\x07\x1b[2J\x9b31m\u202eevil\rX"


def test_control_characters_from_files_are_shown_escaped_on_the_terminal(pipeline: Path, run: Run) -> None:
    data = {"id": "t1", "name": ESCAPES, "stage": "c", "company": "A\x1b[31mcme", "next": {"action": "call\x07"}}
    contact_file(pipeline, "term").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    raw = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]")
    outputs = [run("list"), run("list", "--format", "csv"), run("show", "term"), run("review"), run("plan"),
               run("log", "term", "call"), run("show", "\x07nobody"), run("report"), run("check")]
    for result in outputs:
        assert not raw.search(result.stdout), repr(result.stdout)
        assert not raw.search(result.stderr), repr(result.stderr)
    assert "Eve\\u001b]0;owned\\u0007" in outputs[0].stdout
    assert "Logged call for Eve\\u001b]0;owned\\u0007" in outputs[5].stdout
    assert "no contact matches '\\u0007nobody'" in outputs[6].stderr
    assert run("list", "--format", "json").stdout.count("\\u001b") >= 3  # JSON escapes stay valid JSON


def test_show_keeps_crlf_line_ends_and_tabs(pipeline: Path, run: Run) -> None:
    contact_file(pipeline, "cr").write_bytes(b"id: c1\r\nname: Cr\r\nstage: c\r\nnotes: \"a\\tb\"\r\n")
    assert run("show", "cr").stdout_bytes.endswith(b"id: c1\r\nname: Cr\r\nstage: c\r\nnotes: \"a\\tb\"\r\n")


def test_a_commit_message_holds_no_control_character_from_a_file(repo: Path) -> None:
    contact_file(repo, "nul").write_text('id: n1\nname: "Nu\\0l\\e[31m"\nstage: c\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["-C", str(repo), "--today", TODAY, "log", "nul", "call"])
    assert result.exit_code == 0, result.output
    assert "git did not commit" not in result.output
    assert _git(repo, "log", "-1", "--format=%s") == "log Nu\\u0000l\\u001b[31m: call\n"


OWN_FILES = ["contacts/anna-berg.yaml", "contacts/new.md", ".pipe/report.md", ".pipe/local.yaml", "pipe.yaml",
             "sub/../pipe.yaml", "contacts/../contacts/x.md", "link-to-contact.md", "link-to-folder/x.md",
             ".git/hooks/pre-commit"]


@pytest.mark.parametrize("command", ["report", "export"])
@pytest.mark.parametrize("output", OWN_FILES)
def test_report_output_refuses_the_pipelines_own_files(pipeline: Path, run: Run, output: str, command: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    subprocess.run(["git", "init", "-q", str(pipeline)], check=True)
    run("add", "Anna Berg")
    (pipeline / ".pipe").mkdir(exist_ok=True)
    (pipeline / ".git" / "hooks").mkdir(parents=True, exist_ok=True)
    (pipeline / "sub").mkdir()
    (pipeline / "link-to-contact.md").symlink_to(pipeline / "contacts" / "anna-berg.yaml")
    (pipeline / "link-to-folder").symlink_to(pipeline / "contacts")
    before = snapshot(pipeline)
    cache = sorted((pipeline / ".pipe").iterdir())
    head = _git(pipeline, "rev-parse", "HEAD")
    monkeypatch.chdir(pipeline)
    result = run(command, "--output", output)
    assert result.exit_code == 2, result.output
    where = "points at pipe.yaml" if output.endswith("pipe.yaml") else "is inside "
    assert result.stderr.startswith(f"pipe: error: --output {output} {where}"), result.stderr
    assert "hint: write it elsewhere" in result.stderr
    assert snapshot(pipeline) == before
    assert sorted((pipeline / ".pipe").iterdir()) == cache
    assert _git(pipeline, "rev-parse", "HEAD") == head


def test_report_output_elsewhere_is_written(pipeline: Path, run: Run, tmp_path: Path) -> None:
    run("add", "Anna Berg")
    for output in (pipeline / "reports" / "week.md", tmp_path / "out" / "week.md", pipeline / "contacts-old.md"):
        assert run("report", "--output", str(output)).exit_code == 0
        assert output.read_text(encoding="utf-8").startswith("# Weekly report")


# --- 8. property: nothing dropped into contacts/ makes a read command hang, crash or err internally --------


@pytest.fixture(scope="module")
def prop_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("prop") / "sales"
    assert CliRunner().invoke(app, ["init", str(root), "--no-git"]).exit_code == 0
    CliRunner().invoke(app, ["-C", str(root), "--today", TODAY, "add", "Anna Berg", "--next", "x"])
    return root


@pytest.fixture
def alarm() -> Iterator[None]:
    """A command that hangs fails the example after 20 s instead of hanging the suite."""
    def expire(signum: int, frame: object) -> None:
        raise TimeoutError("a read command hung")

    old = signal.signal(signal.SIGALRM, expire)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def _read_everything(root: Path, slugs: list[str]) -> None:
    for args in (("list", "--all"), ("check",), ("board",), ("review",), ("plan",), *(("show", s) for s in slugs)):
        signal.alarm(20)
        result = CliRunner().invoke(app, ["-C", str(root), "--today", TODAY, *args])
        signal.alarm(0)
        no_internal_error(result)
        assert result.exit_code in (0, 1), (args, result.output)


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.sampled_from([10**400, -(10**400), 2**53 + 1, 2**63]),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
    st.sampled_from(["c", "b", "a", "FA", "O", "closed", "reserve", "call", "talked", "no-answer", "2026-02-30"]),
)
KEYS = st.sampled_from(["id", "name", "stage", "company", "value", "tags", "created", "first_meeting", "criteria",
                        "verbal_yes", "closed", "deferred", "next", "notes", "activities", "history", "date", "kind",
                        "outcome", "until", "due", "action", "held", "to", "from", "extra"])
DOCS = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=6),
                    max_leaves=25)
CONTACTS = st.fixed_dictionaries({"id": SCALARS, "name": SCALARS, "stage": SCALARS},
                                 optional={k: DOCS for k in ("activities", "history", "next", "deferred", "closed",
                                                             "first_meeting", "criteria", "tags", "value", "created")})


def _dumped(doc: object, crlf: bool, bom: bool) -> bytes:
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, default_flow_style=None)
    if crlf:
        text = text.replace("\n", "\r\n")
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(docs=st.lists(st.tuples(st.one_of(CONTACTS, DOCS), st.booleans(), st.booleans()), min_size=1, max_size=3))
def test_random_yaml_documents_never_make_a_read_command_hang_or_crash(prop_root: Path, alarm: None,
                                                                       docs: list[tuple[object, bool, bool]]) -> None:
    slugs = [f"doc-{i}" for i in range(len(docs))]
    for slug, (doc, crlf, bom) in zip(slugs, docs, strict=True):
        contact_file(prop_root, slug).write_bytes(_dumped(doc, crlf, bom))
    try:
        _read_everything(prop_root, slugs)
    finally:
        for slug in slugs:
            contact_file(prop_root, slug).unlink()


HOSTILE_PIECES = st.sampled_from([
    b"id: x\nname: X\nstage: c\n", b"&a [1, 2]\n", b"*a\n", b"[[[[[[[[", b"]]]]", b"{a: ", b"- - - - ", b"\x00",
    b"\xef\xbb\xbf", b"\r\n", b"\xff\xfe", b"stage: c\nstage: b\n", b"<<: *a\n", b"!!python/object:os.system\n",
    b"? [a]\n: b\n", b"next: ~\n", b"date: 9999-12-31\n", b"value: 1e400\n", b"'", b'"\\', b"%YAML 1.1\n---\n",
    b"--- \n", b"...\n", b"\t", b"#", b"|\n  x\n", b"\xe4\xb8\xad", b"\x1b[31m", b"1" + b"0" * 5000,
    b"0x" + b"f" * 5000, b"name: ", b"value: ", b"tags: ",
])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(files=st.lists(st.one_of(st.binary(max_size=300), st.lists(HOSTILE_PIECES, max_size=12).map(b"".join)),
                      min_size=1, max_size=3))
def test_random_bytes_never_make_a_read_command_hang_or_crash(prop_root: Path, alarm: None,
                                                              files: list[bytes]) -> None:
    slugs = [f"raw-{i}" for i in range(len(files))]
    for slug, data in zip(slugs, files, strict=True):
        contact_file(prop_root, slug).write_bytes(data)
    try:
        _read_everything(prop_root, slugs)
    finally:
        for slug in slugs:
            contact_file(prop_root, slug).unlink()


def test_the_guard_refuses_without_building_and_passes_ordinary_aliases() -> None:
    ok = b"id: a\nname: A\nstage: c\nx: &x {kind: call}\nactivities:\n  - {date: 2026-11-01, <<: *x}\n"
    assert parse(ok, "contacts/a.yaml")["activities"] == [{"date": date(2026, 11, 1), "kind": "call"}]
    with pytest.raises(Unreadable, match="nested more than 100 levels deep"):
        parse(("x: " + "[" * 101 + "]" * 101 + "\n").encode(), "contacts/a.yaml")
    assert parse(("x: " + "[" * 98 + "]" * 98 + "\n").encode(), "contacts/a.yaml") is not None


def test_nothing_is_written_outside_the_folder(pipeline: Path, run: Run, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The hostile cases above, run together: no file appears or changes outside the pipeline."""
    monkeypatch.chdir(pipeline)  # --output pipe.yaml names the pipeline's own file
    outside = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if pipeline not in p.parents and p != pipeline}
    contact_file(pipeline, "bomb").write_text("id: b\nname: B\nstage: c\n" + bomb(30), encoding="utf-8")
    contact_file(pipeline, "dup").write_text("id: d\nname: D\nstage: c\nstage: b\n", encoding="utf-8")
    for args in (*READ_COMMANDS, ("log", "dup", "call"), ("add", "E\x00ve"), ("report", "--output", "pipe.yaml")):
        run(*args)
    after = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if pipeline not in p.parents and p != pipeline}
    assert after == outside
    assert not os.path.exists(tmp_path / "pipe.yaml")
