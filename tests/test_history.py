"""Size history equals the evaluator's count as of every date, on both paths."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from workbench import definition, demo, evaluator, history, store
from workbench.definition import Definition, FieldCondition, Group, SegmentRef

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 6, 30)
EXAMPLES = sorted(p.stem for p in (ROOT / "data" / "segments").glob("*.json"))
# Weekly over a year and a quarter, plus days around today (window edges).
DATES = history.date_series(date(2025, 6, 1), AS_OF + timedelta(days=70), "week") + [
    AS_OF + timedelta(days=k) for k in range(-3, 4)]


@pytest.fixture(scope="module")
def con():
    connection = store.connect()
    demo.generate(connection, contacts=1200, seed=11, as_of=AS_OF)
    return connection


def existing_by(defn: Definition, day: date) -> Definition:
    """The definition restricted to records created by ``day`` (or undated)."""
    created = Group("any", (
        FieldCondition("created_at", "before", (day + timedelta(days=1)).isoformat()),
        FieldCondition("created_at", "not_filled")))
    return Definition(f"{defn.id}-by-day", "by day", defn.entity,
                      include=Group("all", (SegmentRef(defn.id), created)))


@pytest.mark.parametrize("segment", EXAMPLES)
def test_history_equals_count_as_of_every_date(con, lib, segment):
    defn = lib.load(segment)

    h = history.history(con, defn, DATES, resolver=lib, existing_only=False)

    expected = [evaluator.count(con, defn, as_of=d, resolver=lib) for d in h.dates]
    assert h.sizes == expected
    assert h.path == "interval"


@pytest.mark.parametrize("segment", EXAMPLES)
def test_history_leaves_out_records_created_after_each_date(con, lib, segment):
    defn = lib.load(segment)

    h = history.history(con, defn, DATES, resolver=lib)

    expected = [evaluator.count(con, existing_by(defn, d), as_of=d, resolver=lib)
                for d in h.dates]
    assert h.sizes == expected


def shape(include: dict, exclude: list | None = None,
          entity: str = "contacts") -> Definition:
    return definition.parse({"id": "shape", "name": "shape", "entity": entity,
                             "include": include, "exclude": exclude or []})


WON = {"field": "stage_semantics", "op": "equals", "value": "won"}
SHAPES = [
    pytest.param(shape({"all": [{"related": "deals", "quantifier": "sum",
                                 "field": "amount", "op": "gt", "value": 100000,
                                 "where": {"all": [WON, {"field": "closed_at",
                                                         "op": "in_last_days",
                                                         "value": 365}]}}]}),
                 "interval", id="sum-of-won-deals-in-last-365-days"),
    pytest.param(shape({"all": [{"related": "visits", "quantifier": "count",
                                 "op": "lt", "value": 2,
                                 "where": {"all": [{"field": "visited_at",
                                                    "op": "in_last_days",
                                                    "value": 14}]}}]}),
                 "interval", id="count-below-2-includes-no-visits"),
    pytest.param(shape({"none": [{"field": "created_at", "op": "more_than_days_ago",
                                  "value": 200}]}),
                 "interval", id="negated-more-than-days-ago"),
    pytest.param(shape({"any": [{"field": "created_at", "op": "exactly_days_ago",
                                 "value": 3},
                                {"related": "deals", "quantifier": "none",
                                 "where": {"all": [{"field": "created_at",
                                                    "op": "in_last_days",
                                                    "value": 30}]}}]},
                       [{"segment": "active-buyers"}]),
                 "interval", id="exactly-or-none-minus-a-timed-segment"),
    pytest.param(shape({"all": [{"related": "company", "quantifier": "exists",
                                 "where": {"all": [{"field": "created_at",
                                                    "op": "in_last_days",
                                                    "value": 400}]}}]}),
                 "interval", id="single-related-record"),
    pytest.param(shape({"all": [{"related": "deals", "quantifier": "min",
                                 "field": "created_at", "op": "in_last_days",
                                 "value": 90}]}),
                 "interval", id="first-deal-in-last-90-days"),
    pytest.param(shape({"all": [{"related": "deals", "quantifier": "exists",
                                 "where": {"any": [{"field": "closed_at",
                                                    "op": "in_last_days", "value": 30},
                                                   {"field": "created_at",
                                                    "op": "in_last_days",
                                                    "value": 7}]}}]}),
                 "batch", id="any-of-relative-dates-on-a-deal"),
    pytest.param(shape({"all": [{"related": "deals", "quantifier": "max",
                                 "field": "amount", "op": "gt", "value": 50000,
                                 "where": {"all": [{"field": "closed_at",
                                                    "op": "in_last_days",
                                                    "value": 90}]}}]}),
                 "batch", id="max-in-a-moving-window"),
    pytest.param(shape({"all": [{"field": "created_at", "op": "in_last_days",
                                 "value": 30}]}, entity="leads"),
                 "interval", id="leads-created-in-last-30-days"),
]


@pytest.mark.parametrize("defn, path", SHAPES)
def test_history_of_each_shape_equals_count_and_takes_its_path(con, lib, defn, path):
    days = [AS_OF + timedelta(days=k) for k in range(-400, 120, 13)] + [
        AS_OF + timedelta(days=k) for k in range(-2, 3)]

    h = history.history(con, defn, days, resolver=lib, existing_only=False)

    assert h.sizes == [evaluator.count(con, defn, as_of=d, resolver=lib)
                       for d in h.dates]
    assert (h.path, history.path_for(defn, lib)[0]) == (path, path)


def test_history_moves_match_entered_and_left_between_dates(con, lib):
    defn = lib.load("active-buyers")
    days = [AS_OF - timedelta(days=7), AS_OF]

    h = history.history(con, defn, days, resolver=lib)
    move = history.entered_left(con, defn, *days, resolver=lib)

    assert h.sizes == [move.size_start, move.size_end]
    assert h.sizes[1] - h.sizes[0] == len(move.entered) - len(move.left)
    assert h.entered[1] >= len(move.entered) and h.left[1] >= len(move.left)


def test_entered_left_are_the_set_differences_of_members(con, lib):
    defn = lib.load("electronics-buyers")
    d1, d2 = AS_OF - timedelta(days=30), AS_OF
    first = set(evaluator.member_ids(con, defn, as_of=d1, resolver=lib))
    second = set(evaluator.member_ids(con, defn, as_of=d2, resolver=lib))

    move = history.entered_left(con, defn, d1, d2, resolver=lib, existing_only=False)

    assert move.entered == sorted(second - first)
    assert move.left == sorted(first - second)
    assert move.stayed == len(first & second)


def test_date_series_anchored_at_the_end_ends_there_and_clips_month_ends():
    days = history.date_series(date(2025, 12, 1), date(2026, 3, 31), "month",
                               anchor="end")

    assert days == [date(2025, 12, 31), date(2026, 1, 31), date(2026, 2, 28),
                    date(2026, 3, 31)]


@pytest.mark.parametrize("every, expected", [
    pytest.param("month", [date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)],
                 id="month"),
    pytest.param("week", [date(2026, 9, 1), date(2026, 9, 8), date(2026, 9, 15),
                          date(2026, 9, 22), date(2026, 9, 29), date(2026, 10, 6),
                          date(2026, 10, 13), date(2026, 10, 20),
                          date(2026, 10, 27), date(2026, 11, 3)], id="week"),
])
def test_date_series_starts_on_the_requested_first_day(every, expected):
    days = history.date_series(date(2026, 9, 1), date(2026, 11, 4), every)

    assert days == expected


def test_month_steps_from_a_month_end_keep_the_day_where_it_exists():
    days = history.date_series(date(2026, 1, 31), date(2026, 4, 30), "month")

    assert days == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31),
                    date(2026, 4, 30)]


@pytest.mark.parametrize("start, end", [
    pytest.param(date(1, 1, 1), date(2026, 1, 1), id="year-1"),
    pytest.param(date(2026, 1, 1), date(9999, 12, 31), id="year-9999"),
])
def test_date_series_refuses_days_far_off_with_the_supported_range(start, end):
    with pytest.raises(history.HistoryError, match="outside the supported range"):
        history.date_series(start, end, "month")


def test_history_table_shows_days_whole_sizes_and_blank_unknown_moves(con, lib):
    h = history.history(con, lib.load("active-buyers"),
                        [AS_OF - timedelta(weeks=1), AS_OF], resolver=lib)

    table = h.table()

    assert list(table.columns) == ["Date", "Size", "Entered since the previous date",
                                   "Left since the previous date"]
    assert list(table["Date"]) == [AS_OF - timedelta(weeks=1), AS_OF]
    assert table["Size"].dtype.kind == "i"
    assert table.iloc[0, 2:].tolist() == ["", ""]
    assert table.iloc[1, 2] == f"{h.entered[1]:,}"


def test_history_refuses_a_range_that_ends_before_it_starts():
    with pytest.raises(history.HistoryError, match="starts after it ends"):
        history.date_series(date(2026, 2, 1), date(2026, 1, 1), "day")
