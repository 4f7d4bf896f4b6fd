"""Each operator and each semantic rule of DESIGN.md on a tiny hand-made CRM.

The expected ids are worked out by hand from tests/tiny.py (as of 2026-06-30).
"""

from __future__ import annotations

from datetime import date

import pytest

from tests import tiny
from workbench import definition, evaluator
from workbench.compiler import CompileError
from workbench.definition import DefinitionError


@pytest.fixture(scope="module")
def con():
    return tiny.build()


def ids(con, include, exclude=(), entity="contacts", as_of=tiny.AS_OF, resolver=None):
    defn = definition.parse({"id": "t", "name": "t", "entity": entity,
                             "include": include, "exclude": list(exclude)})
    return evaluator.member_ids(con, defn, as_of=as_of, resolver=resolver)


def field(name, op, value=None):
    out = {"field": name, "op": op}
    if value is not None:
        out["value"] = value
    return {"all": [out]}


WON = {"all": [{"field": "stage_semantics", "op": "equals", "value": "won"}]}
OPEN = {"all": [{"field": "stage_semantics", "op": "equals", "value": "open"}]}

FIELD_CASES = [
    # Text: trimmed, case-insensitive on both sides.
    pytest.param("city", "equals", "MOSCOW", [1, 2], id="equals_ignores_case_and_spaces"),
    pytest.param("city", "equals", "санкт-петербург", [3],
                 id="equals_folds_cyrillic_case"),
    pytest.param("city", "equals", "Екатеринбург", [6], id="equals_cyrillic_upper_stored"),
    pytest.param("name", "equals", "Ежик", [], id="e_and_yo_stay_different_letters"),
    pytest.param("name", "equals", "ёжик", [6], id="yo_matches_yo_in_any_case"),
    pytest.param("city", "not_equals", "Moscow", [3, 4, 5, 6],
                 id="not_equals_keeps_contacts_with_empty_city"),
    pytest.param("city", "contains", "OSC", [1, 2], id="contains_is_case_insensitive"),
    pytest.param("city", "not_contains", "osc", [3, 4, 5, 6],
                 id="not_contains_keeps_empty"),
    pytest.param("city", "in", ["moscow", "Санкт-Петербург"], [1, 2, 3], id="in_list"),
    pytest.param("city", "not_in", ["moscow"], [3, 4, 5, 6], id="not_in_keeps_empty"),
    # Empty: NULL and blank are not filled.
    pytest.param("city", "filled", None, [1, 2, 3, 6], id="filled_text"),
    pytest.param("city", "not_filled", None, [4, 5], id="blank_and_null_are_empty"),
    pytest.param("email", "not_filled", None, [3, 4], id="empty_email"),
    pytest.param("phone", "filled", None, [1, 3, 5], id="filled_phone"),
    # Numbers.
    pytest.param("company_id", "equals", 10, [1, 2], id="number_equals"),
    pytest.param("company_id", "not_equals", 10, [3, 4, 5, 6],
                 id="number_not_equals_keeps_empty"),
    pytest.param("company_id", "gt", 10, [3, 6], id="greater"),
    pytest.param("company_id", "lte", 10, [1, 2], id="less_or_equal"),
    pytest.param("company_id", "between", [10, 11], [1, 2, 3, 6], id="between_inclusive"),
    pytest.param("company_id", "in", [11], [3, 6], id="number_in"),
    pytest.param("company_id", "not_filled", None, [4, 5], id="number_not_filled"),
    # Lists: contains means "has the tag", folded.
    pytest.param("tags", "contains", "VIP", [1], id="list_contains_tag_case_insensitive"),
    pytest.param("tags", "contains", "ёлка", [3], id="list_contains_yo"),
    pytest.param("tags", "in", ["b2c", "елка"], [5, 6], id="list_has_any_of"),
    pytest.param("tags", "not_in", ["b2b", "b2c"], [2, 3, 4, 6], id="list_has_none_of"),
    pytest.param("tags", "filled", None, [1, 3, 5, 6], id="empty_list_is_not_filled"),
    # Relative dates: calendar days as of 2026-06-30.
    pytest.param("created_at", "in_last_days", 30, [1, 2],
                 id="last_30_days_is_june_1_to_june_30"),
    pytest.param("created_at", "in_last_days", 1, [1], id="last_1_day_is_today_only"),
    pytest.param("created_at", "more_than_days_ago", 29, [3, 5],
                 id="more_than_29_days_ago_excludes_day_29"),
    pytest.param("created_at", "more_than_days_ago", 30, [5],
                 id="more_than_30_days_ago_excludes_day_30"),
    pytest.param("created_at", "exactly_days_ago", 29, [2], id="exactly_29_days_ago"),
    pytest.param("created_at", "before", "2026-06-01", [3, 5], id="before_a_date"),
    pytest.param("created_at", "after", "2026-06-30", [4], id="after_a_date"),
    pytest.param("created_at", "on", "2026-06-30", [1], id="on_a_date_whole_day"),
    pytest.param("created_at", "between", ["2026-05-31", "2026-06-01"], [2, 3],
                 id="date_between_inclusive"),
    pytest.param("created_at", "not_filled", None, [6], id="empty_date"),
    pytest.param("city", "changed_in_last_days", 7, [2], id="changed_in_last_7_days"),
    pytest.param("city", "changed_in_last_days", 365, [2, 3], id="changed_in_last_year"),
]


@pytest.mark.parametrize("name, op, value, expected", FIELD_CASES)
def test_field_operator(con, name, op, value, expected):
    assert ids(con, field(name, op, value)) == expected


def test_future_date_matches_no_relative_operator(con):
    # Contact 4 was created on 2026-07-01, after as_of.
    for op, n in [("in_last_days", 3650), ("more_than_days_ago", 0),
                  ("exactly_days_ago", 0)]:
        assert 4 not in ids(con, field("created_at", op, n))


def test_empty_date_matches_no_relative_operator(con):
    for op, n in [("in_last_days", 3650), ("more_than_days_ago", 0)]:
        assert 6 not in ids(con, field("created_at", op, n))


def test_as_of_moves_relative_dates(con):
    assert ids(con, field("created_at", "in_last_days", 1), as_of=date(2026, 7, 1)) == [4]


def test_negative_is_exact_complement_over_whole_entity(con):
    every = ids(con, {"all": []})
    for name, op, value in [("city", "equals", "moscow"), ("tags", "contains", "b2b"),
                            ("city", "in", ["Kazan", "moscow"]),
                            ("email", "contains", "example")]:
        positive = set(ids(con, field(name, op, value)))
        negative = set(ids(con, field(name, "not_" + op, value)))
        assert positive | negative == set(every)
        assert not positive & negative


def test_zero_is_a_value_not_empty(con):
    # Company 11 has 0 employees.
    assert ids(con, field("employees", "filled"), entity="companies") == [10, 11]


def test_related_predicates_hold_on_the_same_record(con):
    # Contact 2 has a won deal (closed 2025-12-31) and a recent open deal;
    # no single deal of theirs is both won and closed in the last 60 days.
    # Contact 3 won a deal closed 2026-05-01: 60 days ago, just outside.
    where = {"all": [{"field": "stage_semantics", "op": "equals", "value": "won"},
                     {"field": "closed_at", "op": "in_last_days", "value": 60}]}
    assert ids(con, {"all": [{"related": "deals", "where": where}]}) == [1]
    where["all"][1]["value"] = 61
    assert ids(con, {"all": [{"related": "deals", "where": where}]}) == [1, 3]


def test_sum_over_no_records_is_zero(con):
    cond = {"related": "deals", "quantifier": "sum", "field": "amount", "op": "lt",
            "value": 1000, "where": WON}
    # 4 and 6 have no deals (sum 0); 3 won exactly 1000 (not < 1000).
    assert ids(con, {"all": [cond]}) == [4, 6]


def test_sum_greater_than_threshold(con):
    cond = {"related": "deals", "quantifier": "sum", "field": "amount", "op": "gt",
            "value": 100000, "where": WON}
    # 1: 60,000 + 50,000; 2: exactly 100,000 (not more); 5: 200,000.
    assert ids(con, {"all": [cond]}) == [1, 5]


def test_sum_ignores_empty_amounts(con):
    cond = {"related": "deals", "quantifier": "sum", "field": "amount", "op": "equals",
            "value": 1000}
    # Contact 3: a won deal of 1,000 and a lost deal with no amount.
    assert ids(con, {"all": [cond]}) == [3]


def test_count_zero_includes_contacts_without_records(con):
    cond = {"related": "deals", "quantifier": "count", "op": "equals", "value": 0}
    assert ids(con, {"all": [cond]}) == [4, 6]


def test_count_at_least(con):
    cond = {"related": "deals", "quantifier": "count", "op": "gte", "value": 2}
    assert ids(con, {"all": [cond]}) == [1, 2, 3]


def test_max_over_no_records_is_undefined_and_false(con):
    cond = {"related": "deals", "quantifier": "max", "field": "closed_at",
            "op": "more_than_days_ago", "value": 180, "where": WON}
    # 2: last won 2025-12-31 (181 days); 5: 2024-03-01. 4 and 6 have none.
    assert ids(con, {"all": [cond]}) == [2, 5]


def test_min_amount(con):
    cond = {"related": "deals", "quantifier": "min", "field": "amount", "op": "lt",
            "value": 60000}
    # 1: min 50,000; 3: min 1,000 (the empty amount is ignored).
    assert ids(con, {"all": [cond]}) == [1, 3]


def test_inactive_needs_a_won_deal_and_no_open_deal(con):
    last_won = {"related": "deals", "quantifier": "max", "field": "closed_at",
                "op": "more_than_days_ago", "value": 180, "where": WON}
    no_open = {"related": "deals", "quantifier": "none", "where": OPEN}
    assert ids(con, {"all": [last_won, no_open]}) == [5]


def test_none_quantifier_includes_contacts_without_records(con):
    assert ids(con, {"all": [{"related": "deals", "quantifier": "none"}]}) == [4, 6]


def test_nested_relation_to_user_department(con):
    deal = {"all": [{"field": "stage", "op": "equals", "value": "negotiation"},
                    {"related": "assigned_user", "where": {"all": [
                        {"field": "department", "op": "equals",
                         "value": "Retail sales"}]}}]}
    assert ids(con, {"all": [{"related": "deals", "where": deal}]}) == [2]


def test_company_relation_and_its_absence(con):
    it = {"all": [{"field": "industry", "op": "equals", "value": "it"}]}
    assert ids(con, {"all": [{"related": "company", "where": it}]}) == [1, 2]
    assert ids(con, {"all": [{"related": "company", "quantifier": "none",
                              "where": it}]}) == [3, 4, 5, 6]


def test_order_items_see_their_orders_contact_and_status(con):
    item = {"all": [{"field": "category", "op": "equals", "value": "home"},
                    {"field": "order_status", "op": "in", "value": ["paid"]}]}
    assert ids(con, {"all": [{"related": "order_items", "where": item}]}) == [1]


def test_visits_count_in_window(con):
    cond = {"related": "visits", "quantifier": "count", "op": "gte", "value": 2,
            "where": {"all": [{"field": "page", "op": "equals", "value": "/pricing"},
                              {"field": "visited_at", "op": "in_last_days",
                               "value": 14}]}}
    # Contact 1 visited /pricing 1 and 13 days ago; contact 2 only "/".
    assert ids(con, {"all": [cond]}) == [1]
    cond["where"]["all"][1]["value"] = 13
    assert ids(con, {"all": [cond]}) == []


def test_record_is_counted_once_however_many_related_match(con):
    defn = definition.parse({"id": "t", "name": "t", "include": {"all": [
        {"related": "deals"}]}})
    assert evaluator.count(con, defn, as_of=tiny.AS_OF) == 4


def test_groups_all_any_none(con):
    moscow = {"field": "city", "op": "equals", "value": "moscow"}
    no_email = {"field": "email", "op": "not_filled"}
    assert ids(con, {"all": [moscow, no_email]}) == []
    assert ids(con, {"any": [moscow, no_email]}) == [1, 2, 3, 4]
    assert ids(con, {"none": [moscow, no_email]}) == [5, 6]
    assert ids(con, {"all": [{"any": [moscow, no_email]}, {"none": [no_email]}]}) \
        == [1, 2]


def test_exclusions_remove_in_order(con):
    mailing = {"related": "mailings", "where": {"all": [
        {"field": "mailing_name", "op": "equals", "value": "Spring sale 2026"}]}}
    unsub = {"related": "opt_outs", "where": {"all": [
        {"field": "channel", "op": "equals", "value": "email"}]}}
    assert ids(con, {"all": []}, exclude=[mailing, unsub]) == [3, 4, 5, 6]


def test_leads_and_companies_are_entities(con):
    assert ids(con, field("status_semantics", "not_in", ["converted"]),
               entity="leads") == [1]
    assert ids(con, {"all": [{"related": "contacts", "quantifier": "count",
                              "op": "gte", "value": 2}]}, entity="companies") == [10, 11]


def _lib(defs):
    table = {d["id"]: definition.parse(d) for d in defs}

    def resolve(seg_id):
        return table[seg_id]
    return resolve


def test_segment_references_compose_and_diamonds_work(con):
    resolver = _lib([
        {"id": "moscow", "name": "m", "include": field("city", "equals", "moscow")},
        {"id": "has-email", "name": "e", "include": field("email", "filled")},
        {"id": "a", "name": "a", "include": {"all": [{"segment": "moscow"}]}},
        {"id": "b", "name": "b", "include": {"all": [{"segment": "moscow"},
                                                     {"segment": "has-email"}]}},
    ])
    got = ids(con, {"all": [{"segment": "a"}, {"segment": "b"}]}, resolver=resolver)
    assert got == [1, 2]


def test_reference_cycle_is_an_error_naming_the_cycle(con):
    resolver = _lib([
        {"id": "a", "name": "a", "include": {"all": [{"segment": "b"}]}},
        {"id": "b", "name": "b", "include": {"all": [{"segment": "a"}]}},
    ])
    defn = resolver("a")
    with pytest.raises(DefinitionError) as err:
        evaluator.count(con, defn, as_of=tiny.AS_OF, resolver=resolver)
    assert "a → b → a" in str(err.value)


def test_reference_to_other_entity_is_refused(con):
    resolver = _lib([{"id": "lead-seg", "name": "l", "entity": "leads",
                      "include": {"all": []}}])
    with pytest.raises(CompileError, match="selects leads"):
        ids(con, {"all": [{"segment": "lead-seg"}]}, resolver=resolver)


def test_static_segment_answers_from_its_snapshot(con):
    defn = definition.parse({
        "id": "frozen", "name": "f", "mode": "static",
        "include": field("city", "equals", "moscow"),
        "snapshot": {"as_of": "2026-01-01", "ids": [3, 5]}})
    assert evaluator.member_ids(con, defn, as_of=tiny.AS_OF) == [3, 5]


def test_static_segment_without_snapshot_says_so(con):
    defn = definition.parse({"id": "frozen", "name": "f", "mode": "static",
                             "include": {"all": []}})
    with pytest.raises(CompileError, match="no snapshot"):
        evaluator.count(con, defn, as_of=tiny.AS_OF)


@pytest.mark.parametrize("hostile", [
    "'; DROP TABLE contacts; --",
    'Robert"); DELETE FROM deals; --',
    "$p0",
    "🙂 Москва",
    "x" * 10_000,
    "%_\\",
])
def test_hostile_values_are_plain_values(con, hostile):
    assert ids(con, field("city", "equals", hostile)) == []
    assert ids(con, field("city", "contains", hostile)) == []
    assert ids(con, field("tags", "contains", hostile)) == []
    assert con.execute("SELECT count(*) FROM contacts").fetchone()[0] == 6


def test_channel_counts_apply_opt_outs(con):
    defn = definition.parse({"id": "t", "name": "t", "include": {"all": []}})
    got = evaluator.channel_counts(con, defn, as_of=tiny.AS_OF)
    # E-mails: 1, 2, 5 (invalid: no dot in domain), 6 -> with_email 4;
    # valid 1, 2, 6; 1 opted out of e-mail -> reachable 2, 6.
    # Phones: 1, 3, 5; 3 opted out of phone -> reachable 1, 5.
    assert got.as_dict() == {"total": 6, "with_email": 4, "with_phone": 3,
                             "email_reachable": 2, "phone_reachable": 2}


def test_condition_counts_alone_and_remaining(con):
    defn = definition.parse({"id": "t", "name": "t", "include": {"all": [
        field("city", "filled")["all"][0], {"related": "deals"}]},
        "exclude": [{"related": "opt_outs"}]})
    got = [(c.path, c.alone, c.remaining)
           for c in evaluator.condition_counts(con, defn, as_of=tiny.AS_OF)]
    # city filled: 1,2,3,6; has deals: 1,2,3,5 -> 1,2,3; opted out: 1,3 -> 2.
    assert got == [("include.all[0]", 4, 4), ("include.all[1]", 4, 3),
                   ("exclude[0]", 2, 1)]


def test_explain_record_names_values_and_exclusion(con):
    defn = definition.parse({"id": "t", "name": "t", "include": {"all": [
        {"field": "city", "op": "equals", "value": "moscow"},
        {"related": "deals", "quantifier": "sum", "field": "amount", "op": "gt",
         "value": 100000, "where": WON}]},
        "exclude": [{"related": "opt_outs"}]})
    got = evaluator.explain_record(con, defn, 1, as_of=tiny.AS_OF)
    assert got.included and not got.member
    assert [(v.met, v.seen) for v in got.verdicts] == [
        (True, "Moscow"), (True, 110000.0), (True, 1)]
    assert got.excluded_by == ["exclude[0]"]
    missing = evaluator.explain_record(con, defn, 999, as_of=tiny.AS_OF)
    assert not missing.exists
