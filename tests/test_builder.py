"""The builder: editing helpers on drafts, and the page driven by AppTest."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests import tiny
from tests.test_app import APP, ROOT, build_db
from workbench import builder_state as bs
from workbench import catalog, definition, evaluator, store
from workbench.__main__ import main as cli
from workbench.library import Library

AS_OF = tiny.AS_OF
HOSTILE = [
    "O'Brien \"the\" \\ quote",
    "'; DROP TABLE contacts; --",
    "Ёлка 🎄👩‍👩‍👧 ٩(◕‿◕)۶",
    "x" * 10_000,
]


# --------------------------------------------------------------------------
# Editing helpers


def test_add_move_remove_address_nodes_by_path():
    d = bs.add_child(bs.new_draft(), bs.INCLUDE, {"field": "city", "op": "filled"})
    d = bs.add_child(d, bs.INCLUDE, bs.blank_group("any"))
    d = bs.add_child(d, ("include", 1), {"field": "email", "op": "filled"})

    moved = bs.move(d, ("include", 1), -1)
    removed = bs.remove(moved, ("include", 0, 0))

    assert bs.node_at(moved, ("include", 0)) == {"any": [{"field": "email",
                                                          "op": "filled"}]}
    assert bs.node_at(removed, ("include", 0)) == {"any": []}
    assert d["include"]["all"][0] == {"field": "city", "op": "filled"}  # untouched


def test_move_past_either_end_keeps_the_order():
    d = bs.add_child(bs.new_draft(), bs.INCLUDE, {"field": "city", "op": "filled"})

    assert bs.move(d, ("include", 0), -1) == d
    assert bs.move(d, ("include", 0), 1) == d


def test_group_kind_switches_between_all_any_none():
    d = bs.add_child(bs.new_draft(), bs.INCLUDE, {"field": "city", "op": "filled"})

    d = bs.set_group_kind(d, bs.INCLUDE, "none")

    assert d["include"] == {"none": [{"field": "city", "op": "filled"}]}
    assert bs.live_definition(d).definition.include.negated


def test_first_nested_condition_creates_the_where_group():
    d = bs.add_child(bs.new_draft(), bs.INCLUDE,
                     {"related": "deals", "quantifier": "exists"})

    d = bs.add_child(d, ("include", 0, "where"), bs.blank_condition(catalog.DEALS))

    assert bs.source_at(d, ("include", 0, "where")).name == "deals"
    assert d["include"]["all"][0]["where"] == {"all": [
        {"field": "title", "op": "equals", "value": None}]}


def test_changing_the_field_keeps_a_valid_operator_and_drops_a_foreign_value():
    node = {"field": "city", "op": "equals", "value": "Moscow"}

    same_type = bs.change_field(node, catalog.CONTACTS, "region")
    other_type = bs.change_field(node, catalog.CONTACTS, "created_at")

    assert same_type == {"field": "region", "op": "equals", "value": "Moscow"}
    assert other_type == {"field": "created_at", "op": "in_last_days", "value": None}


def test_quantifier_sum_picks_a_number_field_and_a_comparison():
    node = bs.blank_related(catalog.CONTACTS, "deals")

    node = bs.change_quantifier(node, catalog.DEALS, "sum")
    node = bs.change_aggregate_field(node, catalog.DEALS, "amount")

    assert node["field"] == "amount" and node["op"] == "equals"
    assert node["where"] == {"all": []}


def test_unfinished_conditions_are_left_out_and_reported_by_path():
    d = bs.add_child(bs.new_draft(), bs.INCLUDE, {"field": "city", "op": "equals",
                                                  "value": None})
    d = bs.add_child(d, bs.INCLUDE, {"field": "email", "op": "filled"})
    d = bs.add_child(d, ("exclude",), {"segment": "no-such-segment"})

    live = bs.live_definition(d, Library(ROOT / "data" / "segments"))

    assert set(live.problems) == {("include", 0), ("exclude", 0)}
    assert live.problems[("include", 0)] == ['value: "equals" needs a value']
    assert definition.node_to_json(live.definition.include) == {
        "all": [{"field": "email", "op": "filled"}]}
    assert live.definition.exclude == ()


def test_a_new_related_condition_waits_for_its_quantifier():
    d = bs.add_child(bs.new_draft(), bs.INCLUDE, bs.blank_related(catalog.CONTACTS))

    waiting = bs.live_definition(d)
    chosen = bs.live_definition(bs.set_node(d, ("include", 0), bs.change_quantifier(
        bs.node_at(d, ("include", 0)), catalog.DEALS, "exists")))

    assert waiting.problems == {("include", 0): [bs.CHOOSE_QUANTIFIER]}
    assert waiting.definition.include.children == ()
    assert chosen.definition.include.children[0].quantifier == "exists"


def test_a_broken_nested_condition_leaves_its_related_condition_counting():
    related = {**bs.blank_related(catalog.CONTACTS), "quantifier": "exists"}
    d = bs.add_child(bs.new_draft(), bs.INCLUDE, related)
    d = bs.add_child(d, ("include", 0, "where"),
                     {"field": "amount", "op": "gt", "value": "lots"})

    live = bs.live_definition(d)

    assert live.problems == {("include", 0, "where", 0): [
        'value: amount is a number; got "lots"']}
    assert live.definition.include.children[0].relation == "deals"


@pytest.mark.parametrize("seg_id", sorted(p.stem for p in (
    ROOT / "data" / "segments").glob("*.json")))
def test_every_example_segment_round_trips_through_a_draft(seg_id):
    lib = Library(ROOT / "data" / "segments")
    text = lib.path(seg_id).read_text(encoding="utf-8")

    d = bs.draft_from(lib.load(seg_id))

    assert definition.to_json(bs.definition_for_save(d)) == text
    assert bs.live_definition(d, lib).problems == {}


def test_duplicate_gets_a_free_id_and_drops_the_snapshot():
    d = {**bs.new_draft(), "id": "vip", "name": "VIP",
         "snapshot": {"as_of": "2026-01-01", "ids": [1]}}

    copy = bs.duplicate(d, {"vip", "vip-copy"})

    assert (copy["id"], copy["name"]) == ("vip-copy-2", "Copy of VIP")
    assert "snapshot" not in copy


def test_duplicate_and_numbered_ids_stay_within_80_characters():
    long_id = "a" * 80

    copy = bs.duplicate({**bs.new_draft(), "id": long_id}, set())
    numbered = bs.unique_id(long_id, {long_id})

    assert copy["id"] == "a" * 75 + "-copy"
    assert numbered == "a" * 78 + "-2"
    assert bs.id_problem(copy["id"]) is bs.id_problem(numbered) is None


@pytest.mark.parametrize("seg_id, problem", [
    pytest.param("x" * 300, "at most 80 characters; got 300", id="too-long"),
    pytest.param("VIP 2026", 'lower-case letters, digits, - and _ only; got "VIP 2026"',
                 id="capitals-and-space"),
    pytest.param("../etc", 'lower-case letters, digits, - and _ only; got "../etc"',
                 id="path"),
    pytest.param("-vip", 'start with a letter or digit; got "-vip"', id="dash-first"),
    pytest.param("", "give the segment an id (naming it fills one in)", id="empty"),
])
def test_id_problem_names_what_is_wrong_with_an_id(seg_id, problem):
    assert bs.id_problem(seg_id) == problem


def test_present_values_counts_values_and_list_elements():
    con = tiny.build()

    tags = dict(bs.present_values(con, "contacts", "tags"))
    stages = dict(bs.present_values(con, "deals", "stage_semantics"))

    assert tags == {"b2b": 1, "b2c": 1, "vip": 1, "Ёлка": 1, "елка": 1}
    assert stages == {"won": 6, "open": 1, "lost": 1}


def test_make_snapshot_freezes_ids_channels_and_fingerprint():
    con = tiny.build()
    defn = definition.parse({"id": "has-email", "name": "Has e-mail", "mode": "static",
                             "include": {"all": [{"field": "email", "op": "filled"}]}})

    snap = bs.make_snapshot(con, defn, as_of=AS_OF, made_at=datetime(2026, 6, 30, 12))

    assert snap.ids == (1, 2, 5, 6)
    assert snap.channels["total"] == 4
    assert snap.fingerprint["tables"]["contacts"] == 6


# --------------------------------------------------------------------------
# The page


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    folder = tmp_path_factory.mktemp("builder")
    build_db(folder / "app.duckdb")
    build_db(folder / "cli.duckdb")  # the command line opens its own copy
    shutil.copytree(ROOT / "data" / "segments", folder / "segments")
    return folder


@pytest.fixture
def at(workspace, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DB", str(workspace / "app.duckdb"))
    monkeypatch.setenv("WORKBENCH_SEGMENTS", str(workspace / "segments"))
    app = AppTest.from_file(APP, default_timeout=30)
    app.run()
    app.switch_page("pages/builder.py").run()
    app.date_input(key="builder_as_of").set_value(AS_OF).run()
    assert not app.exception
    return app


def members(at) -> int:
    assert not at.exception, [e.value for e in at.exception]
    shown = next(m.value for m in at.metric if m.label == "Members")
    return int(shown.replace(",", ""))


def cli_count(workspace, segment: Path, capsys) -> int:
    capsys.readouterr()
    code = cli(["count", str(segment), "--db", str(workspace / "cli.duckdb"),
                "--as-of", AS_OF.isoformat(), "--json"])
    assert code == 0
    return json.loads(capsys.readouterr().out)["count"]


def add_nested_equals(at, where: tuple, index: int, field: str, value: str) -> None:
    at.button(key=f"b.{'.'.join(map(str, where))}:add_field").click().run()
    k = f"b.{'.'.join(map(str, where + (index,)))}"
    at.selectbox(key=f"{k}:field").set_value(field).run()
    at.selectbox(key=f"{k}:value:{field}:equals").set_value(value).run()


def save_as(at, name: str) -> None:
    at.text_input(key="builder_name").input(name).run()
    at.button(key="builder_save").click().run()
    messages = [s.value for s in at.success]
    assert messages and messages[-1].startswith("Saved"), [e.value for e in at.error]


def test_build_vip_from_scratch_counts_like_the_command_line(at, workspace, capsys):
    at.button(key="b.include:add_related").click().run()
    at.selectbox(key="b.include.0:quantifier:deals").set_value("sum").run()
    at.selectbox(key="b.include.0:deals:sum:op:amount").set_value("gt").run()
    at.number_input(key="b.include.0:deals:sum:value:amount:gt").set_value(100000).run()
    add_nested_equals(at, ("include", 0, "where"), 0, "stage_semantics", "won")
    add_nested_equals(at, ("include", 0, "where"), 1, "currency", "RUB")
    save_as(at, "VIP built")

    saved = workspace / "segments" / "vip-built.json"
    built = definition.load(saved)
    example = definition.load(ROOT / "data" / "segments" / "vip.json")
    assert built.include == example.include
    assert members(at) == cli_count(workspace, ROOT / "data/segments/vip.json",
                                    capsys) == 2
    assert cli_count(workspace, saved, capsys) == 2


def test_build_inactive_from_scratch_counts_like_the_command_line(at, workspace,
                                                                  capsys):
    at.button(key="b.include:add_related").click().run()
    at.selectbox(key="b.include.0:quantifier:deals").set_value("max").run()
    at.selectbox(key="b.include.0:deals:max:aggfield").set_value("closed_at").run()
    at.selectbox(key="b.include.0:deals:max:op:closed_at").set_value(
        "more_than_days_ago").run()
    at.number_input(key="b.include.0:deals:max:value:closed_at:more_than_days_ago") \
        .set_value(180).run()
    add_nested_equals(at, ("include", 0, "where"), 0, "stage_semantics", "won")
    at.button(key="b.include:add_related").click().run()
    at.selectbox(key="b.include.1:quantifier:deals").set_value("none").run()
    add_nested_equals(at, ("include", 1, "where"), 0, "stage_semantics", "open")
    save_as(at, "Inactive built")

    built = definition.load(workspace / "segments" / "inactive-built.json")
    example = definition.load(ROOT / "data" / "segments" / "inactive.json")
    assert built.include == example.include
    assert members(at) == cli_count(workspace, ROOT / "data/segments/inactive.json",
                                    capsys) == 1


def test_switching_all_any_none_changes_the_count_as_the_evaluator_says(at, workspace):
    for i, field in enumerate(("email", "phone")):
        at.button(key="b.include:add_field").click().run()
        at.selectbox(key=f"b.include.{i}:field").set_value(field).run()
        at.selectbox(key=f"b.include.{i}:op:{field}").set_value("filled").run()
    con = store.connect(workspace / "cli.duckdb", read_only=True)

    seen = {}
    for kind in ("all", "any", "none"):
        at.radio(key="b.include:kind").set_value(kind).run()
        defn = definition.parse({"id": "x", "name": "x", "include": {kind: [
            {"field": "email", "op": "filled"}, {"field": "phone", "op": "filled"}]}})
        seen[kind] = (members(at), evaluator.count(con, defn, as_of=AS_OF))

    assert seen == {"all": (2, 2), "any": (5, 5), "none": (1, 1)}


@pytest.mark.parametrize("value", HOSTILE, ids=["quotes", "sql", "emoji", "10k"])
def test_hostile_text_is_a_plain_value(at, value):
    at.button(key="b.include:add_field").click().run()
    at.text_input(key="b.include.0:value:name:equals").input(value).run()

    assert members(at) == 0
    assert at.session_state["builder_draft"]["include"]["all"][0]["value"] == value
    run_sql = at.code[1].value
    assert "DROP" not in run_sql and "$p0" in run_sql
    at.switch_page("pages/home.py").run()
    assert next(m.value for m in at.metric if m.label == "Contacts") == "6"


def test_every_example_opens_in_the_forms_and_saves_unchanged(at, workspace):
    folder = workspace / "segments"
    for seg_id in sorted(p.stem for p in (ROOT / "data" / "segments").glob("*.json")):
        before = folder.joinpath(f"{seg_id}.json").read_text(encoding="utf-8")
        at.selectbox(key="builder_open_pick").set_value(seg_id).run()
        at.button(key="builder_open").click().run()

        assert not at.exception, seg_id
        assert not [w.value for w in at.warning if "Not counted" in w.value], seg_id
        at.button(key="builder_save").click().run()
        assert folder.joinpath(f"{seg_id}.json").read_text(encoding="utf-8") == before


def test_unsaved_changes_ask_before_opening_another_segment(at):
    at.selectbox(key="builder_open_pick").set_value("vip").run()
    at.button(key="builder_open").click().run()
    at.button(key="b.include:add_field").click().run()
    assert any("Unsaved changes" in w.value for w in at.warning)

    at.selectbox(key="builder_open_pick").set_value("inactive").run()
    at.button(key="builder_open").click().run()
    assert at.session_state["builder_draft"]["id"] == "vip"
    at.button(key="builder_confirm").click().run()

    assert at.session_state["builder_draft"]["id"] == "inactive"
    assert not any("Unsaved changes" in w.value for w in at.warning)


def test_static_save_freezes_members_and_resaves_unchanged(at, workspace):
    at.button(key="b.include:add_field").click().run()
    at.selectbox(key="b.include.0:field").set_value("email").run()
    at.selectbox(key="b.include.0:op:email").set_value("filled").run()
    at.radio(key="builder_mode").set_value("static").run()
    save_as(at, "Has e-mail frozen")
    path = workspace / "segments" / "has-e-mail-frozen.json"
    first = path.read_text(encoding="utf-8")

    at.selectbox(key="builder_open_pick").set_value("has-e-mail-frozen").run()
    at.button(key="builder_open").click().run()
    at.button(key="builder_save").click().run()

    snap = definition.load(path).snapshot
    assert snap.ids == (1, 2, 5, 6) and snap.as_of == AS_OF.isoformat()
    assert path.read_text(encoding="utf-8") == first


def test_explain_a_sample_member(at):
    at.selectbox(key="builder_open_pick").set_value("vip").run()
    at.button(key="builder_open").click().run()
    at.selectbox(key="builder_explain_pick").set_value(5).run()

    assert not at.exception
    assert any("Record 5 is a member" in m.value for m in at.markdown)


def test_exclusion_names_what_removed_a_record(at):
    at.button(key="b.exclude:add_field").click().run()
    at.selectbox(key="b.exclude.0:field").set_value("email").run()
    at.selectbox(key="b.exclude.0:op:email").set_value("filled").run()
    at.number_input(key="builder_explain_id").set_value(1).run()

    assert members(at) == 2
    assert any("Removed by exclusion exclude[0]: E-mail is filled" in m.value
               for m in at.markdown)


def test_share_link_opens_the_definition_unsaved(workspace, monkeypatch):
    from workbench.sharing import encode_share

    monkeypatch.setenv("WORKBENCH_DB", str(workspace / "app.duckdb"))
    monkeypatch.setenv("WORKBENCH_SEGMENTS", str(workspace / "segments"))
    vip = definition.load(ROOT / "data" / "segments" / "vip.json")
    app = AppTest.from_file(APP, default_timeout=30)
    app.run()
    app.switch_page("pages/builder.py")
    app.query_params["segment"] = encode_share(vip)
    app.run()

    assert members(app) == 2
    assert app.session_state["builder_draft"] == bs.draft_from(vip)
    assert any("Unsaved changes" in w.value for w in app.warning)


def test_saving_over_a_newer_version_is_refused_with_the_difference(at, workspace):
    folder = workspace / "segments"
    at.selectbox(key="builder_open_pick").set_value("two-capitals").run()
    at.button(key="builder_open").click().run()
    lib = Library(folder)
    theirs = definition.parse({**definition.to_dict(lib.load("two-capitals")),
                               "description": "Changed by a colleague."})
    lib.save(theirs, expected_version=lib.current_version("two-capitals"))
    stored = folder.joinpath("two-capitals.json").read_text(encoding="utf-8")

    at.text_input(key="builder_name").input("Capitals, mine").run()
    at.button(key="builder_save").click().run()

    assert not at.exception
    assert any("was saved as version" in e.value for e in at.error)
    assert any("Changed by a colleague." in c.value for c in at.code if c.language == "diff")
    assert folder.joinpath("two-capitals.json").read_text(encoding="utf-8") == stored


def test_added_saved_segment_waits_unselected_until_one_is_chosen(at):
    before = members(at)

    at.button(key="b.include:add_segment").click().run()

    assert at.session_state["builder_draft"]["include"]["all"] == [{"segment": None}]
    assert at.selectbox(key="b.include.0:segment").value is None
    assert members(at) == before
    assert any("choose a saved segment" in w.value for w in at.warning)
    at.selectbox(key="b.include.0:segment").set_value("two-capitals").run()
    assert members(at) == 2  # Anna in Moscow, Boris in Saint Petersburg
    assert not any("Not counted" in w.value for w in at.warning)


@pytest.mark.parametrize("bad_id, problem, good_id", [
    pytest.param("x" * 300, "at most 80 characters; got 300", "fixed-long",
                 id="300-characters"),
    pytest.param("My Segment", "lower-case letters, digits, - and _ only",
                 "fixed-capitals", id="capitals"),
])
def test_a_bad_id_is_named_beside_the_field_and_the_page_keeps_working(
        at, workspace, bad_id, problem, good_id):
    saved = sorted((workspace / "segments").glob("*.json"))
    at.button(key="b.include:add_field").click().run()
    at.selectbox(key="b.include.0:field").set_value("email").run()
    at.selectbox(key="b.include.0:op:email").set_value("filled").run()
    at.text_input(key="builder_name").input("Bad id").run()

    at.text_input(key="builder_id").input(bad_id).run()

    assert not at.exception, [e.value for e in at.exception]
    assert any(problem in e.value for e in at.error), [e.value for e in at.error]
    assert members(at) == 4  # the live panel still counts
    at.button(key="builder_save").click().run()
    assert not at.exception
    assert any(e.value.startswith("Id: ") and problem in e.value for e in at.error)
    assert sorted((workspace / "segments").glob("*.json")) == saved
    at.text_input(key="builder_id").input(good_id).run()
    at.button(key="builder_save").click().run()
    assert (workspace / "segments" / f"{good_id}.json").is_file()


def test_ten_nested_groups_indent_three_levels_then_mark_the_level(at):
    for depth in range(10):
        group = ("include",) + (0,) * depth
        at.button(key=f"b.{'.'.join(map(str, group))}:add_group").click().run()
    innermost = ("include",) + (0,) * 10
    at.button(key=f"b.{'.'.join(map(str, innermost))}:add_field").click().run()

    assert not at.exception
    markers = [c.value for c in at.caption if "level" in c.value]
    assert markers[0] == "› level 4" and "››››››› level 10" in markers
    assert "end of level 10" in markers
    assert len(at.session_state["builder_draft"]["include"]["all"]) == 1


@pytest.mark.parametrize("value, hinted", [("Sales", False), ("Sale", True)])
def test_a_value_that_matches_no_stored_one_is_pointed_out(workspace, monkeypatch,
                                                          value, hinted):
    from workbench.sharing import encode_share

    monkeypatch.setenv("WORKBENCH_DB", str(workspace / "app.duckdb"))
    monkeypatch.setenv("WORKBENCH_SEGMENTS", str(workspace / "segments"))
    defn = definition.parse({"id": "p", "name": "p", "include": {"all": [
        {"related": "deals", "where": {"all": [
            {"field": "pipeline", "op": "equals", "value": value}]}}]}})
    app = AppTest.from_file(APP, default_timeout=30)
    app.run()
    app.switch_page("pages/builder.py")
    app.query_params["segment"] = encode_share(defn)
    app.run()

    hints = [c.value for c in app.caption if "most common stored" in c.value]
    assert not app.exception
    assert bool(hints) == hinted
    if hinted:
        assert hints[0].startswith('"Sale": not among the 2 most common stored')
