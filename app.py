"""Segment Workbench: the app's entry point (``streamlit run app.py``).

The database is ``store.default_db_path()`` (``$WORKBENCH_DB`` overrides; a
demo database is created there when it has no data) and the saved segments
live in ``$WORKBENCH_SEGMENTS`` or ``data/segments``.
"""

from __future__ import annotations

import streamlit as st

from pages.common import run_page


def pages() -> list:
    return [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/segments.py", title="Segments", icon=":material/groups:"),
        st.Page("pages/builder.py", title="Builder", icon=":material/tune:"),
        st.Page("pages/library.py", title="Library", icon=":material/folder_open:"),
        st.Page("pages/overlap.py", title="Overlap", icon=":material/join_inner:"),
        st.Page("pages/sizes.py", title="Sizes & forecast",
                icon=":material/trending_up:"),
        st.Page("pages/exports.py", title="Exports", icon=":material/ios_share:"),
        st.Page("pages/data.py", title="Data", icon=":material/database:"),
    ]


st.set_page_config(page_title="Segment Workbench", page_icon=":material/groups:",
                   layout="wide")
run_page(st.navigation(pages()))
