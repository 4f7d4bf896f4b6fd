"""The builder's state in the session, and the hook other pages open it with.

The draft being edited is the JSON form of a definition, kept under
``DRAFT``; ``BASELINE`` is the draft as last opened or saved, so the page
can tell unsaved changes. Widgets of the builder have keys starting with
``b.`` (conditions) or ``builder_`` (everything else).
"""

from __future__ import annotations

import copy
from typing import Any

import streamlit as st

from pages.common import library
from workbench import builder_state
from workbench.definition import Definition

DRAFT = "builder_draft"
BASELINE = "builder_baseline"
LOADED_ID = "builder_loaded_id"  # id of the saved segment being edited, if any
LOADED_VERSION = "builder_loaded_version"  # its library version when opened
CONFLICT = "builder_conflict_diff"  # the diff of a refused save, shown once
PENDING = "builder_pending"  # ("open", id) or ("new", entity) awaiting confirmation
HEADER_KEYS = ("builder_name", "builder_id", "builder_description", "builder_mode",
               "builder_entity", "builder_overwrite")
BUILDER_PAGE = "pages/builder.py"


def draft() -> dict[str, Any]:
    if DRAFT not in st.session_state:
        start(builder_state.new_draft(), loaded_id=None)
    return st.session_state[DRAFT]


def set_draft(new: dict[str, Any], *, structural: bool = False) -> None:
    """Replace the draft; after a structural edit, widgets re-read it."""
    st.session_state[DRAFT] = new
    if structural:
        forget_widgets(header=False)


def dirty() -> bool:
    return st.session_state.get(DRAFT) != st.session_state.get(BASELINE)


def start(new: dict[str, Any], *, loaded_id: str | None) -> None:
    """Begin editing ``new`` as if just opened: no unsaved changes."""
    st.session_state[DRAFT] = new
    st.session_state[BASELINE] = copy.deepcopy(new)
    st.session_state[LOADED_ID] = loaded_id
    st.session_state[LOADED_VERSION] = (
        library().current_version(loaded_id) if loaded_id else 0)
    st.session_state.pop(CONFLICT, None)
    st.session_state.pop(PENDING, None)
    forget_widgets(header=True)


def forget_widgets(*, header: bool) -> None:
    """Drop widget values so the next run draws every widget from the draft."""
    for key in list(st.session_state):
        if isinstance(key, str) and (key.startswith("b.") or
                                     (header and key in HEADER_KEYS)):
            del st.session_state[key]


def load_into_builder(defn: Definition, *, switch: bool = True,
                      saved: bool = True) -> None:
    """Open ``defn`` in the builder (and go there unless ``switch`` is False).

    ``saved``: the definition is the library's copy, so saving writes over it;
    pass False for a definition from elsewhere (a share link, an import).
    """
    start(builder_state.draft_from(defn), loaded_id=defn.id if saved else None)
    if not saved:
        st.session_state[BASELINE] = None  # nothing on disk yet: unsaved
    if switch:
        st.switch_page(BUILDER_PAGE)
