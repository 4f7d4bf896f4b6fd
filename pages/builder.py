"""Builder: a segment in forms, with its size updating after every change.

The draft lives in the session (``builder_session``); the forms are in
``builder_forms`` and the live feedback in ``builder_feedback``. Other pages
open a definition here with ``builder_session.load_into_builder(defn)``; a
link ``?segment=<base64 of the JSON>`` opens one too.
"""

from __future__ import annotations

import copy
from datetime import date, datetime
from zoneinfo import ZoneInfo

import streamlit as st

from pages import builder_feedback as feedback
from pages import builder_forms as forms
from pages import builder_session as session
from pages.common import connection, library, shown_errors, through_app, today
from workbench import builder_state as bs
from workbench import catalog, compiler, sharing, store
from workbench.library import SaveConflict

SHARE_SEEN = "builder_share_seen"  # the ?segment= value already opened


def flash() -> None:
    kind, message = st.session_state.pop(forms.FLASH, (None, None))
    if kind == "error":
        st.error(message)
    elif kind == "success":
        st.success(message)


def as_of() -> date:
    return st.session_state.get("builder_as_of") or today()


# --------------------------------------------------------------------------
# Opening, starting afresh, duplicating


def open_segment(seg_id: str) -> None:
    session.start(bs.draft_from(library().load(seg_id)), loaded_id=seg_id)
    st.session_state[forms.FLASH] = ("success", f'Opened "{seg_id}".')


def new_segment(entity: str) -> None:
    session.start(bs.new_draft(entity), loaded_id=None)


@forms.safe
def on_open() -> None:
    seg_id = st.session_state.get("builder_open_pick")
    if not seg_id:
        raise bs.BuilderError("pick a saved segment to open")
    if session.dirty():
        st.session_state[session.PENDING] = ("open", seg_id)
        return
    open_segment(seg_id)


@forms.safe
def on_new() -> None:
    entity = session.draft()["entity"]
    if session.dirty():
        st.session_state[session.PENDING] = ("new", entity)
        return
    new_segment(entity)


@forms.safe
def on_confirm() -> None:
    action, arg = st.session_state.pop(session.PENDING)
    if action == "open":
        open_segment(arg)
    else:
        new_segment(arg)


@forms.safe
def on_cancel() -> None:
    st.session_state.pop(session.PENDING, None)


@forms.safe
def on_duplicate() -> None:
    copied = bs.duplicate(session.draft(), library().ids())
    session.start(copied, loaded_id=None)
    st.session_state[session.BASELINE] = None  # the copy is not saved yet
    st.session_state[forms.FLASH] = ("success", f'Duplicated as "{copied["id"]}"; '
                                     "save it to keep it.")


def open_share_link() -> None:
    shared = st.query_params.get("segment")
    if not shared or st.session_state.get(SHARE_SEEN) == shared:
        return
    st.session_state[SHARE_SEEN] = shared
    with shown_errors("Opening the link"):
        session.load_into_builder(sharing.decode_share(shared), switch=False,
                                  saved=False)


# --------------------------------------------------------------------------
# Name, id, description, mode, entity


def init_header() -> None:
    """Give header widgets the draft's values when they have none yet."""
    d = session.draft()
    defaults = {"builder_name": d.get("name", ""), "builder_id": d.get("id", ""),
                "builder_description": d.get("description", ""),
                "builder_mode": d.get("mode", "dynamic"),
                "builder_entity": d.get("entity", "contacts")}
    for key, value in defaults.items():
        st.session_state.setdefault(key, value)


@forms.safe
def on_entity() -> None:
    new = bs.set_entity(session.draft(), st.session_state["builder_entity"])
    session.set_draft(new, structural=True)


@forms.safe
def on_name() -> None:
    d = session.draft()
    name = st.session_state["builder_name"]
    new = bs.set_header(d, name=name)
    auto = not d.get("id") or d.get("id") == bs.slug(d.get("name") or "")
    if auto and st.session_state.get(session.LOADED_ID) is None and name.strip():
        new = bs.set_header(new, id=bs.unique_id(bs.slug(name), library().ids()))
        st.session_state["builder_id"] = new["id"]
    session.set_draft(new)


@forms.safe
def on_header(field: str) -> None:
    value = st.session_state[f"builder_{field}"]
    session.set_draft(bs.set_header(session.draft(), **{field: value}))


def header() -> None:
    d = session.draft()
    loaded = st.session_state.get(session.LOADED_ID)
    where = f'editing saved segment "{loaded}"' if loaded else "a new segment"
    st.caption(f"{d.get('name') or 'Untitled'}: {where}")
    if session.dirty():
        st.warning("Unsaved changes: save them below before leaving this page.",
                   icon=":material/warning:")
    entities = list(catalog.ENTITIES)
    st.selectbox("Segment of", entities, key="builder_entity",
                 format_func=lambda e: catalog.source(e).label, on_change=on_entity,
                 help="Changing it clears the conditions: they name its fields.")


def top_bar() -> None:
    cols = st.columns([6, 1.2, 1.2, 1.6, 3], vertical_alignment="bottom")
    names = {d.id: d.name for d in library().load_all()[0]}
    cols[0].selectbox("Saved segment", library().ids(), index=None,
                      format_func=lambda i: f"{names[i]} ({i})" if i in names else i,
                      key="builder_open_pick", placeholder="Pick one to open")
    cols[1].button("Open", key="builder_open", on_click=on_open)
    cols[2].button("New", key="builder_new", on_click=on_new)
    cols[3].button("Duplicate", key="builder_duplicate", on_click=on_duplicate)
    cols[4].date_input("As of", value=today(), key="builder_as_of",
                       help="Relative dates count back from this day.")
    pending = st.session_state.get(session.PENDING)
    if pending:
        what = f'open "{pending[1]}"' if pending[0] == "open" else "start a new segment"
        st.warning(f"You have unsaved changes. Discard them and {what}?")
        row = st.container(horizontal=True)
        row.button("Discard changes", key="builder_confirm", on_click=on_confirm)
        row.button("Keep editing", key="builder_cancel", on_click=on_cancel)


# --------------------------------------------------------------------------
# Saving


@forms.safe
def on_save() -> None:
    d = session.draft()
    problem = bs.id_problem(d.get("id"))
    if problem:  # the id is a file name: checked before any file is looked at
        raise bs.BuilderError(f"Id: {problem}")
    lib = library()
    defn = bs.definition_for_save(d)
    loaded = st.session_state.get(session.LOADED_ID)
    if lib.exists(defn.id) and defn.id != loaded and \
            not st.session_state.get("builder_overwrite"):
        raise bs.BuilderError(f'a saved segment already has the id "{defn.id}": '
                              'change the id or tick "Overwrite it"')
    compiler.compile_members(defn, as_of(), lib, use_snapshots=False)  # refs, cycles
    defn = with_snapshot(defn)
    # Refuse to write over a version saved after this one was opened; an
    # explicit "Overwrite it" of another segment's id skips the check.
    expected = st.session_state.get(session.LOADED_VERSION, 0) \
        if defn.id == loaded else (None if lib.exists(defn.id) else 0)
    try:
        lib.save(defn, expected_version=expected)
    except SaveConflict as err:
        st.session_state[session.CONFLICT] = err.diff
        raise
    st.session_state.pop(session.CONFLICT, None)
    st.session_state[session.LOADED_VERSION] = lib.current_version(defn.id)
    saved = bs.draft_from(defn)
    st.session_state[session.DRAFT] = saved
    st.session_state[session.BASELINE] = copy.deepcopy(saved)
    st.session_state[session.LOADED_ID] = defn.id
    st.session_state[forms.FLASH] = ("success", f'Saved "{defn.id}" ({defn.mode}).')


def with_snapshot(defn):
    """Static: freeze the members unless an unedited snapshot is kept as it is."""
    if defn.mode == "dynamic":
        return defn.with_snapshot(None)
    refresh = st.session_state.get("builder_refresh_snapshot")
    if defn.snapshot is not None and not session.dirty() and not refresh:
        return defn
    con = connection()
    now = datetime.now(ZoneInfo(store.timezone(con))).replace(tzinfo=None)
    return defn.with_snapshot(bs.make_snapshot(con, defn, as_of=as_of(), made_at=now,
                                               resolver=library()))


def save_panel() -> None:
    d = session.draft()
    st.subheader("Save")
    conflict = st.session_state.get(session.CONFLICT)
    if conflict:
        with st.expander("What the other save changed (stored → yours)"):
            st.code(conflict, language="diff")
    cols = st.columns(2)
    cols[0].text_input("Name", key="builder_name", on_change=on_name)
    cols[1].text_input("Id (file name)", key="builder_id", on_change=on_header,
                       args=("id",),
                       help="Lower-case letters, digits, - and _; at most "
                            f"{bs.ID_MAX_LENGTH}.")
    problem = bs.id_problem(d.get("id")) if d.get("id") else None
    if problem:
        cols[1].error(f"Id: {problem}", icon=":material/error:")
    st.text_area("Description", key="builder_description", on_change=on_header,
                 args=("description",), height=68)
    st.radio("Mode", ["dynamic", "static"], key="builder_mode", horizontal=True,
             on_change=on_header, args=("mode",),
             format_func=lambda m: {"dynamic": "dynamic: re-evaluated on use",
                                    "static": "static: members frozen on save"}[m])
    snap = d.get("snapshot")
    if d.get("mode") == "static" and snap:
        st.caption(f"Stored snapshot: {len(snap.get('ids', [])):,} members as of "
                   f"{snap.get('as_of')}.")
        st.checkbox("Refresh the snapshot on save", key="builder_refresh_snapshot")
    loaded = st.session_state.get(session.LOADED_ID)
    if d.get("id") and not problem and d["id"] != loaded and \
            library().exists(d["id"]):
        st.checkbox(f'Overwrite it: "{d["id"]}" is already saved',
                    key="builder_overwrite")
    st.button("Save", key="builder_save", type="primary", on_click=on_save)


# --------------------------------------------------------------------------
# The page


through_app()
st.title("Builder")
open_share_link()
flash()
with shown_errors("The builder"):
    init_header()
    top_bar()
    header()
    con = connection()
    live = bs.live_definition(session.draft(), library(), as_of())
    for message in live.problems.get((), []):
        st.warning(message)
    st.subheader("Live size")
    feedback.size(con, live, library(), as_of())
    form, results = st.columns([3, 2], gap="medium")
    with form:
        st.subheader("Include")
        src = catalog.source(session.draft()["entity"])
        forms.group(bs.INCLUDE, session.draft()["include"], src, live.problems,
                    entity_level=True)
        st.subheader("Exclude")
        st.caption("Records matching any of these are removed from the result.")
        forms.exclusions(live.problems)
        save_panel()
    with results:
        feedback.feedback(con, live, library(), as_of())
    feedback.sample(con, live, library(), as_of())
    feedback.explain(con, live, library(), as_of())
