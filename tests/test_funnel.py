"""The board's core: ideal against actual, expected closes, the diagnosis, as-of, learning, stats and the quiz."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from funnelkit import TODAY, UP_AND_DOWN, climb, contact, shaped

from pipecli.funnel import (
    PATTERNS,
    FunnelRules,
    Thresholds,
    build_board,
    build_stats,
    current_cycle,
    learn,
    reached,
    stage_on,
    stays,
)
from pipecli.model import Contact

RULES = FunnelRules()


def D(days: int) -> date:  # reads as "D-10": ten days before today
    return TODAY - timedelta(days=days)


def patterns(board_shape: dict[str, int], rules: FunnelRules = RULES, extra: list[Contact] | None = None) -> list[str]:
    board = build_board(shaped(board_shape) + (extra or []), rules, TODAY)
    return [f.pattern for f in board.findings]


# --- the ideal and the numbers under it --------------------------------------------------------


def test_the_ideal_board_for_four_closes_is_the_methods_funnel() -> None:
    board = build_board([], RULES, TODAY)
    assert [(r.stage, r.ideal) for r in board.classes] == [
        ("opportunity", 60), ("first-appointment", 20), ("c", 16), ("b", 8), ("a", pytest.approx(4.4)), ("closed", 4)]
    assert board.target == 4


def test_actual_difference_and_ratio_per_class() -> None:
    board = build_board(shaped({"O": 45, "FA": 12, "C": 10, "B": 14, "A": 1, "closed": 2, "reserve": 7}), RULES, TODAY)
    rows = {r.stage: r for r in board.classes}
    assert [r.actual for r in board.classes] == [45, 12, 10, 14, 1, 2]
    assert board.reserve == 7
    assert rows["opportunity"].difference == -15
    assert rows["opportunity"].ratio == pytest.approx(0.75)
    assert rows["b"].difference == 6
    assert rows["b"].ratio == pytest.approx(1.75)
    assert rows["a"].difference == pytest.approx(-3.4)
    assert rows["a"].ratio == pytest.approx(1 / 4.4)


def test_expected_closes_sum_counts_times_close_probabilities() -> None:
    # 1 closed + 10 FA x 0.05 + 4 C x 0.25 + 2 B x 0.5 + 1 A x 0.9 = 1 + 0.5 + 1 + 1 + 0.9 = 4.4
    board = build_board(shaped({"O": 30, "FA": 10, "C": 4, "B": 2, "A": 1, "closed": 1}), RULES, TODAY)
    assert board.expected_from_pipeline == pytest.approx(3.4)
    assert board.expected_closes == pytest.approx(4.4)
    assert board.gap == 0
    assert board.first_appointments_needed == 0


def test_the_gap_is_turned_into_first_appointments_at_the_closing_ratio() -> None:
    # 2 C x 0.25 + 1 B x 0.5 = 1.0 expected; target 4: gap 3 closes x 5 first appointments each = 15
    board = build_board(shaped({"O": 10, "C": 2, "B": 1}), RULES, TODAY)
    assert board.expected_closes == pytest.approx(1.0)
    assert board.gap == pytest.approx(3.0)
    assert board.first_appointments_needed == 15
    # a fractional gap rounds up: 0.3 closes x 5 = 1.5 -> 2 first appointments
    board = build_board(shaped({"C": 2, "B": 1, "A": 3, "closed": 0}), RULES, TODAY)  # 0.5 + 0.5 + 2.7 = 3.7
    assert board.gap == pytest.approx(0.3)
    assert board.first_appointments_needed == 2


def test_the_settings_size_the_ideal() -> None:
    rules = replace(RULES, target_closes=2, ratios={"opportunity": 10, "first-appointment": 4, "c": 3, "b": 2, "a": 1})
    board = build_board([], rules, TODAY)
    assert [r.ideal for r in board.classes] == [20, 8, 6, 4, 2, 2]
    assert board.first_appointments_per_close == 4


def test_closed_counts_only_within_the_current_cycle() -> None:
    recent = contact("won-recent", "closed", closed={"date": D(10), "value": 1})
    old = contact("won-old", "closed", closed={"date": D(120), "value": 1}, start=D(200))
    edge = contact("won-edge", "closed", closed={"date": D(89), "value": 1})  # day 1 of a 90-day cycle
    board = build_board([recent, old, edge], RULES, TODAY)
    assert board.closed == 2
    assert board.closed_before == 1
    assert current_cycle(TODAY, RULES) == (date(2026, 9, 2), TODAY)


def test_cycles_counted_from_a_start_day() -> None:
    rules = replace(RULES, cycle_start=date(2026, 10, 1))
    assert current_cycle(TODAY, rules) == (date(2026, 10, 1), date(2026, 12, 29))
    assert current_cycle(date(2026, 9, 30), rules) == (date(2026, 7, 3), date(2026, 9, 30))
    sept = contact("won-sept", "closed", closed={"date": date(2026, 9, 30), "value": 1})
    octo = contact("won-oct", "closed", closed={"date": date(2026, 10, 1), "value": 1})
    board = build_board([sept, octo], rules, TODAY)
    assert board.closed == 1


# --- the diagnosis ------------------------------------------------------------------------------


SHAPES: list[tuple[str, dict[str, int], list[str]]] = [
    # heavy at A and closed, thin at O and FA: A + closed 9 of 8.4, O + FA 7 of 80
    ("not-prospecting", {"O": 5, "FA": 2, "C": 10, "B": 6, "A": 5, "closed": 4}, ["not-prospecting"]),
    # O present (60 of 60) with a hole in the middle: C 2 of 16, B 1 of 8
    ("hole in the middle", {"O": 60, "FA": 18, "C": 2, "B": 1, "A": 4}, ["prospecting-gap"]),
    # a newcomer: only opportunities
    ("newcomer", {"O": 50}, ["prospecting-gap"]),
    # a bulge at B (14 of 8) with few A (1 of 4.4)
    ("bulge at B", {"O": 55, "FA": 18, "C": 16, "B": 14, "A": 1}, ["proposal-pending"]),
    # each class near its ideal, fewer to the right
    ("healthy", {"O": 60, "FA": 20, "C": 16, "B": 8, "A": 4, "closed": 3}, ["healthy"]),
    # more than one pattern at once: a hole at FA and a bulge at B
    ("two patterns", {"O": 60, "FA": 2, "C": 16, "B": 14, "A": 1}, ["prospecting-gap", "proposal-pending"]),
    # near the ideal but not a funnel (more C than FA): no pattern claims it
    ("not decreasing", {"O": 60, "FA": 14, "C": 20, "B": 8, "A": 4}, []),
    # nothing at all
    ("empty", {}, []),
]


@pytest.mark.parametrize(("shape", "expected"), [(s, e) for _, s, e in SHAPES], ids=[i for i, _, _ in SHAPES])
def test_the_board_shape_names_its_pattern(shape: dict[str, int], expected: list[str]) -> None:
    assert patterns(shape) == expected


def test_every_pattern_of_the_method_is_found_by_some_shape() -> None:
    found = {p for _, _, names in SHAPES for p in names} | {"falling-back"}  # falling-back: the test below
    assert found == set(PATTERNS)


def _demoted(slug: str, days_ago: int, frm: str = "b", to: str = "c") -> Contact:
    history: list[dict[str, Any]] = [*climb(frm, D(80)), {"date": D(days_ago), "from": frm, "to": to, "reason": "stalled"}]
    return contact(slug, to, history=history)


def test_falling_back_counts_recent_demotions_against_the_contacts_in_fa_to_a() -> None:
    rules = replace(RULES, target_closes=1)  # ideal 15, 5, 4, 2, 1.1
    healthy = {"O": 15, "FA": 5, "C": 1, "B": 2, "A": 1}
    fell = [_demoted("fell-1", 3), _demoted("fell-2", 10), _demoted("fell-3", 29, frm="c", to="first-appointment")]
    board = build_board(shaped(healthy) + fell, rules, TODAY)
    assert [f.pattern for f in board.findings] == ["falling-back"]
    assert dict(board.demotions) == {"B→C": 2, "C→FA": 1}
    evidence = board.findings[0].evidence
    assert "3 demotions in the last 30 days (2 B→C, 1 C→FA)" in evidence
    assert "25% of the 12 contacts" in evidence
    # older than the window: not counted, and the board is healthy again
    old = [_demoted("old-1", 31), _demoted("old-2", 40), _demoted("old-3", 60)]
    board = build_board(shaped(healthy) + old, rules, TODAY)
    assert [f.pattern for f in board.findings] == ["healthy"]
    assert not board.demotions


def test_a_few_demotions_in_a_big_pipeline_are_not_falling_back() -> None:
    fell = [_demoted(f"fell-{i}", 3) for i in range(3)]
    board = build_board(shaped({"O": 60, "FA": 20, "C": 13, "B": 8, "A": 4}) + fell, RULES, TODAY)
    assert "falling-back" not in [f.pattern for f in board.findings]  # 3 of 48: 6%


def test_the_thresholds_decide_each_pattern() -> None:
    bulge = {"O": 55, "FA": 18, "C": 16, "B": 14, "A": 1}  # B at 175%
    assert patterns(bulge, replace(RULES, thresholds=Thresholds(bulge_min=2.0))) == []
    thin = {"O": 5, "FA": 2, "C": 10, "B": 6, "A": 5, "closed": 4}  # O + FA at 9%
    assert patterns(thin, replace(RULES, thresholds=Thresholds(front_max=0.05))) == []
    near = {"O": 60, "FA": 20, "C": 16, "B": 8, "A": 3}  # A at 68%
    assert patterns(near) == ["healthy"]
    assert patterns(near, replace(RULES, thresholds=Thresholds(tolerance=0.25))) == []


def test_each_finding_carries_its_evidence_in_numbers_and_the_methods_advice() -> None:
    board = build_board(shaped({"O": 55, "FA": 18, "C": 16, "B": 14, "A": 1}), RULES, TODAY)
    (finding,) = board.findings
    assert "B 14 vs ideal 8 (175%)" in finding.evidence
    assert "A 1 vs ideal 4.4 (23%)" in finding.evidence
    assert "Study your proposals" in finding.advice


# --- the board on another day, from the histories -------------------------------------------------


def _up_and_down() -> Contact:
    """O 09-01, FA 09-10, C 10-01, B 10-20, back to C 11-10, reserve 11-25."""
    return contact("up-down", "reserve", history=UP_AND_DOWN, start=date(2026, 9, 1))


@pytest.mark.parametrize(("day", "stage"), [
    (date(2026, 8, 31), None),  # not yet added
    (date(2026, 9, 1), "opportunity"),
    (date(2026, 9, 30), "first-appointment"),
    (date(2026, 10, 25), "b"),
    (date(2026, 11, 10), "c"),  # the demotion's own day
    (date(2026, 11, 24), "c"),
    (date(2026, 11, 30), "reserve"),
])
def test_stage_on_a_day_is_rebuilt_from_the_history(day: date, stage: str | None) -> None:
    assert stage_on(_up_and_down(), day) == stage


def test_a_history_that_starts_mid_way_knows_where_it_came_from() -> None:
    c = contact("mid", "b", history=[{"date": date(2026, 10, 1), "from": "c", "to": "b"}], start=date(2026, 9, 1))
    assert stage_on(c, date(2026, 9, 15)) == "c"
    assert stage_on(c, date(2026, 8, 15)) is None
    assert [s.stage for s in stays(c)] == ["c", "b"]


def test_the_board_as_of_a_date_counts_each_contact_where_it_stood() -> None:
    late = contact("late", "a", start=date(2026, 11, 1))  # added after the date: not on that board
    board = build_board([_up_and_down(), late], RULES, date(2026, 10, 25), from_history=True)
    assert [r.actual for r in board.classes] == [0, 0, 0, 1, 0, 0]
    assert board.as_of == date(2026, 10, 25)
    board = build_board([_up_and_down(), late], RULES, date(2026, 11, 12), from_history=True)
    assert [r.actual for r in board.classes] == [0, 0, 2, 0, 0, 0]  # up-down fell back to C; late climbed to C
    assert dict(board.demotions) == {"B→C": 1}
    board = build_board([_up_and_down(), late], RULES, TODAY, from_history=True)
    assert board.reserve == 1
    assert [r.actual for r in board.classes] == [0, 0, 0, 0, 1, 0]


def test_a_close_on_the_board_as_of_a_date_belongs_to_that_dates_cycle() -> None:
    won = contact("won", "closed", start=D(35), closed={"date": D(10), "value": 1})  # A on 11-15, closed 11-20
    before = build_board([won], RULES, date(2026, 11, 19), from_history=True)
    assert before.closed == 0
    assert before.row("a").actual == 1
    on_the_day = build_board([won], RULES, date(2026, 11, 20), from_history=True)
    assert on_the_day.closed == 1
    after = build_board([won], RULES, date(2027, 3, 1), from_history=True)
    assert after.closed == 0
    assert after.closed_before == 1


# --- learning the person's own ratios -------------------------------------------------------------


def _career(closed: int) -> list[Contact]:
    """20 contacts: all reached O; 10 FA; 8 C; 6 B; `closed` of the 6 closed, the rest stay at A."""
    stages = ["O"] * 10 + ["FA"] * 2 + ["C"] * 2 + ["closed"] * closed + ["A"] * (6 - closed)
    return [contact(f"k-{i}", s) for i, s in enumerate(stages)]


def test_reached_counts_each_contact_once_at_every_class_it_passed() -> None:
    assert reached(_career(5)) == {"opportunity": 20, "first-appointment": 10, "c": 8, "b": 6, "a": 6, "closed": 5}
    assert reached(_career(5), since=TODAY)["opportunity"] == 0


def test_learned_ratios_replace_the_defaults_with_enough_history() -> None:
    learned = learn(_career(5), RULES, TODAY)
    assert learned.source == "history"
    assert learned.rules.ratios == {"opportunity": 4, "first-appointment": 2, "c": 1.6, "b": 1.2, "a": 1.2}
    assert learned.rules.probabilities["first-appointment"] == pytest.approx(0.5)
    board = build_board(_career(5), RULES, TODAY, learn_ratios=True)
    assert board.row("opportunity").ideal == 16  # 4 closes x 4
    assert board.ratios_source == "history"


def test_learning_says_so_when_the_history_is_too_short() -> None:
    learned = learn(_career(4), RULES, TODAY)
    assert learned.source == "settings"
    assert "4 closed sales, 5 needed" in learned.note
    board = build_board(_career(4), RULES, TODAY, learn_ratios=True)
    assert board.row("opportunity").ideal == 60
    assert board.ratios_note == learned.note


# --- stats ---------------------------------------------------------------------------------------


def test_steps_count_entered_moved_on_fell_back_reserve_and_still_there() -> None:
    contacts = [
        contact("s-o", "O"),  # O, still there
        contact("s-fa", "FA"),  # O -> FA: O moved on; FA still there
        contact("s-res", "reserve"),  # O -> reserve
        _demoted("s-fell", 3),  # O, FA, C, B moved on; B fell back to C; C still there
    ]
    stats = build_stats(contacts, RULES, TODAY)
    o, fa, c, b, a = stats.steps
    assert (o.entered, o.moved_on, o.fell_back, o.reserve, o.still) == (4, 2, 0, 1, 1)
    assert o.conversion == pytest.approx(0.5)
    assert (fa.entered, fa.moved_on, fa.still) == (2, 1, 1)
    assert (c.entered, c.moved_on, c.still) == (2, 1, 1)  # the C it fell back to is a new stay
    assert (b.entered, b.fell_back) == (1, 1)
    assert a.entered == 0
    assert a.conversion is None
    # the climb spends 5 days per class; the B stay lasted from day -65 to day -3
    assert o.median_days == 5
    assert b.median_days == 62


def test_since_keeps_the_stays_entered_on_or_after_it() -> None:
    stats = build_stats([_demoted("s-fell", 3)], RULES, TODAY, since=D(10))
    assert [s.entered for s in stats.steps] == [0, 0, 1, 0, 0]


def _quiz_pipeline() -> list[Contact]:
    """20 prospects worked this cycle: 4 closed in it, 16 still listed at FA, C, B and A."""
    start = D(80)
    won = [contact(f"won-{i}", "closed", start=start, closed={"date": D(5), "value": 1}) for i in range(4)]
    listed = [contact(f"p-{i}", s, start=start) for i, s in enumerate(["FA"] * 6 + ["C"] * 5 + ["B"] * 3 + ["A"] * 2)]
    return won + listed + [contact(f"o-{i}", "O") for i in range(7)]


def test_the_quiz_one_in_five_twenty_prospects_four_closed_leaves_none() -> None:
    stats = build_stats(_quiz_pipeline(), RULES, TODAY)
    assert stats.closing_ratio == pytest.approx(1 / 5)  # 4 closed of 20 that reached FA
    q = stats.quiz
    assert (q.one_in, q.source) == (5, "settings")  # 4 closed sales: too few to trust, the setting says 1 in 5 too
    assert (q.had, q.closed, q.still_listed) == (20, 4, 16)
    assert q.used == 20
    assert q.remain == 0
    assert q.stale == 16
    assert q.needed == 0  # the target of 4 is met


def test_the_quiz_uses_the_history_ratio_when_there_is_enough_and_counts_what_is_needed() -> None:
    rules = replace(RULES, learn_min_closed=4, target_closes=6)
    q = build_stats(_quiz_pipeline(), rules, TODAY).quiz
    assert (q.one_in, q.source) == (5, "history")
    assert q.needed == 10  # 2 more closes x 5 first appointments, and no real prospect left


def test_the_quiz_with_prospects_left() -> None:
    # 1 in 5, 20 prospects, 2 closed: 10 used up, 10 remain; 2 more closes need 10, all there already
    contacts = _quiz_pipeline()
    contacts[2] = contact("won-2", "A", start=D(80))
    contacts[3] = contact("won-3", "A", start=D(80))
    q = build_stats(contacts, RULES, TODAY).quiz
    assert (q.had, q.closed, q.remain, q.needed) == (20, 2, 10, 0)
    q = build_stats(contacts, replace(RULES, target_closes=5), TODAY).quiz
    assert q.needed == 5  # 3 closes x 5 = 15 first appointments, 10 real prospects left
