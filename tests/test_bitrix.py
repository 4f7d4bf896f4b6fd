"""Bitrix24 exports written in each variant load to values worked out by hand."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pandas as pd
import pytest

from workbench import bitrix, definition, evaluator, store
from workbench.__main__ import main
from workbench.readers import ImportFileError, read_table

CONTACTS_RU = (
    '"ID";"Имя";"Фамилия";"Отчество";"Тип контакта";"Мобильный телефон";'
    '"Рабочий e-mail";"Дата создания";"Дата изменения";"Город";"Экспорт";\n'
    '"1";"Иван";"Петров";"Сергеевич";"Клиенты";'
    '"+7 916 111-11-11, 8 (916) 222-22-22";"ivan@mail.ru";'
    '"05.03.2024 10:30:00";"06.03.2024";"Москва";"Да";\n'
    '"2";"Анна";"Смирнова";"";"Партнёры";"";"anna@mail.ru, a.s@corp.ru";'
    '"01.02.2024";"01.02.2024 09:15:00";"Тверь";"Нет";\n'
    '"3x";"Олег";"";"";"";"";"";"01.01.2024";"";"";"";\n'
    '"4";"Пётр";"";"";"";"";"";"31.02.2024";"";"Казань";"Да";\n'
)
DEALS_RU = (
    '"ID";"Название сделки";"Стадия сделки";"Направление";"Сумма";"Валюта";'
    '"Компания";"Контакт";"Дата создания";"Предполагаемая дата закрытия";'
    '"Сделка закрыта";\n'
    '"10";"Поставка";"Сделка успешна";"Общая";"1 234 567,50";"RUB";"Ромашка";'
    '"Иван Сергеевич Петров";"10.01.2024 09:00:00";"20.02.2024";"Да";\n'
    '"11";"Сервис";"Анализ причины провала";"Общая";"99,9";"RUB";"";"";'
    '"11.01.2024";"01.03.2024";"Да";\n'
    '"12";"Аудит";"Подготовка документов";"Общая";"12,3x";"RUB";"";"";'
    '"12.01.2024";"";"Нет";\n'
    '"13";"Ремонт";"Новая";"Общая";"2 000";"RUB";"Нет такой";"";'
    '"13.01.2024";"01.06.2024";"Нет";\n'
)
CONTACTS_EN_HTML = (
    '<html><head><meta http-equiv="Content-type" content="text/html;charset=utf-8">'
    '</head><body><table border="1">\n'
    "<tr><th>ID</th><th>First Name</th><th>Last Name</th><th>Contact Type</th>"
    "<th>Work Phone</th><th>Home E-mail</th><th>Created</th><th>Has phone</th></tr>\n"
    "<tr><td>7</td><td>John</td><td>Smith &amp; Sons</td><td>Clients</td>"
    "<td>+7 916 111-11-11<br>8 (916) 222-22-22</td><td>JOHN@example.com</td>"
    "<td>05.03.2024 10:30:00</td><td>Y</td></tr>\n"
    "<tr><td>8</td><td>Mary</td><td></td><td>Partners</td><td></td>"
    "<td></td><td>bad date</td><td>N</td></tr>\n"
    "</table></body></html>"
)


def write(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def con():
    connection = store.connect()
    yield connection
    connection.close()


def test_windows_1251_with_semicolons_loads_typed_contacts(con, tmp_path):
    path = write(tmp_path / "contacts.csv", CONTACTS_RU, "cp1251")

    done = bitrix.import_export(con, path)

    assert (done.file.encoding, done.file.delimiter) == ("cp1251", ";")
    assert done.recognition.entity == "contacts"
    rows = con.execute("SELECT id, name, phone, email, type, city, created_at, "
                       "modified_at FROM contacts ORDER BY id").fetchall()
    assert rows == [
        (1, "Иван Сергеевич Петров", "+7 916 111-11-11", "ivan@mail.ru", "Клиенты",
         "Москва", datetime(2024, 3, 5, 10, 30), datetime(2024, 3, 6)),
        (2, "Анна Смирнова", None, "anna@mail.ru", "Партнёры", "Тверь",
         datetime(2024, 2, 1), datetime(2024, 2, 1, 9, 15)),
    ]


def test_cell_with_two_phones_becomes_two_contact_points(con, tmp_path):
    bitrix.import_export(con, write(tmp_path / "c.csv", CONTACTS_RU, "cp1251"))

    points = con.execute("SELECT record_id, channel, kind, value FROM contact_points "
                         "ORDER BY record_id, channel, value").fetchall()

    assert points == [
        (1, "email", "work", "ivan@mail.ru"),
        (1, "phone", "mobile", "+7 916 111-11-11"),
        (1, "phone", "mobile", "8 (916) 222-22-22"),
        (2, "email", "work", "a.s@corp.ru"),
        (2, "email", "work", "anna@mail.ru"),
    ]


def test_broken_rows_are_reported_with_row_and_reason(con, tmp_path):
    done = bitrix.import_export(con, write(tmp_path / "c.csv", CONTACTS_RU, "cp1251"))

    result = done.result
    assert (result.rows_in, result.rows_loaded, result.rows_rejected) == (4, 2, 2)
    assert [(r.row, r.reason) for r in result.rejections] == [
        (3, "id: cannot read '3x' as id (column ID)"),
        (4, "created_at: cannot read '31.02.2024' as datetime "
            "(column Дата создания)"),
    ]
    history = con.execute("SELECT entity, file, mode, rows_in, rows_loaded, "
                          "rows_rejected FROM loads").fetchall()
    assert history == [("contacts", "c.csv", "replace", 4, 2, 2)]


def test_utf8_bom_deals_with_money_dates_and_semantics(con, tmp_path):
    write(tmp_path / "companies.csv",
          '"ID";"Название компании";"Сфера деятельности";\n"1";"Ромашка";"IT";\n',
          "utf-8-sig")
    bitrix.import_export(con, tmp_path / "companies.csv")
    bitrix.import_export(con, write(tmp_path / "c.csv", CONTACTS_RU, "cp1251"))

    done = bitrix.import_export(con, write(tmp_path / "deals.csv", DEALS_RU,
                                           "utf-8-sig"))

    assert (done.recognition.entity, done.file.encoding) == ("deals", "utf-8-sig")
    rows = con.execute("SELECT id, stage_semantics, amount, created_at, closed_at, "
                       "company_id, contact_id FROM deals ORDER BY id").fetchall()
    assert rows == [
        (10, "won", Decimal("1234567.50"), datetime(2024, 1, 10, 9),
         datetime(2024, 2, 20), 1, 1),
        (11, "lost", Decimal("99.90"), datetime(2024, 1, 11),
         datetime(2024, 3, 1), None, None),
        (13, "open", Decimal("2000.00"), datetime(2024, 1, 13), None, None, None),
    ]
    assert [(r.row, r.reason) for r in done.result.rejections] == [
        (3, "amount: cannot read '12,3x' as money (column Сумма)")]


def test_html_xls_with_english_titles(con, tmp_path):
    path = write(tmp_path / "contacts.xls", CONTACTS_EN_HTML)

    done = bitrix.import_export(con, path)

    assert (done.file.format, done.recognition.entity) == ("html", "contacts")
    assert done.recognition.targets["Has phone"] == "flag:has_phone"
    rows = con.execute("SELECT id, name, phone, email, type, created_at "
                       "FROM contacts").fetchall()
    assert rows == [(7, "John Smith & Sons", "+7 916 111-11-11", "JOHN@example.com",
                     "Clients", datetime(2024, 3, 5, 10, 30))]
    phones = con.execute("SELECT value FROM contact_points WHERE channel = 'phone' "
                         "ORDER BY value").fetchall()
    assert phones == [("+7 916 111-11-11",), ("8 (916) 222-22-22",)]
    assert [(r.row, r.reason) for r in done.result.rejections] == [
        (2, "created_at: cannot read 'bad date' as datetime (column Created)")]


def test_read_table_hands_xls_to_the_html_reader(tmp_path):
    frame = read_table(write(tmp_path / "x.xls", CONTACTS_EN_HTML))

    assert list(frame.columns)[:3] == ["ID", "First Name", "Last Name"]
    assert frame.loc[0, "Work Phone"] == "+7 916 111-11-11\n8 (916) 222-22-22"


def test_binary_xls_is_refused_with_advice(tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64)

    with pytest.raises(ImportFileError, match="save it as .xlsx or CSV"):
        bitrix.read_html_table(path)


def test_flags_are_typed_for_the_preview():
    frame = pd.DataFrame({"Экспорт": ["Да", "Нет", "Y", ""]})

    flags = bitrix.flag_values(frame, {"Экспорт": "flag:export"})

    assert flags["Экспорт"].tolist() == [True, False, True, pd.NA]


@pytest.mark.parametrize("titles, entity", [
    pytest.param(["ID", "Имя", "Фамилия", "Тип контакта", "Рабочий телефон"],
                 "contacts", id="contacts-ru"),
    pytest.param(["ID", "First Name", "Last Name", "Contact Type", "Mobile"],
                 "contacts", id="contacts-en"),
    pytest.param(["ID", "Название компании", "Сфера деятельности", "Рабочий телефон"],
                 "companies", id="companies-ru"),
    pytest.param(["ID", "Company Name", "Industry", "Annual revenue"],
                 "companies", id="companies-en"),
    pytest.param(["ID", "Название сделки", "Стадия сделки", "Сумма", "Валюта"],
                 "deals", id="deals-ru"),
    pytest.param(["ID", "Deal Name", "Stage", "Income", "Pipeline"],
                 "deals", id="deals-en"),
    pytest.param(["ID", "Название лида", "Статус", "Имя", "Название компании"],
                 "leads", id="leads-ru"),
    pytest.param(["ID", "Lead Name", "Status", "First Name", "Opportunity"],
                 "leads", id="leads-en"),
])
def test_recognise_entity_from_titles(titles, entity):
    assert bitrix.recognise(titles).entity == entity


def test_recognise_refuses_a_file_that_is_not_an_export():
    with pytest.raises(ImportFileError, match="do not look like a Bitrix24"):
        bitrix.recognise(["order_id", "sku", "price"])


@pytest.mark.parametrize("stage, group, expected", [
    pytest.param("Сделка успешна", "", "won", id="won-ru"),
    pytest.param("Deal won", "", "won", id="won-en"),
    pytest.param("Сделка провалена", "", "lost", id="lost-ru"),
    pytest.param("Анализ причины провала", "", "lost", id="analyse-failure"),
    pytest.param("Неуспешна", "", "lost", id="unsuccessful-is-not-won"),
    pytest.param("C2:APOLOGY", "", "lost", id="code"),
    pytest.param("Переговоры", "", "open", id="in-progress"),
    pytest.param("Переговоры", "Успешные", "won", id="group-decides"),
    pytest.param("Своя стадия", "Lost", "lost", id="custom-stage-lost-group"),
])
def test_stage_semantics(stage, group, expected):
    result = bitrix.stage_semantics(pd.Series([stage]), pd.Series([group]))

    assert result[0] == expected


def test_user_mapping_overrides_a_column(con, tmp_path):
    path = write(tmp_path / "c.csv", CONTACTS_RU, "cp1251")

    bitrix.import_export(con, path, targets={"Город": "region", "Отчество": ""})

    rows = con.execute("SELECT name, city, region FROM contacts ORDER BY id").fetchall()
    assert rows[0] == ("Иван Петров", None, "Москва")


def test_reimport_records_changes_found_by_changed_in_last_days(con, tmp_path):
    bitrix.import_export(con, write(tmp_path / "v1.csv", CONTACTS_RU, "cp1251"),
                         loaded_at=datetime(2024, 3, 10, 12))
    newer = CONTACTS_RU.replace('"06.03.2024";"Москва"', '"20.05.2024";"Тверь"') \
        .replace('"01.02.2024 09:15:00";"Тверь"', '"01.02.2024 09:15:00";"Тверь"') \
        .replace('"Клиенты"', '"VIP"')

    done = bitrix.import_export(con, write(tmp_path / "v2.csv", newer, "cp1251"),
                                mode="append", loaded_at=datetime(2024, 5, 21, 8))

    changes = con.execute("SELECT record_id, field, old_value, new_value, changed_at "
                          "FROM field_changes ORDER BY field").fetchall()
    assert changes == [(1, "city", "Москва", "Тверь", datetime(2024, 5, 20)),
                       (1, "type", "Клиенты", "VIP", datetime(2024, 5, 20))]
    assert done.result.rows_loaded == 2
    moved = definition.parse({
        "format": "segment-workbench/1", "id": "moved", "name": "Moved",
        "entity": "contacts", "mode": "dynamic",
        "include": {"all": [{"field": "city", "op": "changed_in_last_days",
                             "value": 30}]}, "exclude": []})
    assert evaluator.member_ids(con, moved, as_of=date(2024, 6, 1)) == [1]
    assert evaluator.member_ids(con, moved, as_of=date(2024, 7, 1)) == []


def test_reimport_without_modified_dates_changes_by_load_time(con, tmp_path):
    first = '"ID";"Название компании";"Город";\n"1";"Ромашка";"Москва";\n'
    bitrix.import_export(con, write(tmp_path / "a.csv", first, "utf-8-sig"))

    bitrix.import_export(con, write(tmp_path / "b.csv", first.replace("Москва", "Тула"),
                                    "utf-8-sig"), loaded_at=datetime(2024, 5, 1, 8))

    assert con.execute("SELECT entity, record_id, field, new_value, changed_at "
                       "FROM field_changes").fetchall() == [
        ("companies", 1, "city", "Тула", datetime(2024, 5, 1, 8))]


def test_a_column_never_filled_before_records_no_changes(con, tmp_path):
    bitrix.import_export(con, write(tmp_path / "a.csv",
                                    '"ID";"Имя";\n"1";"Иван";\n', "utf-8-sig"))

    bitrix.import_export(con, write(tmp_path / "b.csv",
                                    '"ID";"Имя";"Город";\n"1";"Иван";"Москва";\n',
                                    "utf-8-sig"), mode="append")

    assert store.scalar(con, "SELECT count(*) FROM field_changes") == 0


def test_preview_shows_typed_values_and_writes_nothing(con, tmp_path):
    export = bitrix.read_export(write(tmp_path / "c.csv", CONTACTS_RU, "cp1251"))
    recognition = bitrix.recognise(list(export.frame.columns))

    shown = bitrix.preview(con, export, recognition)

    assert shown.typed["id"].tolist() == [1, 2]
    assert shown.typed.loc[0, "created_at"] == pd.Timestamp(2024, 3, 5, 10, 30)
    assert [r.row for r in shown.rejections] == [3, 4]
    assert store.scalar(con, "SELECT count(*) FROM contacts") == 0
    assert store.scalar(con, "SELECT count(*) FROM loads") == 0


def test_import_bitrix_command(tmp_path, capsys):
    path = write(tmp_path / "contacts.csv", CONTACTS_RU, "cp1251")
    db = tmp_path / "crm.duckdb"

    code = main(["import-bitrix", "--db", str(db), str(path), "--json",
                 "--rejects", str(tmp_path / "rejects.csv")])

    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["files"][0]["entity"] == "contacts"
    assert out["files"][0]["rows_rejected"] == 2
    assert (tmp_path / "rejects.csv").read_text(encoding="utf-8").count("\n") == 3
    con = store.connect(db)
    assert store.scalar(con, "SELECT count(*) FROM contacts") == 2
    con.close()


def test_a_comment_with_line_breaks_still_loads_and_lines_are_counted(con,
                                                                      tmp_path):
    text = ('"ID";"Имя";"Комментарий";\n"1";"Иван";"позвонить\nв пятницу";\n'
            '"2";"Анна";"";\n')
    path = write(tmp_path / "contacts.csv", text)

    done = bitrix.import_export(con, path)

    r = done.result
    assert (r.rows_in, r.lines_in, r.rows_loaded, r.rejections) == (2, 3, 2, ())
    assert r.lines_note == "3 data lines make 2 rows: row 1 runs over lines 2-3"


def test_a_row_missing_only_the_trailing_semicolon_loads(con, tmp_path):
    text = '"ID";"Имя";\n"1";"Иван";\n"2";"Анна"\n"3";"Олег;Пётр";"x";\n'
    path = write(tmp_path / "contacts.csv", text)

    done = bitrix.import_export(con, path)

    assert con.execute("SELECT id FROM contacts ORDER BY id").fetchall() == [
        (1,), (2,)]
    assert [(x.row, x.reason) for x in done.result.rejections] == [
        (3, "has 4 fields where the header has 3; a delimiter inside an "
            "unquoted value?")]


def test_an_upload_is_named_by_the_users_file_in_every_message(con):
    with pytest.raises(ImportFileError) as caught:
        bitrix.import_export(con, b"\x00\x01 not parquet", name="Клиенты 2024.parquet")

    text = str(caught.value)
    assert text.startswith("Клиенты 2024.parquet: not a Parquet file")
    assert "upload" not in text and "/" not in text


def test_an_upload_keeps_the_users_name_in_rejections(con):
    done = bitrix.import_export(con, CONTACTS_RU.encode("cp1251"), name="мои.csv")

    assert {x.file for x in done.result.rejections} == {"мои.csv"}
    assert done.file.name == "мои.csv"


def test_import_export_adds_itself_to_the_origin(con, tmp_path):
    store.set_setting(con, "origin", "demo: 5000 contacts")
    path = write(tmp_path / "contacts.csv", CONTACTS_RU, "cp1251")

    bitrix.import_export(con, path, loaded_at=datetime(2026, 12, 4, 10, 0))

    assert store.get_setting(con, "origin") == (
        "demo: 5000 contacts; then imported contacts.csv into contacts "
        "(2 rows, replace) on 2026-12-04")


def test_import_bitrix_overflowing_amount_is_a_rejection(tmp_path, capsys):
    text = ('"ID";"Название сделки";"Сумма";"Валюта";\n"1";"A";"1e308";"RUB";\n'
            '"2";"B";"10";"RUB";\n')
    path = write(tmp_path / "deals.csv", text)

    code = main(["import-bitrix", "--db", str(tmp_path / "w.duckdb"), str(path),
                 "--entity", "deals"])

    out = capsys.readouterr().out
    assert code == 0
    assert "2 in, 1 loaded, 1 rejected" in out
    assert "row 1: amount: '1e308' is too large; money must be below 10^15" in out


def test_several_files_of_one_entity_in_one_run_add_up(tmp_path, capsys):
    first = write(tmp_path / "contacts-1.csv", CONTACTS_RU, "cp1251")
    second = write(tmp_path / "contacts-2.csv", CONTACTS_RU.replace(
        '"1";"Иван"', '"5";"Иван"').replace('"2";"Анна"', '"6";"Анна"'), "cp1251")
    db = tmp_path / "crm.duckdb"

    code = main(["import-bitrix", "--db", str(db), str(first), str(second)])

    assert code == 0
    con = store.connect(db)
    # Each file loads ids 1/2 and 5/6 (its 3x and 31.02 rows are rejected):
    # the second file must not empty what the first one loaded.
    assert con.execute("SELECT id FROM contacts ORDER BY id").fetchall() == [
        (1,), (2,), (5,), (6,)]
    con.close()


def test_deals_naming_no_single_contact_are_counted_in_a_note(con, tmp_path):
    path = write(tmp_path / "deals.csv", DEALS_RU)

    done = bitrix.import_export(con, path)

    # Deals 10 and 13 name companies ("Ромашка", "Нет такой") and deal 10 a
    # contact; the store has none of them, so none links.
    assert done.notes == (
        "2 rows name a company that no stored company has, or several have, as "
        "its name; left without a company (column Компания)",
        "1 row names a contact that no stored contact has, or several have, as "
        "its name; left without a contact (column Контакт)",
    )
