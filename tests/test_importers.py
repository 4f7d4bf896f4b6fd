"""Import engine on tiny hand-written files, with values worked out by hand."""

from __future__ import annotations

import argparse
import csv
import json
from datetime import date, datetime
from decimal import Decimal

import pandas as pd
import pytest

from workbench import import_cli, importers, store
from workbench.mapping import MappingError, load_mapping, shipped_mappings
from workbench.readers import (
    ImportFileError, parse_booleans, parse_numbers, read_table, sniff_delimiter,
)

DEALS_MAPPING = {
    "name": "tiny-deals",
    "date_formats": ["%d.%m.%Y", "%d.%m.%Y %H:%M:%S"],
    "loads": [
        {"entity": "companies", "file": "companies.csv",
         "fields": {"id": {"column": "Компания", "external": True},
                    "name": "Компания", "city": "Город"}},
        {"entity": "deals", "file": "deals.csv",
         "fields": {
             "id": "ID",
             "title": "Название",
             "amount": "Сумма",
             "currency": {"value": "RUB"},
             "stage": "Стадия",
             "stage_semantics": {"column": "Стадия",
                                 "values": {"Успешно": "won", "Провал": "lost"},
                                 "default": "open"},
             "created_at": "Дата начала",
             "company_id": {"column": "Компания", "ref": "companies",
                            "must_resolve": True},
         }},
    ],
}


def write(path, text: str, encoding: str = "utf-8") -> None:
    path.write_bytes(text.encode(encoding))


@pytest.fixture
def con():
    connection = store.connect()
    yield connection
    connection.close()


@pytest.fixture
def tiny_crm(tmp_path):
    """A Bitrix24-like export: ';', BOM, quoted values, trailing ';'."""
    write(tmp_path / "companies.csv",
          '"Компания";"Город";\n"Ромашка";"Москва";\n"Лютик";"Тверь";\n',
          "utf-8-sig")
    write(tmp_path / "deals.csv",
          '"ID";"Название";"Сумма";"Стадия";"Дата начала";"Компания";\n'
          '"10";"Поставка";"1 234,50";"Успешно";"05.03.2024";"Ромашка";\n'
          '"11";"Сервис";"99,9";"В работе";"31.02.2024";"Лютик";\n'
          '"12";"Аудит";"12,3x";"Провал";"01.01.2024 10:30:00";"Лютик";\n'
          '"13";"Ремонт";"2 000";"Провал";"02.01.2024";"Лютик";\n'
          '"14";"Ещё";"5";"Новая";"03.01.2024";"Нет такой";\n',
          "utf-8-sig")
    return tmp_path


def test_bitrix_like_csv_loads_typed_values(con, tiny_crm):
    result = importers.import_files(con, DEALS_MAPPING, directory=tiny_crm)

    rows = con.execute("SELECT d.id, d.amount, d.stage_semantics, d.created_at, "
                       "c.name FROM deals d JOIN companies c ON c.id = d.company_id "
                       "ORDER BY d.id").fetchall()
    assert rows == [
        (10, Decimal("1234.50"), "won", datetime(2024, 3, 5), "Ромашка"),
        (13, Decimal("2000.00"), "lost", datetime(2024, 1, 2), "Лютик"),
    ]
    assert [(x.rows_in, x.rows_loaded, x.rows_rejected) for x in result.loads] == [
        (2, 2, 0), (5, 2, 3)]


def test_bad_rows_are_reported_with_row_number_and_reason(con, tiny_crm):
    result = importers.import_files(con, DEALS_MAPPING, directory=tiny_crm)

    by_row = {r.row: r for r in result.rejections}
    assert sorted(by_row) == [2, 3, 5]  # data rows, header not counted
    assert by_row[2].file == "deals.csv"
    assert "created_at: cannot read '31.02.2024'" in by_row[2].reason
    assert "amount: cannot read '12,3x' as money (column Сумма)" in by_row[3].reason
    assert "company_id: 'Нет такой' is not a known companies key" in by_row[5].reason


def test_rejections_are_logged_as_a_warning_with_counts(con, tiny_crm, caplog):
    importers.import_files(con, DEALS_MAPPING, directory=tiny_crm)

    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("deals.csv: 3 of 5 rows rejected" in w for w in warnings)


def test_load_history_records_each_file(con, tiny_crm):
    importers.import_files(con, DEALS_MAPPING, directory=tiny_crm)

    history = con.execute("SELECT entity, file, mode, rows_in, rows_loaded, "
                          "rows_rejected FROM loads ORDER BY id").fetchall()
    assert history == [("companies", "companies.csv", "replace", 2, 2, 0),
                       ("deals", "deals.csv", "replace", 5, 2, 3)]


def test_external_keys_keep_their_ids_across_reimports(con, tiny_crm):
    importers.import_files(con, DEALS_MAPPING, directory=tiny_crm)
    first = con.execute("SELECT name, id FROM companies ORDER BY id").fetchall()

    write(tiny_crm / "companies.csv",
          "Компания;Город\nНовая;Казань\nЛютик;Тверь\nРомашка;Москва\n")
    importers.import_files(con, DEALS_MAPPING, ["companies.csv"], directory=tiny_crm)

    again = dict(con.execute("SELECT name, id FROM companies").fetchall())
    assert first == [("Ромашка", 1), ("Лютик", 2)]
    assert again == {"Ромашка": 1, "Лютик": 2, "Новая": 3}


def test_windows_1251_file_is_read(con, tmp_path):
    write(tmp_path / "c.csv", "Имя;Город\nЁжик;Москва\n", "cp1251")
    mapping = {"loads": [{"entity": "contacts", "file": "c.csv",
                          "fields": {"id": {"column": "Имя", "external": True},
                                     "name": "Имя", "city": "Город"}}]}

    importers.import_files(con, mapping, directory=tmp_path)

    assert con.execute("SELECT name, city FROM contacts").fetchall() == [
        ("Ёжик", "Москва")]


def test_append_updates_a_record_with_the_same_id_and_keeps_unmapped_fields(
        con, tmp_path):
    write(tmp_path / "c.csv", "id,name,city\n1,Ann,Omsk\n2,Bob,Kursk\n")
    full = {"loads": [{"entity": "contacts", "file": "c.csv",
                       "fields": {"id": "id", "name": "name", "city": "city"}}]}
    importers.import_files(con, full, directory=tmp_path)
    write(tmp_path / "u.csv", "id,name\n2,Robert\n3,Cid\n")
    names_only = {"loads": [{"entity": "contacts", "file": "u.csv",
                             "fields": {"id": "id", "name": "name"}}]}

    result = importers.import_files(con, names_only, directory=tmp_path,
                                    mode="append")

    rows = con.execute("SELECT id, name, city FROM contacts ORDER BY id").fetchall()
    assert rows == [(1, "Ann", "Omsk"), (2, "Robert", "Kursk"), (3, "Cid", None)]
    assert result.loads[0].mode == "append"


def test_replace_empties_the_table_first(con, tmp_path):
    write(tmp_path / "c.csv", "id,name\n1,Ann\n2,Bob\n")
    mapping = {"loads": [{"entity": "contacts", "file": "c.csv",
                          "fields": {"id": "id", "name": "name"}}]}
    importers.import_files(con, mapping, directory=tmp_path)
    write(tmp_path / "c.csv", "id,name\n3,Cid\n")

    importers.import_files(con, mapping, directory=tmp_path)

    assert con.execute("SELECT id, name FROM contacts").fetchall() == [(3, "Cid")]


def test_json_records_list_loads(con, tmp_path):
    records = [{"key": "a-1", "name": " Ann ", "tags": "vip; b2b",
                "born": "1990-05-17", "seen": "2024-03-01T21:30:00Z"},
               {"key": "a-2", "name": "Bob", "tags": None, "born": None}]
    (tmp_path / "people.json").write_text(json.dumps(records), encoding="utf-8")
    mapping = {"loads": [{"entity": "contacts", "file": "people.json",
                          "fields": {"id": {"column": "key", "external": True},
                                     "name": "name", "tags": "tags",
                                     "birthday": "born",
                                     "created_at": {"column": "seen",
                                                    "optional": True}}}]}

    importers.import_files(con, mapping, directory=tmp_path)

    rows = con.execute("SELECT name, tags, birthday, created_at FROM contacts "
                       "ORDER BY id").fetchall()
    # 21:30 UTC is 00:30 next day in the Moscow workspace zone.
    assert rows == [("Ann", ["vip", "b2b"], date(1990, 5, 17),
                     datetime(2024, 3, 2, 0, 30)),
                    ("Bob", None, None, None)]


def test_naive_times_in_a_source_zone_are_moved_to_the_workspace_zone(con, tmp_path):
    write(tmp_path / "o.csv", "id,at\n1,2018-06-01 10:00:00\n")
    mapping = {"timezone": "America/Sao_Paulo",
               "loads": [{"entity": "orders", "file": "o.csv",
                          "fields": {"id": "id", "created_at": "at"}}]}

    importers.import_files(con, mapping, directory=tmp_path)

    # Sao Paulo UTC-3 in June 2018, Moscow UTC+3: six hours later.
    assert con.execute("SELECT created_at FROM orders").fetchone()[0] == \
        datetime(2018, 6, 1, 16, 0)


def test_salesforce_records_object_with_references_and_contact_points(
        con, tmp_path):
    def tree(kind, records):
        return json.dumps({"records": [
            {"attributes": {"type": kind, "referenceId": ref}, **fields}
            for ref, fields in records]})
    (tmp_path / "sample-Accounts.json").write_text(
        tree("Account", [("AccountRef1", {"Name": "Acme"})]))
    (tmp_path / "sample-Contacts.json").write_text(tree("Contact", [
        ("ContactRef1", {"FirstName": "Ann", "LastName": "Lee", "Email": "a@x.io",
                         "MobilePhone": "+1 555", "HomePhone": "+1 666",
                         "AccountId": "@AccountRef1"})]))
    (tmp_path / "sample-Opportunities.json").write_text(tree("Opportunity", [
        ("OpportunityRef1", {"Name": "Big", "StageName": "Closed Won",
                             "CloseDate": "2026-07-01", "Amount": 581.9,
                             "AccountId": "@AccountRef1"}),
        ("OpportunityRef2", {"Name": "Small", "StageName": "Prospecting",
                             "CloseDate": "2026-08-01",
                             "AccountId": "@AccountRef1"})]))
    (tmp_path / "sample-Leads.json").write_text(tree("Lead", [
        ("LeadRef1", {"LastName": "Roe", "Status": "Working"})]))

    importers.import_files(con, "salesforce-tree", directory=tmp_path)

    assert con.execute("SELECT c.name, c.email, c.phone, k.name FROM contacts c "
                       "JOIN companies k ON k.id = c.company_id").fetchall() == [
        ("Ann Lee", "a@x.io", "+1 555", "Acme")]
    assert con.execute("SELECT channel, kind, value FROM contact_points "
                       "ORDER BY value").fetchall() == [
        ("phone", "mobile", "+1 555"), ("phone", "home", "+1 666"),
        ("email", "work", "a@x.io")]
    assert con.execute("SELECT title, stage_semantics, amount, closed_at FROM deals "
                       "ORDER BY title").fetchall() == [
        ("Big", "won", Decimal("581.90"), datetime(2026, 7, 1)),
        ("Small", "open", None, None)]


def test_hostile_values_load_as_plain_text(con, tmp_path):
    long_text = "я" * 10_000
    hostile = ['He said "hi", then left', "'; DROP TABLE contacts; --",
               "🎉 party 👩‍👩‍👧", long_text]
    with open(tmp_path / "h.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "name"])
        writer.writerows([i + 1, v] for i, v in enumerate(hostile))
    mapping = {"loads": [{"entity": "contacts", "file": "h.csv",
                          "fields": {"id": "id", "name": "name"}}]}

    result = importers.import_files(con, mapping, directory=tmp_path)

    names = [r[0] for r in con.execute("SELECT name FROM contacts ORDER BY id")
             .fetchall()]
    assert names == hostile
    assert result.rows_loaded == 4
    assert con.execute("SELECT count(*) FROM contacts").fetchone()[0] == 4


def test_numbers_accept_spaces_and_either_decimal_mark():
    values, bad = parse_numbers(pd.Series(
        ["1 234,50", "1.234,5", "1,234.5", "0,5", "1\u00a0000", "", "abc", "nan"]))

    assert values.tolist()[:5] == [1234.5, 1234.5, 1234.5, 0.5, 1000.0]
    assert bad.tolist() == [False] * 6 + [True, True]


def test_booleans_accept_russian_and_english_words():
    values, bad = parse_booleans(pd.Series(["Y", "n", "Да", "нет", "TRUE", "0", "",
                                            "maybe"]))

    assert values.tolist()[:6] == [True, False, True, False, True, False]
    assert bad.tolist() == [False] * 7 + [True]


def test_delimiter_sniffing_ignores_quoted_commas():
    assert sniff_delimiter('"Name, full";"City"') == ";"
    assert sniff_delimiter("a,b;c,d") == ","
    assert sniff_delimiter("a\tb\tc") == "\t"


def test_xlsx_and_parquet_files_are_read(tmp_path):
    frame = pd.DataFrame({"id": [1, 2], "amount": [1.5, 2.25]})
    frame.to_excel(tmp_path / "t.xlsx", index=False)
    frame.to_parquet(tmp_path / "t.parquet")

    from_xlsx = read_table(tmp_path / "t.xlsx")
    from_parquet = read_table(tmp_path / "t.parquet")

    assert from_xlsx["amount"].tolist() == ["1.5", "2.25"]
    assert from_parquet["amount"].tolist() == [1.5, 2.25]


def test_parquet_typed_columns_load_without_reparsing(con, tmp_path):
    pd.DataFrame({"id": [7], "amount": [10.005], "at": [pd.Timestamp("2024-01-02")]}
                 ).to_parquet(tmp_path / "o.parquet")
    mapping = {"loads": [{"entity": "orders", "file": "o.parquet",
                          "fields": {"id": "id", "amount": "amount",
                                     "created_at": "at"}}]}

    importers.import_files(con, mapping, directory=tmp_path)

    assert con.execute("SELECT id, created_at FROM orders").fetchall() == [
        (7, datetime(2024, 1, 2))]


def test_missing_column_error_names_file_and_column(con, tmp_path):
    write(tmp_path / "c.csv", "id,nme\n1,Ann\n")
    mapping = {"loads": [{"entity": "contacts", "file": "c.csv",
                          "fields": {"id": "id", "name": "name"}}]}

    with pytest.raises(ImportFileError, match=r"c\.csv: column 'name'"):
        importers.import_files(con, mapping, directory=tmp_path)
    assert con.execute("SELECT count(*) FROM loads").fetchone()[0] == 0


def test_mapping_errors_name_the_key(tmp_path):
    bad_key = {"loads": [{"entity": "contacts", "file": "c.csv",
                          "fields": {"id": {"colum": "id"}}}]}
    bad_field = {"loads": [{"entity": "deals", "file": "d.csv",
                            "fields": {"id": "id", "amout": "x"}}]}

    with pytest.raises(MappingError, match=r"fields\.id\.colum: unknown key; "
                                           r"did you mean 'column'"):
        load_mapping(bad_key)
    with pytest.raises(ValueError, match=r"fields\.amout: .*did you mean 'amount'"):
        load_mapping(bad_field)


def test_every_shipped_mapping_parses():
    names = set(shipped_mappings())

    assert {"maven-crm", "olist-ecommerce", "olist-funnel",
            "salesforce-tree"} <= names
    for name in names:
        assert load_mapping(name).loads


def _cli(argv):
    parser = argparse.ArgumentParser()
    import_cli.register_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.run(args)


def test_cli_prints_counts_and_writes_rejects(tiny_crm, tmp_path, capsys):
    (tiny_crm / "m.json").write_text(json.dumps(DEALS_MAPPING), encoding="utf-8")
    rejects = tmp_path / "rejects.csv"

    code = _cli(["import", "--db", str(tmp_path / "w.duckdb"), "--mapping",
                 str(tiny_crm / "m.json"), "--dir", str(tiny_crm),
                 "--rejects", str(rejects)])

    out = capsys.readouterr().out
    assert code == 0
    assert "deals.csv -> deals: 5 in, 2 loaded, 3 rejected" in out
    assert "  row 3: amount: cannot read '12,3x'" in out
    with open(rejects, encoding="utf-8") as f:
        assert [r["row"] for r in csv.DictReader(f)] == ["2", "3", "5"]


def test_cli_json_output_is_one_object(tiny_crm, tmp_path, capsys):
    (tiny_crm / "m.json").write_text(json.dumps(DEALS_MAPPING), encoding="utf-8")

    _cli(["import", "--db", str(tmp_path / "w.duckdb"), "--mapping",
          str(tiny_crm / "m.json"), str(tiny_crm / "companies.csv"), "--json"])

    summary = json.loads(capsys.readouterr().out)
    assert summary["rows_loaded"] == 2
    assert [x["file"] for x in summary["loads"]] == ["companies.csv"]


def test_cli_missing_file_exits_2_naming_the_file(tmp_path, monkeypatch, capsys):
    from workbench import __main__ as entry

    code = entry.main(["import", "--db", str(tmp_path / "w.duckdb"),
                       "--mapping", "maven-crm", "--dir", str(tmp_path)])

    assert code == 2
    assert "accounts.csv: file not found" in capsys.readouterr().err


# --------------------------------------------------------------------------
# What a new user's mistakes do: each row or file named, no traceback

CONTACTS_MAPPING = {"name": "tiny-contacts", "loads": [
    {"entity": "contacts", "file": "people.csv",
     "fields": {"id": "id", "name": "name", "created_at": "created_at"}}]}
AMOUNTS_MAPPING = {"name": "tiny-amounts", "loads": [
    {"entity": "deals", "file": "amounts.csv",
     "fields": {"id": "id", "amount": "amount", "contact_id": "contact"}}]}
NOT_A_FILE_OF_ANY_KIND = bytes(range(256)) * 8  # NUL and every control byte


def _import(con, tmp_path, mapping, name, text):
    write(tmp_path / name, text)
    return importers.import_files(con, mapping, directory=tmp_path)


def test_row_with_more_or_fewer_fields_is_rejected_alone(con, tmp_path):
    text = ("id,name,created_at\n1,Анна,2024-01-01\n2,Иванов, Иван,2024-01-02\n"
            "3,Олег,2024-01-03\n4,Пётр\n")

    result = _import(con, tmp_path, CONTACTS_MAPPING, "people.csv", text)

    assert con.execute("SELECT id FROM contacts ORDER BY id").fetchall() == [(1,), (3,)]
    assert [(r.row, r.reason) for r in result.rejections] == [
        (2, "has 4 fields where the header has 3; a delimiter inside an "
            "unquoted value?"),
        (4, "has 2 fields where the header has 3; a value or a delimiter is "
            "missing"),
    ]


def test_quote_left_open_to_the_end_rejects_its_record_naming_the_lines(
        con, tmp_path):
    text = ('id;name;created_at\n1;"Анна;2024-01-01\n2;Клиент;2024-01-02\n'
            "3;Олег;2024-01-03\n")

    result = _import(con, tmp_path, CONTACTS_MAPPING, "people.csv", text)

    load = result.loads[0]
    assert (load.rows_in, load.lines_in, load.rows_loaded) == (1, 3, 0)
    assert load.rejections[0].reason.startswith(
        "this record runs over lines 2-4 of the file: a quote opened in it is "
        "never closed — check the quotes; has 2 fields where the header has 3")
    assert load.lines_note == "3 data lines make 1 row: row 1 runs over lines 2-4"


def test_quote_closed_on_a_later_line_is_named_in_the_rejection(con, tmp_path):
    text = ('id;name;created_at\n1;"Анна;x\n2";Клиент\n3;Олег;2024-01-03\n')

    result = _import(con, tmp_path, CONTACTS_MAPPING, "people.csv", text)

    load = result.loads[0]
    assert (load.rows_in, load.lines_in, load.rows_loaded) == (2, 3, 1)
    assert [(r.row, r.reason) for r in load.rejections] == [(1, (
        "this record runs over lines 2-3 of the file: if no value in it holds a "
        "line break, a quote opened in it is closed only on line 3 — check the "
        "quotes; created_at: cannot read 'Клиент' as datetime (column created_at)"))]
    assert con.execute("SELECT id, name FROM contacts").fetchall() == [(3, "Олег")]


@pytest.mark.parametrize("amount, reason", [
    pytest.param("99999999999999999999999999",
                 "amount: '99999999999999999999999999' is too large; money must be "
                 "below 10^15 (column amount)", id="26-digits"),
    pytest.param("1e308", "amount: '1e308' is too large; money must be below "
                 "10^15 (column amount)", id="1e308"),
    pytest.param("1 000 000 000 000 000,99", "amount: '1 000 000 000 000 000,99' "
                 "is too large; money must be below 10^15 (column amount)",
                 id="10^15-and-cents"),
    pytest.param("inf", "amount: cannot read 'inf' as money (column amount)",
                 id="inf"),
    pytest.param("nan", "amount: cannot read 'nan' as money (column amount)",
                 id="nan"),
])
def test_money_out_of_range_rejects_the_row(con, tmp_path, amount, reason):
    text = f'id;amount;contact\n1;"{amount}";\n2;5;\n'

    result = _import(con, tmp_path, AMOUNTS_MAPPING, "amounts.csv", text)

    assert [(r.row, r.reason) for r in result.rejections] == [(1, reason)]
    assert con.execute("SELECT id, amount FROM deals").fetchall() == [
        (2, Decimal("5.00"))]


def test_money_just_below_10_15_keeps_every_cent(con, tmp_path):
    text = 'id;amount;contact\n1;"999 999 999 999 999,99";\n2;0,07;\n'

    _import(con, tmp_path, AMOUNTS_MAPPING, "amounts.csv", text)

    assert con.execute("SELECT id, amount FROM deals ORDER BY id").fetchall() == [
        (1, Decimal("999999999999999.99")), (2, Decimal("0.07"))]


@pytest.mark.parametrize("column, value", [
    pytest.param("id", "-5", id="own-id-negative"),
    pytest.param("id", "0", id="own-id-zero"),
    pytest.param("contact", "-5", id="contact-id-negative"),
])
def test_ids_below_one_are_rejected(con, tmp_path, column, value):
    row = {"id": "1", "amount": "10", "contact": "7", column: value}
    text = "id;amount;contact\n" + ";".join(row.values()) + "\n2;5;7\n"

    result = _import(con, tmp_path, AMOUNTS_MAPPING, "amounts.csv", text)

    field = "id" if column == "id" else "contact_id"
    assert [(r.row, r.reason) for r in result.rejections] == [(1, (
        f"{field}: '{value}' is not an id; ids are whole numbers from 1 "
        f"(column {column})"))]
    assert con.execute("SELECT id FROM deals").fetchall() == [(2,)]


@pytest.mark.parametrize("name, data, message", [
    pytest.param("book.xlsx", NOT_A_FILE_OF_ANY_KIND,
                 "book.xlsx: not an XLSX workbook (the file holds binary data",
                 id="binary-xlsx"),
    pytest.param("book.xlsx", b"id,name\n1,a\n",
                 "book.xlsx: not an XLSX workbook (the file holds text",
                 id="csv-named-xlsx"),
    pytest.param("book.xlsx", b"PK\x03\x04 not really a zip",
                 "book.xlsx: not an XLSX workbook (", id="broken-zip-xlsx"),
    pytest.param("data.csv", NOT_A_FILE_OF_ANY_KIND,
                 "data.csv: not a text file: it holds binary data", id="binary-csv"),
    pytest.param("data.csv", b"PK\x03\x04" + NOT_A_FILE_OF_ANY_KIND,
                 "data.csv: not a text file: it holds a ZIP archive (an XLSX "
                 "workbook is one)", id="xlsx-named-csv"),
    pytest.param("data.parquet", b"id,name\n1,a\n",
                 "data.parquet: not a Parquet file (a Parquet file starts and ends "
                 "with the bytes PAR1)", id="not-parquet"),
    pytest.param("data.csv", b"", "data.csv: the file is empty; nothing to load",
                 id="empty-csv"),
    pytest.param("data.csv", b"id,name\r\n",
                 "data.csv: the file has a header but no data rows; nothing to load",
                 id="header-only-csv"),
    pytest.param("data.json", b"[]",
                 "data.json: the file holds no data; nothing to load",
                 id="empty-json"),
])
def test_unreadable_files_are_named_with_what_is_wrong(tmp_path, name, data,
                                                       message):
    (tmp_path / name).write_bytes(data)

    with pytest.raises(ImportFileError) as caught:
        read_table(tmp_path / name)

    assert str(caught.value).startswith(message)
    assert str(tmp_path) not in str(caught.value)


def test_header_only_xlsx_is_refused(tmp_path):
    pd.DataFrame({"id": [], "name": []}).to_excel(tmp_path / "b.xlsx", index=False)

    with pytest.raises(ImportFileError, match=r"^b\.xlsx: the file has a header "
                       "but no data rows"):
        read_table(tmp_path / "b.xlsx")


def test_a_data_file_given_as_the_mapping_is_named(tmp_path):
    (tmp_path / "binary.csv").write_bytes(NOT_A_FILE_OF_ANY_KIND)

    with pytest.raises(MappingError) as caught:
        load_mapping(tmp_path / "binary.csv")

    assert str(caught.value) == (
        "binary.csv: not a mapping: a mapping is a JSON text file in UTF-8, and "
        "byte 128 is not UTF-8; is it a data file rather than a mapping?")


def test_cli_overflowing_amount_is_a_rejection_not_a_traceback(tmp_path, capsys):
    from workbench import __main__ as entry
    (tmp_path / "m.json").write_text(json.dumps(AMOUNTS_MAPPING), encoding="utf-8")
    write(tmp_path / "amounts.csv", "id;amount;contact\n1;1e308;\n2;5;\n")

    code = entry.main(["import", "--db", str(tmp_path / "w.duckdb"), "--mapping",
                       str(tmp_path / "m.json"), "--dir", str(tmp_path)])

    out = capsys.readouterr().out
    assert code == 0
    assert "amounts.csv -> deals: 2 in, 1 loaded, 1 rejected" in out
    assert "row 1: amount: '1e308' is too large; money must be below 10^15" in out


def test_cli_binary_mapping_exits_2_naming_it(tmp_path, capsys):
    from workbench import __main__ as entry
    (tmp_path / "binary.csv").write_bytes(NOT_A_FILE_OF_ANY_KIND)

    code = entry.main(["import", "--db", str(tmp_path / "w.duckdb"), "--mapping",
                       str(tmp_path / "binary.csv")])

    assert code == 2
    assert capsys.readouterr().err.startswith("error: binary.csv: not a mapping")


def test_import_adds_itself_to_the_workspace_origin(con, tmp_path):
    store.set_setting(con, "origin", "demo: 5000 contacts, seed 1, as of 2026-12-01")

    _import(con, tmp_path, CONTACTS_MAPPING, "people.csv",
            "id,name,created_at\n1,Анна,2024-01-01\n2,Олег,2024-01-02\n")

    origin = store.get_setting(con, "origin")
    assert origin.startswith("demo: 5000 contacts, seed 1, as of 2026-12-01; then "
                             "imported people.csv (2 rows, replace) on ")


def test_origin_keeps_the_first_entry_and_the_last_three_imports(con):
    store.set_setting(con, "origin", "demo")

    for i in range(5):
        importers.note_origin(con, f"import {i}")

    assert store.get_setting(con, "origin") == (
        "demo; then …; then import 2; then import 3; then import 4")


def test_replace_scope_counts_the_table_and_what_refers_to_it(con):
    con.execute("INSERT INTO contacts (id) SELECT range FROM range(1, 5001)")
    con.execute("INSERT INTO deals (id, contact_id) VALUES (1, 7), (2, NULL)")

    scope = importers.replace_scope(con, "contacts")

    assert scope.confirmation() == "Empty contacts (5,000 rows) before loading"
    assert ("deals", "contact_id", 1) in scope.referring


@pytest.mark.parametrize("text", [
    pytest.param("id,name\n1,Anna,extra\n2,Boris\n", id="more_fields"),
    pytest.param("id,name\n1\n2,Boris\n", id="fewer_fields"),
    pytest.param('id,name\n1,"Anna\nKarenina"\n2,Boris\n', id="multi_line"),
])
def test_odd_records_leave_the_fast_reader_for_the_careful_one(tmp_path, text):
    from workbench.readers import _read_csv_fast, read_csv

    path = tmp_path / "odd.csv"
    path.write_text(text, encoding="utf-8")

    assert _read_csv_fast(text, ",") is None
    assert len(read_csv(path)) == 2


def test_plain_file_is_read_in_one_pass(tmp_path):
    from workbench.readers import _read_csv_fast

    frame = _read_csv_fast('"id";"name";\n"1";"Anna";\n"2";"Boris";\n', ";")

    assert frame[["id", "name"]].values.tolist() == [["1", "Anna"], ["2", "Boris"]]


def test_first_replace_into_demo_data_removes_the_whole_demo(tmp_path, capsys):
    from datetime import date

    from workbench import demo
    from workbench.__main__ import main

    db = tmp_path / "w.duckdb"
    con = store.connect(db)
    demo.generate(con, contacts=300, seed=1, as_of=date(2026, 6, 30))
    con.close()
    path = tmp_path / "contacts.csv"
    path.write_text("id,name\n1,Anna\n2,Boris\n", encoding="utf-8")
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({"name": "m", "loads": [
        {"entity": "contacts", "file": "contacts.csv",
         "fields": {"id": "id", "name": "name"}}]}), encoding="utf-8")

    code = main(["import", "--db", str(db), "--mapping", str(mapping),
                 "--dir", str(tmp_path)])

    assert code == 0
    assert "the demo data was removed first" in capsys.readouterr().out
    con = store.connect(db)
    counts = store.table_counts(con)
    assert counts["contacts"] == 2
    assert counts["deals"] == counts["opt_outs"] == counts["orders"] == 0
    assert not store.holds_demo(con)
    con.close()


def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")

    with pytest.raises(store.StoreError, match="is not a workbench database"):
        store.connect(path)
