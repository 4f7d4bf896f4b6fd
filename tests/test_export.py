"""Mailing-list, Yandex.Audiences and VK Ads exports with their reports."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest

from tests import tiny
from workbench import definition, store
from workbench.__main__ import main
from workbench.definition import Definition
from workbench.export import ExportError, ExportRefused, build_export, write_export

EVERYONE = Definition("everyone", "All contacts")


def add_contacts(con, n: int, start: int = 1000) -> None:
    """``n`` contacts with distinct e-mails written in mixed case with spaces."""
    con.execute("INSERT INTO contacts (id, name, email, phone) "
                "SELECT i, 'C' || i, ' User' || i || '@Example.RU ', "
                "'8 (903) ' || lpad(CAST(i AS VARCHAR), 7, '0') "
                "FROM range($a, $b) AS r(i)", {"a": start, "b": start + n})


def test_mailing_list_keeps_id_name_and_normalised_address():
    con = tiny.build()

    result = build_export(con, EVERYONE, as_of=tiny.AS_OF, platform="mailing",
                          channel="email")

    assert result.text() == "id,name,email\n2,Boris,boris@example.ru\n6,Ёжик,e@x.ru\n"
    assert result.report["rows_in"] == 6
    assert result.report["dropped"] == {"no address": 2, "invalid address": 1,
                                        "opted out": 1, "duplicate address": 0}
    assert result.report["rows_out"] == 2


def test_yandex_export_below_100_rows_is_refused_with_the_reason(tmp_path):
    con = tiny.build()
    out = tmp_path / "yandex.csv"
    result = build_export(con, EVERYONE, as_of=tiny.AS_OF, platform="yandex")

    with pytest.raises(ExportRefused) as caught:
        write_export(result, out)

    assert str(caught.value).startswith(
        'Yandex.Audiences needs at least 100 rows; segment "everyone" gives 2 after '
        "dropping 4 of 6 members")
    assert not out.exists()
    report = json.loads((tmp_path / "yandex.csv.report.json").read_text())
    assert report["refused"] == result.refused
    assert report["file"] is None


def test_yandex_export_hashes_normalised_values_with_sha256(tmp_path):
    con = tiny.build()
    add_contacts(con, 99)
    con.execute("INSERT INTO contacts (id, name, email) VALUES "
                "(5000, 'Anna K', ' Anna@Example.RU ')")
    out = tmp_path / "yandex.csv"

    result = build_export(con, EVERYONE, as_of=tiny.AS_OF, platform="yandex",
                          channel="email", hash="sha256")
    write_export(result, out)

    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "email"
    assert len(lines) == 1 + 2 + 99 + 1  # header, Boris and e@x.ru, added, Anna K
    anna = hashlib.sha256(b"anna@example.ru").hexdigest()
    user = hashlib.sha256(b"user1000@example.ru").hexdigest()
    assert anna in lines and user in lines
    report = json.loads((tmp_path / "yandex.csv.report.json").read_text())
    assert (report["rows_out"], report["file"], report["hash"]) == (
        102, "yandex.csv", "sha256")


def test_yandex_phone_export_writes_seven_and_ten_digits(tmp_path):
    con = tiny.build()
    add_contacts(con, 100)

    result = build_export(con, EVERYONE, as_of=tiny.AS_OF, platform="yandex",
                          channel="phone")

    phones = result.rows["phone"].tolist()
    assert phones[:2] == ["79160000001", "79160000005"]  # Vera opted out of calls
    assert phones[2] == "79030001000"  # "8 (903) 0001000"


def test_vk_export_below_2000_unique_values_is_refused():
    con = tiny.build()
    add_contacts(con, 1_997)

    result = build_export(con, EVERYONE, as_of=tiny.AS_OF, platform="vk")

    assert result.report["rows_out"] == 1_999
    assert result.refused.startswith("VK Ads needs at least 2,000 unique values")


def test_vk_export_has_one_identifier_kind_under_an_id_header(tmp_path):
    con = tiny.build()
    add_contacts(con, 2_000)
    out = tmp_path / "vk.csv"

    write_export(build_export(con, EVERYONE, as_of=tiny.AS_OF, platform="vk",
                              channel="email"), out)

    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[:3] == ["id", "boris@example.ru", "e@x.ru"]
    assert len(lines) == 2_003


def test_hashing_is_refused_for_platforms_taking_raw_values():
    con = tiny.build()

    with pytest.raises(ExportError, match="VK Ads takes raw values"):
        build_export(con, EVERYONE, as_of=tiny.AS_OF, platform="vk", hash="sha256")


def test_export_command_writes_the_file_and_its_report(tmp_path, capsys):
    db = tmp_path / "crm.duckdb"
    con = store.connect(db)
    add_contacts(con, 150)
    con.close()
    seg = tmp_path / "everyone.json"
    seg.write_text(definition.to_json(EVERYONE), encoding="utf-8")
    out = tmp_path / "list.csv"

    code = main(["export", str(seg), "--db", str(db), "--to", "yandex", "--out",
                 str(out), "--channel", "phone", "--as-of", "2026-06-30"])

    assert code == 0
    assert out.read_text().splitlines()[:2] == ["phone", "79030001000"]
    assert "150 rows from 150 members" in capsys.readouterr().out


def test_export_command_refusal_exits_2_with_the_reason(tmp_path, capsys):
    db = tmp_path / "crm.duckdb"
    store.connect(db).close()
    seg = tmp_path / "everyone.json"
    seg.write_text(definition.to_json(EVERYONE), encoding="utf-8")

    code = main(["export", str(seg), "--db", str(db), "--to", "vk", "--out",
                 str(tmp_path / "vk.txt"), "--as-of", "2026-06-30"])

    assert code == 2
    assert "VK Ads needs at least 2,000 unique values" in capsys.readouterr().err


def test_mailing_list_names_cannot_run_as_spreadsheet_formulas():
    from workbench.export import defuse_formulas

    names = pd.Series(['=HYPERLINK("http://x") =1+1', "+7 ok", "Anna", "-1", "@me"])

    assert defuse_formulas(names).tolist() == [
        '\'=HYPERLINK("http://x") =1+1', "'+7 ok", "Anna", "'-1", "'@me"]
