"""Exports: a segment as a mailing list or an ad-audience file, and mailings.

The preview is the export itself, built in memory: who is in, who is dropped
and why, and whether the platform would accept the file.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from pages.common import connection, library, shown_errors, through_app, today
from workbench import export, mailing
from workbench.errors import WorkbenchError

through_app()

logger = logging.getLogger(__name__)

FLASH = "exports_flash"


def record(name: str, channel: str, seg_id: str, as_of) -> None:
    """Button callback: record the mailing and remember the outcome."""
    try:
        lib = library()
        done = mailing.record_mailing(connection(), name, channel, lib.load(seg_id),
                                      as_of, datetime.now(), resolver=lib)
    except WorkbenchError as err:
        st.session_state[FLASH] = ("error", str(err))
        return
    except Exception as err:  # never a traceback on the page
        logger.exception("recording a mailing failed")
        st.session_state[FLASH] = ("error", f"Recording failed: {type(err).__name__}: "
                                            f"{err}")
        return
    st.session_state[FLASH] = ("success", f'Recorded mailing "{done.name}" to '
                                          f"{done.recipients:,} contacts (id "
                                          f"{done.mailing_id}).")
    st.session_state.pop("exports_mailing_name", None)


def show_report(result: export.Export) -> None:
    report = result.report
    cols = st.columns(3)
    cols[0].metric("Members", f"{report['rows_in']:,}")
    cols[1].metric("Dropped", f"{report['rows_in'] - report['rows_out']:,}")
    cols[2].metric("Rows out", f"{report['rows_out']:,}")
    st.dataframe(pd.DataFrame([{"reason": r, "dropped": n}
                               for r, n in report["dropped"].items()]),
                 hide_index=True, key="exports_dropped")


def downloads(result: export.Export) -> None:
    name = result.filename()
    report = dict(result.report, file=name)
    cols = st.columns(2)
    cols[0].download_button("Download the file", result.text().encode("utf-8"),
                            file_name=name, mime="text/csv", key="exports_download_file")
    cols[1].download_button("Download the report",
                            json.dumps(report, ensure_ascii=False, indent=2),
                            file_name=export.report_path(Path(name)).name,
                            mime="application/json", key="exports_download_report")


def mailing_panel(seg_id: str, channel: str, as_of, recipients: int) -> None:
    st.subheader("Record a one-time mailing")
    st.caption("Recipients are added to the mailing history, so \"received mailing\" "
               "conditions and exclusions see them from the next evaluation.")
    name = st.text_input("Mailing name", key="exports_mailing_name").strip()
    st.button(f"Record the mailing to {recipients:,} recipients", key="exports_record",
              disabled=not name or recipients == 0, on_click=record,
              args=(name, channel, seg_id, as_of))
    st.dataframe(mailing.mailings(connection()), hide_index=True,
                 key="exports_history")


st.title("Exports and mailings")
flash = st.session_state.pop(FLASH, None)
if flash is not None:
    (st.success if flash[0] == "success" else st.error)(flash[1])

lib = library()
ids = lib.ids()
if not ids:
    st.info("No saved segments yet: save one in the builder first.")
    st.stop()

names = {d.id: d.name for d in lib.load_all()[0]}  # a broken file shows its id
seg_id = st.selectbox("Segment", ids, key="exports_segment",
                      format_func=lambda i: f"{names[i]} ({i})" if i in names else i)
left, mid, right = st.columns(3)
platform = left.radio("Export to", export.PLATFORMS, key="exports_platform",
                      format_func=export.PLATFORM_LABELS.get)
channel = mid.radio("Channel", mailing.CHANNELS, key="exports_channel",
                    format_func={"email": "E-mail", "phone": "Phone"}.get)
as_of = right.date_input("As of", value=today(), key="exports_as_of")
hashed = platform == "yandex" and st.checkbox(
    "Hash values with SHA-256", key="exports_hash")

with shown_errors("The export"):
    defn = lib.load(seg_id)
    result = export.build_export(connection(), defn, as_of=as_of, platform=platform,
                                 channel=channel, hash="sha256" if hashed else None,
                                 resolver=lib)
    show_report(result)
    if result.refused:
        st.warning(f"Not exported: {result.refused}.")
    else:
        downloads(result)
    dropped = result.members[result.members["reason"].notna()]
    if len(dropped):
        st.caption(f"Who is dropped and why (first 500 of {len(dropped):,})")
        st.dataframe(dropped.head(500), hide_index=True, key="exports_dropped_rows")
    if platform == "mailing":
        mailing_panel(seg_id, channel, as_of, result.report["rows_out"])
