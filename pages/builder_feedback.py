"""The builder's live feedback: size, narrowing, channels, sample, words, SQL.

Everything here evaluates ``Live.definition``: the draft without its
unfinished conditions, as a dynamic segment, so a static segment's logic is
counted on today's data while its stored snapshot stays as it is.

The page lays it out in three places: the size in a row across the page
above the forms (``size``), narrowing, words and SQL beside the forms
(``feedback``), and the sample with "explain a record" below them
(``sample`` and ``explain``), where a table of records has the width it needs.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import streamlit as st

from pages.common import shown_errors
from workbench import compiler, evaluator
from workbench.builder_state import Live
from workbench.definition import Definition, Resolver
from workbench.describe import describe

SAMPLE_SIZE = 20
KEY_FIELDS = {
    "contacts": ["id", "name", "email", "phone", "city", "source"],
    "companies": ["id", "name", "industry", "size_band", "city"],
    "leads": ["id", "name", "email", "phone", "status", "source", "city"],
}
SAMPLE = "builder_sample_ids"  # ids of the sample shown, for the explain picker
COUNT_WIDTH = 90  # px of a count column: "1,234,567" and its header
STEP_WIDTH = 120  # px of a step column: "exclude[0].any[1]"
REACHABLE = "A valid {} and no opt-out from that channel."


def feedback(con: duckdb.DuckDBPyConnection, live: Live, lib: Resolver,
             as_of: date) -> None:
    """Narrowing, the segment in words and its SQL, for the column beside the forms."""
    defn = live.definition
    with shown_errors("Counting per condition"):
        narrowing(con, defn, lib, as_of)
    st.markdown("**In words**")
    st.text("\n".join(describe(defn)))
    with st.expander("SQL"):
        with shown_errors("Compiling"):
            compiled = compiler.compile_members(defn, as_of, lib)
            st.code(compiled.sql_with_values(), language="sql")
            st.caption("As run, values as parameters:")
            st.code(compiled.sql(pretty=True), language="sql")
            st.json(compiled.params, expanded=False)


def size(con: duckdb.DuckDBPyConnection, live: Live, lib: Resolver,
         as_of: date) -> None:
    """Members and what each channel reaches, one metric beside the other."""
    unfinished = len(live.problems)
    with shown_errors("Counting"):
        counts = evaluator.channel_counts(con, live.definition, as_of=as_of,
                                          resolver=lib)
        row = st.container(horizontal=True, gap="small", key="builder_size")
        row.metric("Members", f"{counts.total:,}", border=True)
        row.metric("With e-mail", f"{counts.with_email:,}", border=True)
        row.metric("With phone", f"{counts.with_phone:,}", border=True)
        row.metric("E-mail reachable", f"{counts.email_reachable:,}", border=True,
                   help=REACHABLE.format("e-mail address"))
        row.metric("Phone reachable", f"{counts.phone_reachable:,}", border=True,
                   help=REACHABLE.format("phone number"))
    if unfinished:
        st.info(f"{unfinished} unfinished condition{'s' if unfinished > 1 else ''} "
                "left out of the count; marked in the form.")


def narrowing(con: duckdb.DuckDBPyConnection, defn: Definition, lib: Resolver,
              as_of: date) -> None:
    steps = evaluator.condition_counts(con, defn, as_of=as_of, resolver=lib)
    st.markdown("**Narrowing**: how many remain after each step, and how many "
                "each condition alone keeps")
    frame = pd.DataFrame([{"step": s.path, "remaining": s.remaining, "alone": s.alone,
                           "condition": s.text} for s in steps])
    st.dataframe(frame, hide_index=True, key="builder_narrowing", column_config={
        "step": st.column_config.TextColumn(width=STEP_WIDTH),
        "remaining": count_column("Records left after this step and those above"),
        "alone": count_column("Records this condition keeps on its own"),
        "condition": st.column_config.TextColumn("in words", width="large")})


def count_column(help_: str) -> dict:
    return st.column_config.NumberColumn(width=COUNT_WIDTH, format="localized",
                                         help=help_)


def sample(con: duckdb.DuckDBPyConnection, live: Live, lib: Resolver,
           as_of: date) -> None:
    """The first members by id; their ids feed the explain picker."""
    defn = live.definition
    st.markdown(f"**Sample of members** (first {SAMPLE_SIZE} by id)")
    with shown_errors("Listing members"):
        frame = evaluator.members(con, defn, as_of=as_of, resolver=lib,
                                  limit=SAMPLE_SIZE,
                                  columns=KEY_FIELDS.get(defn.entity))
        st.session_state[SAMPLE] = [int(i) for i in frame["id"]]
        st.dataframe(frame, hide_index=True, key="builder_sample")


def explain(con: duckdb.DuckDBPyConnection, live: Live, lib: Resolver,
            as_of: date) -> None:
    """Why one record is in or out: each condition met or not, with values seen."""
    st.markdown("**Explain a record**")
    cols = st.columns(2)
    picked = cols[0].selectbox("From the sample", st.session_state.get(SAMPLE, []),
                               index=None, key="builder_explain_pick",
                               placeholder="Pick a member")
    typed = cols[1].number_input("Or type an id", min_value=0, step=1, value=None,
                                 key="builder_explain_id")
    record_id = typed if typed is not None else picked
    if record_id is None:
        return
    with shown_errors("Explaining"):
        show_explanation(con, live.definition, int(record_id), lib, as_of)


def show_explanation(con: duckdb.DuckDBPyConnection, defn: Definition, record_id: int,
                     lib: Resolver, as_of: date) -> None:
    result = evaluator.explain_record(con, defn, record_id, as_of=as_of, resolver=lib)
    if not result.exists:
        st.warning(f"{defn.entity} has no record with id {record_id}.")
        return
    verdict = "is a member" if result.member else "is not a member"
    st.write(f"Record {record_id} {verdict} as of {as_of.isoformat()}.")
    if result.verdicts:
        frame = pd.DataFrame([{"condition": v.path,
                               "met": "met" if v.met else "not met",
                               "seen": "" if v.seen is None else str(v.seen),
                               "in words": v.text} for v in result.verdicts])
        st.dataframe(frame, hide_index=True, key="builder_explain_table",
                     column_config={
                         "condition": st.column_config.TextColumn(width=STEP_WIDTH),
                         "met": st.column_config.TextColumn(width="small"),
                         "seen": st.column_config.TextColumn(width="medium"),
                         "in words": st.column_config.TextColumn(width="large")})
    words = {v.path: v.text for v in result.verdicts}
    for path in result.excluded_by:
        st.write(f"Removed by exclusion {path}: {words.get(path, 'a group')}.")
    if result.included and not result.excluded_by and not result.member:
        st.write("Matches the logic but is not in the stored snapshot.")
