"""The rules engine (pure): one table per built-in rule, user rules in every form, every error message."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pipecli.config import SETTINGS
from pipecli.dates import add_months
from pipecli.errors import ConfigError, UsageError
from pipecli.model import Contact, contact_from_data
from pipecli.rules import (
    BUILTIN_IDS,
    CANNOT,
    FIRES,
    Facts,
    OFF,
    OTHER_STAGE,
    QUIET,
    Verdict,
    evaluate,
    explain,
    plan,
    rule_problems,
    rules_from,
)

TODAY = date(2026, 11, 30)


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def ahead(days: int) -> date:
    return TODAY + timedelta(days=days)


def contact(stage: str = "opportunity", entered: date | None = None, **fields: Any) -> Contact:
    """A contact that entered `stage` on `entered` (default: 5 days ago), with a recent activity unless given."""
    entered = entered or ago(5)
    data = {"id": "x1", "name": "Anna Berg", "stage": stage, "created": min(entered, ago(5)),
            "history": [{"date": entered, "to": stage}], **fields}
    c = contact_from_data("anna-berg", data)
    assert not c.problems, c.problems
    return c


def fired(c: Contact, settings: dict[str, Any] | None = None) -> dict[str, Verdict]:
    """The rules that fire on one contact, by id."""
    found = evaluate([c], settings or {}, TODAY)
    assert all(v.status == FIRES for v in found), found
    return {v.rule.id: v for v in found}


def act(days_ago: int, kind: str = "call", outcome: str | None = "no-answer") -> dict[str, Any]:
    item: dict[str, Any] = {"date": ago(days_ago), "kind": kind}
    if outcome:
        item["outcome"] = outcome
    return item


# --- no-response: 3+ unanswered attempts, or the first one 30+ days old, with no answer since ---------

NO_RESPONSE = [
    # (case, activities, settings, fires)
    ("three unanswered calls (the threshold)", [act(10), act(8), act(5)], {}, True),
    ("two unanswered calls", [act(10), act(5)], {}, False),
    ("calls and e-mails both count", [act(10), act(9, "email", "no-reply"), act(8, "call", "left-message")], {}, True),
    ("first unanswered exactly 30 days old", [act(30, "email", "no-reply")], {}, True),
    ("first unanswered 29 days old", [act(29, "email", "no-reply")], {}, False),
    ("an answer since resets the count", [act(10), act(8), act(5), act(4, "call", "talked")], {}, False),
    ("only attempts after the last answer count", [act(50, "call", "talked"), act(10), act(8), act(5)], {}, True),
    ("a held meeting is an answer", [act(40), act(35, "meeting", "held")], {}, False),
    ("an e-mail with no outcome is not an attempt", [act(40, "email", None), act(39, "note", None)], {}, False),
    ("visits and notes are not attempts", [act(40, "visit", "no-answer")], {}, False),
    ("threshold raised to 4", [act(10), act(8), act(5)], {"rules.no_response.attempts": 4}, False),
    ("days raised to 60", [act(40, "email", "no-reply")], {"rules.no_response.days": 60}, False),
    ("switched off", [act(10), act(8), act(5)], {"rules.no_response.enabled": False}, False),
]


@pytest.mark.parametrize(("case", "activities", "settings", "fires"), NO_RESPONSE, ids=[c[0] for c in NO_RESPONSE])
def test_no_response(case: str, activities: list[dict[str, Any]], settings: dict[str, Any], fires: bool) -> None:
    c = contact(activities=activities)
    found = fired(c, settings)
    assert ("no-response" in found) is fires
    if fires:
        assert found["no-response"].action == "reserve"
        assert found["no-response"].to == "reserve"


def test_no_response_evidence_in_words() -> None:
    c = contact(activities=[act(10), act(8), act(5)])
    assert fired(c)["no-response"].why == "3 calls since 2026-11-20, none answered"
    c = contact(activities=[act(40, "call"), act(35, "email", "no-reply")])
    assert fired(c)["no-response"].why == "1 call and 1 e-mail since 2026-10-21, none answered in 40 days"


# --- pushed-back: deferred by 4+ months ---------------------------------------------------------------

PUSHED_BACK = [
    ("exactly four months", {"until": add_months(TODAY, 4), "asked": TODAY}, "b", {}, True),
    ("a day short of four months", {"until": add_months(TODAY, 4) - timedelta(days=1), "asked": TODAY}, "b", {}, False),
    ("'call me in summer' said in January", {"until": date(2027, 6, 21), "asked": date(2027, 1, 30)}, "b", {}, None),
    ("six months with the old default", {"until": add_months(TODAY, 6) - timedelta(days=1), "asked": TODAY}, "b",
     {"rules.pushed_back.months": 6}, False),
    ("seven months from when it was asked", {"until": date(2027, 6, 1), "asked": date(2026, 11, 2)}, "opportunity", {},
     True),
    ("without 'asked', measured from today", {"until": add_months(TODAY, 7)}, "c", {}, True),
    ("a deferral that has ended", {"until": ago(1), "asked": date(2025, 11, 1)}, "c", {}, False),
    ("months lowered to 3", {"until": TODAY + timedelta(days=105), "asked": TODAY}, "b", {"rules.pushed_back.months": 3},
     True),
    ("3.5 months with the default", {"until": TODAY + timedelta(days=105), "asked": TODAY}, "b", {}, False),
    ("contacts in the reserve are left alone", {"until": add_months(TODAY, 8), "asked": TODAY}, "reserve", {}, False),
    ("switched off", {"until": add_months(TODAY, 8), "asked": TODAY}, "b", {"rules.pushed_back.enabled": False}, False),
]


@pytest.mark.parametrize(("case", "deferred", "stage", "settings", "fires"), PUSHED_BACK, ids=[c[0] for c in PUSHED_BACK])
def test_pushed_back(case: str, deferred: dict[str, Any], stage: str, settings: dict[str, Any], fires: bool | None) -> None:
    c = contact(stage, deferred={"reason": "call me after the summer", **deferred},
                next={"action": "call", "due": ahead(3)}, activities=[act(1, "call", "talked")])
    if fires is None:  # said on another day: judged on the day it was said (the issue's January example, 4.7 months)
        found = {v.rule.id: v for v in evaluate([c], settings, deferred["asked"]) if v.status == FIRES}
        assert "pushed-back" in found and "4.7 months" in found["pushed-back"].why
        return
    found = fired(c, settings)
    assert ("pushed-back" in found) is fires
    if fires:
        assert found["pushed-back"].action == "reserve"


def test_pushed_back_evidence_in_words() -> None:
    c = contact(deferred={"until": date(2027, 6, 1), "asked": date(2026, 11, 2), "reason": "call me after the summer"},
                activities=[act(1, "call", "talked")])
    assert fired(c)["pushed-back"].why == \
        'asked on 2026-11-02 to be called after 2027-06-01: 7 months away ("call me after the summer")'


# --- decision-deferred: a C/B/A deferred 30+ days without a commitment --------------------------------

DECISION_DEFERRED = [
    ("exactly 30 days", "c", {"until": ahead(30), "asked": TODAY}, None, {}, True),
    ("29 days", "c", {"until": ahead(29), "asked": TODAY}, None, {}, False),
    ("a next step due before the end is a commitment", "b", {"until": ahead(60), "asked": TODAY}, ahead(10), {}, False),
    ("a next step only after the end is none", "b", {"until": ahead(60), "asked": TODAY}, ahead(70), {}, True),
    ("an A too", "a", {"until": ahead(45), "asked": ago(2)}, None, {}, True),
    ("not an opportunity", "opportunity", {"until": ahead(60), "asked": TODAY}, None, {}, False),
    ("already demoted for it: asked before entering the stage", "c", {"until": ahead(60), "asked": ago(10)}, None, {},
     False),
    ("days raised to 60", "b", {"until": ahead(45), "asked": TODAY}, None, {"rules.decision_deferred.days": 60}, False),
    ("switched off", "b", {"until": ahead(45), "asked": TODAY}, None, {"rules.decision_deferred.enabled": False}, False),
]


@pytest.mark.parametrize(("case", "stage", "deferred", "due", "settings", "fires"), DECISION_DEFERRED,
                         ids=[c[0] for c in DECISION_DEFERRED])
def test_decision_deferred(case: str, stage: str, deferred: dict[str, Any], due: date | None,
                           settings: dict[str, Any], fires: bool) -> None:
    extra: dict[str, Any] = {"next": {"action": "call them", "due": due}} if due else {}
    c = contact(stage, deferred={"reason": "discuss it with my wife", **deferred},
                activities=[act(1, "call", "talked")], **extra)
    found = fired(c, settings)
    assert ("decision-deferred" in found) is fires
    if fires:
        assert found["decision-deferred"].action == "demote"
        assert found["decision-deferred"].to == {"c": "first-appointment", "b": "c", "a": "b"}[stage]
        assert "discuss it with my wife" in found["decision-deferred"].why


# --- stalled: no activity for longer than the class allows --------------------------------------------

LIMITS = [("opportunity", 90, "reserve", "reserve"), ("c", 60, "demote", "first-appointment"),
          ("b", 30, "demote", "c"), ("a", 14, "demote", "b")]


@pytest.mark.parametrize(("stage", "limit", "action", "to"), LIMITS)
@pytest.mark.parametrize(("quiet", "fires"), [(0, True), (-1, False)], ids=["past the limit", "exactly at the limit"])
def test_stalled_per_class(stage: str, limit: int, action: str, to: str, quiet: int, fires: bool) -> None:
    days = limit + 1 + quiet
    c = contact(stage, entered=ago(200), activities=[act(days, "call", "talked")],
                next={"action": "call", "due": ahead(3)})
    found = fired(c)
    assert ("stalled" in found) is fires
    if fires:
        assert (found["stalled"].action, found["stalled"].to) == (action, to)
        assert found["stalled"].why == f"nothing for {days} days since the last activity on {ago(days)}: " \
            f"{ {'opportunity': 'O', 'c': 'C', 'b': 'B', 'a': 'A'}[stage] } allows {limit}"


STALLED = [
    ("FA: 31 days past the meeting date", {"first_meeting": {"date": ago(31)}}, 40, {}, True),
    ("FA: exactly 30 days past the meeting date", {"first_meeting": {"date": ago(30)}}, 40, {}, False),
    ("FA: a meeting still ahead", {"first_meeting": {"date": ahead(30)}}, 100, {}, False),
    ("entering the class restarts the clock", {"activities": [act(50, "call", "talked")]}, 10, {}, False),
    ("no activity at all counts from entering the class", {}, 31, {}, True),
    ("b_days raised to 60", {"activities": [act(50, "call", "talked")]}, 100, {"rules.stalled.b_days": 60}, False),
    ("switched off", {"activities": [act(50, "call", "talked")]}, 100, {"rules.stalled.enabled": False}, False),
]


@pytest.mark.parametrize(("case", "fields", "entered", "settings", "fires"), STALLED, ids=[c[0] for c in STALLED])
def test_stalled(case: str, fields: dict[str, Any], entered: int, settings: dict[str, Any], fires: bool) -> None:
    stage = "first-appointment" if "first_meeting" in fields else "b"
    c = contact(stage, entered=ago(entered), next={"action": "call", "due": ahead(3)}, **fields)
    assert ("stalled" in fired(c, settings)) is fires


# --- no-next-step: a C, B or A with no next action -----------------------------------------------------

NO_NEXT_STEP = [
    ("a C without a next action", "c", None, {}, True),
    ("an A without a next action", "a", None, {}, True),
    ("a B with a next action", "b", {"action": "send the quote", "due": ahead(2)}, {}, False),
    ("a next action without a date still counts", "b", {"action": "send the quote"}, {}, False),
    ("an opportunity needs none", "opportunity", None, {}, False),
    ("switched off", "c", None, {"rules.no_next_step.enabled": False}, False),
]


@pytest.mark.parametrize(("case", "stage", "nxt", "settings", "fires"), NO_NEXT_STEP, ids=[c[0] for c in NO_NEXT_STEP])
def test_no_next_step(case: str, stage: str, nxt: dict[str, Any] | None, settings: dict[str, Any], fires: bool) -> None:
    extra = {"next": nxt} if nxt else {}
    c = contact(stage, activities=[act(1, "call", "talked")], **extra)
    found = fired(c, settings)
    assert ("no-next-step" in found) is fires
    if fires:
        assert found["no-next-step"].action == "flag"


# --- overdue: the next action's date has passed --------------------------------------------------------

OVERDUE = [
    ("due yesterday", ago(1), "c", {}, True),
    ("due today (the boundary)", TODAY, "c", {}, False),
    ("due tomorrow", ahead(1), "c", {}, False),
    ("two days of grace, due 2 days ago", ago(2), "b", {"rules.overdue.grace_days": 2}, False),
    ("two days of grace, due 3 days ago", ago(3), "b", {"rules.overdue.grace_days": 2}, True),
    ("an opportunity too", ago(5), "opportunity", {}, True),
    ("closed contacts are left alone", ago(5), "closed", {}, False),
    ("switched off", ago(5), "c", {"rules.overdue.enabled": False}, False),
]


@pytest.mark.parametrize(("case", "due", "stage", "settings", "fires"), OVERDUE, ids=[c[0] for c in OVERDUE])
def test_overdue(case: str, due: date, stage: str, settings: dict[str, Any], fires: bool) -> None:
    c = contact(stage, next={"action": "send the quote", "due": due}, activities=[act(1, "call", "talked")])
    found = fired(c, settings)
    assert ("overdue" in found) is fires
    if fires:
        assert found["overdue"].action == "flag"
        assert found["overdue"].why == f"next action 'send the quote' was due {due}: " \
            f"{(TODAY - due).days} day{'s' if (TODAY - due).days != 1 else ''} ago"


def test_overdue_without_a_next_action_does_not_fire() -> None:
    assert "overdue" not in fired(contact("c", activities=[act(1, "call", "talked")]))


# --- several rules, the strongest action, and contacts that cannot be evaluated ----------------------------

def test_a_contact_matched_by_several_rules_is_listed_once_per_rule_and_the_strongest_wins() -> None:
    c = contact("b", entered=ago(100), activities=[act(60), act(50), act(45)],
                deferred={"until": add_months(TODAY, 7), "asked": ago(1), "reason": "call me next year"})
    found = evaluate([c], {}, TODAY)
    assert [v.rule.id for v in found] == ["no-response", "pushed-back", "decision-deferred", "stalled", "no-next-step"]
    moves = plan(found, TODAY)
    assert len(moves) == 1
    assert moves[0].verdict.rule.id == "no-response"  # reserve beats demote; the first of equal strength wins
    entry = moves[0].changes[-1].item  # type: ignore[union-attr]
    assert entry == {"date": TODAY, "from": "b", "to": "reserve", "reason": "3 calls since 2026-10-01, none answered",
                     "rule": "no-response"}


def test_flags_are_never_planned() -> None:
    c = contact("c", activities=[act(1, "call", "talked")], next={"action": "x", "due": ago(3)})
    found = evaluate([c], {}, TODAY)
    assert [v.action for v in found] == ["flag"]
    assert plan(found, TODAY) == []


def test_a_demotion_to_opportunity_marks_the_contact_as_fallback() -> None:
    c = contact("first-appointment", entered=ago(60), first_meeting={"date": ago(45)})
    (move,) = plan(evaluate([c], {}, TODAY), TODAY)
    assert move.verdict.to == "opportunity"
    assert any(getattr(ch, "path", None) == ("source",) and ch.value == "fallback" for ch in move.changes)  # type: ignore[union-attr]


BAD_PARTS = [
    # (case, file data, the rules that cannot be evaluated)
    ("an activity with an impossible date", {"activities": [{"date": "2026-02-30", "kind": "call"}]},
     {"no-response", "refused", "stalled", "pitch-bombardment"}),
    ("an activity of an unknown kind", {"activities": [{"date": ago(3), "kind": "fax", "outcome": "no-answer"}]},
     {"no-response", "refused", "stalled", "pitch-bombardment"}),
    ("activities that are not a list", {"activities": "called twice"},
     {"no-response", "refused", "stalled", "pitch-bombardment"}),
    ("a deferral with no date", {"deferred": {"until": "after the summer"}}, {"pushed-back", "decision-deferred"}),
    ("a deferral that is not a mapping", {"deferred": "2027-06-01"}, {"pushed-back", "decision-deferred"}),
]


@pytest.mark.parametrize(("case", "bad", "blocked"), BAD_PARTS, ids=[c[0] for c in BAD_PARTS])
def test_a_malformed_part_makes_its_rules_say_cannot_evaluate(case: str, bad: dict[str, Any], blocked: set[str]) -> None:
    data = {"id": "x1", "name": "Anna Berg", "stage": "b", "created": ago(10),
            "history": [{"date": ago(10), "to": "b"}], "next": {"action": "call", "due": ago(2)}, **bad}
    c = contact_from_data("anna-berg", data)
    assert c.problems
    found = evaluate([c], {}, TODAY)
    cannot = {v.rule.id for v in found if v.status == CANNOT}
    assert cannot == blocked
    assert all(v.why.startswith("cannot evaluate: ") and v.action is None for v in found if v.status == CANNOT)
    assert "overdue" in {v.rule.id for v in found if v.status == FIRES}  # rules that do not read the bad part still run
    assert plan(found, TODAY) == []


def test_explain_says_for_every_rule_whether_and_why() -> None:
    c = contact("opportunity", activities=[act(10), act(8), act(5)])
    said = {v.rule.id: v for v in explain(c, {"rules.overdue.enabled": False}, TODAY)}
    assert list(said) == ["no-response", "refused", "no-show", "pushed-back", "decision-deferred", "meeting-put-off",
                          "stalled", "no-next-step", "overdue", "pitch-bombardment"]
    assert tuple(r.id for r in rules_from({})) == BUILTIN_IDS
    assert said["no-response"].status == FIRES
    assert said["pushed-back"].status == QUIET
    assert said["pushed-back"].why == "no deferral recorded"
    assert said["decision-deferred"].status == OTHER_STAGE
    assert said["decision-deferred"].why == "looks only at FA, C, B, A"
    assert said["stalled"].status == QUIET
    assert said["stalled"].why == f"5 days since the last activity on {ago(5)}: O allows 90"
    assert said["overdue"].status == OFF
    assert said["overdue"].why == "switched off (rules.overdue.enabled: false)"


def test_rule_choice_by_id() -> None:
    c = contact("c", activities=[act(10), act(8), act(5)])
    assert [v.rule.id for v in evaluate([c], {}, TODAY, only=["no-next-step"])] == ["no-next-step"]
    with pytest.raises(UsageError, match="unknown rule 'nope'"):
        evaluate([c], {}, TODAY, only=["nope"])
    with pytest.raises(UsageError, match=r"switched off in pipe.yaml \(rules.stalled.enabled: false\)"):
        evaluate([c], {"rules.stalled.enabled": False}, TODAY, only=["stalled"])


def test_every_threshold_is_a_setting_with_a_default() -> None:
    keys = {s.key: s.default for s in SETTINGS if s.key.startswith("rules.")}
    assert keys == {
        "rules.no_response.enabled": True, "rules.no_response.attempts": 3, "rules.no_response.days": 30,
        "rules.refused.enabled": True, "rules.refused.count": 1,
        "rules.no_show.enabled": True, "rules.no_show.count": 2,
        "rules.pushed_back.enabled": True, "rules.pushed_back.months": 4,
        "rules.decision_deferred.enabled": True, "rules.decision_deferred.days": 30,
        "rules.meeting_put_off.enabled": True, "rules.meeting_put_off.days": 28,
        "rules.pitch_bombardment.enabled": True,
        "rules.stalled.enabled": True, "rules.stalled.o_days": 90, "rules.stalled.fa_days": 30,
        "rules.stalled.c_days": 60, "rules.stalled.b_days": 30, "rules.stalled.a_days": 14,
        "rules.no_next_step.enabled": True, "rules.overdue.enabled": True, "rules.overdue.grace_days": 0,
        "rules.custom": (),
    }


# --- user rules ---------------------------------------------------------------------------------------------

def user(rule_yaml: str) -> dict[str, Any]:
    return {"rules.custom": yaml.safe_load(rule_yaml)}


def fires_user(rule_yaml: str, c: Contact) -> bool:
    found = evaluate([c], user(rule_yaml), TODAY, only=["mine"])
    assert all(v.status == FIRES for v in found)
    # The compiled condition (what evaluate runs) and the words of --explain (read through OPS) agree.
    mine = next(r for r in rules_from(user(rule_yaml)) if r.id == "mine")
    if mine.enabled and c.stage in mine.stages:
        assert mine.when.words(Facts(c, TODAY))[0] is bool(found)
    return bool(found)


def test_the_two_examples_of_the_issue() -> None:
    rules = user("""
- id: referral-quiet
  description: referrals with no activity for 21 days
  when:
    source: referral
    days_since_activity: {ge: 21}
  action: flag
- id: inbound-silent
  description: inbound leads that never replied to two e-mails
  when:
    source: inbound
    activities.email.unanswered: {ge: 2}
    activities.answered: 0
  action: reserve
""")
    only = ["referral-quiet", "inbound-silent"]

    def ids(c: Contact) -> list[str]:
        return [v.rule.id for v in evaluate([c], rules, TODAY, only=only)]

    assert ids(contact(source="referral", activities=[act(21, "call", "talked")])) == ["referral-quiet"]
    assert ids(contact(source="referral", activities=[act(20, "call", "talked")])) == []
    assert ids(contact(source="referral", entered=ago(30), created=ago(30))) == ["referral-quiet"]  # never any activity
    assert ids(contact(source="suspect", activities=[act(40, "call", "talked")])) == []
    silent = [act(9, "email", "no-reply"), act(2, "email", "no-reply")]
    assert ids(contact(source="inbound", activities=silent)) == ["inbound-silent"]
    assert ids(contact(source="inbound", activities=[*silent, act(1, "email", "replied")])) == []
    assert ids(contact(source="inbound", activities=silent[:1])) == []
    (found,) = evaluate([contact(source="inbound", activities=silent)], rules, TODAY, only=only)
    assert (found.action, found.to) == ("reserve", "reserve")
    assert found.why == "source is inbound; activities.email.unanswered is 2 (>= 2); activities.answered is 0"
    assert found.rule.description == "inbound leads that never replied to two e-mails"


FORMS = [
    # (case, when, contact fields, fires)
    ("text shorthand", "{source: referral}", {"source": "referral"}, True),
    ("text shorthand, other value", "{source: referral}", {"source": "inbound"}, False),
    ("a Chinese source name", "{source: 推荐客户}", {"source": "referral"}, True),
    ("a stage by letter", "{stage: B}", {"stage": "b"}, True),
    ("text is case-insensitive", "{owner: ANNA}", {"owner": "anna"}, True),
    ("a list means one of", "{owner: [ola, anna]}", {"owner": "anna"}, True),
    ("in", "{owner: {in: [ola, kari]}}", {"owner": "anna"}, False),
    ("ne holds for a missing value", "{owner: {ne: anna}}", {}, True),
    ("ne", "{owner: {ne: anna}}", {"owner": "anna"}, False),
    ("set: false", "{company: {set: false}}", {}, True),
    ("set: true", "{company: {set: true}}", {}, False),
    ("number gt", "{value: {gt: 10000}}", {"value": 10001}, True),
    ("number gt at the value", "{value: {gt: 10000}}", {"value": 10000}, False),
    ("number ge", "{value: {ge: 10000}}", {"value": 10000}, True),
    ("number lt", "{value: {lt: 10000}}", {"value": 9999.5}, True),
    ("number le", "{value: {le: 10000}}", {"value": 10001}, False),
    ("number eq shorthand", "{value: 500}", {"value": 500}, True),
    ("number ne", "{value: {ne: 500}}", {"value": 500}, False),
    ("number in", "{value: {in: [1, 2, 500]}}", {"value": 500}, True),
    ("a range: two comparisons", "{value: {ge: 100, le: 200}}", {"value": 250}, False),
    ("a missing number compares false", "{value: {lt: 10}}", {}, False),
    ("tags shorthand", "{tags: vip}", {"tags": ["vip", "export"]}, True),
    ("tags has all of a list", "{tags: {has: [vip, public]}}", {"tags": ["vip", "export"]}, False),
    ("tags has_any", "{tags: {has_any: [public, VIP]}}", {"tags": ["vip"]}, True),
    ("tags set: false", "{tags: {set: false}}", {"tags": []}, True),
    ("a flag", "{has_next: false}", {}, True),
    ("a flag, other value", "{has_next: true}", {}, False),
    ("activities by kind", "{activities.call: 2}", {"activities": [act(3), act(2, "call", "talked")]}, True),
    ("activities by outcome", "{activities.no-answer: 1}", {"activities": [act(3), act(2, "call", "talked")]}, True),
    ("activities by kind and outcome", "{activities.call.talked: {ge: 2}}", {"activities": [act(2, "call", "talked")]},
     False),
    ("all activities", "{activities: 0}", {}, True),
    ("days since activity", "{days_since_activity: {gt: 9}}", {"activities": [act(10, "call", "talked")]}, True),
    ("days in stage", "{days_in_stage: 5}", {}, True),
    ("days until the deferral ends", "{deferral_days_left: {ge: 20}}", {"deferred": {"until": ahead(20)}}, True),
    ("no deferral: days left unknown", "{deferral_days_left: {lt: 1000}}", {}, False),
    ("days overdue", "{days_overdue: 4}", {"next": {"action": "x", "due": ago(4)}}, True),
    ("all", "{all: [{source: referral}, {value: {gt: 5}}]}", {"source": "referral", "value": 4}, False),
    ("any", "{any: [{source: referral}, {value: {gt: 5}}]}", {"source": "inbound", "value": 6}, True),
    ("not", "{not: {source: referral}}", {"source": "inbound"}, True),
    ("not, the other way", "{not: {source: referral}}", {"source": "referral"}, False),
    ("a list is all of it", "[{source: referral}, {value: 7}]", {"source": "referral", "value": 7}, True),
    ("keys side by side are all of them", "{source: referral, value: 7}", {"source": "referral", "value": 8}, False),
    ("nested", "{any: [{all: [{tags: vip}, {not: {value: {lt: 10}}}]}, {owner: ola}]}",
     {"tags": ["vip"], "value": 20}, True),
    # one branch per stage: compiled as a jump to the contact's stage
    ("per stage, the contact's branch holds", "{any: [{stage: O, value: {gt: 5}}, {stage: C}, {stage: B, value: 1}]}",
     {"stage": "b", "value": 1}, True),
    ("per stage, the contact's branch fails", "{any: [{stage: O, value: {gt: 5}}, {stage: C}, {stage: B, value: 1}]}",
     {"stage": "opportunity", "value": 5}, False),
    ("per stage, a branch of the stage alone", "{any: [{stage: O, value: {gt: 5}}, {stage: C}, {stage: B, value: 1}]}",
     {"stage": "c"}, True),
    ("per stage, a stage with no branch", "{any: [{stage: O, value: {gt: 5}}, {stage: C}, {stage: B, value: 1}]}",
     {"stage": "a", "value": 9}, False),
    ("per stage, written in letters and Chinese", "{any: [{stage: 有效潜在客户三}, {stage: fa}, {stage: closed}]}",
     {"stage": "a"}, True),
    ("not equal", "{owner: {ne: Ola}}", {"owner": "ola"}, False),
    ("not equal, unknown", "{owner: {ne: ola}}", {}, True),
]


@pytest.mark.parametrize(("case", "when", "fields", "fires"), FORMS, ids=[c[0] for c in FORMS])
def test_user_rule_condition_forms(case: str, when: str, fields: dict[str, Any], fires: bool) -> None:
    stage = fields.pop("stage", "opportunity")
    rule = f"[{{id: mine, action: flag, stages: [O, FA, C, B, A, closed], when: {when}}}]"
    assert fires_user(rule, contact(stage, **fields)) is fires


def test_user_rule_stages_actions_and_switch() -> None:
    b = contact("b", activities=[act(1, "call", "talked")], value=100)
    assert not fires_user("[{id: mine, stages: [O, C], when: {value: 100}, action: flag}]", b)
    assert not fires_user("[{id: mine, when: {value: 100}, action: flag}]", contact("closed", value=100))  # default O-A
    (v,) = evaluate([b], user("[{id: mine, when: {value: 100}, action: demote}]"), TODAY, only=["mine"])
    assert (v.action, v.to, v.suggestion) == ("demote", "c", "demote to C")
    assert "mine" in {x.rule.id for x in evaluate([b], user("[{id: mine, when: {value: 100}, action: flag}]"), TODAY)}
    off = user("[{id: mine, when: {value: 100}, action: flag, enabled: false}]")
    assert "mine" not in {x.rule.id for x in evaluate([b], off, TODAY)}
    said = {x.rule.id: x for x in explain(b, user("[{id: mine, when: {value: 100}, action: flag, enabled: false}]"), TODAY)}
    assert said["mine"].status == OFF
    assert said["mine"].why == "switched off (rules.custom[0].enabled: false)"


def test_user_rule_explains_why_not() -> None:
    c = contact(source="inbound", activities=[act(3, "email", "no-reply")])
    rules = user("[{id: mine, when: {source: inbound, activities.email.unanswered: {ge: 2}}, action: reserve}]")
    (v,) = [x for x in explain(c, rules, TODAY) if x.rule.id == "mine"]
    assert v.status == QUIET
    assert v.why == "activities.email.unanswered is 1, not >= 2"


def test_a_user_rule_reading_a_malformed_part_cannot_be_evaluated() -> None:
    c = contact_from_data("x", {"id": "x", "name": "X", "stage": "opportunity", "value": "lots"})
    found = evaluate([c], user("[{id: mine, when: {value: {gt: 5}}, action: flag}, "
                               "{id: other, when: {source: {set: false}}, action: flag}]"), TODAY, only=["mine", "other"])
    assert [(v.rule.id, v.status) for v in found] == [("mine", CANNOT), ("other", FIRES)]
    assert found[0].why == "cannot evaluate: value should be a number, not 'lots'"


ERRORS = [
    # (case, rules.custom as YAML, the message, the key path inside rules.custom)
    ("a rule that is not a mapping", "[referral-quiet]",
     "rules.custom: rule 1: a rule should be a mapping with id, when and action, not 'referral-quiet'", (0,)),
    ("no id", "[{when: {value: 1}, action: flag}]", "rules.custom: rule 1: the rule has no id", (0,)),
    ("an id that is not a slug", "[{id: Quiet Referrals, when: {value: 1}, action: flag}]",
     "rules.custom: rule 'Quiet Referrals': id: the id 'Quiet Referrals' should be lower-case letters and digits "
     "joined by '-'", (0, "id")),
    ("a built-in id", "[{id: stalled, when: {value: 1}, action: flag}]",
     "rules.custom: rule 'stalled': id: the id 'stalled' is taken by a built-in rule", (0, "id")),
    ("the same id twice", "[{id: mine, when: {value: 1}, action: flag}, {id: mine, when: {value: 2}, action: flag}]",
     "rules.custom: rule 'mine': id: the id 'mine' is used by an earlier rule", (1, "id")),
    ("an unknown key", "[{id: mine, name: Mine, when: {value: 1}, action: flag}]",
     "rules.custom: rule 'mine': name: unknown key 'name': a rule has id, description, stages, when, action, enabled",
     (0, "name")),
    ("a description that is not text", "[{id: mine, description: [a], when: {value: 1}, action: flag}]",
     "rules.custom: rule 'mine': description: the description should be text", (0, "description")),
    ("enabled that is not true/false", "[{id: mine, enabled: maybe, when: {value: 1}, action: flag}]",
     "rules.custom: rule 'mine': enabled: enabled should be true or false, not 'maybe'", (0, "enabled")),
    ("no action", "[{id: mine, when: {value: 1}}]", "rules.custom: rule 'mine': the rule has no action", (0,)),
    ("an unknown action", "[{id: mine, when: {value: 1}, action: delete}]",
     "rules.custom: rule 'mine': action: unknown action 'delete': use reserve, demote, flag", (0, "action")),
    ("stages that are not a list", "[{id: mine, stages: {o: 1}, when: {value: 1}, action: flag}]",
     "rules.custom: rule 'mine': stages: stages should be a list like [O, FA]", (0, "stages")),
    ("an unknown stage", "[{id: mine, stages: [O, Z], when: {value: 1}, action: flag}]",
     "rules.custom: rule 'mine': stages[1]: unknown stage 'Z'", (0, "stages", 1)),
    ("moving closed contacts", "[{id: mine, stages: [closed], when: {value: 1}, action: reserve}]",
     "rules.custom: rule 'mine': stages[0]: action 'reserve' moves contacts out of the pipeline", (0, "stages", 0)),
    ("no when", "[{id: mine, action: flag}]", "rules.custom: rule 'mine': the rule has no 'when'", (0,)),
    ("a condition that is not a mapping", "[{id: mine, when: soon, action: flag}]",
     "rules.custom: rule 'mine': when: a condition should be a mapping like {days_quiet: {gt: 30}}, not 'soon'",
     (0, "when")),
    ("an empty list of conditions", "[{id: mine, when: [], action: flag}]",
     "rules.custom: rule 'mine': when: an empty list of conditions", (0, "when")),
    ("all without a list", "[{id: mine, when: {all: {value: 1}}, action: flag}]",
     "rules.custom: rule 'mine': when.all: 'all' takes a list of conditions", (0, "when", "all")),
    ("an unknown fact", "[{id: mine, when: {any: [{value: 1}, {days_sinse_activity: 3}]}, action: flag}]",
     "rules.custom: rule 'mine': when.any[1].days_sinse_activity: unknown fact 'days_sinse_activity' "
     "(did you mean 'days_since_activity'?)", (0, "when", "any", 1, "days_sinse_activity")),
    ("an unknown activity count", "[{id: mine, when: {activities.fax: 3}, action: flag}]",
     "rules.custom: rule 'mine': when.activities.fax: unknown fact 'activities.fax' (after 'activities.' name a kind",
     (0, "when", "activities.fax")),
    ("an unknown comparison", "[{id: mine, when: {value: {over: 3}}, action: flag}]",
     "rules.custom: rule 'mine': when.value.over: 'over' is not a comparison for value (number): "
     "use eq, ne, gt, ge, lt, le, in, set", (0, "when", "value", "over")),
    ("a comparison the fact does not have", "[{id: mine, when: {tags: {gt: 3}}, action: flag}]",
     "rules.custom: rule 'mine': when.tags.gt: 'gt' is not a comparison for tags (list of text): use has, has_any, set",
     (0, "when", "tags", "gt")),
    ("an empty comparison", "[{id: mine, when: {value: {}}, action: flag}]",
     "rules.custom: rule 'mine': when.value: an empty comparison", (0, "when", "value")),
    ("text where a number belongs", "[{id: mine, when: {days_quiet: {gt: thirty}}, action: flag}]",
     "rules.custom: rule 'mine': when.days_quiet.gt: should be a number, not 'thirty'", (0, "when", "days_quiet", "gt")),
    ("a list where text belongs", "[{id: mine, when: {owner: {eq: [a]}}, action: flag}]",
     "rules.custom: rule 'mine': when.owner.eq: should be text, not ['a']", (0, "when", "owner", "eq")),
    ("an unknown stage value", "[{id: mine, when: {stage: Z}, action: flag}]",
     "rules.custom: rule 'mine': when.stage: unknown stage 'Z'", (0, "when", "stage")),
    ("an unknown source value", "[{id: mine, when: {source: web}, action: flag}]",
     "rules.custom: rule 'mine': when.source: unknown source 'web'", (0, "when", "source")),
    ("set without true/false", "[{id: mine, when: {company: {set: 1}}, action: flag}]",
     "rules.custom: rule 'mine': when.company.set: should be true or false, not 1", (0, "when", "company", "set")),
    ("a flag without true/false", "[{id: mine, when: {has_next: no thanks}, action: flag}]",
     "rules.custom: rule 'mine': when.has_next: should be true or false, not 'no thanks'", (0, "when", "has_next")),
    ("in without a list", "[{id: mine, when: {value: {in: 3}}, action: flag}]",
     "rules.custom: rule 'mine': when.value.in: 'in' takes a list like [a, b], not 3", (0, "when", "value", "in")),
    ("not a list of rules", "{id: mine}", "rules.custom should be a list of rules", ()),
]


@pytest.mark.parametrize(("case", "rules", "message", "key"), ERRORS, ids=[c[0] for c in ERRORS])
def test_user_rule_errors_name_the_rule_and_the_bad_part(case: str, rules: str, message: str,
                                                         key: tuple[str | int, ...]) -> None:
    problems = rule_problems(user(rules))
    assert len(problems) == 1, problems
    assert problems[0].message.startswith(message), problems[0].message
    assert problems[0].key == key
    with pytest.raises(ConfigError) as raised:
        evaluate([], user(rules), TODAY)
    assert message in str(raised.value)
    assert "pipe check" in str(raised.value)


def test_every_problem_is_reported_not_just_the_first() -> None:
    problems = rule_problems(user("[{id: a-1, when: {valu: 1}, action: delete}, {id: b-2, action: flag}]"))
    assert [p.key for p in problems] == [(0, "action"), (0, "when", "valu"), (1,)]


def test_user_text_is_never_evaluated() -> None:
    rules = user("[{id: mine, when: {owner: \"__import__('os').system('false')\"}, action: flag}]")
    assert rule_problems(rules) == []
    assert evaluate([contact(owner="anna")], rules, TODAY, only=["mine"]) == []


# --- evaluate and explain agree, on any contact ---------------------------------------------------------------

DAY = st.integers(-200, 200).map(lambda n: TODAY - timedelta(days=n))
ACTIVITY = st.fixed_dictionaries({"date": DAY, "kind": st.sampled_from(["call", "email", "meeting", "visit", "note", "fax"])},
                                 optional={"outcome": st.sampled_from(["no-answer", "left-message", "no-reply", "talked",
                                                                       "held", "replied", "refused"])})
CONTACT = st.fixed_dictionaries(
    {"id": st.just("x1"), "name": st.just("Anna"),
     "stage": st.sampled_from(["opportunity", "first-appointment", "c", "b", "a", "closed", "reserve"])},
    optional={"activities": st.lists(ACTIVITY, max_size=6),
              "deferred": st.one_of(st.fixed_dictionaries({"until": DAY}, optional={"asked": DAY}), st.just("soon")),
              "next": st.fixed_dictionaries({"action": st.just("call")}, optional={"due": DAY}),
              "first_meeting": st.fixed_dictionaries({"date": DAY}),
              "created": DAY, "history": st.lists(st.fixed_dictionaries({"date": DAY, "to": st.just("b")}), max_size=2)})


@settings(max_examples=300, deadline=None)
@given(CONTACT)
def test_evaluate_and_explain_agree_on_any_contact(data: dict[str, Any]) -> None:
    c = contact_from_data("x", data)
    found = {(v.rule.id, v.status, v.why) for v in evaluate([c], {}, TODAY)}
    said = {(v.rule.id, v.status, v.why) for v in explain(c, {}, TODAY) if v.status in (FIRES, CANNOT)}
    assert found == said
    facts = Facts(c, TODAY)
    for rule in rules_from({}):  # what evaluate runs, against the words of --explain
        assert rule.test(facts) is rule.when.words(facts)[0], rule.id
    for move in plan(evaluate([c], {}, TODAY), TODAY):
        assert move.changes[0].value in ("reserve", "opportunity", "first-appointment", "c", "b")  # type: ignore[union-attr]
