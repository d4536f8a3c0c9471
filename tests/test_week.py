"""The week's core: which contacts each of the eight categories picks, the prospecting numbers, movement (pure)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from pipecli.config import Config
from pipecli.funnel import FunnelRules, build_board
from pipecli.ladder import GateRules
from pipecli.model import Contact, contact_from_data
from pipecli.rules import evaluate
from pipecli.week import (
    ADMIN,
    CATEGORIES,
    DAY,
    WEEK,
    Plan,
    Prospecting,
    Rejected,
    WeekRules,
    build_plan,
    movement,
    period,
    plan_for,
    tally,
)

TODAY = date(2026, 11, 30)  # a Monday


def D(days: int) -> date:
    """TODAY plus (or minus) so many days."""
    return TODAY + timedelta(days=days)


def mk(slug: str, stage: str, **extra: Any) -> Contact:
    data: dict[str, Any] = {"id": f"id-{slug}", "name": slug.replace("-", " ").title(), "stage": stage,
                            "owner": "tester", "created": D(-60), "history": [{"date": D(-60), "to": stage}]}
    data.update(extra)
    contact = contact_from_data(slug, data)
    assert not contact.problems, contact.problems
    return contact


def nxt(days: int, action: str = "call back") -> dict[str, Any]:
    return {"action": action, "due": D(days)}


def call(days: int, outcome: str) -> dict[str, Any]:
    return {"date": D(days), "kind": "call", "outcome": outcome}


def criteria(**overrides: Any) -> dict[str, Any]:
    data = {"decision_maker": True, "proposal_fits": True, "budget": True, "decision_date": D(20),
            "start_date": D(50), "next_step": "workshop with IT"}
    data.update(overrides)
    return data


def closed_at(days: int, **extra: Any) -> dict[str, Any]:
    return {"closed": {"date": D(days), "value": 1000},
            "history": [{"date": D(-300), "to": "opportunity"}, {"date": D(days), "from": "a", "to": "closed"}],
            **extra}


# Every contact with the category the plan of the week from TODAY must put it in (None: nowhere).
CASES: list[tuple[Contact, str | None]] = [
    # 1. new contacts: never tried, a next attempt due, a retry due, the end of a deferral
    (mk("o-never", "opportunity", source="candidate"), "new-contacts"),
    (mk("o-next-due", "opportunity", next=nxt(3)), "new-contacts"),
    (mk("o-next-overdue", "opportunity", next=nxt(-2)), "new-contacts"),
    (mk("o-next-later", "opportunity", next=nxt(10)), None),
    (mk("o-retry-due", "opportunity", activities=[call(-8, "no-answer")]), "new-contacts"),
    (mk("o-retry-in-the-week", "opportunity", activities=[call(-1, "talked")]), "new-contacts"),
    (mk("o-called-today", "opportunity", activities=[call(0, "no-answer")]), None),
    (mk("o-deferred", "opportunity", deferred={"until": D(30), "reason": "call me in a month", "asked": D(-1)},
        activities=[call(-1, "talked")]), None),
    (mk("o-deferral-ends", "opportunity", deferred={"until": D(2), "asked": D(-20)},
        activities=[call(-20, "talked")]), "new-contacts"),
    # 2. first meetings with new contacts
    (mk("fa-this-week", "first-appointment", source="referral", first_meeting={"date": D(2), "held": False}),
     "first-meetings"),
    (mk("fa-missed", "first-appointment", first_meeting={"date": D(-5), "held": False}), "first-meetings"),
    (mk("fa-later", "first-appointment", first_meeting={"date": D(10), "held": False}), None),
    (mk("fa-later-step-due", "first-appointment", first_meeting={"date": D(10), "held": False},
        next=nxt(1, "send the agenda")), "first-meetings"),
    # 3.-5. A, B and C: the next action due in the period, or none agreed
    (mk("a-due", "a", criteria=criteria(), verbal_yes=D(-3), next=nxt(1, "send the contract")), "a-to-closed"),
    (mk("a-no-next", "a", criteria=criteria(next_step=None), verbal_yes=D(-3)), "a-to-closed"),
    (mk("a-later", "a", criteria=criteria(), verbal_yes=D(-3), next=nxt(20)), None),
    (mk("b-overdue", "b", criteria=criteria(), next=nxt(-1, "meet the CFO")), "b-to-a"),
    (mk("b-later", "b", criteria=criteria(), next=nxt(9)), None),
    (mk("c-last-day", "c", first_meeting={"date": D(-20), "held": True}, criteria={"budget": True},
        next=nxt(6, "send the proposal")), "c-to-b"),
    (mk("c-day-after", "c", first_meeting={"date": D(-20), "held": True}, next=nxt(7)), None),
    # 6. service: closed in the last 30 days without a call since, customers due their periodic call
    (mk("closed-recent", "closed", **closed_at(-10)), "service"),
    (mk("closed-30-days", "closed", **closed_at(-30)), "service"),
    (mk("closed-31-days", "closed", **closed_at(-31)), None),
    (mk("closed-served", "closed", **closed_at(-10, activities=[call(-5, "talked")])), None),
    (mk("customer-due", "closed", **closed_at(-200, activities=[call(-100, "talked")])), "service"),
    (mk("customer-recent", "closed", **closed_at(-200, activities=[call(-30, "talked")])), None),
    # 7. fallback opportunities: a call to set a new first meeting, or the new meeting itself
    (mk("fallback-o", "opportunity", source="fallback", activities=[call(-90, "talked")],
        history=[{"date": D(-100), "to": "opportunity"}, {"date": D(-95), "from": "opportunity", "to": "c"},
                 {"date": D(-40), "from": "c", "to": "opportunity"}]), "fallback"),
    (mk("fallback-fa", "first-appointment", source="fallback", first_meeting={"date": D(1), "held": False}),
     "fallback"),
    (mk("fallback-fa-later", "first-appointment", source="fallback", first_meeting={"date": D(12), "held": False}),
     None),
    # the reserve is out of the pipeline
    (mk("reserved", "reserve", next=nxt(1)), None),
]


def _plan(contacts: list[Contact], today: date = TODAY, scope: str = WEEK, **kwargs: Any) -> Plan:
    board = build_board(contacts, FunnelRules(), today)
    return build_plan(contacts, today, scope=scope, gates=GateRules(), rules=WeekRules(), board=board, **kwargs)


def _slugs(plan: Plan, cid: str) -> list[str]:
    return [i.contact.slug for i in plan.category(cid).items if i.contact is not None]


@pytest.mark.parametrize("cid", [cid for cid, _ in CATEGORIES if cid != ADMIN])
def test_each_category_picks_its_contacts_and_no_others(cid: str) -> None:
    plan = _plan([c for c, _ in CASES])
    expected = sorted(c.slug for c, want in CASES if want == cid)
    assert expected, "every category has a case"
    assert sorted(_slugs(plan, cid)) == expected


def test_the_categories_come_in_the_method_order_and_no_contact_is_in_two() -> None:
    plan = _plan([c for c, _ in CASES])
    assert [(c.number, c.id) for c in plan.categories] == [
        (1, "new-contacts"), (2, "first-meetings"), (3, "a-to-closed"), (4, "b-to-a"), (5, "c-to-b"),
        (6, "service"), (7, "fallback"), (8, "admin")]
    placed = [s for cat in plan.categories if cat.id != ADMIN for s in _slugs(plan, cat.id)]
    assert len(placed) == len(set(placed))
    assert "reserved" not in placed


def test_overdue_items_come_first_and_are_marked() -> None:
    plan = _plan([c for c, _ in CASES])
    new = plan.category("new-contacts").items
    assert new[0].contact is not None
    assert new[0].contact.slug == "o-next-overdue"
    assert new[0].overdue
    assert new[0].due == D(-2)
    assert [i.overdue for i in new] == [True] + [False] * (len(new) - 1)
    missed = next(i for i in plan.category("first-meetings").items if i.contact and i.contact.slug == "fa-missed")
    assert missed.overdue
    assert "not logged as held" in missed.action
    assert plan.category("first-meetings").items[0] is missed
    b = plan.category("b-to-a").items[0]
    assert b.overdue
    assert b.action == "meet the CFO"


def test_the_concrete_next_action_and_the_steps_of_the_method() -> None:
    plan = _plan([c for c, _ in CASES])
    by_slug = {i.contact.slug: i for cat in plan.categories for i in cat.items if i.contact is not None}
    assert by_slug["o-never"].action == "first call or e-mail: never tried"
    assert by_slug["o-retry-due"].action.startswith("try again (last: call on 2026-11-22, no-answer")
    assert by_slug["o-retry-due"].due == TODAY  # a retry that fell due earlier is due now, not overdue
    assert not by_slug["o-retry-due"].overdue
    assert by_slug["o-deferral-ends"].due == D(2)
    assert "wait until 2026-12-02" in by_slug["o-deferral-ends"].action
    assert by_slug["fa-this-week"].action == "first meeting on 2026-12-02 (Wed)"
    assert by_slug["fa-later-step-due"].action == "send the agenda"
    assert by_slug["a-due"].action == "send the contract"
    assert any("pipe promote a-due --to closed" in n for n in by_slug["a-due"].notes)
    assert by_slug["a-no-next"].action.startswith("no next step")
    assert any("verbal-yes step" in n for n in by_slug["b-overdue"].notes)
    c = by_slug["c-last-day"]
    assert c.missing == ("decision_maker", "proposal_fits", "timetable")
    assert "missing for B: decision-maker, proposal fits, timetable" in c.notes
    assert by_slug["closed-recent"].action == "service call after the sale (closed on 2026-11-20, 1,000)"
    assert by_slug["customer-due"].action == "customer call: last contact on 2026-08-22 (every 90 days)"
    assert by_slug["fallback-o"].action == "call to set a new first meeting (back at O since 2026-10-21)"


def test_a_b_with_a_verbal_yes_is_told_to_promote() -> None:
    b = mk("b-yes", "b", criteria=criteria(), verbal_yes=D(-1), next=nxt(1))
    item = _plan([b]).category("b-to-a").items[0]
    assert "verbal yes on 2026-11-29: promote to A (pipe promote b-yes)" in item.notes


def test_a_day_plan_keeps_only_what_is_due_today() -> None:
    contacts = [c for c, _ in CASES]
    plan = _plan(contacts, scope=DAY)
    assert (plan.start, plan.end) == (TODAY, TODAY)
    assert "o-next-due" not in _slugs(plan, "new-contacts")  # due in 3 days
    assert "o-next-overdue" in _slugs(plan, "new-contacts")
    assert "o-never" in _slugs(plan, "new-contacts")
    assert "fa-this-week" not in _slugs(plan, "first-meetings")
    assert "c-last-day" not in _slugs(plan, "c-to-b")
    assert "a-no-next" in _slugs(plan, "a-to-closed")


def test_prospecting_opens_a_week_and_a_monday() -> None:
    contacts = [c for c, _ in CASES]
    assert _plan(contacts).prospecting is not None
    assert _plan(contacts, scope=DAY).prospecting is not None  # a Monday
    tuesday = TODAY + timedelta(days=1)
    assert _plan(contacts, today=tuesday, scope=DAY).prospecting is None
    assert _plan(contacts, today=tuesday, scope=WEEK).prospecting is not None


def test_prospecting_counts_the_pace_and_the_boards_shortfall() -> None:
    empty = build_board([], FunnelRules(), TODAY)  # target 4, 90-day cycle: ideal O 60, FA 20
    p = Prospecting(empty, catch_up_weeks=4)
    assert p.pace_opportunities == pytest.approx(60 / (90 / 7))
    assert p.pace_first_appointments == pytest.approx(20 / (90 / 7))
    assert empty.first_appointments_needed == 20  # gap 4 closes at 1 in 5
    assert p.opportunities == 20  # ceil(4.67 + 60 / 4)
    assert p.first_appointments == 7  # ceil(1.56 + 20 / 4)
    full = build_board([mk(f"{stage}{i}", stage) for stage, n in (("opportunity", 70), ("first-appointment", 20),
                                                                  ("c", 16), ("a", 5)) for i in range(n)]
                       + [mk(f"b{i}", "b", criteria=criteria()) for i in range(8)], FunnelRules(), TODAY)
    q = Prospecting(full, catch_up_weeks=4)
    assert q.short_opportunities == 0
    assert full.first_appointments_needed == 0
    assert (q.opportunities, q.first_appointments) == (5, 2)  # the pace alone


def test_admin_lists_the_report_files_to_fix_and_findings_to_decide() -> None:
    silent = mk("silent", "opportunity", activities=[call(-40, "no-answer"), call(-30, "no-answer"),
                                                     call(-20, "no-answer")])
    late_b = mk("late-b", "b", criteria=criteria(), next=nxt(-3), activities=[call(-5, "talked")])
    contacts = [silent, late_b]
    findings = evaluate(contacts, Config().values, TODAY)
    assert {v.rule.id for v in findings} == {"no-response", "overdue"}
    rejected = [Rejected("contacts/bad.yaml", 3, "stage is B but the history ends at C"),
                Rejected("contacts/bad.yaml", 9, "activity 2 is dated in the future"),
                Rejected("pipe.yaml", 58, "rules.custom: rule 'x': unknown fact 'y'")]
    admin = _plan(contacts, findings=findings, rejected=rejected).category(ADMIN).items
    assert [(i.kind, i.who) for i in admin] == [
        ("report", "weekly report"), ("file", "contacts/bad.yaml"), ("file", "pipe.yaml"), ("finding", "silent")]
    assert admin[0].due == date(2026, 12, 4)  # the Friday of the week (week.report_day)
    assert admin[1].line == 3
    assert admin[1].notes == ("and 1 more problem in this file (pipe check)",)
    assert admin[3].action == "decide: reserve (no-response)"
    # the overdue flag is shown where the work is, marked, not again under admin
    assert _plan(contacts, findings=findings).category("b-to-a").items[0].overdue


def test_the_report_day_is_in_a_day_plan_only_on_that_day() -> None:
    friday = date(2026, 12, 4)
    assert [i.kind for i in _plan([], today=friday, scope=DAY).category(ADMIN).items] == ["report"]
    assert _plan([], scope=DAY).category(ADMIN).items == ()
    rules = WeekRules(report_day=0)
    board = build_board([], FunnelRules(), TODAY)
    plan = build_plan([], TODAY, scope=DAY, gates=GateRules(), rules=rules, board=board)
    assert plan.category(ADMIN).items[0].due == TODAY


def test_settings_change_the_plan() -> None:
    served = mk("served-40", "closed", **closed_at(-40))
    retry = mk("retry", "opportunity", activities=[call(-3, "no-answer")])
    assert _slugs(_plan([served, retry], scope=DAY), "service") == []
    config = Config({"week.service_days": 45, "week.retry_days": 2})
    plan = plan_for([served, retry], config, TODAY, scope=DAY)
    assert _slugs(plan, "service") == ["served-40"]
    assert _slugs(plan, "new-contacts") == ["retry"]


def test_the_period_of_a_plan() -> None:
    assert period(TODAY, WEEK) == (TODAY, date(2026, 12, 6))
    assert period(TODAY, DAY) == (TODAY, TODAY)


# --- movement ------------------------------------------------------------------------------------


def moving() -> Contact:
    return mk("mover", "reserve", value=5000, closed={"date": D(-9), "value": 7000}, history=[
        {"date": D(-8), "to": "opportunity", "reason": "added"},             # since - 1: out
        {"date": D(-7), "from": "opportunity", "to": "first-appointment"},   # on since: in
        {"date": D(-6), "from": "first-appointment", "to": "c"},
        {"date": D(-5), "from": "c", "to": "first-appointment", "reason": "no next step"},
        {"date": D(-4), "from": "first-appointment", "to": "closed"},
        {"date": D(-3), "from": "closed", "to": "reserve", "reason": "went bust", "rule": "stalled"},
        {"date": D(-2), "from": "reserve", "to": "opportunity", "reason": "new budget"},
        {"date": D(0), "from": "opportunity", "to": "reserve", "reason": "no"},  # on until: in
    ])


def test_movement_across_the_period_boundary() -> None:
    since = D(-7)
    events = movement([moving()], since, TODAY)
    assert [(e.date, e.kind) for e in events] == [
        (D(-7), "promotion"), (D(-6), "promotion"), (D(-5), "demotion"), (D(-4), "close"), (D(-3), "reserve"),
        (D(-2), "back"), (D(0), "reserve")]
    assert events[3].value == 7000  # the formal commitment's value
    assert (events[4].reason, events[4].rule) == ("went bust", "stalled")
    assert [e.kind for e in movement([moving()], D(-8), D(-8))] == ["new"]  # the day before since: only there
    assert movement([moving()], D(-1), D(-1)) == ()


def test_a_contact_without_history_is_new_on_its_created_day() -> None:
    plain = contact_from_data("plain", {"id": "p", "name": "Plain", "stage": "opportunity", "created": D(-3)})
    assert [e.kind for e in movement([plain], D(-3), TODAY)] == ["new"]
    assert movement([plain], D(-2), TODAY) == ()


def test_activity_tally_counts_the_period_only() -> None:
    c = mk("busy", "c", activities=[call(-8, "talked"), call(-7, "talked"), call(-7, "no-answer"),
                                    {"date": D(-1), "kind": "meeting", "outcome": "held"},
                                    {"date": D(0), "kind": "email"}])
    t = tally([c], D(-7), TODAY)
    assert t.total == 4
    assert t.count(("call",)) == 2
    assert t.count(("call",), ("talked",)) == 1
    assert t.rows() == [("call", "no-answer", 1), ("call", "talked", 1), ("email", None, 1), ("meeting", "held", 1)]


def test_prospecting_counts_whole_opportunities() -> None:
    board = build_board([mk(f"o{i}", "opportunity") for i in range(100)], FunnelRules(target_closes=7.5), TODAY)
    p = Prospecting(board, catch_up_weeks=4)
    assert board.row("opportunity").ideal == 112.5
    assert p.short_opportunities == 13  # 12.5 opportunities short is 13 people to find
    assert isinstance(p.short_opportunities, int)
