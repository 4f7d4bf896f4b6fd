"""The Data page renders, previews an upload and imports it through AppTest."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_bitrix import CONTACTS_RU
from workbench import store

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


@pytest.fixture
def db(tmp_path, monkeypatch):
    """A database with one contact, so the app does not generate the demo."""
    path = tmp_path / "page.duckdb"
    con = store.connect(path)
    con.execute("INSERT INTO contacts (id, name) VALUES (99, 'Старый контакт')")
    con.close()
    monkeypatch.setenv("WORKBENCH_DB", str(path))
    monkeypatch.setenv("WORKBENCH_SEGMENTS", str(tmp_path / "segments"))
    return path


@pytest.fixture
def page(db):
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("pages/data.py").run()
    assert not at.exception
    return at


def table(at: AppTest, *columns: str):
    """The first table showing these columns (st.dataframe keeps no key here)."""
    for frame in at.dataframe:
        if set(columns) <= set(frame.value.columns):
            return frame.value
    raise AssertionError(f"no table with columns {columns}")


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="data_upload").set_value((name, data, "text/csv"))
    return at.run()


def test_page_renders_history_and_rest_form(page):
    assert page.title[0].value == "Data"
    assert page.text_input(key="data_webhook").value == ""
    assert page.button(key="data_demo").disabled


def test_upload_shows_detected_encoding_entity_and_typed_preview(page):
    upload(page, "contacts.csv", CONTACTS_RU.encode("cp1251"))

    assert not page.exception
    text = " ".join(m.value for m in page.markdown)
    assert "cp1251" in text and "';'" in text
    assert page.selectbox(key="data_entity").value == "contacts"
    assert page.selectbox(key="data_map_contacts_5").value == "phone:mobile"
    preview = table(page, "id", "phone", "created_at")
    assert preview["id"].tolist() == [1, 2]
    rejects = table(page, "row", "reason")
    assert rejects["row"].tolist() == [3, 4]


def test_load_through_the_page_with_a_changed_mapping(page, db):
    upload(page, "contacts.csv", CONTACTS_RU.encode("cp1251"))
    page.selectbox(key="data_map_contacts_9").set_value("region").run()
    page.radio(key="data_mode").set_value("replace").run()
    page.checkbox(key="data_replace_sure_contacts_1").check().run()

    page.button(key="data_load").click().run()

    assert not page.exception
    assert [m.value for m in page.metric] == ["4", "2", "2"]
    rejects = [f.value for f in page.dataframe if "reason" in f.value.columns][-1]
    assert list(zip(rejects["row"], rejects["reason"]))[0] == (
        3, "id: cannot read '3x' as id (column ID)")
    assert page.get("download_button")
    loads = table(page, "loaded_at", "rows_rejected")
    assert loads.iloc[0]["file"] == "contacts.csv"
    assert int(loads.iloc[0]["rows_rejected"]) == 2
    con = page_con(db)
    assert con.execute("SELECT id, city, region FROM contacts ORDER BY id"
                       ).fetchall() == [(1, None, "Москва"), (2, None, "Тверь")]


def page_con(db: Path):
    """The page's own connection: a second one to the same file would be refused."""
    from pages.common import _connection

    return _connection(str(db)).cursor()


def test_replace_waits_for_a_tick_naming_the_table_and_its_rows(page, db):
    upload(page, "contacts.csv", CONTACTS_RU.encode("cp1251"))

    sure = page.checkbox(key="data_replace_sure_contacts_1")

    assert page.radio(key="data_mode").value == "replace"
    assert sure.label == "Empty contacts (1 row) before loading"
    assert page.button(key="data_load").disabled
    assert page_con(db).execute("SELECT id FROM contacts").fetchall() == [(99,)]


def test_append_loads_without_a_tick_and_home_names_the_import(page, db):
    upload(page, "contacts.csv", CONTACTS_RU.encode("cp1251"))
    page.radio(key="data_mode").set_value("append").run()

    page.button(key="data_load").click().run()

    assert not page.exception
    con = page_con(db)
    assert con.execute("SELECT id FROM contacts ORDER BY id").fetchall() == [
        (1,), (2,), (99,)]
    origin = store.get_setting(con, "origin")
    assert origin.startswith("imported contacts.csv into contacts (2 rows, append) on ")
    page.switch_page("pages/home.py").run()
    assert any(origin in m.value for m in page.markdown)


def test_after_a_replace_the_next_load_needs_a_new_tick(page, db):
    upload(page, "contacts.csv", CONTACTS_RU.encode("cp1251"))
    page.checkbox(key="data_replace_sure_contacts_1").check().run()

    page.button(key="data_load").click().run()

    assert page.checkbox(key="data_replace_sure_contacts_2").value is False
    assert page.button(key="data_load").disabled


def test_a_bad_upload_is_named_by_the_users_file_name(page):
    upload(page, "Мои клиенты.parquet", b"ID;Name\n1;x\n")

    errors = [e.value for e in page.error]

    assert not page.exception
    assert errors == ["Мои клиенты.parquet: not a Parquet file (a Parquet file "
                      "starts and ends with the bytes PAR1)"]
    assert "/tmp" not in errors[0] and "upload" not in errors[0]
