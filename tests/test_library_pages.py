"""AppTest of the library and exports pages on copies of a small database.

Each test points WORKBENCH_DB and WORKBENCH_SEGMENTS at its own temporary
files; the shared connection cache is cleared so no test sees another's data.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests import tiny
from workbench import store
from workbench.definition import Definition, FieldCondition, Group, SegmentRef
from workbench.library import Library
from workbench.sharing import decode_share

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 30


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    db = tmp_path / "crm.duckdb"
    con = store.connect(db)
    for table in ("contacts", "opt_outs", "mailings", "mailing_recipients"):
        rows = tiny.build().execute(f"SELECT * FROM {table}").fetchall()
        marks = ", ".join("?" * len(rows[0]))
        con.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    con.close()
    lib = Library(tmp_path / "segments")
    lib.save(Definition("moscow", "Moscow", mode="static", include=Group(
        "all", (FieldCondition("city", "equals", "Moscow"),))))
    lib.save(Definition("everyone", "Everyone", exclude=(SegmentRef("moscow"),)))
    monkeypatch.setenv("WORKBENCH_DB", str(db))
    monkeypatch.setenv("WORKBENCH_SEGMENTS", str(lib.folder))
    import streamlit as st
    st.cache_resource.clear()
    yield lib
    st.cache_resource.clear()


def page(name: str) -> AppTest:
    """The app, switched to ``pages/<name>`` for its next run."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    return at.switch_page(f"pages/{name}")


def test_library_page_renders_and_refreshes_a_static_segment(workspace):
    at = page("library.py").run()
    assert not at.exception

    at.selectbox(key="library_segment").select("moscow").run()
    at.button(key="library_refresh").click().run()

    assert not at.exception
    assert any('"moscow" now holds 2 members' in s.value for s in at.success)
    assert workspace.load("moscow").snapshot.ids == (1, 2)


def test_library_page_shows_the_refusal_to_delete_a_referenced_segment(workspace):
    at = page("library.py").run()
    at.selectbox(key="library_segment").select("moscow").run()

    at.checkbox(key="library_delete_sure").check().run()
    at.button(key="library_delete").click().run()

    assert not at.exception
    assert any('"everyone" references it' in e.value for e in at.error)
    assert workspace.exists("moscow")


def test_library_page_renames_and_follows_the_new_id(workspace):
    at = page("library.py").run()
    at.selectbox(key="library_segment").select("everyone").run()

    at.text_input(key="library_new_id").input("all-but-moscow").run()
    at.button(key="library_rename").click().run()

    assert not at.exception
    assert at.selectbox(key="library_segment").value == "all-but-moscow"
    assert workspace.ids() == ["all-but-moscow", "moscow"]


def test_exports_page_renders_a_refused_yandex_export_with_its_reason(workspace):
    workspace.save(Definition("all", "All contacts"))
    at = page("exports.py").run()
    assert not at.exception

    at.selectbox(key="exports_segment").select("all").run()
    at.radio(key="exports_platform").set_value("yandex").run()

    assert not at.exception
    assert any("needs at least 100 rows" in w.value for w in at.warning)


def test_exports_page_lists_segments_by_name_and_id(workspace):
    at = page("exports.py").run()

    picker = at.selectbox(key="exports_segment")

    assert not at.exception
    assert picker.options == ["Everyone (everyone)", "Moscow (moscow)"]
    assert picker.value == "everyone"


def test_exports_page_explains_a_static_segment_without_its_list(workspace):
    at = page("exports.py").run()

    at.selectbox(key="exports_segment").select("everyone").run()

    assert not at.exception
    assert any('"moscow" has no snapshot yet' in e.value for e in at.error)


def test_exports_page_records_a_mailing(workspace):
    workspace.save(Definition("all", "All contacts"))
    at = page("exports.py").run()
    at.selectbox(key="exports_segment").select("all").run()

    at.text_input(key="exports_mailing_name").input("Summer 2026").run()
    at.button(key="exports_record").click().run()

    assert not at.exception
    assert any('Recorded mailing "Summer 2026" to 2 contacts' in s.value
               for s in at.success)


def test_library_page_shows_the_diff_and_a_share_link_the_builder_can_read(workspace):
    workspace.save(Definition("everyone", "Everyone but Moscow",
                              exclude=(SegmentRef("moscow"),)))

    at = page("library.py").run()
    at.selectbox(key="library_segment").select("everyone").run()

    assert not at.exception
    codes = [c.value for c in at.code]
    assert any('+  "name": "Everyone but Moscow",' in c for c in codes)
    link = next(c for c in codes if "builder?segment=" in c)
    assert decode_share(link.split("segment=", 1)[1]).name == "Everyone but Moscow"
