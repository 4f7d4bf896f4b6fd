"""The Overlap and Sizes pages render, open a region and save it as a segment."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
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
