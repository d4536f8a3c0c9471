"""classify: each contact's recorded class against the highest class its recorded evidence supports."""

from __future__ import annotations

from datetime import timedelta

import pytest
from funnelkit import TODAY, contact, evidence

from pipecli.ladder import GateRules, classify, reclassify
from pipecli.model import Append, SetKey

RULES = GateRules()


@pytest.mark.parametrize("stage", ["O", "FA", "C", "B", "A"])
def test_a_contact_with_exactly_its_evidence_matches(stage: str) -> None:
    assert classify(contact("x", stage), TODAY, RULES) is None


def test_an_a_with_no_verbal_yes_is_over_classified() -> None:
    m = classify(contact("x", "A", verbal_yes=None), TODAY, RULES)
    assert m is not None
    assert (m.recorded, m.supported, m.direction) == ("a", "b", "over")
    assert m.missing == ("A: a verbal agreement to buy, with its date (pipe qualify CONTACT --verbal-yes DATE)",)


def test_a_b_without_a_budget_discussed_is_over_classified() -> None:
    c = contact("x", "B", criteria={**evidence("b")["criteria"], "budget": False})
    m = classify(c, TODAY, RULES)
    assert m is not None
    assert (m.supported, m.direction) == ("c", "over")
    assert m.missing == ("B: pricing basics not discussed or not acceptable (qualify --budget)",)


def test_an_a_lacking_b_criteria_falls_to_c_and_each_missing_item_is_listed_once() -> None:
    c = contact("x", "A", criteria={**evidence("b")["criteria"], "decision_maker": None, "budget": False})
    m = classify(c, TODAY, RULES)
    assert m is not None
    assert m.supported == "c"
    assert len(m.missing) == 2
    assert all(item.startswith("B: ") for item in m.missing)


def test_a_meeting_held_and_a_next_step_agreed_still_at_fa_is_under_classified() -> None:
    c = contact("x", "FA", first_meeting={"date": TODAY - timedelta(days=5), "held": True},
                next={"action": "send the quote", "due": TODAY + timedelta(days=3)})
    m = classify(c, TODAY, RULES)
    assert m is not None
    assert (m.recorded, m.supported, m.direction) == ("first-appointment", "c", "under")
    assert m.evidence == (f"C: first meeting held, next step due {TODAY + timedelta(days=3)}",)


def test_an_opportunity_with_a_meeting_date_is_under_classified() -> None:
    c = contact("x", "O", first_meeting={"date": TODAY + timedelta(days=2), "held": False})
    m = classify(c, TODAY, RULES)
    assert m is not None
    assert (m.supported, m.direction) == ("first-appointment", "under")


def test_a_passed_decision_date_takes_a_b_back_to_c() -> None:
    m = classify(contact("x", "B"), TODAY + timedelta(days=30), RULES)
    assert m is not None
    assert m.supported == "c"
    assert "has passed" in m.missing[0]


def test_closed_and_reserve_are_outside_classification_and_closing_is_never_inferred() -> None:
    assert classify(contact("x", "closed"), TODAY + timedelta(days=400), RULES) is None
    assert classify(contact("x", "reserve"), TODAY, RULES) is None
    a_with_commitment = contact("x", "A", closed={"date": TODAY, "value": 5})
    assert classify(a_with_commitment, TODAY, RULES) is None


def test_reclassify_demotes_with_a_classify_reason() -> None:
    m = classify(contact("x", "A", verbal_yes=None), TODAY, RULES)
    assert m is not None
    changes = reclassify(m, TODAY, RULES)
    assert SetKey(("stage",), "b") in changes
    (entry,) = [ch.item for ch in changes if isinstance(ch, Append) and ch.path == ("history",)]
    assert entry["from"] == "a"
    assert entry["to"] == "b"
    assert entry["reason"].startswith("classify: the evidence supports B; missing A: a verbal agreement")


def test_reclassify_promotes_with_a_classify_reason() -> None:
    c = contact("x", "O", first_meeting={"date": TODAY - timedelta(days=5), "held": True},
                next={"action": "send the quote", "due": TODAY + timedelta(days=3)})
    m = classify(c, TODAY, RULES)
    assert m is not None
    assert m.supported == "c"
    changes = reclassify(m, TODAY, RULES)
    assert SetKey(("stage",), "c") in changes
    (entry,) = [ch.item for ch in changes if isinstance(ch, Append)]
    assert (entry["from"], entry["to"]) == ("opportunity", "c")
    assert entry["reason"].startswith("classify: the evidence supports C (FA: first meeting set for")
    assert "forced" not in entry


def test_falling_back_to_opportunity_marks_the_source() -> None:
    c = contact("x", "FA", first_meeting=None)
    m = classify(c, TODAY, RULES)
    assert m is not None
    assert m.supported == "opportunity"
    assert SetKey(("source",), "fallback") in reclassify(m, TODAY, RULES)


def test_phone_mode_needs_the_second_effective_call() -> None:
    phone = GateRules(mode="phone")
    c = contact("x", "FA")
    assert classify(c, TODAY, phone) is not None  # a meeting date is not the phone gate
    calls = [{"date": TODAY - timedelta(days=d), "kind": "call", "outcome": "talked"} for d in (9, 2)]
    assert classify(contact("x", "FA", activities=calls), TODAY, phone) is None
