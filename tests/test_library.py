"""The library: versions, conflicts, rename/duplicate/delete, static snapshots."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from tests import tiny
from workbench import definition, evaluator
from workbench.definition import Definition, FieldCondition, Group, SegmentRef
from workbench.library import Library, LibraryError, SaveConflict, refresh_snapshot

T1 = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)
T2 = datetime(2026, 6, 2, 9, 0, tzinfo=timezone.utc)
T3 = datetime(2026, 6, 3, 9, 0, tzinfo=timezone.utc)


def city(seg_id: str, value: str, mode: str = "dynamic") -> Definition:
    return Definition(seg_id, f"City {value}", mode=mode,
                      include=Group("all", (FieldCondition("city", "equals", value),)))


def referring(seg_id: str, target: str) -> Definition:
    return Definition(seg_id, f"Uses {target}", include=Group("all", (SegmentRef(target),)))


@pytest.fixture
def lib(tmp_path):
    return Library(tmp_path / "segments")


def test_save_then_load_gives_the_same_definition_and_text(lib):
    defn = city("moscow", "Moscow")

    path = lib.save(defn)

    assert lib.load("moscow") == defn
    assert path.read_text(encoding="utf-8") == definition.to_json(defn)
    assert lib.ids() == ["moscow"]


def test_every_save_is_a_version_with_its_time(lib):
    lib.save(city("moscow", "Moscow"), at=T1)
    lib.save(city("moscow", "Kazan"), at=T2, note="moved")

    versions = lib.history("moscow")

    assert [(v.number, v.saved_at, v.note) for v in versions] == [
        (1, "2026-06-01T09:00:00+00:00", ""), (2, "2026-06-02T09:00:00+00:00", "moved")]
    assert lib.current_version("moscow") == 2
    assert lib.load_version("moscow", 1).include.children[0].value == "Moscow"


def test_diff_shows_the_changed_value_as_removed_and_added_lines(lib):
    lib.save(city("moscow", "Moscow"))
    lib.save(city("moscow", "Kazan"))

    text = lib.diff("moscow", 1, 2)

    assert '-        "value": "Moscow"' in text
    assert '+        "value": "Kazan"' in text
    assert text.startswith("--- moscow version 1\n+++ moscow version 2\n")


def test_restore_saves_the_old_text_as_the_newest_version(lib):
    lib.save(city("moscow", "Moscow"))
    lib.save(city("moscow", "Kazan"))

    lib.restore("moscow", 1)

    assert lib.load("moscow") == city("moscow", "Moscow")
    assert [v.note for v in lib.history("moscow")][-1] == "restored version 1"
    assert lib.current_version("moscow") == 3


def test_saving_over_a_newer_version_is_refused_with_version_time_and_diff(lib):
    lib.save(city("moscow", "Moscow"), at=T1)
    lib.save(city("moscow", "Kazan"), at=T2, author="Olga")  # someone else

    with pytest.raises(SaveConflict) as caught:
        lib.save(city("moscow", "Omsk"), expected_version=1, at=T3)

    err = caught.value
    assert "version 2 by Olga at 2026-06-02T09:00:00+00:00" in str(err)
    assert "you opened version 1" in str(err)
    assert '-        "value": "Kazan"' in err.diff
    assert '+        "value": "Omsk"' in err.diff
    assert lib.load("moscow") == city("moscow", "Kazan")


def test_saving_the_version_you_opened_is_accepted(lib):
    lib.save(city("moscow", "Moscow"))

    lib.save(city("moscow", "Omsk"), expected_version=1)

    assert lib.current_version("moscow") == 2


def test_creating_a_segment_whose_id_was_taken_meanwhile_is_refused(lib):
    lib.save(city("moscow", "Moscow"))

    with pytest.raises(SaveConflict, match="creating it as a new segment"):
        lib.save(city("moscow", "Omsk"), expected_version=0)


def test_a_crash_while_writing_leaves_the_previous_file(lib, monkeypatch):
    lib.save(city("moscow", "Moscow"))
    before = lib.path("moscow").read_text(encoding="utf-8")

    def crash(src, dst):
        raise OSError("disk pulled out")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        lib.save(city("moscow", "Kazan"))
    monkeypatch.undo()

    assert lib.path("moscow").read_text(encoding="utf-8") == before
    assert not [p for p in lib.folder.iterdir() if p.name.endswith(".tmp")]


def test_a_file_edited_by_hand_becomes_a_version_before_the_next_save(lib):
    lib.save(city("moscow", "Moscow"))
    lib.path("moscow").write_text(definition.to_json(city("moscow", "Tver")),
                                  encoding="utf-8")

    assert [v.recorded for v in lib.history("moscow")] == [True, False]
    lib.save(city("moscow", "Kazan"), expected_version=2)

    assert lib.load_version("moscow", 2).include.children[0].value == "Tver"
    assert lib.current_version("moscow") == 3


def test_delete_of_a_referenced_segment_is_refused_naming_the_referrers(lib):
    lib.save(city("moscow", "Moscow"))
    lib.save(referring("a-user", "moscow"))
    lib.save(referring("b-user", "moscow"))

    with pytest.raises(LibraryError, match='"a-user", "b-user" reference it'):
        lib.delete("moscow")
    with pytest.raises(LibraryError, match="cannot rename"):
        lib.rename("moscow", "msk")

    assert lib.exists("moscow")


def test_delete_keeps_history_so_the_segment_can_be_restored(lib):
    lib.save(city("moscow", "Moscow"))

    lib.delete("moscow")
    assert lib.ids() == []
    lib.restore("moscow", 1)

    assert lib.load("moscow") == city("moscow", "Moscow")


def test_rename_moves_the_file_and_carries_the_history(lib):
    lib.save(city("moscow", "Moscow"))
    lib.save(city("moscow", "Kazan"))

    lib.rename("moscow", "kazan")

    assert lib.ids() == ["kazan"]
    assert lib.load("kazan").id == "kazan"
    assert [v.number for v in lib.history("kazan")] == [1, 2, 3]
    assert lib.history("kazan")[-1].note == 'renamed from "moscow"'


def test_duplicate_makes_a_copy_with_its_own_history(lib):
    lib.save(city("moscow", "Moscow"))
    lib.save(city("moscow", "Kazan"))

    copy = lib.duplicate("moscow", "moscow-2")

    assert copy.name == "City Kazan (copy)"
    assert [v.number for v in lib.history("moscow-2")] == [1]
    with pytest.raises(LibraryError, match="already exists"):
        lib.duplicate("moscow", "moscow-2")


# --------------------------------------------------------------------------
# Static snapshots


def test_static_segment_keeps_its_members_until_refreshed(lib):
    con = tiny.build()
    lib.save(city("moscow", "Moscow", mode="static"))
    first = refresh_snapshot(con, lib, "moscow", tiny.AS_OF, at=T1)
    # contacts 1 ("Moscow") and 2 (" moscow ") match
    assert first.snapshot.ids == (1, 2)

    con.execute("UPDATE contacts SET city = 'Moscow' WHERE id = 3")
    static = lib.load("moscow")
    assert evaluator.member_ids(con, static, as_of=tiny.AS_OF, resolver=lib) == [1, 2]

    refresh_snapshot(con, lib, "moscow", tiny.AS_OF, at=T2)
    again = lib.load("moscow")
    assert evaluator.member_ids(con, again, as_of=tiny.AS_OF, resolver=lib) == [1, 2, 3]
    assert again.snapshot.version == 2


def test_snapshot_records_as_of_fingerprint_and_channels(lib):
    con = tiny.build()
    lib.save(city("moscow", "Moscow", mode="static"))

    snap = refresh_snapshot(con, lib, "moscow", tiny.AS_OF, at=T1).snapshot

    assert snap.as_of == "2026-06-30"
    assert snap.made_at == "2026-06-01T09:00:00+00:00"
    assert snap.fingerprint["tables"]["contacts"] == 6
    # Anna: e-mail but opted out of e-mail; Boris: e-mail, no phone
    assert snap.channels == {"total": 2, "with_email": 2, "with_phone": 1,
                             "email_reachable": 1, "phone_reachable": 1}


def test_old_snapshots_stay_readable_through_the_history(lib):
    con = tiny.build()
    lib.save(city("moscow", "Moscow", mode="static"))
    refresh_snapshot(con, lib, "moscow", tiny.AS_OF, at=T1)
    con.execute("UPDATE contacts SET city = 'Moscow' WHERE id = 3")
    refresh_snapshot(con, lib, "moscow", tiny.AS_OF, at=T2)

    snaps = lib.snapshots("moscow")

    assert [(v.number, s.ids) for v, s in snaps] == [(2, (1, 2)), (3, (1, 2, 3))]
    assert "# snapshot members: 1 added, 0 removed" in lib.diff("moscow", 2, 3)


def test_refreshing_a_dynamic_segment_is_refused(lib):
    con = tiny.build()
    lib.save(city("moscow", "Moscow"))

    with pytest.raises(LibraryError, match="is dynamic"):
        refresh_snapshot(con, lib, "moscow", tiny.AS_OF)


def test_refresh_keeps_a_referenced_static_segment_frozen(lib):
    con = tiny.build()
    lib.save(city("moscow", "Moscow", mode="static"))
    refresh_snapshot(con, lib, "moscow", tiny.AS_OF)
    con.execute("UPDATE contacts SET city = 'Moscow' WHERE id = 3")
    lib.save(replace(referring("frozen-user", "moscow"), mode="static"))

    frozen = refresh_snapshot(con, lib, "frozen-user", tiny.AS_OF)

    assert frozen.snapshot.ids == (1, 2)


@pytest.mark.parametrize("bad", ["../outside", "a/b", "x" * 300, "Upper", ""])
def test_ids_that_are_not_plain_names_never_reach_the_file_system(tmp_path, bad):
    lib = Library(tmp_path / "segments")

    with pytest.raises(LibraryError, match="is not a segment id"):
        lib.path(bad)
    assert not (tmp_path / "outside.json").exists()
