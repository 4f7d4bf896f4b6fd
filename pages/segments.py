"""Segments: every saved segment with its size, and one opened in detail."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import streamlit as st

from pages.builder_session import load_into_builder
from pages.common import (
    connection, db_path, library, shown_errors, through_app, today,
)
from workbench import compiler, definition, evaluator, store
from workbench.definition import Definition, DefinitionError
from workbench.describe import describe
from workbench.errors import WorkbenchError

CHANNEL_COLUMNS = {"with_email": "with e-mail", "with_phone": "with phone",
                   "email_reachable": "e-mail reachable",
                   "phone_reachable": "phone reachable"}


def summary_row(con, defn: Definition, as_of: date, lib) -> dict:
    """One table row: the segment and its counts, or the error that stopped them."""
    row = {"segment": defn.id, "name": defn.name, "entity": defn.entity,
           "mode": defn.mode, "members": None, "problem": ""}
    try:
        counts = evaluator.channel_counts(con, defn, as_of=as_of, resolver=lib)
    except Exception as err:  # shown in its row, the other rows still count
        row["problem"] = str(err) if isinstance(err, WorkbenchError) else \
            f"{type(err).__name__}: {err}"
        return row
    row["members"] = counts.total
    for name, label in CHANNEL_COLUMNS.items():
        row[label] = getattr(counts, name)
    return row


def broken_row(err: DefinitionError) -> dict:
    name = (err.file or "").rsplit("/", 1)[-1].removesuffix(".json")
    return {"segment": err.segment or name, "name": "", "entity": "", "mode": "",
            "members": None, "problem": str(err)}


@st.cache_data(max_entries=64, show_spinner="Counting saved segments...")
def cached_rows(db: str, stamp: str, texts: tuple[str, ...], as_of: date) -> list[dict]:
    """Rows of the table; recounted only when the data, a definition or the day
    changes (``stamp`` is the data's fingerprint: row counts and last load)."""
    lib = library()
    return [summary_row(connection(), lib.load(seg_id), as_of, lib)
            for seg_id in texts[::2]]


def show_table(con, as_of: date) -> list[Definition]:
    good, bad = library().load_all()
    # A segment's count depends on what it references, so every definition's
    # text is part of the key.
    texts = tuple(x for d in good for x in (d.id, definition.to_json(d)))
    stamp = json.dumps(store.fingerprint(con), sort_keys=True)
    rows = cached_rows(db_path(), stamp, texts, as_of)
    rows += [broken_row(e) for e in bad]
    if not rows:
        st.info(f"No saved segments in {library().folder} yet: build one in the "
                "Builder.")
        return good
    frame = pd.DataFrame(rows)
    frame = frame[[c for c in ["segment", "name", "entity", "mode", "members",
                               *CHANNEL_COLUMNS.values(), "problem"] if c in frame]]
    st.dataframe(frame, hide_index=True, key="segments_table")
    return good


def show_detail(con, defn: Definition, as_of: date) -> None:
    lib = library()
    st.subheader(defn.name)
    if defn.description:
        st.caption(defn.description)
    st.text("\n".join(describe(defn)))
    with shown_errors("Counting"):
        total = evaluator.count(con, defn, as_of=as_of, resolver=lib)
        st.metric("Members", f"{total:,}")
    with shown_errors("Counting per condition"):
        steps = evaluator.condition_counts(con, defn, as_of=as_of, resolver=lib)
        st.dataframe(pd.DataFrame([{"condition": s.path, "in words": s.text,
                                    "alone": s.alone, "remaining": s.remaining}
                                   for s in steps]),
                     hide_index=True, key="segments_steps")
    explain(con, defn, as_of)
    with st.expander("SQL"):
        with shown_errors("Compiling"):
            compiled = compiler.compile_members(defn, as_of, lib)
            st.caption("With values written in (for reading):")
            st.code(compiled.sql_with_values(), language="sql")
            st.caption("As run, with parameters:")
            st.code(compiled.sql(pretty=True), language="sql")
            st.json({k: v for k, v in compiled.params.items()}, expanded=False)
    if st.button("Open in Builder", key="segments_open_builder",
                 icon=":material/tune:"):
        load_into_builder(defn)


def explain(con, defn: Definition, as_of: date) -> None:
    st.markdown("**Explain a record**")
    record_id = st.number_input("Record id", min_value=0, step=1, value=None,
                                key="segments_explain_id")
    if record_id is None:
        return
    with shown_errors("Explaining"):
        result = evaluator.explain_record(con, defn, int(record_id), as_of=as_of,
                                          resolver=library())
        if not result.exists:
            st.warning(f"{defn.entity} has no record with id {int(record_id)}.")
            return
        verdict = "is a member" if result.member else "is not a member"
        st.write(f"Record {int(record_id)} {verdict}.")
        st.dataframe(pd.DataFrame([{"condition": v.path, "in words": v.text,
                                    "met": v.met, "seen": str(v.seen)}
                                   for v in result.verdicts]),
                     hide_index=True, key="segments_explain_table")
        for path in result.excluded_by:
            st.write(f"Removed by {path}.")


through_app()
st.title("Segments")
with shown_errors("Listing segments"):
    con = connection()
    as_of = st.date_input("As of", value=today(), key="segments_as_of")
    segments = show_table(con, as_of)
    ids = [d.id for d in segments]
    if ids:
        picked = st.selectbox("Open a segment", ids, key="segments_pick",
                              format_func=lambda i: next(
                                  f"{d.name} ({d.id})" for d in segments if d.id == i))
        show_detail(con, next(d for d in segments if d.id == picked), as_of)
