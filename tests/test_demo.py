"""The demo data generator: determinism, integrity, realism and its command."""

from __future__ import annotations

import datetime as dt

import pytest

from workbench import demo, demo_vocab, store
from workbench.__main__ import main

AS_OF = dt.date(2026, 6, 30)
CONTACTS = 3000


@pytest.fixture(scope="module")
def con():
    con = store.connect()
    demo.generate(con, contacts=CONTACTS, seed=7, as_of=AS_OF)
    yield con
    con.close()


def rows(con, sql: str, **params) -> list[tuple]:
    return con.execute(sql, params or None).fetchall()


def scalar(con, sql: str, **params):
    return rows(con, sql, **params)[0][0]


def filled_tables(con) -> list[str]:
    return [t for t in store.table_ddl() if t not in demo.KEPT_TABLES]


def test_same_seed_gives_identical_tables():
    first, second = store.connect(), store.connect()

    demo.generate(first, contacts=2000, seed=3, as_of=AS_OF)
    demo.generate(second, contacts=2000, seed=3, as_of=AS_OF)

    for table in filled_tables(first):
        sql = f'SELECT * FROM "{table}" ORDER BY ALL'
        assert rows(first, sql) == rows(second, sql), table


def test_different_seed_gives_different_tables(con):
    other = store.connect()

    demo.generate(other, contacts=CONTACTS, seed=8, as_of=AS_OF)

    for table in ("contacts", "deals", "visits"):
        sql = f'SELECT * FROM "{table}" ORDER BY id LIMIT 200'
        assert rows(con, sql) != rows(other, sql), table


def test_generate_replaces_previous_contents_and_returns_counts():
    con = store.connect()
    demo.generate(con, contacts=2000, seed=1, as_of=AS_OF)

    counts = demo.generate(con, contacts=1000, seed=2, as_of=AS_OF)

    assert counts["contacts"] == 1000
    stored = store.table_counts(con)
    assert all(stored[t] == n for t, n in counts.items())
    assert scalar(con, "SELECT max(id) FROM contacts") == 1000


def test_volumes_scale_with_contacts(con):
    counts = store.table_counts(con)

    assert counts["users"] == 40
    assert counts["products"] == 40
    assert counts["mailings"] == 12
    assert counts["companies"] == CONTACTS // 10
    assert counts["leads"] == CONTACTS // 2
    assert 2.5 < counts["deals"] / CONTACTS < 3.5
    assert 1.6 < counts["orders"] / CONTACTS < 2.4
    assert 2.2 < counts["order_items"] / counts["orders"] < 2.8
    assert 8 < counts["visits"] / CONTACTS < 12


@pytest.mark.parametrize("child, column, parent", [
    ("deals", "contact_id", "contacts"),
    ("deals", "company_id", "companies"),
    ("deals", "assigned_user_id", "users"),
    ("contacts", "company_id", "companies"),
    ("contacts", "assigned_user_id", "users"),
    ("companies", "assigned_user_id", "users"),
    ("orders", "contact_id", "contacts"),
    ("order_items", "order_id", "orders"),
    ("order_items", "product_id", "products"),
    ("visits", "contact_id", "contacts"),
    ("leads", "contact_id", "contacts"),
    ("mailing_recipients", "mailing_id", "mailings"),
    ("mailing_recipients", "contact_id", "contacts"),
    ("opt_outs", "contact_id", "contacts"),
    ("contact_points", "record_id", "contacts"),
])
def test_every_reference_points_to_an_existing_record(con, child, column, parent):
    missing = scalar(con, f'SELECT count(*) FROM "{child}" WHERE "{column}" IS NOT NULL '
                          f'AND "{column}" NOT IN (SELECT id FROM "{parent}")')

    assert missing == 0


def test_a_deal_has_the_company_of_its_contact(con):
    assert scalar(con, "SELECT count(*) FROM deals d JOIN contacts c "
                       "ON c.id = d.contact_id "
                       "WHERE d.company_id IS DISTINCT FROM c.company_id") == 0


def test_ids_run_from_one_without_gaps(con):
    for table, columns in store.table_ddl().items():
        if ("id", "BIGINT") in columns and table not in demo.KEPT_TABLES:
            n, low, high = rows(con, f'SELECT count(*), min(id), max(id) FROM "{table}"')[0]
            assert (low, high) == ((1, n) if n else (None, None)), table


def test_no_date_or_timestamp_is_after_as_of(con):
    for table, columns in store.table_ddl().items():
        for column, sql_type in columns:
            if sql_type in ("DATE", "TIMESTAMP") and table not in demo.KEPT_TABLES:
                late = scalar(con, f'SELECT count(*) FROM "{table}" '
                                   f'WHERE CAST("{column}" AS DATE) > $d', d=AS_OF)
                assert late == 0, f"{table}.{column}"


def test_history_reaches_about_three_years_back(con):
    oldest = scalar(con, "SELECT min(created_at) FROM contacts").date()

    assert AS_OF - dt.timedelta(days=3 * 365 + 1) <= oldest
    assert oldest < AS_OF - dt.timedelta(days=2 * 365)


def test_stage_semantics_matches_stage(con):
    pairs = set(rows(con, "SELECT DISTINCT pipeline, stage, stage_semantics FROM deals"))

    assert pairs == {
        ("Sales", s, "open") for s in ("New", "Qualification", "Proposal", "Negotiation")
    } | {("Repeat sales", s, "open") for s in ("New", "Offer", "Negotiation")} | {
        (p, s, s.lower()) for p in ("Sales", "Repeat sales") for s in ("Won", "Lost")
    }


def test_closed_deals_have_closed_at_and_open_deals_do_not(con):
    wrong = scalar(con, "SELECT count(*) FROM deals WHERE (closed_at IS NULL) "
                        "<> (stage_semantics = 'open')")
    early_or_late = scalar(con, "SELECT count(*) FROM deals WHERE closed_at < created_at "
                                "OR closed_at > created_at + INTERVAL 121 DAY")

    assert wrong == 0
    assert early_or_late == 0


def test_moscow_and_saint_petersburg_are_the_two_largest_cities(con):
    top = rows(con, "SELECT lower(trim(city)) AS c, count(*) FROM contacts "
                    "WHERE trim(city) <> '' GROUP BY c ORDER BY 2 DESC LIMIT 3")

    assert [c for c, _ in top[:2]] == ["moscow", "saint petersburg"]
    assert 0.25 < top[0][1] / CONTACTS < 0.35


def test_some_cities_are_messy_or_blank_on_purpose(con):
    messy, blank = rows(con, "SELECT count(*) FILTER (city <> trim(city) "
                             "OR (city <> '' AND NOT list_contains($clean, city))), "
                             "count(*) FILTER (city IS NULL OR city = '') FROM contacts",
                        clean=list(demo_vocab.CITY_NAMES))[0]

    assert 0.01 < messy / CONTACTS < 0.03
    assert 0.02 < blank / CONTACTS < 0.04


def test_contact_channels_have_realistic_shares_and_mess(con):
    email, phone, bad, spaced = rows(con, """
        SELECT avg((email IS NOT NULL)::INT), avg((phone IS NOT NULL)::INT),
               count(*) FILTER (email NOT LIKE '%@%'),
               count(*) FILTER (email <> trim(email))
        FROM contacts""")[0]

    assert 0.8 < email < 0.9 and 0.65 < phone < 0.75
    assert 0 < bad < 0.02 * CONTACTS and spaced > 0


def test_current_values_equal_the_last_field_change(con):
    mismatched = scalar(con, """
        WITH last AS (
            SELECT entity, record_id, field, arg_max(new_value, changed_at) AS value
            FROM field_changes GROUP BY ALL)
        SELECT count(*) FROM last
        LEFT JOIN contacts c ON last.entity = 'contacts' AND c.id = last.record_id
        LEFT JOIN deals d ON last.entity = 'deals' AND d.id = last.record_id
        WHERE last.value IS DISTINCT FROM CASE last.field
            WHEN 'city' THEN c.city WHEN 'type' THEN c.type WHEN 'phone' THEN c.phone
            WHEN 'tags' THEN CAST(c.tags AS VARCHAR) WHEN 'stage' THEN d.stage END""")
    changed = scalar(con, "SELECT count(DISTINCT record_id) FROM field_changes "
                          "WHERE entity = 'contacts'")

    assert mismatched == 0
    assert 0.07 < changed / CONTACTS < 0.13


def test_field_changes_chain_and_never_repeat_a_value(con):
    broken = scalar(con, """
        SELECT count(*) FROM (
            SELECT old_value, new_value, lag(new_value) OVER (
                PARTITION BY entity, record_id, field ORDER BY changed_at) AS previous
            FROM field_changes)
        WHERE old_value = new_value OR old_value <> previous""")

    assert broken == 0


def test_order_amount_is_the_sum_of_its_items(con):
    assert scalar(con, "SELECT count(*) FROM orders o JOIN (SELECT order_id, "
                       "sum(quantity * price) AS total FROM order_items GROUP BY 1) i "
                       "ON i.order_id = o.id WHERE i.total <> o.amount") == 0


def test_mailing_outcomes_are_consistent(con):
    assert scalar(con, "SELECT count(*) FROM mailing_recipients WHERE "
                       "(clicked AND NOT opened) OR (opened AND NOT delivered) "
                       "OR (bounced AND delivered)") == 0


def test_mailings_include_spring_sale_2026(con):
    assert scalar(con, "SELECT count(*) FROM mailings "
                       "WHERE name = 'Spring sale 2026'") == 1


def test_contact_points_repeat_each_stored_email_and_phone(con):
    stored = scalar(con, "SELECT count(email) + count(phone) FROM contacts")

    assert scalar(con, "SELECT count(*) FROM contact_points") == stored
    assert scalar(con, "SELECT count(*) FROM contact_points p JOIN contacts c "
                       "ON c.id = p.record_id WHERE p.value <> CASE p.channel "
                       "WHEN 'email' THEN c.email ELSE c.phone END") == 0


# Each example segment must find a non-trivial share of the contacts.
SEGMENT_SQL = {
    "won deal closed in the last 60 days":
        "SELECT contact_id FROM deals WHERE stage_semantics = 'won' "
        "AND CAST(closed_at AS DATE) > $d - 60",
    "last won deal over 180 days ago, no open deal":
        "SELECT contact_id FROM deals GROUP BY 1 HAVING max(closed_at) FILTER "
        "(stage_semantics = 'won') < $d - 180 "
        "AND count(*) FILTER (stage_semantics = 'open') = 0",
    "open Sales deal in Negotiation with Corporate sales":
        "SELECT contact_id FROM deals d JOIN users u ON u.id = d.assigned_user_id "
        "WHERE pipeline = 'Sales' AND stage = 'Negotiation' "
        "AND department = 'Corporate sales'",
    "won deals summing over 100,000":
        "SELECT contact_id FROM deals WHERE stage_semantics = 'won' "
        "GROUP BY 1 HAVING sum(amount) > 100000",
    "visited /pricing in the last 14 days":
        "SELECT contact_id FROM visits WHERE page = '/pricing' "
        "AND CAST(visited_at AS DATE) > $d - 14",
    "received Spring sale 2026":
        "SELECT contact_id FROM mailing_recipients r JOIN mailings m "
        "ON m.id = r.mailing_id WHERE m.name = 'Spring sale 2026'",
    "opted out of e-mail":
        "SELECT contact_id FROM opt_outs WHERE channel = 'email'",
}


@pytest.mark.parametrize("sql", SEGMENT_SQL.values(), ids=SEGMENT_SQL.keys())
def test_example_segment_finds_a_fair_share_of_contacts(con, sql):
    params = {"d": AS_OF} if "$d" in sql else {}
    found = scalar(con, f"SELECT count(DISTINCT contact_id) FROM ({sql})", **params)

    assert 0.01 < found / CONTACTS < 0.9


def test_leads_are_recent_enough_and_converted_ones_name_a_contact(con):
    recent, converted, linked, statuses = rows(con, """
        SELECT avg((CAST(created_at AS DATE) > $d - 30)::INT),
               count(*) FILTER (status = 'CONVERTED'), count(contact_id),
               list(DISTINCT status || '/' || status_semantics)
        FROM leads""", d=AS_OF)[0]

    assert 0.05 < recent < 0.5
    assert converted == linked > 0
    assert sorted(statuses) == ["CONVERTED/converted", "IN_PROCESS/open", "JUNK/junk",
                        "NEW/open", "PROCESSED/open"]


def test_workspace_records_zone_origin_and_loads(con):
    loads = rows(con, "SELECT entity, mode, rows_loaded FROM loads ORDER BY id")

    assert store.get_setting(con, "timezone") == "Europe/Moscow"
    assert store.get_setting(con, "origin") == (
        "demo: 3000 contacts, seed 7, as of 2026-06-30")
    assert ("contacts", "demo", CONTACTS) in loads
    assert {e for e, _, _ in loads} >= {"deals", "visits", "field_changes"}


def test_generate_rejects_zero_contacts():
    with pytest.raises(demo.DemoError, match="at least 1 contact"):
        demo.generate(store.connect(), contacts=0, seed=1, as_of=AS_OF)


def test_demo_command_fills_the_database_and_exits_zero(tmp_path, capsys):
    path = tmp_path / "demo.duckdb"

    code = main(["demo", "--db", str(path), "--contacts", "2000", "--seed", "1",
                 "--as-of", "2026-06-30"])

    assert code == 0
    assert "contacts" in capsys.readouterr().out
    check = store.connect(path, read_only=True)
    assert scalar(check, "SELECT count(*) FROM contacts") == 2000
    assert store.get_setting(check, "origin").endswith("as of 2026-06-30")
    check.close()


def test_demo_command_rejects_a_malformed_day(tmp_path):
    with pytest.raises(SystemExit):
        main(["demo", "--db", str(tmp_path / "x.duckdb"), "--as-of", "30.06.2026"])


def test_ensure_demo_creates_the_database_once(tmp_path):
    path = tmp_path / "app.duckdb"

    created = demo.ensure_demo(path)
    again = demo.ensure_demo(path)

    assert (created, again) == (True, False)
    check = store.connect(path, read_only=True)
    assert scalar(check, "SELECT count(*) FROM contacts") == 5000
    assert store.get_setting(check, "origin").startswith("demo: 5000 contacts, seed 42")
    check.close()
