"""A tiny run of the benchmark: the three ways of counting agree.

Only agreement is asserted, never a time: timings on a shared test machine
say nothing.
"""

from __future__ import annotations

import pytest

from bench import analyst, expert_sql, run


@pytest.fixture(scope="module")
def scale():
    return run.run_scale(2000, repeat=1, steps=run.STEPS)


def test_every_example_has_hand_written_sql_and_a_pandas_version():
    examples = set(run.segment_ids())

    assert set(expert_sql.queries(run.AS_OF)) == examples
    assert set(analyst.COUNTS) == examples == set(analyst.USES) == set(run.EDITS)


def test_evaluator_sql_and_pandas_give_the_same_counts(scale):
    run.check_agreement(scale)

    counts = {s: r["counts"]["evaluator"] for s, r in scale["engine"]["segments"].items()}
    assert sum(1 for n in counts.values() if n > 0) >= 10


def test_disagreeing_counts_stop_the_run(scale):
    broken = {**scale, "pandas": {"segments": {
        s: {**r, "count": r["count"] + 1} for s, r in scale["pandas"]["segments"].items()}}}

    with pytest.raises(run.Disagreement, match="COUNTS DISAGREE"):
        run.check_agreement(broken)


def test_overlap_and_history_agree_with_the_evaluator(scale):
    engine = scale["engine"]

    assert engine["overlap"]["sizes_agree"]
    assert all(h["today_agrees"] for h in engine["history"].values())


def test_every_builder_edit_recounts(scale):
    recount = scale["engine"]["recount"]

    assert set(recount) == set(run.EDITS)


def test_contacts_csv_imports_without_rejections(scale):
    imported = scale["import"]

    assert imported["rows_loaded"] == imported["rows"] == 2000
    assert imported["rows_rejected"] == 0


def test_summary_has_the_ratios(scale):
    rows = run.summary(scale)

    assert set(rows["vip"]) >= {"a", "b", "c", "a/b", "c/a", "(c+load)/a"}
