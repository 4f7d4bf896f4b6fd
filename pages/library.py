"""Library: saved segments, their versions, sharing, import and static snapshots.

Actions run as button callbacks (before the page is drawn), so they can move
the segment picker to a renamed or copied segment; their outcome is kept in
session state and shown once at the top of the next run.
"""

from __future__ import annotations

import logging
from datetime import date
from urllib.parse import urlsplit

import pandas as pd
import streamlit as st

from pages.common import connection, library, shown_errors, through_app, today
from workbench import sharing
from workbench.definition import Definition
from workbench.errors import WorkbenchError
from workbench.library import Library, SaveConflict, refresh_snapshot

through_app()

logger = logging.getLogger(__name__)

PICK = "library_segment"
FLASH = "library_flash"


def act(what: str, fn, *args, select: str | None = None, **kwargs) -> None:
    """Run one library action from a callback and remember how it went."""
    try:
        message = fn(*args, **kwargs)
    except SaveConflict as err:
        st.session_state[FLASH] = ("error", str(err), err.diff)
        return
    except WorkbenchError as err:
        st.session_state[FLASH] = ("error", str(err), None)
        return
    except Exception as err:  # never a traceback on the page
        logger.exception("%s failed", what)
        st.session_state[FLASH] = ("error", f"{what} failed: {type(err).__name__}: "
                                            f"{err}", None)
        return
    st.session_state[FLASH] = ("success", message, None)
    if select is not None:
        st.session_state[PICK] = select


def show_flash() -> None:
    flash = st.session_state.pop(FLASH, None)
    if flash is None:
        return
    kind, message, diff = flash
    (st.success if kind == "success" else st.error)(message)
    if diff:
        with st.expander("What the other save changed", expanded=True):
            st.code(diff, language="diff")


def overview(lib: Library) -> None:
    good, bad = lib.load_all()
    rows = [{"id": d.id, "name": d.name, "entity": d.entity, "mode": d.mode,
             "version": lib.current_version(d.id),
             "frozen members": len(d.snapshot.ids) if d.snapshot else None,
             "frozen as of": d.snapshot.as_of if d.snapshot else None,
             "description": d.description} for d in good]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="library_table")
    for err in bad:
        st.warning(str(err))


def versions(lib: Library, seg_id: str, opened: int) -> None:
    history = lib.history(seg_id)
    st.dataframe(pd.DataFrame([{"version": v.number, "saved at": v.saved_at,
                                "note": v.note, "by": v.author or ""}
                               for v in reversed(history)]),
                 hide_index=True, key="library_history")
    numbers = [v.number for v in history]
    if len(numbers) < 2:
        st.caption("Only one version so far: every save adds one.")
        return
    left, right = st.columns(2)
    old = left.selectbox("Compare version", numbers, index=len(numbers) - 2,
                         key="library_diff_old")
    new = right.selectbox("with version", numbers, index=len(numbers) - 1,
                          key="library_diff_new")
    st.code(lib.diff(seg_id, old, new) or "(no difference)", language="diff")
    if old != opened:
        st.button(f"Restore version {old}", key="library_restore",
                  on_click=act, args=("Restore", restore, lib, seg_id, old, opened))


def restore(lib: Library, seg_id: str, number: int, opened: int) -> str:
    lib.restore(seg_id, number, expected_version=opened)
    return f'Version {number} of "{seg_id}" is the current one again.'


def snapshot(lib: Library, defn: Definition, opened: int) -> None:
    snap = defn.snapshot
    if snap is None:
        st.warning("This static segment has no frozen member list yet: refresh it.")
    else:
        cols = st.columns(3)
        cols[0].metric("Frozen members", f"{len(snap.ids):,}")
        cols[1].metric("As of", snap.as_of)
        cols[2].metric("Snapshot", f"#{snap.version}")
        st.caption(f"Made {snap.made_at}; channels {snap.channels}; data "
                   f"{(snap.fingerprint or {}).get('tables')}")
    as_of = st.date_input("Refresh as of", value=today(), key="library_refresh_as_of")
    st.button("Refresh the member list", key="library_refresh", on_click=act,
              args=("Refresh", refresh, lib, defn.id, as_of, opened))
    older = lib.snapshots(defn.id)
    if len(older) > 1:
        st.dataframe(pd.DataFrame([{"version": v.number, "snapshot": s.version,
                                    "as of": s.as_of, "members": len(s.ids),
                                    "made at": s.made_at} for v, s in reversed(older)]),
                     hide_index=True, key="library_snapshots")


def refresh(lib: Library, seg_id: str, as_of: date, opened: int) -> str:
    frozen = refresh_snapshot(connection(), lib, seg_id, as_of, expected_version=opened)
    return (f'"{seg_id}" now holds {len(frozen.snapshot.ids):,} members as of '
            f"{frozen.snapshot.as_of}.")


def manage(lib: Library, seg_id: str) -> None:
    new_id = st.text_input("New id (for rename or copy)", key="library_new_id").strip()
    cols = st.columns(3)
    cols[0].button("Rename", key="library_rename", disabled=not new_id, on_click=act,
                   args=("Rename", rename, lib, seg_id, new_id), kwargs={"select": new_id})
    cols[1].button("Duplicate", key="library_duplicate", disabled=not new_id,
                   on_click=act, args=("Duplicate", duplicate, lib, seg_id, new_id),
                   kwargs={"select": new_id})
    sure = cols[2].checkbox("Yes, delete", key="library_delete_sure")
    cols[2].button("Delete", key="library_delete", disabled=not sure, on_click=act,
                   args=("Delete", delete, lib, seg_id), kwargs={"select": None})


def rename(lib: Library, seg_id: str, new_id: str) -> str:
    lib.rename(seg_id, new_id)
    return f'"{seg_id}" is now "{new_id}".'


def duplicate(lib: Library, seg_id: str, new_id: str) -> str:
    lib.duplicate(seg_id, new_id)
    return f'Copied "{seg_id}" to "{new_id}".'


def delete(lib: Library, seg_id: str) -> str:
    lib.delete(seg_id)
    st.session_state.pop(PICK, None)
    return f'Deleted "{seg_id}"; its versions are kept and can be restored.'


def share(lib: Library, defn: Definition) -> None:
    st.download_button("Download as a bundle (with the segments it uses)",
                       sharing.bundle_json(lib, defn.id),
                       file_name=f"{defn.id}.bundle.json", mime="application/json",
                       key="library_download_bundle")
    st.caption("Share link: opens this definition in the builder (frozen member "
               "lists are not carried).")
    st.code(builder_link(defn), language=None)


def builder_link(defn: Definition) -> str:
    url = st.context.url or ""
    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}/" if parts.netloc else ""
    return f"{base}builder?{sharing.share_query(defn)}"


def import_bundle(lib: Library) -> None:
    upload = st.file_uploader("Segment or bundle (JSON)", type=["json"],
                              key="library_upload")
    if upload is None:
        return
    bundle = sharing.read_bundle(upload.getvalue(), file=upload.name)
    st.write(f"{len(bundle.segments)} segment(s): " + ", ".join(bundle.ids))
    choices: dict[str, sharing.Choice] = {}
    for seg_id in sharing.conflicts(lib, bundle):
        choices[seg_id] = st.radio(
            f'"{seg_id}" is already in the library', ["rename", "replace"],
            format_func={"rename": "keep both (import under a new id)",
                         "replace": "replace it (the old one stays in its history)"}.get,
            key=f"library_import_choice_{seg_id}", horizontal=True)
    st.button("Import", key="library_import", on_click=act,
              args=("Import", do_import, lib, bundle, choices))


def do_import(lib: Library, bundle: sharing.Bundle, choices) -> str:
    plan = sharing.import_bundle(lib, bundle, choices)
    renamed = "; renamed " + ", ".join(f"{a} → {b}" for a, b in plan.renamed.items()) \
        if plan.renamed else ""
    return f"Imported {len(bundle.segments)} segment(s) from {bundle.file}{renamed}."


st.title("Library")
def segment_names(lib: Library, ids: list[str]) -> dict[str, str]:
    """Display names of the segments that load; a broken one shows its id."""
    names = {}
    for seg_id in ids:
        try:
            names[seg_id] = lib.load(seg_id).name
        except WorkbenchError:
            continue
    return names


lib = library()
show_flash()
tab_saved, tab_import = st.tabs(["Saved segments", "Import"])

with tab_saved:
    ids = lib.ids()
    if not ids:
        st.info("No saved segments yet: build one in the builder and save it, or "
                "import a file.")
    else:
        with shown_errors("Listing the library"):
            overview(lib)
        if st.session_state.get(PICK) not in ids:
            st.session_state.pop(PICK, None)
        names = segment_names(lib, ids)
        seg_id = st.selectbox("Segment", ids, key=PICK,
                              format_func=lambda i: f"{names[i]} ({i})"
                              if i in names else i)
        with shown_errors("Opening the segment"):
            defn = lib.load(seg_id)
            opened = lib.current_version(seg_id)
            st.subheader(defn.name)
            st.caption(f"{defn.id} · {defn.entity} · {defn.mode} · version {opened}")
            if defn.description:
                st.write(defn.description)
            users = lib.referrers(seg_id)
            if users:
                st.caption("Used by: " + ", ".join(users))
            with st.expander("Versions", expanded=False):
                versions(lib, seg_id, opened)
            if defn.mode == "static":
                with st.expander("Frozen member list", expanded=True):
                    snapshot(lib, defn, opened)
            with st.expander("Share", expanded=False):
                share(lib, defn)
            with st.expander("Rename, copy, delete", expanded=False):
                manage(lib, seg_id)

with tab_import:
    with shown_errors("Reading the file"):
        import_bundle(lib)
