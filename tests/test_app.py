"""The app renders every page on a small database without an exception."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests import tiny
from workbench import store

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGES = ["pages/home.py", "pages/segments.py", "pages/builder.py"] + [
    p for p in ("pages/library.py", "pages/overlap.py", "pages/sizes.py",
                "pages/data.py", "pages/exports.py") if (ROOT / p).is_file()]


def build_db(path: Path) -> Path:
    """The tiny hand-made CRM in a file, deals in RUB, with a recorded origin."""
    con = tiny.build()
    con.execute("UPDATE deals SET currency = 'RUB'")
    store.set_setting(con, "origin", "tests/tiny.py fixture")
    store.record_load(con, store.LoadRecord("contacts", "tiny.py", "replace",
                                            len(tiny.CONTACTS), len(tiny.CONTACTS), 0),
                      at=datetime(2026, 6, 30, 9))
    target = str(path).replace("'", "''")
    con.execute(f"ATTACH '{target}' AS target")
    con.execute("COPY FROM DATABASE memory TO target")
    con.execute("DETACH target")
    con.close()
    return path


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A database file and a copy of the example segments, for the app to open."""
    folder = tmp_path_factory.mktemp("workspace")
    build_db(folder / "app.duckdb")
    shutil.copytree(ROOT / "data" / "segments", folder / "segments")
    return folder


@pytest.fixture
def app(workspace, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DB", str(workspace / "app.duckdb"))
    monkeypatch.setenv("WORKBENCH_SEGMENTS", str(workspace / "segments"))
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    return at


def test_home_shows_tables_time_zone_and_origin(app):
    assert not app.exception
    text = " ".join(m.value for m in app.markdown)

    assert "tests/tiny.py fixture" in text
    assert [m.value for m in app.metric if m.label == "Time zone"] == ["Europe/Moscow"]


def test_home_says_command_line_runs_need_a_copy_of_the_open_database(app):
    notes = [c.value for c in app.caption]

    assert any("holds this database open" in n and "--db" in n for n in notes)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_exception(app, page):
    app.switch_page(page).run()

    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]


def test_segments_page_lists_every_saved_segment_with_counts(app, workspace):
    app.switch_page("pages/segments.py").run()

    table = app.dataframe[0].value
    assert sorted(table["segment"]) == sorted(
        p.stem for p in (workspace / "segments").glob("*.json"))
    vip = table[table["segment"] == "vip"].iloc[0]
    assert vip["members"] == 2  # Anna (60,000 + 50,000 won) and Dina (200,000)


def test_segments_page_shows_a_broken_segment_in_its_row(app, workspace):
    (workspace / "segments" / "zz-broken.json").write_text(
        '{"id": "zz-broken", "name": "Broken", "include": {"all": ['
        '{"segment": "no-such-segment"}]}}', encoding="utf-8")
    try:
        app.switch_page("pages/segments.py").run()
    finally:
        (workspace / "segments" / "zz-broken.json").unlink()

    assert not app.exception
    table = app.dataframe[0].value
    broken = table[table["segment"] == "zz-broken"].iloc[0]
    assert "no-such-segment" in broken["problem"]


def test_segments_page_opens_a_segment_in_words_sql_and_explanation(app):
    app.switch_page("pages/segments.py").run()
    app.selectbox(key="segments_pick").set_value("vip").run()
    app.number_input(key="segments_explain_id").set_value(1).run()

    assert not app.exception
    assert any("sum of amount" in t.value for t in app.text)
    assert any("SELECT" in c.value for c in app.code)
    assert "is a member" in " ".join(m.value for m in app.markdown)


def test_open_in_builder_carries_the_segment(app):
    app.switch_page("pages/segments.py").run()
    app.selectbox(key="segments_pick").set_value("inactive").run()
    app.button(key="segments_open_builder").click().run()

    assert not app.exception
    assert app.session_state["builder_draft"]["id"] == "inactive"

