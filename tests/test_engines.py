"""The same definitions give the same members on DuckDB, PostgreSQL and Spark.

A real PostgreSQL server and a local Spark session (tests/engines_setup.py)
are loaded with the tables of the DuckDB stores the other tests use: the
tiny hand-made CRM and generated demo data. Every example segment and every
semantic unit case must return identical member sets everywhere.

The engine tests are marked ``engines``: ``pytest -m "not engines"`` skips
them for a quick run; the default run (CI) runs them. Rendering for Trino,
BigQuery and ClickHouse needs no engine and always runs.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from datetime import date

import pandas as pd
import pytest

from tests import engines_setup, tiny
from tests.conftest import SEGMENTS
from tests.test_semantics import FIELD_CASES, OPEN, WON
from workbench import compiler, definition, demo, dialects, engines, evaluator, store
from workbench.__main__ import main
from workbench.library import Library

AS_OF = date(2026, 6, 30)
EXAMPLES = sorted(p.stem for p in SEGMENTS.glob("*.json"))
ENGINES = ("postgres", "spark")
engines_mark = pytest.mark.engines


# --------------------------------------------------------------------------
# Fixtures: one server and one session for the whole run, two data sets each


@pytest.fixture(scope="session")
def postgres_server():
    server = engines_setup.start_postgres()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def spark_session():
    session = engines_setup.start_spark()
    yield session
    session.stop()


@pytest.fixture(scope="session")
def duck_demo():
    con = store.connect()
    demo.generate(con, contacts=3000, seed=11, as_of=AS_OF)
    return con


@pytest.fixture(scope="session")
def duck_tiny():
    return tiny.build()


def _postgres(server, name, con):
    engine = engines.PostgresEngine.connect(server.create_database(name))
    engines.copy_store(con, engine)
    return engine


@pytest.fixture(scope="session")
def postgres_demo(postgres_server, duck_demo):
    engine = _postgres(postgres_server, "demo", duck_demo)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def postgres_tiny(postgres_server, duck_tiny):
    engine = _postgres(postgres_server, "tiny", duck_tiny)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def spark_demo(spark_session, duck_demo):
    # The demo lives in the root session, where `--spark local[2]` finds it.
    engine = engines.SparkEngine(spark_session)
    engines.copy_store(duck_demo, engine)
    return engine


@pytest.fixture(scope="session")
def spark_tiny(spark_session, duck_tiny):
    engine = engines.SparkEngine(spark_session.newSession())
    engines.copy_store(duck_tiny, engine)
    return engine


@pytest.fixture(params=ENGINES)
def demo_engine(request):
    return request.getfixturevalue(f"{request.param}_demo")


@pytest.fixture(params=ENGINES)
def tiny_engine(request):
    return request.getfixturevalue(f"{request.param}_tiny")


def parse(include, exclude=(), entity="contacts", **extra):
    return definition.parse({"id": "t", "name": "t", "entity": entity,
                             "include": include, "exclude": list(exclude), **extra})


# --------------------------------------------------------------------------
# Example segments on the demo data


@engines_mark
@pytest.mark.parametrize("segment", EXAMPLES)
def test_example_segment_has_the_same_members_everywhere(demo_engine, duck_demo,
                                                         segment):
    defn = definition.load(SEGMENTS / f"{segment}.json")
    library = Library(SEGMENTS)

    got = engines.member_ids(demo_engine, defn, as_of=AS_OF, resolver=library)

    expected = evaluator.member_ids(duck_demo, defn, as_of=AS_OF, resolver=library)
    assert got == expected
    assert len(expected) >= 5


@engines_mark
@pytest.mark.parametrize("segment", ["vip", "two-capitals", "it-companies-in-play"])
def test_channel_counts_match_duckdb(demo_engine, duck_demo, segment):
    defn = definition.load(SEGMENTS / f"{segment}.json")

    got = engines.channel_counts(demo_engine, defn, as_of=AS_OF)

    assert got == evaluator.channel_counts(duck_demo, defn, as_of=AS_OF)


@engines_mark
def test_members_frame_matches_duckdb(demo_engine, duck_demo):
    defn = definition.load(SEGMENTS / "two-capitals.json")

    got = engines.members(demo_engine, defn, as_of=AS_OF, limit=50)

    expected = evaluator.members(duck_demo, defn, as_of=AS_OF, limit=50)
    pd.testing.assert_frame_equal(got, expected)


# --------------------------------------------------------------------------
# Semantic unit cases on the tiny CRM (expected ids from tests/test_semantics)


def _field(name, op, value=None):
    cond = {"field": name, "op": op}
    if value is not None:
        cond["value"] = value
    return {"all": [cond]}


@engines_mark
@pytest.mark.parametrize("name, op, value, expected", FIELD_CASES)
def test_field_case_gives_the_same_members(tiny_engine, duck_tiny, name, op, value,
                                           expected):
    defn = parse(_field(name, op, value))

    got = engines.member_ids(tiny_engine, defn, as_of=tiny.AS_OF)

    assert got == expected
    assert got == evaluator.member_ids(duck_tiny, defn, as_of=tiny.AS_OF)


def _related(relation, quantifier="exists", where=None, **agg):
    cond = {"related": relation, "quantifier": quantifier, **agg}
    if where is not None:
        cond["where"] = where
    return cond


WON_RECENT = {"all": [{"field": "stage_semantics", "op": "equals", "value": "won"},
                      {"field": "closed_at", "op": "in_last_days", "value": 60}]}
LAST_WON = _related("deals", "max", WON, field="closed_at", op="more_than_days_ago",
                    value=180)
PRICING = {"all": [{"field": "page", "op": "equals", "value": "/pricing"},
                   {"field": "visited_at", "op": "in_last_days", "value": 14}]}
MAILING = _related("mailings", where={"all": [
    {"field": "mailing_name", "op": "equals", "value": "Spring sale 2026"}]})
UNSUB = _related("opt_outs", where={"all": [
    {"field": "channel", "op": "equals", "value": "email"}]})
MOSCOW = {"field": "city", "op": "equals", "value": "moscow"}
NO_EMAIL = {"field": "email", "op": "not_filled"}

RELATED_CASES = [
    pytest.param({"all": [_related("deals", where=WON_RECENT)]}, (), "contacts", [1],
                 id="related_predicates_hold_on_the_same_record"),
    pytest.param({"all": [_related("deals", "sum", WON, field="amount", op="lt",
                                   value=1000)]}, (), "contacts", [4, 6],
                 id="sum_over_no_records_is_zero"),
    pytest.param({"all": [_related("deals", "sum", WON, field="amount", op="gt",
                                   value=100000)]}, (), "contacts", [1, 5],
                 id="sum_greater_than_threshold"),
    pytest.param({"all": [_related("deals", "sum", field="amount", op="equals",
                                   value=1000)]}, (), "contacts", [3],
                 id="sum_ignores_empty_amounts"),
    pytest.param({"all": [_related("deals", "count", op="equals", value=0)]}, (),
                 "contacts", [4, 6], id="count_zero_includes_contacts_without_records"),
    pytest.param({"all": [_related("deals", "count", op="gte", value=2)]}, (),
                 "contacts", [1, 2, 3], id="count_at_least"),
    pytest.param({"all": [LAST_WON]}, (), "contacts", [2, 5],
                 id="max_over_no_records_is_undefined_and_false"),
    pytest.param({"all": [_related("deals", "min", field="amount", op="lt",
                                   value=60000)]}, (), "contacts", [1, 3],
                 id="min_amount"),
    pytest.param({"all": [LAST_WON, _related("deals", "none", OPEN)]}, (), "contacts",
                 [5], id="inactive_needs_a_won_deal_and_no_open_deal"),
    pytest.param({"all": [_related("deals", "none")]}, (), "contacts", [4, 6],
                 id="none_quantifier_includes_contacts_without_records"),
    pytest.param({"all": [_related("deals", where={"all": [
        {"field": "stage", "op": "equals", "value": "negotiation"},
        _related("assigned_user", where={"all": [
            {"field": "department", "op": "equals", "value": "Retail sales"}]})]})]},
        (), "contacts", [2], id="nested_relation_to_user_department"),
    pytest.param({"all": [_related("company", "none", {"all": [
        {"field": "industry", "op": "equals", "value": "it"}]})]}, (), "contacts",
        [3, 4, 5, 6], id="company_relation_absence"),
    pytest.param({"all": [_related("order_items", where={"all": [
        {"field": "category", "op": "equals", "value": "home"},
        {"field": "order_status", "op": "in", "value": ["paid"]}]})]}, (),
        "contacts", [1], id="order_items_see_their_orders_contact_and_status"),
    pytest.param({"all": [_related("visits", "count", PRICING, op="gte", value=2)]},
                 (), "contacts", [1], id="visits_count_in_window"),
    pytest.param({"any": [MOSCOW, NO_EMAIL]}, (), "contacts", [1, 2, 3, 4],
                 id="group_any"),
    pytest.param({"none": [MOSCOW, NO_EMAIL]}, (), "contacts", [5, 6],
                 id="group_none"),
    pytest.param({"all": []}, [MAILING, UNSUB], "contacts", [3, 4, 5, 6],
                 id="exclusions_remove_in_order"),
    pytest.param(_field("status_semantics", "not_in", ["converted"]), (), "leads",
                 [1], id="leads_are_an_entity"),
    pytest.param({"all": [_related("contacts", "count", op="gte", value=2)]}, (),
                 "companies", [10, 11], id="companies_are_an_entity"),
    pytest.param(_field("employees", "filled"), (), "companies", [10, 11],
                 id="zero_is_a_value_not_empty"),
]


@engines_mark
@pytest.mark.parametrize("include, exclude, entity, expected", RELATED_CASES)
def test_semantic_case_gives_the_same_members(tiny_engine, duck_tiny, include,
                                              exclude, entity, expected):
    defn = parse(include, exclude, entity)

    got = engines.member_ids(tiny_engine, defn, as_of=tiny.AS_OF)

    assert got == expected
    assert got == evaluator.member_ids(duck_tiny, defn, as_of=tiny.AS_OF)


@engines_mark
@pytest.mark.parametrize("op, days", [("in_last_days", 3650),
                                      ("more_than_days_ago", 0),
                                      ("exactly_days_ago", 0)])
def test_future_and_empty_dates_match_no_relative_operator(tiny_engine, op, days):
    got = engines.member_ids(tiny_engine, parse(_field("created_at", op, days)),
                             as_of=tiny.AS_OF)

    assert 4 not in got and 6 not in got


@engines_mark
def test_static_snapshot_and_segment_references(tiny_engine):
    frozen = parse({"all": [MOSCOW]}, mode="static",
                   snapshot={"as_of": "2026-01-01", "ids": [3, 5]})
    empty = parse({"all": []}, mode="static",
                  snapshot={"as_of": "2026-01-01", "ids": []})
    table = {"moscow": parse({"all": [MOSCOW]}),
             "has-email": parse(_field("email", "filled"))}

    def resolver(seg_id):
        return table[seg_id]

    both = parse({"all": [{"segment": "moscow"}, {"segment": "has-email"}]})

    assert engines.member_ids(tiny_engine, frozen, as_of=tiny.AS_OF) == [3, 5]
    assert engines.member_ids(tiny_engine, empty, as_of=tiny.AS_OF) == []
    assert engines.member_ids(tiny_engine, both, as_of=tiny.AS_OF,
                              resolver=resolver) == [1, 2]


@engines_mark
@pytest.mark.parametrize("hostile", ["'; DROP TABLE contacts; --", "%(p0)s", ":p0",
                                     "%_\\", "🙂 Москва"])
def test_hostile_values_are_plain_values(tiny_engine, hostile):
    for name, op in [("city", "equals"), ("city", "contains"), ("tags", "contains")]:
        defn = parse(_field(name, op, hostile))

        assert engines.member_ids(tiny_engine, defn, as_of=tiny.AS_OF) == []

    assert engines.count(tiny_engine, parse({"all": []}), as_of=tiny.AS_OF) == 6


@engines_mark
def test_tiny_channel_counts_apply_opt_outs(tiny_engine, duck_tiny):
    defn = parse({"all": []})

    got = engines.channel_counts(tiny_engine, defn, as_of=tiny.AS_OF)

    assert got.as_dict() == {"total": 6, "with_email": 4, "with_phone": 3,
                             "email_reachable": 2, "phone_reachable": 2}


# --------------------------------------------------------------------------
# The command line


def _cli(args):
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(args)
    return code, out.getvalue()


@engines_mark
@pytest.mark.parametrize("segment", ["vip", "spring-sale-followup"])
def test_cli_count_and_members_on_postgres_and_spark(postgres_demo, spark_demo,
                                                     duck_demo, segment):
    path = str(SEGMENTS / f"{segment}.json")
    defn = definition.load(path)
    expected_ids = evaluator.member_ids(duck_demo, defn, as_of=AS_OF,
                                        resolver=Library(SEGMENTS))
    where = [["--postgres", postgres_demo.connection.info.dsn],
             ["--spark", engines_setup.SPARK_MASTER]]

    for option in where:
        code, out = _cli(["count", path, *option, "--as-of", "2026-06-30", "--json"])
        assert code == 0
        assert json.loads(out)["count"] == len(expected_ids)

        code, out = _cli(["members", path, *option, "--as-of", "2026-06-30",
                          "--format", "ids"])
        assert code == 0
        assert [int(line) for line in out.split()] == expected_ids


def test_cli_refuses_two_places_at_once(capsys):
    code = main(["count", str(SEGMENTS / "vip.json"), "--db", "x.duckdb",
                 "--postgres", "host=127.0.0.1"])

    assert code == 2
    assert "exactly one of --db" in capsys.readouterr().err


# --------------------------------------------------------------------------
# Rendering only: Trino, BigQuery, ClickHouse


@pytest.mark.parametrize("dialect", ["trino", "bigquery", "clickhouse"])
@pytest.mark.parametrize("segment", EXAMPLES)
def test_example_renders_or_names_the_condition(dialect, segment):
    defn = definition.load(SEGMENTS / f"{segment}.json")
    library = Library(SEGMENTS)
    compiled = compiler.compile_members(defn, AS_OF, library)

    try:
        sql = dialects.render(compiled, dialect, defn, as_of=AS_OF, resolver=library)
    except dialects.DialectError as err:
        assert err.dialect == dialect and err.segment == segment
        assert err.path and err.condition and dialect in str(err)
    else:
        assert sql.startswith("SELECT")


def test_clickhouse_names_the_list_condition():
    defn = parse({"all": [MOSCOW, {"field": "tags", "op": "contains", "value": "vip"}]})
    compiled = compiler.compile_members(defn, AS_OF)

    with pytest.raises(dialects.DialectError) as err:
        dialects.render(compiled, "clickhouse", defn, as_of=AS_OF)

    assert err.value.path == "include.all[1]"
    assert str(err.value).startswith(
        'Segment "t", include.all[1] (Tags contains "vip") cannot be written in '
        "clickhouse")


def test_clickhouse_folds_unicode_and_types_parameters():
    defn = parse({"all": [MOSCOW]})
    compiled = compiler.compile_members(defn, AS_OF)

    sql = dialects.render(compiled, "clickhouse", defn, as_of=AS_OF)

    assert 'lowerUTF8(TRIM("t"."city")) = lowerUTF8(TRIM({p0: String}))' in sql


def test_snapshot_reads_its_array_parameter_in_from_for_bigquery_and_trino():
    defn = parse({"all": []}, mode="static",
                 snapshot={"as_of": "2026-01-01", "ids": [3, 5]})
    compiled = compiler.compile_members(defn, AS_OF)

    trino = dialects.render(compiled, "trino", defn, as_of=AS_OF)
    bigquery = dialects.render(compiled, "bigquery", defn, as_of=AS_OF)

    assert "IN (SELECT u.v FROM UNNEST(:p0) AS u(v))" in trino
    assert "IN (SELECT v FROM UNNEST(@p0) AS v)" in bigquery


def test_engine_docs_list_every_table_and_column_queries_read():
    text = (SEGMENTS.parents[1] / "docs" / "ENGINES.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].split()[0]: line.split("|")[2]
            for line in text.splitlines() if line.startswith("| ") and "BIGINT" in
            line or line.startswith("| workspace")}

    for name in engines.READ_TABLES:
        columns = store.table_ddl()[name]
        assert name in rows, f"docs/ENGINES.md does not list table {name}"
        for column, type_ in columns:
            assert f"{column} {type_}" in rows[name], f"{name}.{column} missing"
