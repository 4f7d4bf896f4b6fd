"""The definition format: validation with paths and hints, canonical round trips."""

from __future__ import annotations

import json

import jsonschema
import pytest

from tests.conftest import REPO, SEGMENTS
from workbench import definition
from workbench.__main__ import main
from workbench.definition import DefinitionError
from workbench.schema import json_schema, schema_text

EXAMPLES = sorted(SEGMENTS.glob("*.json"))


def problems(raw) -> list[str]:
    with pytest.raises(DefinitionError) as err:
        definition.parse(raw)
    return [str(p) for p in err.value.problems]


def test_misspelled_field_names_its_path_and_the_closest_name():
    raw = {"id": "lapsed-vip", "name": "x", "include": {"all": [
        {"field": "city", "op": "filled"},
        {"field": "city", "op": "filled"},
        {"related": "deals", "where": {"any": [
            {"field": "amout", "op": "gt", "value": 5}]}}]}}
    assert problems(raw) == [
        'include.all[2].where.any[0].field: field "deals.amout" is not in the '
        'catalog; did you mean "amount"?']


def test_every_problem_is_reported_at_once():
    raw = {"id": "Bad Id", "name": "", "entity": "contact", "mode": "frozen",
           "include": {"all": [
               {"field": "city", "op": "greater", "value": 1},
               {"field": "created_at", "op": "in_last_days", "value": "ten"},
               {"related": "deal"},
               {"field": "tags", "op": "contains", "value": "  "}]},
           "exclude": [{"segment": 5}], "colour": "red"}
    with pytest.raises(DefinitionError) as err:
        definition.parse(raw)
    got = [str(p) for p in err.value.problems]
    paths = [p.path for p in err.value.problems]
    assert paths == ["", "id", "name", "entity", "mode", "include.all[0].op",
                     "include.all[1].value", "include.all[2].related",
                     "include.all[3].value", "exclude[0].segment"]
    assert 'unknown key "colour"' in got[0]
    assert 'did you mean "deals"' in got[7]


def test_message_names_the_segment_and_lists_problems():
    raw = {"id": "s1", "name": "x", "include": {"all": [
        {"field": "nme", "op": "equals", "value": "a"},
        {"field": "city", "op": "equals"}]}}
    with pytest.raises(DefinitionError) as err:
        definition.parse(raw)
    text = str(err.value)
    assert text.startswith('segment "s1" has 2 problems:')
    assert 'did you mean "name"?' in text
    assert 'include.all[1].value: "equals" needs a value' in text


def test_closed_vocabulary_is_checked_and_canonicalised():
    raw = {"id": "s", "name": "x", "include": {"all": [
        {"related": "deals", "where": {"all": [
            {"field": "stage_semantics", "op": "equals", "value": " WON "}]}}]}}
    defn = definition.parse(raw)
    assert defn.include.children[0].where.children[0].value == "won"
    raw["include"]["all"][0]["where"]["all"][0]["value"] = "wonn"
    assert 'did you mean "won"' in problems(raw)[0]


def test_aggregate_needs_a_fitting_field_and_comparison():
    base = {"id": "s", "name": "x"}
    got = problems({**base, "include": {"all": [
        {"related": "deals", "quantifier": "sum", "field": "stage", "op": "gt",
         "value": 1},
        {"related": "company", "quantifier": "count", "op": "gt", "value": 1},
        {"related": "deals", "quantifier": "count", "op": "contains", "value": 1}]}})
    assert got[0].startswith("include.all[0].field: \"sum\" needs a number field")
    assert got[1].startswith("include.all[1].quantifier: company is a single record")
    assert got[2].startswith("include.all[2].op: comparison")


def test_invalid_json_names_line_and_column(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"id": "x",\n "name": }', encoding="utf-8")
    with pytest.raises(DefinitionError) as err:
        definition.load(path)
    assert "line 2, column 10" in str(err.value)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_round_trips_to_the_same_text(path):
    text = path.read_text(encoding="utf-8")

    defn = definition.loads(text)

    assert definition.to_json(defn) == text
    assert defn.description, "every example states its logic in words"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_satisfies_the_json_schema(path):
    jsonschema.validate(json.loads(path.read_text(encoding="utf-8")), json_schema())


def test_schema_file_is_generated_from_the_catalog():
    committed = (REPO / "data" / "segment.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(), "regenerate: python -m workbench schema " \
        "--out data/segment.schema.json"


def test_validate_command_reports_problems_on_stderr(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"id": "bad", "name": "x", "include": {"all": [
        {"field": "citty", "op": "equals", "value": "Moscow"}]}}), encoding="utf-8")

    code = main(["validate", str(bad), str(SEGMENTS / "vip.json")])

    out, err = capsys.readouterr()
    assert code == 1
    assert 'did you mean "city"' in err and "Traceback" not in err
    assert "vip.json: ok" in out


def test_count_command_on_missing_database_is_a_clear_error(tmp_path, capsys):
    code = main(["count", str(SEGMENTS / "vip.json"), "--db", str(tmp_path / "no.duckdb")])
    err = capsys.readouterr().err
    assert code == 2
    assert "does not exist" in err and "Traceback" not in err


def test_deep_nesting_is_a_problem_not_a_crash():
    group = {"field": "city", "op": "filled"}
    for _ in range(600):
        group = {"all": [group]}

    with pytest.raises(DefinitionError, match="nested more than 40 levels"):
        definition.parse({"id": "deep", "name": "x", "include": group})
    with pytest.raises(DefinitionError, match="nested more than 40 levels"):
        definition.loads('{"id": "deep", "name": "x", "include": '
                         + '{"all": [' * 5000 + "]}" * 5000 + "}")


def test_as_of_outside_the_calendar_is_a_clear_error(tmp_path, capsys):
    db = tmp_path / "d.duckdb"
    assert main(["demo", "--db", str(db), "--contacts", "50"]) == 0
    capsys.readouterr()

    code = main(["count", str(SEGMENTS / "active-buyers.json"), "--db", str(db),
                 "--as-of", "0001-01-01"])

    err = capsys.readouterr().err
    assert code == 2 and "falls outside the calendar" in err


def test_members_csv_writes_lists_as_plain_text(tmp_path, capsys):
    db = tmp_path / "d.duckdb"
    assert main(["demo", "--db", str(db), "--contacts", "200"]) == 0
    capsys.readouterr()

    main(["members", str(SEGMENTS / "two-capitals.json"), "--db", str(db)])

    out = capsys.readouterr().out
    assert "[" not in out and "'" not in out.split("\n", 1)[1]
