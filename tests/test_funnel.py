"""The board's core: ideal against actual, expected closes, the diagnosis, as-of, learning, stats and the quiz."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import math

import pytest
from funnelkit import STAGE_FOR, TODAY, UP_AND_DOWN, climb, contact, shaped

from pipecli.boardview import board_text, closing_text, quiz_sentence
from pipecli.funnel import (
    PATTERNS,
    FunnelRules,
    Thresholds,
    build_board,
    build_stats,
    current_cycle,
    derive,
    learn,
    reached,
    stage_on,
    stays,
)
from pipecli.model import Contact, contact_from_data

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


def test_each_class_supports_its_cards_over_its_ratio_and_the_pipeline_its_narrowest() -> None:
    # FA 10 ÷ 5 = 2, C 4 ÷ 4 = 1, B 2 ÷ 2 = 1, A 1 ÷ 1.1 = 0.91: the pipeline supports 0.91 closes (A)
    board = build_board(shaped({"O": 30, "FA": 10, "C": 4, "B": 2, "A": 1, "closed": 1}), RULES, TODAY)
    assert [round(board.row(s).supports, 2) for s in ("first-appointment", "c", "b", "a")] == [2, 1, 1, 0.91]
    assert board.narrowest.stage == "a"
    assert board.expected_from_pipeline == pytest.approx(1 / 1.1)
    assert board.expected_closes == pytest.approx(1 + 1 / 1.1)  # the forecast: closed + what the pipeline supports
    assert board.gap == pytest.approx(4 - 1 / 1.1)
    assert board.first_appointments_needed == 16  # 3.09 closes x 5, rounded up


def test_the_gap_is_turned_into_first_appointments_at_the_closing_ratio() -> None:
    # no first appointment at all: the pipeline supports nothing, 4 closes x 5 = 20
    board = build_board(shaped({"O": 10, "C": 2, "B": 1}), RULES, TODAY)
    assert (board.expected_from_pipeline, board.gap, board.first_appointments_needed) == (0, 4, 20)
    # a fractional gap rounds up: C 15 ÷ 4 = 3.75 is the narrowest; 0.25 closes x 5 = 1.25 -> 2
    board = build_board(shaped({"O": 60, "FA": 20, "C": 15, "B": 8, "A": 5}), RULES, TODAY)
    assert board.gap == pytest.approx(0.25)
    assert board.first_appointments_needed == 2
    # A 4 of 4.4 supports 3.64: a gap of 0.36 closes is 1.8 first appointments -> 2
    board = build_board(shaped({"O": 60, "FA": 20, "C": 16, "B": 8, "A": 4}), RULES, TODAY)
    assert [r.stage for r in board.short] == ["a"]
    assert board.first_appointments_needed == 2


# --- the one funnel model's properties, at several targets ----------------------------------------

TARGETS = (1, 2, 3, 4, 7.5, 10, 30, 120)
LETTERS = {"opportunity": "O", "first-appointment": "FA", "c": "C", "b": "B", "a": "A"}


def _ideal_counts(rules: FunnelRules, target: float) -> dict[str, int]:
    """The ideal board in whole cards: each class's ideal rounded up (4.4 A is 5 cards)."""
    return {LETTERS[s]: math.ceil(round(target * rules.ratios[s], 6)) for s in LETTERS}


@pytest.mark.parametrize("target", TARGETS)
def test_a_board_holding_the_ideal_counts_is_on_track(target: float) -> None:
    rules = replace(RULES, target_closes=target)
    board = build_board(shaped(_ideal_counts(rules, target)), rules, TODAY)
    assert board.gap == 0
    assert board.first_appointments_needed == 0
    assert board.opportunities_needed == 0
    assert board.short == ()
    assert board.expected_from_pipeline >= target - 1e-9


@pytest.mark.parametrize("target", [10, 20, 30])  # the ideal is whole cards at these targets: exactly on track
def test_exactly_the_ideal_supports_exactly_the_target(target: int) -> None:
    rules = replace(RULES, target_closes=target)
    board = build_board(shaped(_ideal_counts(rules, target)), rules, TODAY)
    assert [r.actual for r in board.classes[:5]] == pytest.approx([r.ideal for r in board.classes[:5]])
    assert board.expected_from_pipeline == pytest.approx(target)
    assert board.first_appointments_needed == 0


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("k", [2, 3, 5])
def test_scaling_every_class_by_k_scales_the_forecast_by_k(target: float, k: int) -> None:
    rules = replace(RULES, target_closes=target)
    shape = {"O": 7, "FA": 3, "C": 2, "B": 3, "A": 1, "closed": 1}
    one = build_board(shaped(shape), rules, TODAY)
    many = build_board(shaped({s: n * k for s, n in shape.items()}), rules, TODAY)
    assert many.expected_closes == pytest.approx(k * one.expected_closes)
    assert many.expected_from_pipeline == pytest.approx(k * one.expected_from_pipeline)
    for s in ("first-appointment", "c", "b", "a"):
        assert many.row(s).supports == pytest.approx(k * one.row(s).supports)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("short", ["O", "FA", "C", "B", "A"])
def test_any_class_below_its_ideal_makes_the_need_positive_and_is_named(target: float, short: str) -> None:
    rules = replace(RULES, target_closes=target)
    counts = _ideal_counts(rules, target)
    counts[short] = math.ceil(round(target * rules.ratios[STAGE_FOR[short]], 6)) - 1  # one card below the ideal
    board = build_board(shaped(counts), rules, TODAY)
    assert [LETTERS[r.stage] for r in board.short] == [short]
    text = board_text(board, "table")
    flat = " ".join(text.split())
    if short == "O":  # first appointments are set from opportunities: the need is new opportunities
        assert board.opportunities_needed == 1
        assert f"Find 1 new opportunity to set the first appointments from: O {counts['O']} of ideal" in flat
    else:
        assert board.first_appointments_needed >= 1
        assert f"Short of the ideal: {short} {counts[short]} of " in flat
        assert f"{board.first_appointments_needed} new first appointment" in flat


def test_ratios_and_close_chances_are_one_model_derived_from_each_other() -> None:
    ratios, chances, apart = derive({}, {})
    assert ratios == {"opportunity": 15, "first-appointment": 5, "c": 4, "b": 2, "a": 1.1}
    assert chances == pytest.approx({"opportunity": 0, "first-appointment": 0.2, "c": 0.25, "b": 0.5, "a": 1 / 1.1})
    assert apart == frozenset()
    ratios, chances, apart = derive({"c": 5}, {"b": 0.4})  # a ratio gives the chance, a chance the ratio
    assert (ratios["c"], chances["c"], ratios["b"], chances["b"]) == (5, 0.2, 2.5, 0.4)
    assert apart == frozenset()
    ratios, chances, apart = derive({}, {"c": 0.3, "b": 0})  # 1 in 3.33, as printed and used; B never closes
    assert (ratios["c"], chances["c"], ratios["b"], chances["b"], apart) == (3.33, 0.3, 2, 0, {"b"})
    board = build_board(shaped({"C": 10}), replace(RULES, ratios=ratios, probabilities=chances, by_chance=apart), TODAY)
    assert board.row("c").supports == pytest.approx(10 / 3.33)
    assert "C 10÷3.33 = 3" in " ".join(board_text(board, "table").split())
    ratios, chances, apart = derive({"first-appointment": 5}, {"first-appointment": 0.05})  # both set, apart
    assert (ratios["first-appointment"], chances["first-appointment"], apart) == (5, 0.05, {"first-appointment"})
    rules = replace(RULES, ratios=ratios, probabilities=chances, by_chance=apart)
    board = build_board(shaped({"FA": 20, "C": 16, "B": 8, "A": 5}), rules, TODAY)
    assert board.row("first-appointment").supports == pytest.approx(1)  # 20 x 0.05: the chance, as set
    assert board.first_appointments_per_close == 20  # and the need is counted at 1 in 20, as printed
    assert "are both set and disagree" in " ".join(board_text(board, "table").split())


def test_the_funnel_settings_in_pipe_yaml_derive_each_other() -> None:
    from pipecli.config import validate

    rules = FunnelRules.from_config(validate({"funnel": {"close_probability": {"first-appointment": 0.25}}}))
    assert rules.ratios["first-appointment"] == 4
    assert rules.by_chance == frozenset()
    rules = FunnelRules.from_config(validate({"funnel": {"ratios": {"a": 1.25}}}))
    assert rules.probabilities["a"] == 0.8


@pytest.mark.parametrize("target", [4, 10])
def test_covered_never_hides_a_thin_front(target: int) -> None:
    """O at 10% and FA at 20% of the ideal, the rest ideal, and the target already closed this cycle."""
    rules = replace(RULES, target_closes=target)
    counts = _ideal_counts(rules, target)
    counts.update(O=round(0.1 * counts["O"]), FA=round(0.2 * counts["FA"]), closed=target)
    board = build_board(shaped(counts), rules, TODAY)
    assert board.target_reached
    assert [f.pattern for f in board.findings] == ["not-prospecting"]
    evidence = " ".join(board.findings[0].evidence.split())
    assert f"This cycle's target is met ({target} closed), but the next cycle lacks" in evidence
    assert f"{board.first_appointments_needed} new first appointments" in evidence
    assert board.first_appointments_needed == math.ceil(round((target - counts["FA"] / 5) * 5, 6))
    flat = " ".join(board_text(board, "table").split())
    assert "No pattern of the method stands out" not in flat
    assert "covered" not in flat
    assert f"the target of {target} is reached" in flat
    assert "The pipeline lacks" in flat and "for the next cycle" in flat


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
    # nothing at all: a thin front is always named
    ("empty", {}, ["not-prospecting"]),
    # the target closed this cycle, the front thin, the back light: still named
    ("closed, thin front", {"O": 6, "FA": 4, "C": 16, "B": 8, "A": 0, "closed": 4}, ["not-prospecting"]),
    # O present, FA thin enough to make the front thin but not a hole (O + FA 50%): the gap at FA, not both
    ("front thin at FA", {"O": 30, "FA": 10, "C": 16, "B": 8, "A": 5, "closed": 4}, ["prospecting-gap"]),
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


def _lost(slug: str, at: str) -> Contact:
    """A contact that climbed to `at`, then was taken out to the reserve."""
    history = [*climb(STAGE_FOR[at], D(80)), {"date": D(10), "from": STAGE_FOR[at], "to": "reserve", "reason": "no"}]
    return contact(slug, "reserve", history=history)


def _career(closed: int) -> list[Contact]:
    """`closed` closed; taken out: 5 at O, 3 at FA, 2 at C; open: 10 at O, 2 at FA, 1 at A."""
    out = [contact(f"won-{i}", "closed") for i in range(closed)]
    out += [_lost(f"lost-{at}-{i}", at) for at, n in (("O", 5), ("FA", 3), ("C", 2)) for i in range(n)]
    return out + [contact(f"open-{i}", s) for i, s in enumerate(["O"] * 10 + ["FA"] * 2 + ["A"])]


def test_reached_counts_each_contact_once_at_every_class_it_passed() -> None:
    assert reached(_career(5)) == {"opportunity": 28, "first-appointment": 13, "c": 8, "b": 6, "a": 6, "closed": 5}
    assert reached(_career(5), since=TODAY)["opportunity"] == 0


def test_learned_ratios_count_the_contacts_that_reached_an_end_not_the_open_ones() -> None:
    learned = learn(_career(5), RULES, TODAY)
    assert learned.source == "history"
    # ended at O or beyond: 5 won + 10 lost = 15; at FA: 5 + 5; at C: 5 + 2; B and A: only the won
    assert learned.rules.ratios == {"opportunity": 3, "first-appointment": 2, "c": 1.4, "b": 1, "a": 1}
    assert learned.rules.probabilities["first-appointment"] == pytest.approx(0.5)
    board = build_board(_career(5), RULES, TODAY, learn_ratios=True)
    assert board.row("opportunity").ideal == 12  # 4 closes x 3
    assert board.ratios_source == "history"


def test_learned_ratios_are_rounded_as_printed_and_used_so() -> None:
    contacts = [contact(f"won-{i}", "closed") for i in range(6)] + [_lost(f"lost-{i}", "FA") for i in range(10)]
    learned = learn(contacts, RULES, TODAY)
    assert learned.rules.ratios["first-appointment"] == 2.67  # 16 ÷ 6 = 2.666..., printed and used as 2.67
    assert "FA 2.67" in learned.note
    board = build_board(contacts, RULES, TODAY, learn_ratios=True)
    assert board.first_appointments_per_close == 2.67
    assert board.first_appointments_needed == math.ceil(round(4 * 2.67, 6))  # nothing open: the whole target


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
    assert stats.closing_ratio == 1  # 4 closed of the 4 that reached an end: the 16 open ones are no failures
    q = stats.quiz
    assert (q.one_in, q.source) == (5, "settings")  # the board's ratio
    assert (q.had, q.closed, q.still_listed) == (20, 4, 16)
    assert q.used == 20
    assert q.remain == 0
    assert q.stale == 16
    board = build_board(_quiz_pipeline(), RULES, TODAY)
    assert q.needed == board.first_appointments_needed == 14  # FA 6 ÷ 5 = 1.2 supported: 2.8 closes x 5


def test_the_quiz_takes_the_boards_learned_ratio_and_need() -> None:
    contacts = _quiz_pipeline() + [_lost(f"lost-{i}", "FA") for i in range(6)]
    rules = replace(RULES, learn_min_closed=4, learn=True)
    stats = build_stats(contacts, rules, TODAY)
    board = build_board(contacts, rules, TODAY)
    assert board.ratios_source == "history"
    assert (stats.quiz.one_in, stats.quiz.source) == (board.first_appointments_per_close, "history") == (2.5, "history")
    assert stats.quiz.needed == board.first_appointments_needed


def test_the_quiz_counts_whole_people() -> None:
    # 1 in 2.67 (learned: 16 ended at FA, 6 won), 30 prospects this cycle, 4 closed: 10.68 used,
    # 19 whole prospects remain (not 19.32)
    contacts = _quiz_pipeline() + [contact(f"won-old-{i}", "closed", start=D(300), closed={"date": D(200), "value": 1})
                                   for i in range(2)] + [_lost(f"lost-{i}", "FA") for i in range(10)]
    stats = build_stats(contacts, replace(RULES, learn=True), TODAY)
    q = stats.quiz
    assert q.one_in == 2.67
    assert (q.had, q.closed) == (30, 4)
    assert q.remain == 19 and isinstance(q.remain, int)
    assert q.stale == 0 and isinstance(q.stale, int)
    assert "19 real prospects remain" in quiz_sentence(stats)


def test_the_quiz_with_prospects_left() -> None:
    # 1 in 5, 20 prospects, 2 closed: 10 used up, 10 remain
    contacts = _quiz_pipeline()
    contacts[2] = contact("won-2", "A", start=D(80))
    contacts[3] = contact("won-3", "A", start=D(80))
    q = build_stats(contacts, RULES, TODAY).quiz
    assert (q.had, q.closed, q.remain) == (20, 2, 10)
    assert q.needed == build_board(contacts, RULES, TODAY).first_appointments_needed


# --- the prospecting shapes never contradict, and a thin front is always named ----------------------


@pytest.mark.parametrize("closed", [0, 4])
@pytest.mark.parametrize("a", [0, 4, 8])
def test_not_prospecting_and_prospecting_gap_never_hold_together(closed: int, a: int) -> None:
    for o in range(0, 91, 6):
        for fa in range(0, 31, 3):
            found = patterns({"O": o, "FA": fa, "C": 16, "B": 8, "A": a, "closed": closed})
            assert not {"not-prospecting", "prospecting-gap"} <= set(found), (o, fa, found)
            if (o + fa) / 80 <= 0.5:  # a thin front, with the default thresholds: always named
                assert {"not-prospecting", "prospecting-gap"} & set(found), (o, fa, found)


def test_a_thin_front_with_opportunities_present_is_a_prospecting_gap_and_says_why() -> None:
    board = build_board(shaped({"O": 30, "FA": 10, "C": 16, "B": 8, "A": 5, "closed": 4}), RULES, TODAY)
    (finding,) = board.findings
    assert finding.pattern == "prospecting-gap"
    flat = " ".join(finding.evidence.split())
    assert "a hole at FA 10 vs ideal 20 (50%)" in flat
    assert "so this and not not-prospecting" in flat


# --- honest ratios --------------------------------------------------------------------------------


def _ends_folder() -> list[Contact]:
    """3 closed, 2 taken out after FA, 5 open at FA, 4 taken out at O (never reached FA)."""
    won = [contact(f"won-{i}", "closed", start=D(60), closed={"date": D(20), "value": 1}) for i in range(3)]
    return (won + [_lost(f"lost-fa-{i}", "FA") for i in range(2)] + [contact(f"fa-{i}", "FA") for i in range(5)]
            + [_lost(f"lost-o-{i}", "O") for i in range(4)])


def test_the_closing_ratio_counts_the_contacts_that_reached_an_end() -> None:
    stats = build_stats(_ends_folder(), RULES, TODAY)
    assert (stats.closed, stats.ended, stats.taken_out) == (3, 5, 2)  # the 5 open are no failures, O never reached FA
    assert stats.closing_ratio == pytest.approx(3 / 5)
    assert stats.first_appointments == 10  # won ÷ reached FA would have said 3 in 10
    assert "1 in 1.7 (3 closed of the 5 contacts that reached an end, 2 taken out" in closing_text(stats)


def test_a_periods_ratio_needs_enough_ends() -> None:
    stats = build_stats(_ends_folder(), RULES, TODAY, since=D(30))  # the 5 ends are inside the period
    assert (stats.closed, stats.ended) == (3, 5)
    assert stats.closing_ratio is None  # fewer than funnel.min_ends (10)
    assert "too few ends to tell (3 closed of the 5 contacts" in closing_text(stats)
    assert "at least 10 needed: funnel.min_ends" in closing_text(stats)
    enough = build_stats(_ends_folder(), replace(RULES, min_ends=5), TODAY, since=D(30))
    assert enough.closing_ratio == pytest.approx(3 / 5)
    later = build_stats(_ends_folder(), replace(RULES, min_ends=1), TODAY, since=D(15))  # closes on D-20: outside
    assert (later.closed, later.ended) == (0, 2)


def test_closed_never_exceeds_the_ends_it_is_counted_over() -> None:
    contacts = _ends_folder() + [contact(f"old-{i}", "closed", start=D(300), closed={"date": D(250), "value": 1})
                                 for i in range(7)]
    for since in (None, D(400), D(100), D(30), D(5), TODAY):
        stats = build_stats(contacts, replace(RULES, min_ends=1), TODAY, since=since)
        assert 0 <= stats.closed <= stats.ended, since


# --- history that is not evidence -----------------------------------------------------------------


def _jumped(slug: str, *, imported: bool = False, into: str = "c") -> Contact:
    """Added at O (or imported straight into `into`), then a forced or imported leap to closed."""
    flag = {"imported": True} if imported else {"forced": True, "reason": "bulk load"}
    if imported:
        history = [{"date": D(50), "to": into, **flag}, {"date": D(20), "from": into, "to": "closed", **flag}]
    else:
        history = [{"date": D(50), "to": "opportunity"}, {"date": D(20), "from": "opportunity", "to": "closed", **flag}]
    return contact(slug, "closed", history=history, closed={"date": D(20), "value": 1})


def test_a_forced_leap_is_no_evidence_of_the_rungs_it_jumped() -> None:
    stats = build_stats([_jumped("j-0"), _jumped("j-1")], RULES, TODAY)
    o, fa, c, b, a = stats.steps
    assert (o.entered, o.moved_on, o.jumped, o.conversion) == (2, 0, 2, None)
    assert [s.entered for s in (fa, c, b, a)] == [0, 0, 0, 0]
    assert reached([_jumped("j-0")]) == {"opportunity": 1, "first-appointment": 0, "c": 0, "b": 0, "a": 0, "closed": 1}


def test_an_imported_history_counts_only_the_rungs_it_landed_on() -> None:
    contacts = [_jumped(f"imp-{i}", imported=True) for i in range(4)]
    stats = build_stats(contacts, RULES, TODAY)
    o, fa, c, b, a = stats.steps
    assert (c.entered, c.moved_on, c.jumped) == (4, 0, 4)  # nobody moved on from C to B: nobody was ever a B
    assert (o.entered, fa.entered, b.entered, a.entered) == (0, 0, 0, 0)
    assert reached(contacts) == {"opportunity": 0, "first-appointment": 0, "c": 4, "b": 0, "a": 0, "closed": 4}


def test_learning_skips_the_rungs_forced_and_imported_moves_jumped() -> None:
    contacts = [_jumped(f"imp-{i}", imported=True) for i in range(3)] + [_jumped(f"f-{i}") for i in range(3)]
    learned = learn(contacts, RULES, TODAY)
    assert learned.source == "history"
    assert learned.rules.ratios["b"] == 2 and learned.rules.ratios["a"] == 1.1  # not 1: nobody stood at B or A
    assert "B, A from pipe.yaml (no closed sale stood there)" in learned.note
    assert learned.rules.ratios["c"] == 1  # 3 imported at C, all closed


def test_a_forced_move_of_one_rung_jumps_nothing() -> None:
    history = [*climb("c", D(50)), {"date": D(20), "from": "c", "to": "b", "forced": True, "reason": "trust me"}]
    stats = build_stats([contact("one", "b", history=history)], RULES, TODAY)
    c = stats.steps[2]
    assert (c.entered, c.moved_on, c.jumped) == (1, 1, 0)


def test_a_contact_with_no_date_is_not_on_a_past_board() -> None:
    undated = contact_from_data("undated", {"id": "u", "name": "No Date", "stage": "b"})
    dated = contact("dated", "B", start=D(60))
    past = build_board([undated, dated], RULES, D(30), from_history=True)
    assert past.row("b").actual == 1 and past.undated == 1
    assert "Left out: 1 contact with no date at all" in " ".join(board_text(past, "table").split())
    now = build_board([undated, dated], RULES, TODAY)  # today's board reads the stage as written
    assert now.row("b").actual == 2 and now.undated == 0


def test_rules_that_count_days_cannot_evaluate_a_contact_with_no_date() -> None:
    from pipecli.config import Config
    from pipecli.rules import evaluate, explain

    undated = contact_from_data("undated", {"id": "u", "name": "No Date", "stage": "opportunity"})
    found = evaluate([undated], Config().values, TODAY)
    assert [(v.rule.id, v.status) for v in found] == [("stalled", "cannot-evaluate")]
    assert "no date at all (no created, no history)" in found[0].why
    called = contact_from_data("called", {"id": "k", "name": "Called", "stage": "opportunity",
                                          "activities": [{"date": D(100), "kind": "call", "outcome": "talked"}]})
    assert [(v.rule.id, v.status) for v in evaluate([called], Config().values, TODAY)] == [("stalled", "fires")]
    by_rule = {v.rule.id: v.status for v in explain(undated, Config().values, TODAY)}
    assert by_rule["stalled"] == "cannot-evaluate"
    assert by_rule["no-response"] == "does-not-fire"  # no date needed to see nobody was called


def test_the_cohort_view_follows_the_last_cycles_first_appointments() -> None:
    start = D(150)  # O on D-150, FA on D-145: in the last full cycle (D-179 to D-90)
    lost = [*climb("c", start), {"date": D(100), "from": "c", "to": "reserve", "reason": "no budget"}]
    contacts = [contact("won-1", "closed", start=start, closed={"date": D(95), "value": 1}),
                contact("won-2", "closed", start=start, closed={"date": D(20), "value": 1}),
                contact("lost", "reserve", history=lost),
                contact("open", "C", start=start),
                contact("recent", "FA")]  # reached FA in this cycle: not in the cohort
    stats = build_stats(contacts, RULES, TODAY)
    assert stats.cohort is not None
    assert stats.cohort.cycle == (D(179), D(90))
    assert (stats.cohort.closed, stats.cohort.taken_out, stats.cohort.open) == (2, 1, 1)
    from pipecli.boardview import cohort_text, stats_data
    assert "of the 4 contacts that reached a first appointment in it, 2 closed, 1 taken out, 1 still open" in (
        cohort_text(stats))
    assert stats_data(stats)["cohort"]["reached_first_appointment"] == 4
