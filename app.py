"""Segment Workbench: the app's entry point (``streamlit run app.py``).

The database is ``store.default_db_path()`` (``$WORKBENCH_DB`` overrides; a
demo database is created there when it has no data) and the saved segments
live in ``$WORKBENCH_SEGMENTS`` or ``data/segments``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from pages.common import run_page

HERE = Path(__file__).resolve().parent

# Pages other people are writing: listed only once their file exists.
OPTIONAL_PAGES = (
    ("pages/library.py", "Library", ":material/folder_open:"),
    ("pages/overlap.py", "Overlap", ":material/join_inner:"),
    ("pages/sizes.py", "Sizes & forecast", ":material/trending_up:"),
    ("pages/data.py", "Data", ":material/database:"),
    ("pages/exports.py", "Exports", ":material/ios_share:"),
)


def pages() -> list:
    found = [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/segments.py", title="Segments", icon=":material/groups:"),
        st.Page("pages/builder.py", title="Builder", icon=":material/tune:"),
    ]
    for path, title, icon in OPTIONAL_PAGES:
        if (HERE / path).is_file():
            found.append(st.Page(path, title=title, icon=icon))
    return found


st.set_page_config(page_title="Segment Workbench", page_icon=":material/groups:",
                   layout="wide")
run_page(st.navigation(pages()))
