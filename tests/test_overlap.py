"""Overlap region counts against brute-force set arithmetic on member ids."""

from __future__ import annotations

from datetime import date
from itertools import combinations
from pathlib import Path

import pytest

from workbench import demo, evaluator, overlap, store

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 6, 30)
GROUPS = [
    pytest.param(["vip", "customers"], id="two"),
    pytest.param(["vip", "active-buyers", "inactive"], id="three"),
    pytest.param(["vip", "active-buyers", "customers", "unsubscribed", "inactive",
                  "two-capitals", "pricing-visitors", "spring-sale-followup"],
                 id="eight"),
]


@pytest.fixture(scope="module")
def con():
    connection = store.connect()
    demo.generate(connection, contacts=1500, seed=7, as_of=AS_OF)
    return connection


def member_sets(con, lib, ids):
    return [set(evaluator.member_ids(con, lib.load(i), as_of=AS_OF, resolver=lib))
            for i in ids]


@pytest.mark.parametrize("ids", GROUPS)
def test_region_counts_equal_set_arithmetic_on_member_ids(con, lib, ids):
    sets = member_sets(con, lib, ids)
    everyone = {r[0] for r in con.execute("SELECT id FROM contacts").fetchall()}

    result = overlap.overlap(con, [lib.load(i) for i in ids], as_of=AS_OF, resolver=lib)

    for mask in range(1 << len(ids)):
        region = set(everyone)
        for i, members in enumerate(sets):
            region = region & members if mask >> i & 1 else region - members
        assert result.count(mask) == len(region), result.label(mask)
    assert result.sizes == [len(s) for s in sets]
    assert result.total == len(everyone)


def test_pairwise_matrix_reads_shared_share_and_jaccard(con, lib):
    ids = ["vip", "active-buyers", "customers"]
    sets = member_sets(con, lib, ids)

    result = overlap.overlap(con, [lib.load(i) for i in ids], as_of=AS_OF, resolver=lib)
    frame = result.pairwise().set_index(["row", "column"])

    for (i, a), (j, b) in combinations(enumerate(ids), 2):
        both = len(sets[i] & sets[j])
        row = frame.loc[(a, b)]
        assert row["shared"] == both
        assert row["share_of_row"] == pytest.approx(both / len(sets[i]))
        assert row["jaccard"] == pytest.approx(both / len(sets[i] | sets[j]))


def test_upset_bars_are_sorted_largest_first_and_sum_to_the_union(con, lib):
    ids = ["vip", "active-buyers", "customers", "inactive"]

    result = overlap.overlap(con, [lib.load(i) for i in ids], as_of=AS_OF, resolver=lib)
    bars = result.intersections()

    assert list(bars["count"]) == sorted(bars["count"], reverse=True)
    assert bars["count"].sum() == result.total - result.outside


@pytest.mark.parametrize("mask", [0b011, 0b101, 0b001, 0b111, 0b000])
def test_region_saved_as_segment_evaluates_to_exactly_that_region(con, lib, mask):
    defns = [lib.load(i) for i in ("vip", "active-buyers", "customers")]
    expected = overlap.region_ids(con, defns, mask, as_of=AS_OF, resolver=lib)

    saved = overlap.region_definition(defns, mask, segment_id=f"region-{mask}",
                                      name=f"Region {mask}")
    lib.save(saved)
    members = evaluator.member_ids(con, lib.load(saved.id), as_of=AS_OF, resolver=lib)

    assert members == expected
    assert len(members) == overlap.overlap(con, defns, as_of=AS_OF,
                                           resolver=lib).count(mask)


def test_region_members_lists_stored_fields_of_the_region(con, lib):
    defns = [lib.load(i) for i in ("vip", "customers")]

    frame = overlap.region_members(con, defns, 0b11, as_of=AS_OF, resolver=lib, limit=5)

    assert list(frame.columns[:2]) == ["id", "name"]
    assert len(frame) == min(5, overlap.overlap(con, defns, as_of=AS_OF,
                                                resolver=lib).count(0b11))


@pytest.mark.parametrize("ids, message", [
    pytest.param(["vip"], "2 to 8 segments", id="one"),
    pytest.param(["vip", "vip"], "more than once", id="repeated"),
    pytest.param(["vip", "fresh-website-leads"], "different entities", id="entities"),
])
def test_overlap_refuses_what_cannot_be_overlapped(con, lib, ids, message):
    with pytest.raises(overlap.OverlapError, match=message):
        overlap.overlap(con, [lib.load(i) for i in ids], as_of=AS_OF, resolver=lib)
