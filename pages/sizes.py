"""Sizes and forecast: every saved segment's size and reach, one segment's past
size, who entered and left, and its forecast with an interval and a backtest.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from pages.common import (
    cached_channel_rows, connection, db_path, library, shown_errors, through_app,
    today,
)
from workbench import catalog, definition, forecast, history, store
from workbench.definition import Definition

through_app()

LISTED = 200
CHARTED = 40  # bars beyond this many segments are unreadable
CHANNELS = (("members", "#bbb"), ("e-mail reachable", "#1f77b4"),
            ("phone reachable", "#2ca02c"), ("not reachable (at least)", "#d62728"))


def channel_table(con, defns: list[Definition], as_of) -> pd.DataFrame:
    """One row per segment, counted once per data, definitions and day."""
    # A segment's count depends on what it references, so every definition's
    # text is part of the key.
    texts = tuple(x for d in defns for x in (d.id, definition.to_json(d)))
    stamp = json.dumps(store.fingerprint(con), sort_keys=True)
    return pd.DataFrame(cached_channel_rows(db_path(), stamp, texts, as_of))


def channel_figure(table: pd.DataFrame, shown: int = CHARTED) -> go.Figure:
    """Horizontal bars, largest segment on top, legend above the plot."""
    table = (table.dropna(subset=["members"])
             .sort_values("members", ascending=False).head(shown)
             .iloc[::-1])  # plotly draws the first row at the bottom
    fig = go.Figure()
    for column, color in CHANNELS:
        fig.add_trace(go.Bar(y=table["segment"], x=table[column], name=column,
                             orientation="h", marker_color=color))
    fig.update_layout(barmode="group", height=140 + 28 * max(len(table), 1),
                      margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0,
                                  xanchor="left", x=0),
                      yaxis=dict(automargin=True), xaxis=dict(title="records"))
    return fig


def show_sizes(con, defns: list[Definition], as_of) -> None:
    st.subheader("All saved segments")
    table = channel_table(con, defns, as_of)
    counted = int(table["members"].notna().sum()) if "members" in table else 0
    if counted > CHARTED:
        st.caption(f"The chart shows the {CHARTED} largest of {counted} segments; "
                   "the table below lists them all.")
    st.plotly_chart(channel_figure(table), key="sizes_channels")
    st.caption("Reachable by e-mail: a valid address and no e-mail opt-out; by "
               "phone: a phone and no phone opt-out (for companies, through any of "
               "their contacts). The channels overlap, so \"not reachable\" is shown "
               "as a lower bound: members minus both reachable counts, at least 0. "
               "It is exact when nobody is reachable by both.")
    st.dataframe(table, hide_index=True, key="sizes_table",
                 column_config={c: st.column_config.NumberColumn(c, format="%d")
                                for c, _ in CHANNELS})


def history_figure(h: history.History, result: forecast.SegmentForecast | None):
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=h.dates, y=h.sizes, mode="lines+markers", name="size"))
    if result is not None:
        f = result.frame()
        fig.add_trace(go.Scatter(x=list(f["date"]) + list(f["date"])[::-1],
                                 y=list(f["upper"]) + list(f["lower"])[::-1],
                                 fill="toself", line=dict(width=0), name="interval",
                                 fillcolor="rgba(255,127,14,0.2)"))
        fig.add_trace(go.Scatter(x=f["date"], y=f["mean"], mode="lines",
                                 name="forecast",
                                 line=dict(color="#ff7f0e", dash="dash")))
        fig.add_trace(go.Scatter(x=f["date"], y=f["known"], mode="lines",
                                 name="if nothing new happens",
                                 line=dict(color="#2ca02c", dash="dot")))
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=10, b=10),
                      legend=dict(orientation="h"))
    return fig


def show_history(con, defns: list[Definition], now) -> None:
    st.subheader("Size history and forecast")
    by_id = {d.id: d for d in defns}
    seg = st.selectbox("Segment", list(by_id), key="sizes_segment",
                       format_func=lambda i: f"{by_id[i].name} ({i})")
    defn = by_id[seg]
    a, b, c = st.columns(3)
    start = a.date_input("From", value=now - timedelta(days=364), key="sizes_from")
    end = b.date_input("To", value=now, key="sizes_to")
    every = c.radio("Every", ("day", "week", "month"), index=1, horizontal=True,
                    key="sizes_every")
    existing_only = st.checkbox(
        "Leave out records created after each date", value=True, key="sizes_existing",
        help="Off: each point equals the segment's count as of that date on today's "
             "data, including records created later.")
    # Anchored at To: the forecast starts from the last point.
    h = history.history(con, defn, history.date_series(start, end, every,
                                                       anchor="end"),
                        resolver=library(), existing_only=existing_only)
    how = ("by intervals, one query" if h.path == "interval"
           else f"one evaluation per date ({h.reason})")
    st.caption(f"{len(h.dates)} dates, every {every} back from {end} (the forecast "
               f"starts there), computed {how} in {h.seconds:.2f} s. Past "
               "sizes use today's data: field values are today's, records created "
               "later are left out only if the box above is ticked.")

    p1, p2, p3 = st.columns(3)
    periods = p1.number_input("Periods ahead", 1, 104, 8, key="sizes_periods")
    model = p2.selectbox("Model", tuple(forecast.MODELS), key="sizes_model",
                         format_func=lambda m: "auto: the best on the backtest"
                         if m == "auto" else m)
    level = p3.slider("Interval", 0.5, 0.99, 0.9, 0.01, key="sizes_level")
    result = None
    try:
        result = forecast.forecast(con, defn, h, int(periods), every=every,
                                   resolver=library(), model=model, level=level)
    except forecast.ForecastError as err:
        st.info(f"No forecast: {err}")
    st.plotly_chart(history_figure(h, result), key="sizes_history_chart")
    st.dataframe(h.table(), hide_index=True, key="sizes_history_table",
                 column_config={"Date": st.column_config.DateColumn(
                     "Date", format="YYYY-MM-DD")})
    if result is not None:
        show_forecast(result)


def show_forecast(result: forecast.SegmentForecast) -> None:
    fit, test, choice = result.fit, result.backtest, result.choice
    why = ""
    if choice is not None and choice.reason != "asked for":
        why = f" Model **{fit.model}**, chosen for the {choice.reason}."
    st.markdown(f"Forecast: {fit.description}.{why} " + (
        "" if test is None else f"Backtest: {test.coverage()}."))
    st.caption(f"Clamped to 0 to {fit.cap:,.0f} (every record of the entity). "
               "\"If nothing new happens\" is exact: the size at each future date "
               "from today's data, so records whose dates cross a window edge move "
               "in or out on that day.")
    st.dataframe(result.table(), hide_index=True, key="sizes_forecast_table",
                 column_config={"Date": st.column_config.DateColumn(
                     "Date", format="YYYY-MM-DD")})
    if test is None:
        st.info("The history is too short for a backtest.")
        return
    a, b, c = st.columns(3)
    a.metric("Backtest MAE", f"{test.mae:,.1f}")
    b.metric("Backtest MAPE", "n/a" if test.mape is None else f"{test.mape:.1f}%")
    c.metric("Inside the interval", f"{test.covered} of {test.holdout}", help=(
        "Backtest values inside the model's own interval"
        + ("" if test.widened == 1 else f"; {test.covered_widened} of "
           f"{test.holdout} inside the interval widened ×{test.widened:.1f}")))
    st.caption(f"Fitted without the last {test.holdout} points, then compared with "
               "them. The model was chosen and its interval calibrated on these "
               "same points, so they flatter it somewhat.")
    st.dataframe(test.table(), hide_index=True, key="sizes_backtest_table",
                 column_config={"Date": st.column_config.DateColumn(
                     "Date", format="YYYY-MM-DD")})
    if choice is not None and len(choice.candidates) > 1:
        st.dataframe(choice.candidates.rename(columns={
            "model": "Model", "mae": "Backtest MAE", "mape": "MAPE %",
            "covered": "Inside own interval", "holdout": "Points held out"}).round(1),
            hide_index=True, key="sizes_candidates")


def show_movement(con, defns: list[Definition], now) -> None:
    st.subheader("Who entered and who left")
    by_id = {d.id: d for d in defns}
    seg = st.session_state.get("sizes_segment") or next(iter(by_id))
    defn = by_id.get(seg, defns[0])
    a, b = st.columns(2)
    d1 = a.date_input("Since", value=now - timedelta(days=30), key="sizes_since")
    d2 = b.date_input("Until", value=now, key="sizes_until")
    move = history.entered_left(con, defn, d1, d2, resolver=library(),
                                existing_only=st.session_state.get("sizes_existing",
                                                                   True))
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(f"Members on {d1}", f"{move.size_start:,}")
    m2.metric(f"Members on {d2}", f"{move.size_end:,}")
    m3.metric("Entered", f"{len(move.entered):,}")
    m4.metric("Left", f"{len(move.left):,}")
    left, right = st.columns(2)
    left.caption(f"Entered (first {LISTED})")
    left.dataframe(records(con, defn.entity, move.entered[:LISTED]), hide_index=True,
                   key="sizes_entered")
    right.caption(f"Left (first {LISTED})")
    right.dataframe(records(con, defn.entity, move.left[:LISTED]), hide_index=True,
                    key="sizes_left")


def records(con, entity: str, ids: list[int]) -> pd.DataFrame:
    src = catalog.source(entity)
    names = [f for f in ("id", "name", "email", "phone", "city", "created_at")
             if f in src.field_names and src.field(f).stored]
    columns = ", ".join(f'"{n}"' for n in names)  # names come from the catalog
    return con.execute(f'SELECT {columns} FROM "{src.table}" WHERE id IN '
                       "(SELECT unnest($ids)) ORDER BY id", {"ids": ids}).df()


st.title("Sizes & forecast")
with shown_errors("Sizes"):
    con = connection()
    now = today()
    good, bad = library().load_all()
    for err in bad:
        st.warning(str(err))
    if not good:
        st.info(f"No saved segments in {library().folder} yet.")
    else:
        show_sizes(con, good, st.date_input("As of", value=now, key="sizes_as_of"))
        show_history(con, good, now)
        show_movement(con, good, now)
