"""Bundles, bundle import with rename/replace, share links."""

from __future__ import annotations

import base64
import json
import zlib

import pytest

from tests import tiny
from workbench import definition, evaluator
from workbench.definition import Definition, DefinitionError, FieldCondition, Group, \
    SegmentRef, Snapshot
from workbench.library import Library, LibraryError
from workbench.sharing import (
    ShareLinkError, bundle_json, conflicts, decode_share, encode_share, import_bundle,
    read_bundle,
)


def city(seg_id: str, value: str) -> Definition:
    return Definition(seg_id, f"City {value}",
                      include=Group("all", (FieldCondition("city", "equals", value),)))


def uses(seg_id: str, *targets: str) -> Definition:
    return Definition(seg_id, f"Uses {', '.join(targets)}",
                      include=Group("any", tuple(SegmentRef(t) for t in targets)),
                      exclude=(SegmentRef(targets[0]),) if len(targets) > 2 else ())


@pytest.fixture
def source(tmp_path):
    lib = Library(tmp_path / "source")
    lib.save(city("moscow", "Moscow"))
    lib.save(city("kazan", "Kazan"))
    lib.save(uses("capitals", "moscow", "kazan"))
    lib.save(uses("top", "capitals"))
    lib.save(city("unrelated", "Omsk"))
    return lib


def test_bundle_holds_the_segment_and_everything_it_references(source):
    text = bundle_json(source, "top")

    bundle = read_bundle(text, file="top.json")

    assert bundle.root == "top"
    assert bundle.ids == ["top", "capitals", "moscow", "kazan"]
    assert json.loads(text)["format"] == "segment-workbench-bundle/1"


def test_bundle_imported_into_an_empty_library_evaluates_the_same(source, tmp_path):
    target = Library(tmp_path / "target")
    bundle = read_bundle(bundle_json(source, "top"), file="top.json")

    import_bundle(target, bundle)

    assert target.ids() == ["capitals", "kazan", "moscow", "top"]
    for seg_id in target.ids():
        assert target.load(seg_id) == source.load(seg_id)
    con = tiny.build()
    assert evaluator.member_ids(con, target.load("top"), as_of=tiny.AS_OF,
                                resolver=target) == [1, 2]


def test_import_with_rename_rewrites_references_inside_the_bundle(source, tmp_path):
    target = Library(tmp_path / "target")
    target.save(city("moscow", "Tver"))
    bundle = read_bundle(bundle_json(source, "capitals"), file="capitals.json")
    assert conflicts(target, bundle) == ["moscow"]

    plan = import_bundle(target, bundle, {"moscow": "rename"})

    assert plan.renamed == {"moscow": "moscow-2"}
    assert target.load("moscow").include.children[0].value == "Tver"
    assert target.load("moscow-2").include.children[0].value == "Moscow"
    refs = definition.references(target.load("capitals"))
    assert refs == ["moscow-2", "kazan"]


def test_import_with_replace_keeps_the_old_text_as_a_version(source, tmp_path):
    target = Library(tmp_path / "target")
    target.save(city("moscow", "Tver"))
    bundle = read_bundle(bundle_json(source, "moscow"), file="moscow.json")

    plan = import_bundle(target, bundle, "replace")

    assert plan.replaced == ["moscow"]
    assert target.load("moscow").include.children[0].value == "Moscow"
    assert target.load_version("moscow", 1).include.children[0].value == "Tver"


def test_import_errors_name_the_file_the_segment_path_and_problem(source):
    raw = json.loads(bundle_json(source, "capitals"))
    raw["segments"][1]["include"]["all"][0]["field"] = "citty"

    with pytest.raises(DefinitionError) as caught:
        read_bundle(json.dumps(raw), file="capitals.json")

    message = str(caught.value)
    assert message.startswith("file capitals.json: ")
    assert 'segments[1] "moscow" include.all[0].field' in message
    assert 'did you mean "city"?' in message


def test_import_refuses_a_reference_missing_from_file_and_library(source, tmp_path):
    target = Library(tmp_path / "target")
    raw = json.loads(bundle_json(source, "capitals"))
    del raw["segments"][2]  # kazan
    bundle = read_bundle(json.dumps(raw), file="cut.json")

    with pytest.raises(DefinitionError, match='file cut.json: segments\\[0\\] "capitals": '
                       'references segment "kazan", which is neither'):
        import_bundle(target, bundle)

    assert target.ids() == []


def test_a_single_definition_file_reads_as_a_bundle_of_one(source):
    text = definition.to_json(source.load("moscow"))

    bundle = read_bundle(text.encode("utf-8"), file="moscow.json")

    assert bundle.ids == ["moscow"]


def test_not_json_names_the_file_and_position():
    with pytest.raises(DefinitionError, match="file x.json: not valid JSON: .* line 1"):
        read_bundle("{oops", file="x.json")


def test_bundle_of_a_segment_with_a_missing_reference_is_refused(source):
    source.save(uses("broken", "nowhere"))

    with pytest.raises(LibraryError, match='"nowhere" \\(referenced by "broken"\\)'):
        bundle_json(source, "broken")


def test_share_link_round_trips_without_snapshot_ids(source):
    defn = source.load("capitals").with_snapshot(Snapshot("2026-06-30", (1, 2, 3)))

    param = encode_share(defn)

    assert set(param) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                             "0123456789-_")
    assert decode_share(param) == defn.with_snapshot(None)


def test_share_link_damaged_is_refused_with_a_message():
    with pytest.raises(ShareLinkError, match="damaged or cut short"):
        decode_share("eNq-not-really")
    with pytest.raises(ShareLinkError, match="carries no segment"):
        decode_share("")


def test_share_link_with_an_invalid_definition_names_the_path():
    raw = definition.to_dict(city("moscow", "Moscow"))
    raw["include"]["all"][0]["op"] = "equalz"
    param = base64.urlsafe_b64encode(zlib.compress(json.dumps(raw).encode())).decode()

    with pytest.raises(DefinitionError, match="file share link, segment \"moscow\": "
                       "include.all\\[0\\].op"):
        decode_share(param)
