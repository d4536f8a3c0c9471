"""The daily loop (issue 12), on real folders and real git: next actions that finish, outcomes that mean
what they say, and one judgement in classify, show, plan, review and stats."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import Run, contact_file

from pipecli.funnel import build_thirds
from pipecli.ladder import GateRules, classify, judged_gate
from pipecli.model import contact_from_data
from pipecli.rules import FIRES, evaluate


def data(pipeline: Path, slug: str) -> dict[str, Any]:
    loaded = yaml.safe_load(contact_file(pipeline, slug).read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def ok(run: Run, *args: str, today: str = "2026-11-30") -> str:
    result = run(*args, today=today)
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def fires(run: Run, slug: str, today: str = "2026-11-30") -> dict[str, dict[str, Any]]:
    """The rules that fire on one contact, by id (pipe review --explain as JSON)."""
    result = run("review", "--explain", slug, "--format", "json", today=today)
    return {v["rule"]: v for v in json.loads(result.stdout) if v["status"] == FIRES}


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, encoding="utf-8",
                          env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1"})
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def gitted(pipeline: Path) -> Path:
    git(pipeline, "init", "-q")
    git(pipeline, "add", ".")
    git(pipeline, "commit", "-qm", "init pipeline")
    return pipeline


# --- 1. the next action's life cycle ---------------------------------------------------------------


def test_done_records_the_action_as_an_activity_and_sets_the_following_one(run: Run, pipeline: Path) -> None:
    ok(run, "add", "Anna Berg", today="2026-11-20")
    ok(run, "log", "anna", "call", "--outcome", "talked", "--next", "send the quote", "--due", "2026-11-25",
       today="2026-11-20")
    said = ok(run, "done", "anna", "--kind", "email", "--note", "quote sent", "--next", "call about the quote",
              "--due", "2026-12-04")
    assert "Next action 'send the quote' (due 2026-11-25) done; next 'call about the quote' (due 2026-12-04)." in said
    d = data(pipeline, "anna-berg")
    assert d["activities"][-1] == {"date": date(2026, 11, 30), "kind": "email", "note": "done: send the quote; quote sent"}
    assert d["next"] == {"action": "call about the quote", "due": date(2026, 12, 4), "agreed": date(2026, 11, 30)}
    assert d["past_actions"] == [{"date": date(2026, 11, 30), "action": "send the quote", "due": date(2026, 11, 25),
                                  "end": "done", "by": "done"}]
    # done without a following action clears it: no overdue flag is left behind
    ok(run, "done", "anna", today="2026-12-04")
    assert "next" not in data(pipeline, "anna-berg")
    assert "overdue" not in fires(run, "anna", today="2026-12-20")
    nothing = run("done", "anna")
    assert nothing.exit_code == 1
    assert "Anna Berg has no next action to finish" in nothing.stderr


def test_done_not_done_clears_without_an_activity_and_says_so(run: Run, pipeline: Path) -> None:
    ok(run, "add", "Bo Lund")
    ok(run, "log", "bo", "call", "--outcome", "talked", "--next", "send the brochure", "--due", "fri")
    before = data(pipeline, "bo-lund")["activities"]
    said = ok(run, "done", "bo", "--not-done", "--note", "they found it online")
    assert "Next action 'send the brochure' (due 2026-12-04) cleared without being done (they found it online)" in said
    d = data(pipeline, "bo-lund")
    assert d["activities"] == before  # nothing was done: no activity
    assert "next" not in d
    assert d["past_actions"][-1]["end"] == "dropped"
    assert d["past_actions"][-1]["note"] == "they found it online"
    assert run("done", "bo", "--not-done").exit_code == 1  # no next action any more


def test_next_dash_clears_the_next_action_and_an_empty_one_is_refused(run: Run, pipeline: Path) -> None:
    ok(run, "add", "Cai Li")
    ok(run, "log", "cai", "call", "--outcome", "talked", "--next", "send the quote", "--due", "2026-11-28")
    empty = run("log", "cai", "note", "--next", "")
    assert empty.exit_code == 2
    assert "--next is empty" in empty.stderr and "'--next -' to clear it" in empty.stderr
    assert run("log", "cai", "note", "--next", "-", "--due", "fri").exit_code == 2
    said = ok(run, "log", "cai", "note", "--note", "no quote needed", "--next", "-")
    assert "Next action 'send the quote' (due 2026-11-28) cleared" in said
    d = data(pipeline, "cai-li")
    assert "next" not in d
    assert d["past_actions"][-1] == {"date": date(2026, 11, 30), "action": "send the quote", "due": date(2026, 11, 28),
                                     "end": "cleared", "by": "log"}
    assert contact_from_data("x", {**d, "next": {"action": "-", "due": date(2026, 11, 1)}}).next is None  # old files


def test_meet_makes_the_meeting_the_next_action_unless_another_is_given(run: Run, pipeline: Path) -> None:
    ok(run, "add", "Dag Dahl")
    ok(run, "log", "dag", "call", "--outcome", "talked", "--next", "call back", "--due", "2026-12-01")
    said = ok(run, "meet", "dag", "2026-12-03")
    assert "Next action 'call back' (due 2026-12-01) replaced by 'first meeting' (due 2026-12-03)." in said
    assert data(pipeline, "dag-dahl")["next"]["action"] == "first meeting"
    assert data(pipeline, "dag-dahl")["past_actions"][-1]["by"] == "meet"
    ok(run, "meet", "dag", "2026-12-10", "--next", "send the agenda", "--due", "2026-12-08")
    assert data(pipeline, "dag-dahl")["next"] == {"action": "send the agenda", "due": date(2026, 12, 8),
                                                  "agreed": date(2026, 11, 30)}
    # the meeting held ends the "first meeting" action that meet set
    ok(run, "add", "Eva Eng")
    ok(run, "meet", "eva", "2026-12-01")
    said = ok(run, "log", "eva", "meeting", "--outcome", "held", today="2026-12-01")
    assert "Next action 'first meeting' (due 2026-12-01) done and cleared" in said
    assert data(pipeline, "eva-eng")["past_actions"][-1]["end"] == "done"


def test_closing_clears_the_next_action_and_the_plan_shows_no_stale_one(run: Run, pipeline: Path) -> None:
    contact_file(pipeline, "finn-fox").write_text(
        "id: f1\nname: Finn Fox\nstage: a\ncreated: 2026-09-01\nverbal_yes: 2026-11-20\n"
        "next: {action: send the contract, due: 2026-11-25}\n"
        "history:\n  - {date: 2026-11-20, from: b, to: a}\n", encoding="utf-8")
    said = ok(run, "promote", "finn", "--to", "closed", "--value", "9000")
    assert "Next action 'send the contract' (due 2026-11-25) cleared (closed: the plan's service calls take over)" in said
    assert "next" not in data(pipeline, "finn-fox")
    plan = ok(run, "plan")
    assert "send the contract" not in plan
    assert "service call after the sale (closed on 2026-11-30, 9,000)" in plan
    # a file closed by hand with a stale action agreed before the sale: the plan does not show it either
    contact_file(pipeline, "gro-gade").write_text(
        "id: g1\nname: Gro Gade\nstage: closed\ncreated: 2026-09-01\nclosed: {date: 2026-11-20}\n"
        "next: {action: chase the signature, due: 2026-11-18}\nactivities:\n  - {date: 2026-11-25, kind: call}\n"
        "history:\n  - {date: 2026-11-20, from: a, to: closed}\n", encoding="utf-8")
    assert "chase the signature" not in ok(run, "plan")


def test_demote_and_the_reserve_clear_the_next_action_unless_one_is_given(run: Run, pipeline: Path) -> None:
    for slug, name in (("hal-ho", "Hal Ho"), ("ida-ek", "Ida Ek")):
        contact_file(pipeline, slug).write_text(
            f"id: {slug}\nname: {name}\nstage: b\ncreated: 2026-09-01\n"
            "next: {action: send the proposal, due: 2026-12-02}\nhistory:\n  - {date: 2026-10-01, from: c, to: b}\n",
            encoding="utf-8")
    said = ok(run, "demote", "hal", "--reason", "no budget after all")
    assert "Next action 'send the proposal' (due 2026-12-02) cleared (it was B's)" in said
    assert "A C needs a further step they committed to" in said
    assert "next" not in data(pipeline, "hal-ho")
    ok(run, "demote", "ida", "--reason", "no budget", "--next", "find the budget owner", "--due", "2026-12-07")
    assert data(pipeline, "ida-ek")["next"]["action"] == "find the budget owner"
    assert data(pipeline, "ida-ek")["past_actions"][-1]["end"] == "replaced"
    said = ok(run, "demote", "ida", "--to", "reserve", "--reason", "bought elsewhere")
    assert "next" not in data(pipeline, "ida-ek")
    assert "cleared" in said


def test_defer_makes_the_next_action_calling_back_on_that_day(run: Run, pipeline: Path) -> None:
    ok(run, "add", "Jon Juul")
    ok(run, "log", "jon", "call", "--outcome", "talked", "--next", "send the quote", "--due", "fri")
    said = ok(run, "defer", "jon", "--until", "2027-01-15", "--reason", "after the holidays")
    assert "replaced by 'call back as agreed (after the holidays)' (due 2027-01-15)" in said
    assert data(pipeline, "jon-juul")["next"] == {"action": "call back as agreed (after the holidays)",
                                                  "due": date(2027, 1, 15), "agreed": date(2026, 11, 30)}
    assert "call back as agreed (after the holidays)" in ok(run, "plan", today="2027-01-14")


QUALIFIED_C = """id: k1
name: Kari Kim
stage: c
created: 2026-09-01
first_meeting: {date: 2026-10-01, held: true}
criteria:
  decision_maker: true
  proposal_fits: true
  budget: true
  decision_date: 2026-12-20
  start_date: 2027-01-15
next:
  action: send the proposal
  due: 2026-11-20
history:
  - {date: 2026-10-02, from: first-appointment, to: c}
"""


def test_qualify_next_step_is_the_next_action(run: Run, pipeline: Path) -> None:
    contact_file(pipeline, "kari-kim").write_text(QUALIFIED_C, encoding="utf-8")
    assert "overdue" in fires(run, "kari")
    said = ok(run, "qualify", "kari", "--next-step", "contract review with legal", "--due", "2026-12-05")
    assert "Next action 'send the proposal' (due 2026-11-20) replaced by 'contract review with legal'" in said
    assert "5 of 5 B criteria met. Ready for B" in said
    assert "overdue" not in fires(run, "kari")  # the case: no longer flagged for the proposal
    d = data(pipeline, "kari-kim")
    assert d["next"]["action"] == "contract review with legal"
    assert "next_step" not in d["criteria"]
    assert d["criteria"]["checked"] == date(2026, 11, 30)
    assert "contract review with legal" in ok(run, "plan")
    assert "send the proposal" not in ok(run, "plan")


def test_an_old_file_with_criteria_next_step_keeps_working(run: Run, pipeline: Path) -> None:
    old = QUALIFIED_C.replace("next:\n  action: send the proposal\n  due: 2026-11-20\n", "").replace(
        "  start_date: 2027-01-15\n", "  start_date: 2027-01-15\n  next_step: workshop with IT\n")
    contact_file(pipeline, "kari-kim").write_text(old, encoding="utf-8")
    assert ok(run, "check").strip().endswith("no problems found.") or run("check").exit_code == 0
    assert "no-next-step" not in fires(run, "kari")  # the step is the next action
    assert "workshop with IT (no date yet: agree one)" in ok(run, "plan")
    ok(run, "promote", "kari")  # criterion 5 holds: C -> B
    ok(run, "qualify", "kari", "--next-step", "sign-off meeting", "--due", "2026-12-03")
    d = data(pipeline, "kari-kim")
    assert d["criteria"]["next_step"] is None  # cleared there, so that it cannot come back
    assert d["past_actions"][-1]["action"] == "workshop with IT"
    ok(run, "done", "kari", "--kind", "meeting", "--outcome", "held")
    assert "next" not in data(pipeline, "kari-kim")
    assert "no-next-step" in fires(run, "kari")  # the old step did not come back


def _deferred_b(next_: dict[str, Any]) -> Any:
    return contact_from_data("x", {
        "id": "x", "name": "X", "stage": "b", "created": date(2026, 8, 1),
        "history": [{"date": date(2026, 9, 1), "from": "c", "to": "b"}],
        "activities": [{"date": date(2026, 11, 1), "kind": "call", "outcome": "talked"}],
        "deferred": {"until": date(2027, 2, 1), "reason": "after the board meeting", "asked": date(2026, 11, 1)},
        "next": next_})


@pytest.mark.parametrize(("case", "next_", "deferred_fires"), [
    ("a stale action, agreed before the deferral and overdue", {"action": "send the quote", "due": date(2026, 10, 20),
                                                                "agreed": date(2026, 10, 10)}, True),
    ("agreed before the deferral, due inside it", {"action": "x", "due": date(2026, 12, 1),
                                                   "agreed": date(2026, 10, 10)}, True),
    ("agreed on the day of the deferral, due before its end", {"action": "x", "due": date(2026, 12, 15),
                                                               "agreed": date(2026, 11, 1)}, False),
    ("agreed after, but due after the deferral ends", {"action": "x", "due": date(2027, 2, 10),
                                                       "agreed": date(2026, 11, 5)}, True),
    ("an old file without 'agreed', due before the deferral", {"action": "x", "due": date(2026, 10, 20)}, True),
    ("an old file without 'agreed', due after it was asked", {"action": "x", "due": date(2026, 12, 1)}, False),
])
def test_a_next_action_is_a_commitment_only_when_agreed_since_the_deferral_and_due_before_its_end(
        case: str, next_: dict[str, Any], deferred_fires: bool) -> None:
    found = {v.rule.id for v in evaluate([_deferred_b(next_)], {}, date(2026, 11, 30)) if v.status == FIRES}
    assert ("decision-deferred" in found) is deferred_fires


# --- 2. outcomes mean what they say ----------------------------------------------------------------


def test_two_no_shows_for_a_first_appointment_are_a_soft_no(run: Run, pipeline: Path) -> None:
    ok(run, "add", "Lea Lo", today="2026-11-01")
    ok(run, "meet", "lea", "2026-11-10", today="2026-11-01")
    said = ok(run, "log", "lea", "meeting", "--outcome", "no-show", today="2026-11-10")
    assert "Next action 'first meeting' (due 2026-11-10) cleared (the meeting: no-show)" in said
    assert "no-show" not in fires(run, "lea", today="2026-11-10")
    plan = ok(run, "plan", today="2026-11-11")
    assert "first meeting of 2026-11-10: no-show on 2026-11-10; set a new date (pipe meet lea-lo DATE)" in plan
    ok(run, "meet", "lea", "2026-11-20", today="2026-11-11")
    plan = ok(run, "plan", today="2026-11-15")
    assert "first meeting on 2026-11-20 (Fri)" in plan
    assert "next: first meeting" not in plan  # the meeting is the next action: said once
    ok(run, "log", "lea", "Meeting", "--outcome", "爽约", today="2026-11-20")  # any case, and in Chinese
    found = fires(run, "lea", today="2026-11-21")
    assert found["no-show"]["action"] == "reserve"
    assert found["no-show"]["evidence"] == "2 no-shows for the first meeting (2026-11-10, 2026-11-20)"


def test_a_cancelled_meeting_asks_for_a_new_date(run: Run, pipeline: Path) -> None:
    ok(run, "add", "Mia Moe")
    ok(run, "meet", "mia", "2026-12-02")
    ok(run, "log", "mia", "meeting", "--outcome", "cancelled", "--note", "ill")
    plan = ok(run, "plan")
    assert "first meeting of 2026-12-02: cancelled on 2026-11-30; set a new date (pipe meet mia-moe DATE)" in plan
    assert run("log", "mia", "call", "--outcome", "cancelled").exit_code == 2  # said of a meeting, not a call


def test_a_rescheduled_meeting_moves_the_first_meeting_and_a_month_off_is_found(run: Run, pipeline: Path) -> None:
    ok(run, "add", "Nils Nes")
    ok(run, "meet", "nils", "2026-12-02")
    assert run("log", "nils", "meeting", "--outcome", "rescheduled").exit_code == 2  # needs its new date
    ok(run, "log", "nils", "meeting", "--outcome", "rescheduled", "--new-date", "2026-12-16")
    d = data(pipeline, "nils-nes")
    assert d["first_meeting"] == {"date": date(2026, 12, 16), "held": False}
    assert d["next"]["due"] == date(2026, 12, 16)
    assert d["activities"][-1] == {"date": date(2026, 11, 30), "kind": "meeting", "outcome": "rescheduled",
                                   "from": date(2026, 12, 2), "to": date(2026, 12, 16)}
    assert "meeting-put-off" not in fires(run, "nils")  # two weeks: not yet a month
    ok(run, "log", "nils", "meeting", "--outcome", "改期", "--new-date", "2027-01-06")  # 改期: rescheduled
    found = fires(run, "nils")
    assert found["meeting-put-off"]["suggestion"] == "demote to O"
    assert "moved from 2026-12-02 to 2027-01-06 (2 reschedulings, 35 days later)" in found["meeting-put-off"]["evidence"]


def test_a_refusal_is_a_no_and_the_plan_proposes_no_follow_up(run: Run, pipeline: Path) -> None:
    ok(run, "add", "Ola Ost", today="2026-11-10")
    ok(run, "log", "ola", "call", "--outcome", "talked", today="2026-11-10")
    ok(run, "log", "ola", "电话", "--outcome", "拒绝", "--note", "not interested", today="2026-11-20")
    assert data(pipeline, "ola-ost")["activities"][-1]["kind"] == "call"
    assert data(pipeline, "ola-ost")["activities"][-1]["outcome"] == "refused"
    found = fires(run, "ola")
    assert found["refused"]["action"] == "reserve"
    assert found["refused"]["evidence"] == "1 refusal in a row, the last on 2026-11-20 (not interested)"
    plan = ok(run, "plan")
    assert "decide: reserve (refused)" in plan
    assert "follow up" not in plan and "try again" not in plan
    # with the rule switched off (or raised), the plan still proposes no follow-up after a "no"
    config = (pipeline / "pipe.yaml").read_text(encoding="utf-8")
    # in place: a second rules: section would be a key written twice (an error)
    assert config.count("  refused:\n") == 1
    head, _, tail = config.partition("  refused:\n")
    tail = tail.replace("    count: 1\n", "    count: 2\n", 1)
    (pipeline / "pipe.yaml").write_text(head + "  refused:\n" + tail, encoding="utf-8")
    assert "refused" not in fires(run, "ola")
    plan = ok(run, "plan")
    assert "ola-ost" not in plan
    ok(run, "log", "ola", "call", "--outcome", "Refused", today="2026-11-25")
    assert fires(run, "ola")["refused"]["evidence"].startswith("2 refusals in a row")


def test_kinds_outcomes_and_steps_in_any_case_and_in_chinese_in_files(run: Run, pipeline: Path) -> None:
    contact_file(pipeline, "pia-pan").write_text(
        "id: p1\nname: Pia Pan\nstage: opportunity\ncreated: 2026-11-01\nactivities:\n"
        "  - {date: 2026-11-02, kind: Call, outcome: Talked, step: 开场}\n"
        "  - {date: 2026-11-03, kind: 会议, outcome: 已举行, step: Information Gathering}\n"
        "  - {date: 2026-11-04, kind: EMAIL, outcome: no-reply}\n", encoding="utf-8")
    assert run("check").exit_code == 0
    shown = json.loads(ok(run, "show", "pia", "--format", "json"))
    assert shown["steps"] == {"opening": "2026-11-02", "information-gathering": "2026-11-03", "presentation": None,
                              "close": None}
    bad = run("log", "pia", "fax")
    assert bad.exit_code == 2 and "unknown activity kind 'fax'" in bad.stderr


# --- 3. one judgement ------------------------------------------------------------------------------

STALLED_FA = """id: q1
name: Quinn Qu
stage: first-appointment
source: referral
created: 2026-08-01
first_meeting: {date: 2026-08-20, held: true}
next: {action: send the proposal, due: 2026-09-01, agreed: 2026-08-20}
activities:
  - {date: 2026-08-20, kind: meeting, outcome: held}
history:
  - {date: 2026-08-01, to: opportunity, reason: added}
  - {date: 2026-08-10, from: opportunity, to: first-appointment, reason: first meeting set for 2026-08-20}
"""


def test_a_demotion_by_review_is_not_undone_by_classify_show_or_plan(run: Run, pipeline: Path) -> None:
    contact_file(pipeline, "quinn-qu").write_text(STALLED_FA, encoding="utf-8")
    assert run("classify", "quinn").exit_code == 1  # before: held and a next step, yet at FA: under-classified
    applied = run("review", "--apply", "--yes", today="2026-10-15")
    assert "Demoted 1 contact." in applied.stdout, applied.output
    assert data(pipeline, "quinn-qu")["stage"] == "opportunity"
    again = run("classify", "--apply", "--yes", today="2026-10-16")
    assert again.exit_code == 0, again.output
    assert "0 of 1 contacts in O to A misclassified" in again.stdout
    assert data(pipeline, "quinn-qu")["stage"] == "opportunity"  # not promoted back, its stall clock not restarted
    shown = ok(run, "show", "quinn", today="2026-10-16")
    assert "every gate is met" not in shown
    assert "# to reach FA (evidence since the move down on 2026-10-15): a first meeting date" in shown
    plan = ok(run, "plan", today="2026-10-16")
    assert "promote" not in plan
    # new evidence after the move down counts again
    ok(run, "meet", "quinn", "2026-10-20", today="2026-10-16")
    ok(run, "log", "quinn", "meeting", "--outcome", "held", "--next", "proposal", "--due", "2026-10-30",
       today="2026-10-20")
    assert data(pipeline, "quinn-qu")["stage"] == "first-appointment"
    assert "the first meeting is held and the next step agreed: promote to C" in ok(run, "plan", today="2026-10-21")


def test_evidence_before_a_demotion_still_supports_the_class_it_moved_to() -> None:
    rules = GateRules()
    c = contact_from_data("x", {
        "id": "x", "name": "X", "stage": "b", "created": date(2026, 9, 1),
        "first_meeting": {"date": date(2026, 9, 5), "held": True},
        "criteria": {"decision_maker": True, "proposal_fits": True, "budget": True,
                     "decision_date": date(2026, 12, 20), "start_date": date(2027, 1, 10)},
        "next": {"action": "x", "due": date(2026, 12, 5)},
        "history": [{"date": date(2026, 10, 1), "from": "c", "to": "b"},
                    {"date": date(2026, 10, 20), "from": "b", "to": "a"},
                    {"date": date(2026, 11, 1), "from": "a", "to": "b", "reason": "no yes after all"}]})
    today = date(2026, 11, 30)
    assert classify(c, today, rules) is None  # B stays supported by what came before
    assert judged_gate(c, "a", today, rules)  # but an A needs a yes recorded since
    assert classify(c._replace(verbal_yes=date(2026, 10, 18)), today, rules) is None  # the old yes was judged
    yes_since = c._replace(verbal_yes=date(2026, 11, 20))
    missing = judged_gate(yes_since, "a", today, rules)  # the criteria were checked before the move down
    assert missing and all(m.startswith("B criterion no longer holds") for m in missing)
    rechecked = yes_since._replace(criteria=yes_since.criteria._replace(checked=date(2026, 11, 20)))
    assert judged_gate(rechecked, "a", today, rules) == []
    assert classify(rechecked, today, rules) is not None  # now under-classified: a yes and criteria since


def test_a_contact_appears_once_in_the_plan(run: Run, pipeline: Path) -> None:
    contact_file(pipeline, "rolf-ruud").write_text(
        "id: r1\nname: Rolf Ruud\nstage: opportunity\ncreated: 2026-10-01\nactivities:\n"
        "  - {date: 2026-10-05, kind: call, outcome: no-answer}\n  - {date: 2026-10-12, kind: call, outcome: no-answer}\n"
        "  - {date: 2026-10-19, kind: call, outcome: no-answer}\n", encoding="utf-8")
    plan = json.loads(ok(run, "plan", "--format", "json"))
    where = [(c["id"], i["action"]) for c in plan["categories"] for i in c["items"] if i["slug"] == "rolf-ruud"]
    assert where == [("admin", "decide: reserve (no-response)")]


STALE_B = """id: s1
name: Siv Sand
stage: b
created: 2026-07-01
next: {action: send the revised quote, due: 2026-10-01}
activities:
  - {date: 2026-09-20, kind: call, outcome: talked}
history:
  - {date: 2026-09-01, from: c, to: b}
"""


def test_stats_names_who_left_the_sales_process_and_review_and_classify_move_the_same(run: Run,
                                                                                       pipeline: Path) -> None:
    contact_file(pipeline, "siv-sand").write_text(STALE_B, encoding="utf-8")
    contact_file(pipeline, "quinn-qu").write_text(STALLED_FA.replace("first-appointment\nsource", "c\nsource").replace(
        "reason: first meeting set for 2026-08-20}", "reason: first meeting set for 2026-08-20}\n"
        "  - {date: 2026-08-21, from: first-appointment, to: c}").replace("held: true", "held: false").replace(
        "  - {date: 2026-08-20, kind: meeting, outcome: held}\n", ""), encoding="utf-8")
    stats = json.loads(ok(run, "stats", "--format", "json"))
    named = {row["slug"]: row["why"] for row in stats["left"]}
    assert named == {"siv-sand": "review: stalled (demote to C)", "quinn-qu": "review: stalled (demote to FA)"}
    text = ok(run, "stats")
    assert "The files name 2 contacts in FA, C, B and A that left the sales process" in text
    assert "  siv-sand (B): review: stalled (demote to C)" in text
    assert "Demoted 2 contacts." in run("review", "--apply", "--yes").stdout
    moved = {slug: data(pipeline, slug)["history"][-1]["rule"] for slug in named}
    assert moved == {"siv-sand": "stalled", "quinn-qu": "stalled"}


def test_a_hand_edit_is_committed_on_its_own_and_the_skipped_gate_is_said(run: Run, gitted: Path) -> None:
    ok(run, "add", "Tor Tveit")
    ok(run, "meet", "tor", "2026-12-02")
    path = contact_file(gitted, "tor-tveit")
    path.write_text(path.read_text(encoding="utf-8").replace("stage: first-appointment", "stage: b"), encoding="utf-8")
    shown = ok(run, "show", "tor")
    assert "# moved from FA to B by hand: the gate was skipped (missing C: the first meeting held" in shown
    plan = ok(run, "plan")
    assert "moved from FA to B by hand: the gate was skipped" in plan
    ok(run, "log", "tor", "call", "--outcome", "talked")
    subjects = git(gitted, "log", "--format=%s", "-3").splitlines()
    assert subjects[:2] == ["log Tor Tveit: call talked",
                            "hand edit of Tor Tveit: stage FA -> B (edited in the file: no gate checked)"]
    hand = git(gitted, "show", "--format=", "HEAD~1", "--", "contacts/tor-tveit.yaml")
    assert "+stage: b" in hand and "activities" not in hand  # the hand edit alone
    assert "+stage" not in git(gitted, "show", "--format=", "HEAD")  # the command's commit: only its change
    assert git(gitted, "status", "--porcelain") == ""


# --- 4. the method's points ------------------------------------------------------------------------


def test_call_me_in_summer_said_in_january_is_found(run: Run, pipeline: Path) -> None:
    ok(run, "add", "Una Uhl", today="2027-01-20")
    ok(run, "defer", "una", "--until", "2027-06-10", "--reason", "call me in summer", today="2027-01-20")
    found = fires(run, "una", today="2027-01-21")
    assert found["pushed-back"]["action"] == "reserve"
    assert "4.7 months away" in found["pushed-back"]["evidence"]


def test_a_first_appointment_that_puts_the_decision_off_a_month_is_found(run: Run, pipeline: Path) -> None:
    ok(run, "add", "Vera Vik")
    ok(run, "meet", "vera", "2026-12-03")
    ok(run, "defer", "vera", "--until", "2027-01-05", "--reason", "will discuss it with my wife next month")
    found = fires(run, "vera")
    assert found["decision-deferred"]["suggestion"] == "demote to O"


def test_the_four_steps_in_show_and_pitch_bombardment(run: Run, pipeline: Path) -> None:
    ok(run, "add", "Wim Wu", today="2026-11-01")
    ok(run, "log", "wim", "call", "--outcome", "talked", "--step", "opening", today="2026-11-02")
    ok(run, "log", "wim", "meeting", "--outcome", "held", "--step", "proposal", today="2026-11-10")
    shown = ok(run, "show", "wim")
    assert "# the sale: opening 2026-11-02 · information gathering - · presentation 2026-11-10 · close -" in shown
    found = fires(run, "wim")
    assert found["pitch-bombardment"]["action"] == "flag"
    assert found["pitch-bombardment"]["evidence"] == "presentation on 2026-11-10 with no information gathering before it"
    ok(run, "add", "Xia Xu", today="2026-11-01")
    ok(run, "log", "xia", "meeting", "--outcome", "held", "--step", "信息收集", today="2026-11-05")
    ok(run, "log", "xia", "meeting", "--outcome", "held", "--step", "presentation", today="2026-11-12")
    assert "pitch-bombardment" not in fires(run, "xia")


def _ended(slug: str, stage: str, effort: int, fa: bool = True) -> Any:
    history = [{"date": date(2026, 9, 1), "to": "opportunity"}]
    if fa:
        history.append({"date": date(2026, 9, 5), "from": "opportunity", "to": "first-appointment"})
    history.append({"date": date(2026, 10, 20), "from": history[-1]["to"], "to": stage})
    acts = [{"date": date(2026, 9, 2 + i), "kind": "call", "outcome": "talked"} for i in range(effort)]
    acts.append({"date": date(2026, 11, 20), "kind": "call", "outcome": "talked"})  # after the end: not effort
    return contact_from_data(slug, {"id": slug, "name": slug, "stage": stage, "created": date(2026, 9, 1),
                                    "history": history, "activities": acts,
                                    **({"closed": {"date": date(2026, 10, 20)}} if stage == "closed" else {})})


def test_the_one_third_rule_splits_the_prospects_that_reached_an_end() -> None:
    contacts = [_ended("easy", "closed", 2), _ended("won", "closed", 9), _ended("won-too", "closed", 5),
                _ended("never", "reserve", 7), _ended("never-met", "reserve", 3, fa=False)]
    t = build_thirds(contacts, date(2026, 11, 30), easy_effort=4)
    assert ([c.slug for c, _ in t.easy], [c.slug for c, _ in t.won], [c.slug for c, _ in t.never]) == (
        ["easy"], ["won", "won-too"], ["never"])  # the reserve before any first appointment is no prospect
    assert [e for _, e in t.won] == [9, 5]
    assert t.median_effort(t.won) == 7.0
    assert [c.slug for c, _ in build_thirds(contacts, date(2026, 11, 30), easy_effort=5).easy] == ["easy", "won-too"]
    assert build_thirds(contacts, date(2026, 11, 30), since=date(2026, 11, 1)).ended == 0


def test_stats_shows_the_one_third_rule_with_its_setting(run: Run, pipeline: Path) -> None:
    for c in (_ended("easy", "closed", 2), _ended("won", "closed", 9), _ended("never", "reserve", 7)):
        history = "".join(f"  - {{date: {h.date}, {'from: ' + h.from_ + ', ' if h.from_ else ''}to: {h.to}}}\n"
                          for h in c.history)
        acts = "".join(f"  - {{date: {a.date}, kind: call, outcome: talked}}\n" for a in c.activities)
        closed = "closed: {date: 2026-10-20}\n" if c.stage == "closed" else ""
        contact_file(pipeline, c.slug).write_text(
            f"id: {c.slug}\nname: {c.slug}\nstage: {c.stage}\ncreated: 2026-09-01\n{closed}activities:\n{acts}"
            f"history:\n{history}", encoding="utf-8")
    text = " ".join(ok(run, "stats").split())
    assert ("The one-third rule, over the 3 prospects that reached an end: 1 (33%) closed with little effort "
            "(at most 4 calls, e-mails, meetings and visits), median effort 2; 1 (33%) won by effort") in text
    thirds = json.loads(ok(run, "stats", "--format", "json"))["thirds"]
    assert (thirds["easy"]["count"], thirds["won"]["count"], thirds["never"]["count"]) == (1, 1, 1)
    config = (pipeline / "pipe.yaml").read_text(encoding="utf-8")
    assert config.count("    easy_effort: 4\n") == 1  # in place: a second stats: section would be a key written twice
    (pipeline / "pipe.yaml").write_text(config.replace("    easy_effort: 4\n", "    easy_effort: 10\n"), encoding="utf-8")
    thirds = json.loads(ok(run, "stats", "--format", "json"))["thirds"]
    assert (thirds["easy"]["count"], thirds["won"]["count"]) == (2, 0)


# --- 5. the README's tutorial runs as written ------------------------------------------------------


def _tutorial() -> list[list[str]]:
    import shlex

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Tutorial", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["pipe"] and words[1] not in ("init", "undo"):
            commands.append(words[1:])
    return commands


def test_the_readme_tutorial_runs_and_shows_pipe_done(run: Run, gitted: Path) -> None:
    commands = _tutorial()
    assert sum(c[0] == "done" for c in commands) >= 3
    for args in commands:
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
    anna = data(gitted, "anna-berg")
    assert anna["stage"] == "closed"
    assert "next" not in anna
    assert [p["end"] for p in anna["past_actions"]] == ["done", "done", "done", "cleared"]
    assert data(gitted, "zhang-wei")["past_actions"][-1]["end"] == "dropped"
    assert git(gitted, "status", "--porcelain") == ""


def test_a_quarter_of_the_daily_loop(run: Run, gitted: Path) -> None:
    """The issue's story, a quarter long, with commands only: what review decided stays decided."""
    def at(day: str, *args: str) -> str:
        result = run(*args, today=day)
        assert result.exit_code in (0, 1), (args, result.output)
        return str(result.stdout)

    # September: four contacts start
    for name in ("Quinn Qu", "Siv Sand", "Finn Fox", "Ola Ost"):
        at("2026-09-01", "add", name)
    at("2026-09-01", "meet", "quinn", "2026-09-08")
    at("2026-09-08", "log", "quinn", "meeting", "--outcome", "held", "--next", "send the proposal", "--due", "2026-09-15")
    at("2026-09-01", "meet", "siv", "2026-09-03")
    at("2026-09-03", "log", "siv", "meeting", "--outcome", "held", "--next", "send the quote", "--due", "2026-09-20")
    at("2026-09-03", "promote", "siv")
    at("2026-09-04", "qualify", "siv", "--decision-maker", "--proposal-fits", "--budget", "--decision-date",
       "2026-10-30", "--start-date", "2026-11-15")
    at("2026-09-04", "promote", "siv")
    at("2026-09-01", "meet", "finn", "2026-09-02")
    at("2026-09-02", "log", "finn", "meeting", "--outcome", "held", "--next", "send the contract", "--due", "2026-09-10")
    at("2026-09-02", "promote", "finn", "--to", "closed", "--force", "--reason", "signed at the meeting", "--value", "5000")
    at("2026-09-05", "log", "ola", "call", "--outcome", "refused", "--note", "no budget this year")
    # October 1: Siv puts the decision off to January; her quote action is long overdue
    at("2026-10-01", "defer", "siv", "--until", "2027-01-05", "--reason", "after the board meeting in January")
    assert at("2026-10-02", "review", "--explain", "siv").count("decision-deferred  fires") == 1
    # a B whose deferral an older pipe recorded: its action, agreed long before, is overdue; still found
    contact_file(gitted, "uma-uhl").write_text(
        "id: u1\nname: Uma Uhl\nstage: b\ncreated: 2026-08-01\nfirst_meeting: {date: 2026-08-10, held: true}\n"
        "next: {action: send the revised quote, due: 2026-09-10}\n"
        "deferred: {until: 2027-01-10, reason: after the budget round, asked: 2026-10-01}\n"
        "activities:\n  - {date: 2026-10-01, kind: call, outcome: talked}\n"
        "history:\n  - {date: 2026-08-20, from: c, to: b}\n", encoding="utf-8")
    assert "decision-deferred  fires" in at("2026-10-02", "review", "--explain", "uma")
    # October 15: review takes out what stalled or said no
    at("2026-10-15", "review", "--apply", "--yes")
    assert data(gitted, "quinn-qu")["stage"] == "opportunity"
    assert data(gitted, "siv-sand")["stage"] == "c"
    assert data(gitted, "ola-ost")["stage"] == "reserve"
    assert data(gitted, "uma-uhl")["stage"] == "c"
    # the next day classify agrees, show and plan too
    assert "0 of 3 contacts in O to A misclassified" in at("2026-10-16", "classify", "--apply", "--yes")
    assert data(gitted, "quinn-qu")["stage"] == "opportunity"
    assert "every gate is met" not in at("2026-10-16", "show", "quinn")
    plan = at("2026-10-16", "plan")
    assert "promote" not in plan
    assert "ola-ost" not in plan  # the reserve, and no follow-up after a no
    # a closed customer has no stale action: the contract was signed
    assert "send the contract" not in at("2026-09-20", "plan")
    assert "service call after the sale" in at("2026-09-20", "plan")
    subjects = git(gitted, "log", "--format=%s").splitlines()
    assert subjects[:2] == ["review --apply: 1 contact to reserve, 3 demoted",  # classify moved nothing
                            "hand edit of Uma Uhl: a new file"]
    assert git(gitted, "status", "--porcelain") == ""


def test_review_apply_says_which_next_actions_the_reserve_cleared(run: Run, pipeline: Path) -> None:
    ok(run, "add", "Yng Yu", today="2026-11-01")
    ok(run, "log", "yng", "call", "--outcome", "refused", "--next", "send a brochure anyway", "--due", "2026-11-05",
       today="2026-11-01")
    applied = run("review", "--apply", "--yes")
    assert "Moved 1 contact to the reserve. 1 next action cleared with the move to the reserve" in applied.stdout
    d = data(pipeline, "yng-yu")
    assert d["stage"] == "reserve"
    assert "next" not in d
    assert d["past_actions"][-1] == {"date": date(2026, 11, 30), "action": "send a brochure anyway",
                                     "due": date(2026, 11, 5), "end": "cleared", "by": "review"}


def test_a_contact_file_made_by_hand_is_committed_on_its_own_first(run: Run, gitted: Path) -> None:
    contact_file(gitted, "zara-zu").write_text("id: z1\nname: Zara Zu\nstage: opportunity\n", encoding="utf-8")
    ok(run, "log", "zara", "call", "--outcome", "talked")
    assert git(gitted, "log", "--format=%s", "-2").splitlines() == ["log Zara Zu: call talked",
                                                                    "hand edit of Zara Zu: a new file"]
    assert git(gitted, "show", "--format=", "--stat", "HEAD~1").count("zara-zu.yaml") == 1
    assert git(gitted, "status", "--porcelain") == ""


def test_hand_edits_of_several_files_one_command_changes_are_each_committed_first(run: Run, gitted: Path) -> None:
    for slug in ("old-a", "old-b", "old-c"):
        contact_file(gitted, slug).write_text(f"id: {slug}\nname: {slug}\nstage: opportunity\ncreated: 2026-01-05\n",
                                              encoding="utf-8")
    git(gitted, "add", "contacts")
    git(gitted, "commit", "-qm", "old ones")
    for slug in ("old-b", "old-c"):  # edited by hand; old-a, saved first, is not
        path = contact_file(gitted, slug)
        path.write_text(path.read_text(encoding="utf-8") + "notes: met at the fair\n", encoding="utf-8")
    assert "Moved 3 contacts to the reserve." in run("review", "--apply", "--yes", "--rule", "stalled").stdout
    subjects = git(gitted, "log", "--format=%s", "-3").splitlines()
    assert subjects[0].startswith("review --apply")
    assert sorted(subjects[1:3]) == ["hand edit of old-b", "hand edit of old-c"]
    assert git(gitted, "status", "--porcelain") == ""


def test_user_rules_name_kinds_and_outcomes_in_any_case_and_in_chinese() -> None:
    c = contact_from_data("x", {"id": "x", "name": "X", "stage": "opportunity", "created": date(2026, 11, 1),
                                "activities": [{"date": date(2026, 11, 2), "kind": "call", "outcome": "refused"},
                                               {"date": date(2026, 11, 3), "kind": "Call", "outcome": "拒绝"}]})
    for fact in ("activities.call.refused", "activities.Call.Refused", "activities.电话.拒绝"):
        rule = {"rules.custom": [{"id": "mine", "when": {fact: {"ge": 2}}, "action": "flag"}],
                "rules.refused.enabled": False}
        assert [v.rule.id for v in evaluate([c], rule, date(2026, 11, 30)) if v.status == FIRES] == ["mine"], fact


def test_two_people_finishing_next_actions_merge_their_past_actions_in_date_order() -> None:
    from pipecli.merge import merge

    base = ("id: m1\nname: Mo Ma\nstage: c\nnext:\n  action: send the quote\n  due: 2026-11-20\n"
            "history:\n  - {date: 2026-11-01, from: first-appointment, to: c}\n")
    ours = base.replace("next:\n  action: send the quote\n  due: 2026-11-20\n",
                        "past_actions:\n  - {date: 2026-11-22, action: a call first, end: done, by: done}\n")
    theirs = base.replace("next:\n  action: send the quote\n  due: 2026-11-20\n",
                          "past_actions:\n  - {date: 2026-11-21, action: send the quote, end: dropped, by: done}\n")
    merged = merge(base, ours, theirs, slug="mo-ma", today=date(2026, 11, 30), rules=GateRules())
    data_ = yaml.safe_load(merged.text)  # type: ignore[union-attr]
    assert [p["date"] for p in data_["past_actions"]] == [date(2026, 11, 21), date(2026, 11, 22)]
    assert "next" not in data_
    assert not merged.conflicts  # type: ignore[union-attr]
