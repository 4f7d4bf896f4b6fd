"""The Overlap and Sizes pages render, open a region and save it as a segment."""

from __future__ import annotations

import json
import math
import os
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from workbench import demo, evaluator, overlap, store
from workbench.library import Library

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pages")
    con = store.connect(folder / "app.duckdb")
    demo.generate(con, contacts=800, seed=2, as_of=AS_OF)
    shutil.copytree(ROOT / "data" / "segments", folder / "segments")
    return folder


@pytest.fixture
def app(workspace, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DB", str(workspace / "app.duckdb"))
    monkeypatch.setenv("WORKBENCH_SEGMENTS", str(workspace / "segments"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    return at


def app_db(at: AppTest) -> str:
    return os.environ["WORKBENCH_DB"]


def app_segments(at: AppTest) -> str:
    return os.environ["WORKBENCH_SEGMENTS"]


def problems(at: AppTest) -> list[str]:
    return [e.value for e in at.exception] + [e.value for e in at.error]


def test_overlap_page_draws_venn_and_upset_for_three_segments(app):
    app.switch_page("pages/overlap.py").run()
    app.date_input(key="overlap_as_of").set_value(AS_OF).run()

    assert not problems(app)
    assert len(app.get("plotly_chart")) == 2  # Venn and UpSet
    assert [m.label for m in app.metric] == ["vip", "active-buyers", "customers"]


def test_overlap_page_draws_only_upset_for_five_segments(app):
    app.switch_page("pages/overlap.py").run()

    app.multiselect(key="overlap_segments").set_value(
        ["vip", "active-buyers", "customers", "unsubscribed", "inactive"]).run()

    assert not problems(app)
    assert len(app.get("plotly_chart")) == 1


def test_overlap_page_saves_a_region_that_evaluates_to_it(app, workspace):
    app.switch_page("pages/overlap.py").run()
    app.date_input(key="overlap_as_of").set_value(AS_OF).run()

    app.selectbox(key="overlap_region").set_value(0b101).run()
    # A form's fields are sent with its submit button, in the same run.
    app.text_input(key="overlap_new_id_5").set_value("vip-customers-not-active")
    app.button(key="FormSubmitter:overlap_save-Save as segment").click().run()

    assert not problems(app)
    lib = Library(workspace / "segments")
    defns = [lib.load(i) for i in ("vip", "active-buyers", "customers")]
    con = store.connect(workspace / "app.duckdb")  # as the app opened it
    saved = evaluator.member_ids(con, lib.load("vip-customers-not-active"),
                                 as_of=AS_OF, resolver=lib)
    assert saved == overlap.region_ids(con, defns, 0b101, as_of=AS_OF, resolver=lib)


def test_sizes_page_shows_history_forecast_and_moves(app):
    app.switch_page("pages/sizes.py").run()

    app.selectbox(key="sizes_segment").set_value("active-buyers").run()
    app.date_input(key="sizes_to").set_value(AS_OF).run()
    app.date_input(key="sizes_until").set_value(AS_OF).run()
    app.date_input(key="sizes_since").set_value(date(2026, 5, 31)).run()
    app.radio(key="sizes_every").set_value("month").run()

    assert not problems(app)
    labels = [m.label for m in app.metric]
    assert "Backtest MAE" in labels and "Entered" in labels
    assert len(app.get("plotly_chart")) == 2  # channels, history with forecast


def chart_spec(at: AppTest, index: int) -> dict:
    return json.loads(at.get("plotly_chart")[index].proto.spec)


@pytest.mark.parametrize("as_of", [AS_OF, date(2026, 12, 4)], ids=["busy", "one-empty"])
def test_venn_names_sit_outside_every_circle_and_apart(app, as_of):
    app.switch_page("pages/overlap.py").run()
    app.date_input(key="overlap_as_of").set_value(as_of).run()

    layout = chart_spec(app, 0)["layout"]

    circles = [((s["x0"] + s["x1"]) / 2, (s["y0"] + s["y1"]) / 2, (s["x1"] - s["x0"]) / 2)
               for s in layout["shapes"]]
    names = [(a["x"], a["y"]) for a in layout["annotations"]
             if a.get("name", "").startswith("name-")]
    assert len(names) == 3
    for x, y in names:
        assert all(math.hypot(x - cx, y - cy) > r for cx, cy, r in circles)
    for i, (x1, y1) in enumerate(names):
        for x2, y2 in names[i + 1:]:  # a name is wide: count x a third
            assert math.hypot((x1 - x2) / 3, y1 - y2) > 0.2


def test_region_opens_on_the_largest_non_empty_one_and_reads_plainly(app):
    app.switch_page("pages/overlap.py").run()
    app.date_input(key="overlap_as_of").set_value(AS_OF).run()

    region = app.selectbox(key="overlap_region")

    defns = [Library(app_segments(app)).load(i)
             for i in ("vip", "active-buyers", "customers")]
    counts = overlap.overlap(store.connect(app_db(app)), defns,
                             as_of=AS_OF, resolver=Library(app_segments(app)))
    largest = max(counts.regions, key=counts.regions.get)
    assert region.value == largest
    assert region.options[-1] == f"in none of them — {counts.outside:,}"
    assert not app.button(key="FormSubmitter:overlap_save-Save as segment").disabled


def test_an_empty_region_cannot_be_saved(app):
    app.switch_page("pages/overlap.py").run()
    app.date_input(key="overlap_as_of").set_value(date(2026, 12, 4)).run()

    app.selectbox(key="overlap_region").set_value(0b010).run()  # active-buyers only

    assert "— 0" in app.selectbox(key="overlap_region").format_func(0b010)
    assert app.button(key="FormSubmitter:overlap_save-Save as segment").disabled
    assert not problems(app)


def test_sizes_chart_is_horizontal_with_the_legend_above(app):
    app.switch_page("pages/sizes.py").run()

    spec = chart_spec(app, 0)

    assert {t["orientation"] for t in spec["data"]} == {"h"}
    assert spec["layout"]["legend"]["y"] >= 1
    assert spec["layout"]["height"] >= 140 + 28 * 13
    assert spec["data"][0]["y"][-1] == "customers"  # the largest on top


def test_sizes_channel_counts_are_counted_once_across_reruns(app, monkeypatch):
    from workbench import evaluator
    calls = []
    real = evaluator.channel_counts
    monkeypatch.setattr(evaluator, "channel_counts",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    st.cache_data.clear()

    app.switch_page("pages/sizes.py").run()
    first = len(calls)
    app.radio(key="sizes_every").set_value("month").run()

    saved = len(list(Path(app_segments(app)).glob("*.json")))
    assert first == saved and len(calls) == first
    assert not problems(app)


def test_sizes_tables_show_days_whole_numbers_and_plain_labels(app):
    app.switch_page("pages/sizes.py").run()
    app.selectbox(key="sizes_segment").set_value("active-buyers").run()
    app.date_input(key="sizes_to").set_value(AS_OF).run()

    # AppTest gives no key for a dataframe: the page's order is channels,
    # history, forecast.
    hist, fc = app.dataframe[1].value, app.dataframe[2].value

    assert list(hist.columns) == ["Date", "Size", "Entered since the previous date",
                                  "Left since the previous date"]
    assert list(fc.columns[:4]) == ["Date", "Forecast", "Lower", "Upper"]
    assert fc["Forecast"].dtype.kind in "iu" or str(fc["Forecast"].dtype) == "Int64"
    assert hist["Date"].iloc[-1] in (AS_OF, pd.Timestamp(AS_OF))
    assert not any("known" in c or "_" in c for c in fc.columns)
    assert not problems(app)


def test_sizes_chart_shows_the_40_largest_of_many_segments(tmp_path, workspace,
                                                          monkeypatch):
    folder = tmp_path / "segments"
    shutil.copytree(workspace / "segments", folder)
    vip = json.loads((folder / "vip.json").read_text())
    for k in range(32):
        (folder / f"vip-{k}.json").write_text(json.dumps({**vip, "id": f"vip-{k}"}))
    monkeypatch.setenv("WORKBENCH_DB", str(workspace / "app.duckdb"))
    monkeypatch.setenv("WORKBENCH_SEGMENTS", str(folder))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()

    at.switch_page("pages/sizes.py").run()

    assert len(chart_spec(at, 0)["data"][0]["y"]) == 40
    assert any("40 largest of" in c.value for c in at.caption)
