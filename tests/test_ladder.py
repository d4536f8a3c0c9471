"""The gates, one test per gate and per criterion, met and missing; promotion and demotion."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from pipecli.errors import GateError, UsageError
from pipecli.ladder import GateRules, criteria_checks, demote, gate, promote, supported_stage
from pipecli.model import Append, SetKey, apply_to_data, contact_from_data

TODAY = date(2026, 11, 30)
FIELD = GateRules(mode="field", sales_cycle_days=90)
PHONE = GateRules(mode="phone", sales_cycle_days=90)

FIVE = {"decision_maker": True, "proposal_fits": True, "budget": True,
        "decision_date": TODAY + timedelta(days=20), "start_date": TODAY + timedelta(days=40),
        "next_step": "workshop with IT"}


def contact(**fields: Any) -> Any:
    data = {"id": "x1", "name": "Anna Berg", "stage": "opportunity", **fields}
    c = contact_from_data("anna-berg", data)
    assert not c.problems, c.problems
    return c


def call(day: date, outcome: str = "talked") -> dict[str, Any]:
    return {"date": day, "kind": "call", "outcome": outcome}


# O -> FA

def test_field_gate_needs_a_meeting_date() -> None:
    assert gate(contact(), "first-appointment", TODAY, FIELD) == ["a first meeting date (pipe meet CONTACT DATE)"]
    assert gate(contact(first_meeting={"date": TODAY}), "first-appointment", TODAY, FIELD) == []


@pytest.mark.parametrize(("calls", "met"), [
    ([], False),
    ([call(TODAY)], False),  # one friendly call is not enough
    ([call(TODAY), call(TODAY)], False),  # two calls the same day are one conversation
    ([call(TODAY - timedelta(days=3)), call(TODAY, "no-answer")], False),  # the second was not effective
    ([call(TODAY - timedelta(days=3)), call(TODAY)], True),
    ([{"date": TODAY - timedelta(days=3), "kind": "email", "outcome": "replied"}, call(TODAY)], False),
])
def test_phone_gate_needs_a_second_effective_call(calls: list[dict[str, Any]], met: bool) -> None:
    c = contact(activities=calls, first_meeting={"date": TODAY})  # a meeting date does not count in phone mode
    assert (gate(c, "first-appointment", TODAY, PHONE) == []) is met


# FA -> C

@pytest.mark.parametrize(("fields", "missing"), [
    ({}, ["held", "further step"]),
    ({"first_meeting": {"date": TODAY, "held": True}}, ["further step"]),
    ({"next": {"action": "send the quote", "due": TODAY}}, ["held"]),
    ({"first_meeting": {"date": TODAY, "held": True}, "next": {"action": "send the quote"}}, ["further step"]),
    ({"first_meeting": {"date": TODAY, "held": True}, "next": {"action": "send the quote", "due": TODAY}}, []),
    ({"activities": [{"date": TODAY, "kind": "meeting", "outcome": "held"}],
      "next": {"action": "send the quote", "due": TODAY}}, []),
])
def test_c_gate_needs_the_meeting_held_and_a_dated_next_step(fields: dict[str, Any], missing: list[str]) -> None:
    found = gate(contact(stage="first-appointment", **fields), "c", TODAY, FIELD)
    assert len(found) == len(missing)
    for text, word in zip(found, missing):
        assert word in text


# C -> B: each criterion alone

def test_b_gate_met_with_all_five() -> None:
    assert gate(contact(stage="c", criteria=FIVE), "b", TODAY, FIELD) == []


@pytest.mark.parametrize(("criterion", "value", "word"), [
    ("decision_maker", None, "decision-maker"),
    ("decision_maker", False, "decision-maker"),
    ("proposal_fits", None, "proposal fits"),
    ("budget", False, "pricing"),
    ("decision_date", None, "no decision date"),
    ("start_date", None, "no start date"),
    ("start_date", TODAY + timedelta(days=5), "before the decision date"),
    ("decision_date", TODAY - timedelta(days=1), "has passed"),
    ("decision_date", TODAY + timedelta(days=91), "beyond the 90-day sales cycle"),
    ("next_step", None, "no concrete next step"),
])
def test_b_gate_each_criterion_alone(criterion: str, value: Any, word: str) -> None:
    criteria = dict(FIVE)
    if criterion == "decision_date" and value is not None and value > TODAY + timedelta(days=40):
        criteria["start_date"] = value + timedelta(days=10)
    criteria[criterion] = value
    if value is None:
        del criteria[criterion]
    missing = gate(contact(stage="c", criteria=criteria), "b", TODAY, FIELD)
    assert len(missing) == 1, missing
    assert word in missing[0]


def test_a_dated_next_action_counts_as_the_next_step() -> None:
    criteria = {k: v for k, v in FIVE.items() if k != "next_step"}
    c = contact(stage="c", criteria=criteria, next={"action": "demo", "due": TODAY})
    assert gate(c, "b", TODAY, FIELD) == []


def test_decision_date_exactly_at_the_cycle_end_is_within_it() -> None:
    criteria = dict(FIVE, decision_date=TODAY + timedelta(days=90), start_date=TODAY + timedelta(days=100))
    assert gate(contact(stage="c", criteria=criteria), "b", TODAY, FIELD) == []


# B -> A, A -> closed

def test_a_gate_needs_the_verbal_yes_and_the_five_still() -> None:
    assert gate(contact(stage="b", criteria=FIVE, verbal_yes=TODAY), "a", TODAY, FIELD) == []
    assert "verbal agreement" in gate(contact(stage="b", criteria=FIVE), "a", TODAY, FIELD)[0]
    stale = dict(FIVE, budget=False)
    missing = gate(contact(stage="b", criteria=stale, verbal_yes=TODAY), "a", TODAY, FIELD)
    assert missing == ["B criterion no longer holds: pricing basics not discussed or not acceptable (qualify --budget)"]


def test_closed_gate_needs_the_commitment_date() -> None:
    assert gate(contact(stage="a"), "closed", TODAY, FIELD) != []
    assert gate(contact(stage="a", closed={"date": TODAY}), "closed", TODAY, FIELD) == []


# promote / demote

def test_promote_writes_stage_and_history() -> None:
    c = contact(first_meeting={"date": TODAY})
    changes = promote(c, None, TODAY, FIELD)
    assert changes == [SetKey(("stage",), "first-appointment"),
                       Append(("history",), {"date": TODAY, "from": "opportunity", "to": "first-appointment"})]


def test_promote_refused_lists_exactly_what_is_missing() -> None:
    with pytest.raises(GateError) as caught:
        promote(contact(stage="c", criteria={"budget": True}), "b", TODAY, FIELD)
    text = str(caught.value)
    assert "decision-maker" in text and "proposal fits" in text and "no decision date" in text
    assert "pricing" not in text  # budget was recorded


def test_promote_over_several_classes_checks_every_gate_on_the_way() -> None:
    c = contact(criteria=FIVE, verbal_yes=TODAY)  # B evidence but no meeting at all
    with pytest.raises(GateError) as caught:
        promote(c, "a", TODAY, FIELD)
    assert "FA: a first meeting date" in str(caught.value)
    assert "C: the first meeting held" in str(caught.value)


def test_force_needs_a_reason_and_is_marked() -> None:
    changes = promote(contact(), "c", TODAY, FIELD, force_reason="met at the fair")
    entry = changes[-1].item  # type: ignore[union-attr]
    assert entry["forced"] is True and entry["reason"] == "met at the fair" and entry["to"] == "c"


def test_promote_to_closed_records_the_commitment() -> None:
    changes = promote(contact(stage="a", criteria=FIVE, verbal_yes=TODAY), "closed", TODAY, FIELD, value=24000)
    assert SetKey(("closed",), {"date": TODAY, "value": 24000}) in changes


def test_demote_to_opportunity_marks_fallback() -> None:
    changes = demote(contact(stage="first-appointment"), None, TODAY, "no show")
    assert SetKey(("source",), "fallback") in changes
    assert SetKey(("stage",), "opportunity") in changes


def test_demote_refuses_upward_and_from_the_reserve() -> None:
    with pytest.raises(UsageError):
        demote(contact(stage="c"), "b", TODAY, "x")
    with pytest.raises(UsageError):
        demote(contact(stage="reserve"), None, TODAY, "x")
    with pytest.raises(UsageError):
        demote(contact(), None, TODAY, "x")  # nothing below O but the reserve, which must be named


@pytest.mark.parametrize("stage", ["opportunity", "first-appointment", "c", "b", "a"])
def test_reserve_and_back_returns_to_the_pipeline(stage: str) -> None:
    data: dict[str, Any] = {"id": "x", "name": "N", "stage": stage}
    apply_to_data(data, demote(contact_from_data("n", data), "reserve", TODAY, "never calls back"))
    assert data["stage"] == "reserve"
    apply_to_data(data, promote(contact_from_data("n", data), "opportunity", TODAY, FIELD))
    assert data["stage"] == "opportunity"
    assert [h["to"] for h in data["history"]] == ["reserve", "opportunity"]


def test_promote_then_demote_returns_the_stage() -> None:
    data: dict[str, Any] = {"id": "x", "name": "N", "stage": "c", "criteria": FIVE}
    apply_to_data(data, promote(contact_from_data("n", data), None, TODAY, FIELD))
    assert data["stage"] == "b"
    apply_to_data(data, demote(contact_from_data("n", data), None, TODAY, "budget frozen"))
    assert data["stage"] == "c"


def test_supported_stage_climbs_gate_by_gate() -> None:
    assert supported_stage(contact(stage="a"), TODAY, FIELD) == "opportunity"
    c = contact(first_meeting={"date": TODAY, "held": True}, next={"action": "x", "due": TODAY}, criteria=FIVE)
    assert supported_stage(c, TODAY, FIELD) == "b"


def test_criteria_checks_name_all_five() -> None:
    assert [ch.name for ch in criteria_checks(contact(), TODAY, FIELD)] == [
        "decision_maker", "proposal_fits", "budget", "timetable", "next_step"]
