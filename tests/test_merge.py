"""The three-way merge of contact files by meaning (pure): table tests and a property test."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipecli.ladder import GateRules
from pipecli.merge import Result, TwoPeople, Unmergeable, canon, merge

RULES = GateRules(mode="field", sales_cycle_days=90)
TODAY = date(2026, 11, 30)

BASE = """\
id: 3f9a2c71b0de
name: Zhang Wei
company: Huaxin Logistics
# bought from us in 2019
email: zhang@huaxin.example
stage: first-appointment
tags: [logistics, shanghai]
first_meeting:
  date: 2026-11-20
  held: false
criteria:
  budget: true
activities:
  - {date: 2026-11-02, kind: call, outcome: talked}
history:
  - {date: 2026-10-01, to: opportunity, reason: added}
  - {date: 2026-11-02, from: opportunity, to: first-appointment}
"""


def both_ways(base: str, ours: str, theirs: str, **kw: Any) -> tuple[Result, Result]:
    one = merge(base, ours, theirs, slug="zhang-wei", today=TODAY, rules=RULES, **kw)
    two = merge(base, theirs, ours, slug="zhang-wei", today=TODAY, rules=RULES, **kw)
    assert isinstance(one, Result)
    assert isinstance(two, Result)
    return one, two


def loaded(text: str) -> Any:
    return yaml.safe_load(text)


@pytest.mark.parametrize(("ours", "theirs", "key", "expected"), [
    # a scalar changed on one side only: that side's value
    (("zhang@huaxin.example", "zhang@new.example"), None, "email", "zhang@new.example"),
    # changed on both sides to the same value: that value
    (("zhang@huaxin.example", "z@x.example"), ("zhang@huaxin.example", "z@x.example"), "email", "z@x.example"),
    # a key only one side added (one pipe does not know): kept
    (("company: Huaxin Logistics\n", "company: Huaxin Logistics\nwechat: zw88\n"), None, "wechat", "zw88"),
    # tags changed on both sides: what both kept plus what either added
    (("[logistics, shanghai]", "[logistics, ports]"), ("[logistics, shanghai]", "[shanghai, logistics, fair]"),
     "tags", ["logistics", "fair", "ports"]),
])
def test_one_sided_and_agreeing_changes_merge(ours: tuple[str, str], theirs: tuple[str, str] | None, key: str,
                                              expected: Any) -> None:
    mine = BASE.replace(*ours)
    other = BASE.replace(*theirs) if theirs else BASE.replace("held: false", "held: true")
    for result in both_ways(BASE, mine, other):
        assert loaded(result.text)[key] == expected
        assert not result.conflicts


def test_a_scalar_changed_to_two_values_is_a_conflict_with_both_values_and_prefer_picks_a_side() -> None:
    ours, theirs = BASE.replace("zhang@huaxin", "a@one"), BASE.replace("zhang@huaxin", "b@two")
    one, two = both_ways(BASE, ours, theirs)
    assert [(c.key, c.ours, c.theirs) for c in one.conflicts] == [("email", "a@one.example", "b@two.example")]
    assert [(c.key, c.ours, c.theirs) for c in two.conflicts] == [("email", "b@two.example", "a@one.example")]
    assert "<<<<<<<" not in one.text
    picked = merge(BASE, ours, theirs, slug="z", today=TODAY, rules=RULES, prefer="theirs")
    assert isinstance(picked, Result)
    assert loaded(picked.text)["email"] == "b@two.example"
    assert "# bought from us in 2019\nemail: b@two.example\n" in picked.text


def test_nested_keys_merge_one_by_one_and_comments_inside_survive() -> None:
    ours = BASE.replace("  budget: true\n", "  budget: true\n  decision_maker: true  # confirmed by the CEO\n")
    theirs = BASE.replace("  budget: true\n", "  # asked twice\n  budget: true\n  next_step: demo\n")
    for result in both_ways(BASE, ours, theirs):
        assert loaded(result.text)["criteria"] == {"budget": True, "decision_maker": True, "next_step": "demo"}
        assert "decision_maker: true  # confirmed by the CEO" in result.text
        assert "  # asked twice\n  budget: true" in result.text


def test_a_key_removed_on_one_side_and_changed_on_the_other_keeps_the_change() -> None:
    ours = BASE.replace("email: zhang@huaxin.example\n", "")
    theirs = BASE.replace("zhang@huaxin", "zhang@new")
    for result in both_ways(BASE, ours, theirs):
        assert loaded(result.text)["email"] == "zhang@new.example"


def test_both_sides_moving_the_stage_take_the_one_the_evidence_supports() -> None:
    ours = BASE.replace("stage: first-appointment", "stage: c").replace("held: false", "held: true").replace(
        "criteria:\n", "next:\n  action: send the quote\n  due: 2026-12-04\ncriteria:\n").replace(
        "  - {date: 2026-11-02, from: opportunity, to: first-appointment}\n",
        "  - {date: 2026-11-02, from: opportunity, to: first-appointment}\n"
        "  - {date: 2026-11-21, from: first-appointment, to: c}\n")
    theirs = BASE.replace("stage: first-appointment", "stage: opportunity").replace(
        "  - {date: 2026-11-02, from: opportunity, to: first-appointment}\n",
        "  - {date: 2026-11-02, from: opportunity, to: first-appointment}\n"
        "  - {date: 2026-11-25, from: first-appointment, to: opportunity, reason: no show}\n")
    one, two = both_ways(BASE, ours, theirs)
    assert canon(one.data) == canon(two.data)
    merged = loaded(one.text)
    assert merged["stage"] == "c"
    assert [(h.get("from"), h["to"]) for h in merged["history"][-4:]] == [  # one chain, both moves kept
        ("first-appointment", "c"), ("c", "first-appointment"), ("first-appointment", "opportunity"),
        ("opportunity", "c")]
    assert "back to FA for the other side's move" in merged["history"][-3]["reason"]
    assert "the evidence supports C" in merged["history"][-1]["reason"]


def test_stage_moves_the_evidence_cannot_settle_are_a_conflict() -> None:
    ours = BASE.replace("stage: first-appointment", "stage: reserve")
    theirs = BASE.replace("stage: first-appointment", "stage: opportunity")
    one, _ = both_ways(BASE, ours, theirs)
    assert [(c.key, c.ours, c.theirs) for c in one.conflicts] == [("stage", "reserve", "opportunity")]


def test_two_different_persons_under_one_file_name_are_told_apart_by_id() -> None:
    other = BASE.replace("3f9a2c71b0de", "0123456789ab").replace("Huaxin Logistics", "Pearl Ltd")
    found = merge("", BASE, other, slug="zhang-wei", today=TODAY, rules=RULES)
    assert found == TwoPeople("3f9a2c71b0de", "0123456789ab")


@pytest.mark.parametrize("broken", ["name: [Zhang\n", "- a list\n- not a mapping\n", "name: a\nname: b\n",
                                    "<<<<<<< ours\nname: a\n=======\nname: b\n>>>>>>> theirs\n"])
def test_a_file_that_is_no_contact_mapping_is_left_to_git(broken: str) -> None:
    with pytest.raises(Unmergeable):
        merge(BASE, broken, BASE.replace("zhang@", "z@"), slug="z", today=TODAY, rules=RULES)
    with pytest.raises(Unmergeable):
        merge(broken, BASE, BASE.replace("zhang@", "z@"), slug="z", today=TODAY, rules=RULES)


# --- the property: random pairs of edits from one ancestor ----------------------------------------

KINDS = ("call", "email", "meeting", "note")
OUTCOMES = ("talked", "no-answer", "replied", "held")
STAGES = ("opportunity", "first-appointment", "c", "b")
day = st.integers(min_value=0, max_value=40).map(lambda n: date(2026, 10, 1) + timedelta(days=n))
activity = st.fixed_dictionaries({"date": day, "kind": st.sampled_from(KINDS), "outcome": st.sampled_from(OUTCOMES)},
                                 optional={"note": st.sampled_from(["a", "b", "wants a demo", "x: y", "#1"])})
move = st.fixed_dictionaries({"date": day, "from": st.sampled_from(STAGES), "to": st.sampled_from(STAGES)},
                             optional={"reason": st.sampled_from(["r", "no show", "evidence"])})
edit = st.one_of(
    st.tuples(st.just("log"), activity),
    st.tuples(st.just("move"), move),
    st.tuples(st.just("set"), st.tuples(st.sampled_from(["email", "phone", "title", "wechat"]),
                                         st.sampled_from(["a@x.example", "b@y.example", "+86 1", "CFO", "zw88"]))),
    st.tuples(st.just("criteria"), st.tuples(st.sampled_from(["budget", "decision_maker", "next_step"]),
                                             st.sampled_from([True, False, "demo"]))),
    st.tuples(st.just("comment"), st.sampled_from(["# hand note", "# 2nd note"])),
)


def apply(text: str, edits: list[tuple[str, Any]]) -> str:
    """The edits as pipe and a person would write them: appended lines, spliced values, comment lines."""
    from pipecli.model import Append, SetKey
    from pipecli.yamledit import apply_changes

    for kind, value in edits:
        if kind == "log":
            text = apply_changes(text, [Append(("activities",), value)])
        elif kind == "move":
            text = apply_changes(text, [Append(("history",), value), SetKey(("stage",), value["to"])])
        elif kind == "set":
            text = apply_changes(text, [SetKey((value[0],), value[1])])
        elif kind == "criteria":
            text = apply_changes(text, [SetKey(("criteria", value[0]), value[1])])
        else:
            text = text.replace("activities:\n", f"{value}\nactivities:\n", 1)
    return text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(edit, max_size=5), st.lists(edit, max_size=5))
def test_the_merge_keeps_every_entry_of_both_sides_and_is_the_same_either_way(
        mine: list[tuple[str, Any]], theirs: list[tuple[str, Any]]) -> None:
    ours_text, theirs_text = apply(BASE, mine), apply(BASE, theirs)
    one, two = both_ways(BASE, ours_text, theirs_text, prefer="theirs")
    merged = loaded(one.text)
    for key in ("activities", "history"):
        held = Counter(canon(e) for e in merged[key])
        for side in (ours_text, theirs_text):
            for entry, n in Counter(canon(e) for e in loaded(side)[key]).items():
                assert held[entry] >= n, (key, entry)
        if all(dated(loaded(side)[key]) for side in (ours_text, theirs_text)):
            assert dated(merged[key][: -1 if key == "history" else None])  # in date order (a closing entry aside)
    # the same whichever side is "ours": the same conflicts (sides swapped), and with each conflict settled
    # the same side's way, the same contact
    assert sorted((c.key, repr(c.ours), repr(c.theirs)) for c in one.conflicts) == sorted(
        (c.key, repr(c.theirs), repr(c.ours)) for c in two.conflicts)
    settled = merge(BASE, theirs_text, ours_text, slug="zhang-wei", today=TODAY, rules=RULES, prefer="ours")
    assert isinstance(settled, Result)
    assert canon(loaded(settled.text)) == canon(merged)
    # comments either side wrote are in the merged file
    for side_edits in (mine, theirs):
        for kind, value in side_edits:
            if kind == "comment":
                assert value in one.text
    assert "# bought from us in 2019\n" in one.text


def dated(entries: list[Any]) -> bool:
    return all(a["date"] <= b["date"] for a, b in zip(entries, entries[1:], strict=False))


@pytest.mark.parametrize("path", ["/usr/bin/python3", "/opt/my python/bin/python", "/it's/python", "/ü/python", ""])
def test_the_drivers_python_is_quoted_as_shlex_would(path: str) -> None:
    import shlex

    from pipecli.mergesetup import _quoted

    assert _quoted(path) == shlex.quote(path)


PIECES = [*BASE.splitlines(keepends=True), "  - x\n", "foo: [1, 2]\n", "# c\n", "criteria: null\n", "activities: []\n",
          "  note: |\n    hi\n", "stage: b\n", "tags: x\n", "history:\n", "  - 3\n", "\n", "id: other\n", "- a\n",
          "activities:\n  - date: 2026-11-03\n    kind: call\n"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), max_size=14), st.lists(st.sampled_from(PIECES), max_size=14), st.booleans())
def test_any_pair_of_files_merges_or_goes_to_git_and_nothing_else(ours: list[str], theirs: list[str],
                                                                  settle: bool) -> None:
    """Shuffled, broken, odd files: the merge returns a result or says git must merge them, never fails otherwise."""
    for one, two in ((ours, theirs), (theirs, ours)):
        try:
            found = merge(BASE, "".join(one), "".join(two), slug="z", today=TODAY, rules=RULES,
                          prefer="theirs" if settle else None)
        except Unmergeable:
            continue
        if isinstance(found, Result):
            assert yaml.safe_load(found.text) is not None or not found.data
