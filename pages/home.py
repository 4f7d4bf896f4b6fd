"""Home: what data the workbench is looking at."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages.common import connection, db_path, library, shown_errors, through_app
from workbench import store

through_app()

st.title("Segment Workbench")
st.caption("Build CRM audience segments, see their size as you go, save them "
           "as JSON anyone can run again.")

with shown_errors("Reading the database"):
    con = connection()
    origin = store.get_setting(con, "origin") or "not recorded"
    left, middle, right = st.columns(3)
    left.metric("Contacts", f"{store.table_counts(con).get('contacts', 0):,}")
    middle.metric("Time zone", store.timezone(con))
    right.metric("Saved segments", len(library().ids()))
    st.markdown(f"**Data from:** {origin}  \n**Database:** `{db_path()}`  \n"
                f"**Segments folder:** `{library().folder}`")
    st.caption("The running app holds this database open: command-line runs "
               "need a copy of it or another `--db`, or they stop at a lock error.")

    st.subheader("Tables")
    counts = store.table_counts(con)
    st.dataframe(pd.DataFrame({"table": list(counts), "rows": list(counts.values())}),
                 hide_index=True, key="home_tables")

    st.subheader("Load history")
    loads = con.execute("SELECT loaded_at, entity, file, mode, rows_in, rows_loaded, "
                        "rows_rejected FROM loads ORDER BY id DESC LIMIT 50").df()
    if loads.empty:
        st.info("No loads recorded in this database.")
    else:
        st.dataframe(loads, hide_index=True, key="home_loads")
