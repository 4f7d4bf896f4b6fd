"""Data: import Bitrix24 exports and other files, pull over REST, reload the demo.

Everything here calls ``workbench.bitrix`` / ``bitrix_rest`` / ``demo``; the
page only collects choices and shows results.
"""

from __future__ import annotations

import streamlit as st

from pages.common import connection, shown_errors, through_app
from workbench import bitrix, bitrix_rest, demo, importers, store

through_app()

UPLOAD_TYPES = ["csv", "tsv", "txt", "xls", "html", "xlsx", "parquet"]


@st.cache_data(max_entries=4, show_spinner="Reading the file...")
def read_upload(data: bytes, name: str) -> bitrix.ExportFile:
    return bitrix.read_export(data, name)


def show_detected(export: bitrix.ExportFile) -> None:
    facts = [f"**Format:** {export.format}", f"**Rows:** {len(export.frame):,}",
             f"**Columns:** {len(export.frame.columns)}"]
    if export.encoding:
        facts.append(f"**Encoding:** {export.encoding}")
    if export.delimiter:
        facts.append(f"**Delimiter:** `{export.delimiter!r}`")
    if export.lines is not None and export.lines != len(export.frame):
        facts.append(f"**Data lines:** {export.lines:,}")
    st.markdown(" · ".join(facts))
    if export.lines_note:
        st.warning(f"{export.name}: {export.lines_note}. A value may hold line "
                   "breaks; otherwise a quote left open has joined lines — "
                   "check the quotes.")


def choose_entity(export: bitrix.ExportFile) -> str:
    try:
        guessed = bitrix.recognise(list(export.frame.columns)).entity
        st.success(f"Recognised a Bitrix24 **{guessed}** export.")
    except bitrix.ImportFileError as err:
        guessed = "contacts"
        st.warning(f"{err}")
    return st.selectbox("The file holds", bitrix.ENTITIES,
                        index=bitrix.ENTITIES.index(guessed), key="data_entity")


def edit_mapping(export: bitrix.ExportFile, entity: str) -> bitrix.Recognition:
    """A selectbox per column, starting from what the titles say."""
    found = bitrix.recognise(list(export.frame.columns), entity)
    choices = bitrix.target_choices(entity)
    table = bitrix.mapping_frame(export, found)
    targets: dict[str, str] = {}
    with st.expander("Column mapping", expanded=True):
        st.caption("Each column goes to a field of the workbench; change any "
                   "choice. Phones and e-mails may hold several values per cell.")
        cells = st.columns(3)
        for i, row in table.iterrows():
            target = row["target"] if row["target"] in choices else ""
            with cells[i % 3]:
                targets[row["column"]] = st.selectbox(
                    row["column"], choices, index=choices.index(target),
                    format_func=lambda t: bitrix.describe_target(t) if t else
                    "— not loaded —",
                    help=f"Values: {row['values'] or 'empty'}",
                    key=f"data_map_{entity}_{i}")
    return bitrix.Recognition(entity, targets, found.scores)


def show_preview(con, export: bitrix.ExportFile,
                 recognition: bitrix.Recognition) -> None:
    shown = bitrix.preview(con, export, recognition)
    st.markdown("**Typed values** (the first 20 rows, as they will be stored)")
    st.dataframe(shown.typed, hide_index=True, key="data_preview")
    flags = bitrix.flag_values(export.frame.head(20), recognition.targets)
    if flags:
        st.caption("Yes/no columns, read but not stored: "
                   + ", ".join(f"{c} ({int(v.sum())} yes)" for c, v in flags.items()))
    if shown.rejections:
        st.warning(f"{len(shown.rejections)} of these rows would not load:")
        st.dataframe(bitrix.rejections_frame(shown.rejections), hide_index=True,
                     key="data_preview_rejects")


def show_result(done: bitrix.BitrixImport) -> None:
    r = done.result
    left, middle, right = st.columns(3)
    left.metric("Rows in the file", f"{r.rows_in:,}")
    middle.metric("Loaded", f"{r.rows_loaded:,}")
    right.metric("Rejected", f"{r.rows_rejected:,}")
    if r.lines_note:
        st.caption(f"{r.file}: {r.lines_note}.")
    for note in done.notes:
        st.warning(f"{r.file}: {note}.")
    if r.rejections:
        st.dataframe(bitrix.rejections_frame(r.rejections), hide_index=True,
                     key="data_rejects")
        st.download_button("Download rejected rows (CSV)",
                           bitrix.rejections_csv(r.rejections),
                           file_name=f"{r.file}.rejected.csv", mime="text/csv",
                           key="data_rejects_download")


def confirm_replace(con, entity: str) -> bool:
    """Whether the user agreed to empty the table; True when it is empty already.

    The box's key carries the row count, so each load needs its own tick.
    """
    scope = importers.replace_scope(con, entity)
    if not scope.rows and not scope.contact_points:
        return True
    if store.holds_demo(con):
        sure = st.checkbox("Remove the demo data (every table) and load this file "
                           "in its place", key=f"data_replace_demo_{entity}")
        st.caption("Your records are not mixed with demo deals, orders, visits, "
                   "opt-outs or mailings that happen to share their ids.")
        if not sure:
            st.caption("Tick the box to replace the demo data, or choose append.")
        return sure
    sure = st.checkbox(scope.confirmation(),
                       key=f"data_replace_sure_{entity}_{scope.rows}")
    if scope.consequences():
        st.caption(scope.consequences() + ".")
    if not sure:
        st.caption(f"Tick the box to empty {entity}, or choose append.")
    return sure


def import_section(con) -> None:
    st.subheader("Import a file")
    upload = st.file_uploader(
        "A Bitrix24 export (CSV, the HTML table saved as .xls, XLSX) or Parquet",
        type=UPLOAD_TYPES, key="data_upload")
    if upload is None:
        return
    data = upload.getvalue()
    export = read_upload(data, upload.name)
    show_detected(export)
    entity = choose_entity(export)
    recognition = edit_mapping(export, entity)
    show_preview(con, export, recognition)

    mode = st.radio("Mode", ["replace", "append"], horizontal=True, key="data_mode",
                    captions=["empty the table first",
                              "update records with the same ID, add new ones"])
    allowed = mode == "append" or confirm_replace(con, entity)
    if st.button("Load", type="primary", disabled=not allowed, key="data_load"):
        if not allowed:  # a disabled button cannot be clicked; kept as a guard
            st.error(f"Tick the box to empty {entity} first, or choose append.")
            return
        done = bitrix.import_export(con, data, name=upload.name, entity=entity,
                                    targets=recognition.targets, mode=mode)
        st.session_state["data_last_import"] = done
        st.cache_data.clear()  # other pages' cached counts are stale now
        st.rerun()  # counts, and the replace box, as they are after the load
    done = st.session_state.get("data_last_import")
    if done is not None and done.result.file == upload.name:
        show_result(done)


def rest_section(con) -> None:
    st.subheader("Pull from Bitrix24 REST")
    with st.form("data_rest_form"):
        webhook = st.text_input("Inbound webhook", type="password",
                                placeholder="https://PORTAL/rest/USER_ID/TOKEN/",
                                key="data_webhook")
        entities = st.multiselect("Entities", bitrix_rest.PULL_ORDER,
                                  default=list(bitrix_rest.PULL_ORDER),
                                  key="data_rest_entities")
        last = {e: store.get_setting(con, bitrix_rest.last_id_key(e))
                for e in bitrix_rest.PULL_ORDER}
        reached = ", ".join(f"{e} {v}" for e, v in last.items() if v)
        resume = st.checkbox("Resume after the last id reached"
                             + (f" ({reached})" if reached else ""),
                             key="data_rest_resume")
        pulled = st.form_submit_button("Pull", key="data_rest_pull")
    if not pulled:
        return
    bar = st.progress(0.0, text="Reading pipelines and stage names...")

    def progress(entity: str, done: int, total: int) -> None:
        bar.progress(min(1.0, done / total) if total else 1.0,
                     text=f"{entity}: {done:,} of {total:,}")

    result = bitrix_rest.pull(con, webhook, entities=tuple(entities), resume=resume,
                              progress=progress)
    bar.progress(1.0, text=f"Done: {result.rows_loaded:,} records from "
                           f"{result.portal}")
    st.cache_data.clear()
    for e in result.entities:
        st.markdown(f"**{e.entity}**: {e.rows_in:,} pulled, {e.rows_loaded:,} "
                    f"loaded, last id {e.last_id}")
        if e.rejections:
            st.dataframe(bitrix.rejections_frame(e.rejections), hide_index=True,
                         key=f"data_rest_rejects_{e.entity}")


def demo_section(con) -> None:
    st.subheader("Demo data")
    left, right = st.columns(2)
    contacts = left.number_input("Contacts", min_value=1, max_value=1_000_000,
                                 value=demo.DEFAULT_CONTACTS, step=1000,
                                 key="data_demo_contacts")
    seed = right.number_input("Seed", min_value=0, value=demo.DEFAULT_SEED,
                              key="data_demo_seed")
    sure = st.checkbox("Replace every table with generated demo data",
                       key="data_demo_sure")
    if st.button("Load the demo data again", disabled=not sure, key="data_demo"):
        with st.spinner("Generating..."):
            counts = demo.generate(con, contacts=int(contacts), seed=int(seed),
                                   as_of=store.today(con))
        st.cache_data.clear()
        st.success(f"Demo data loaded: {counts.get('contacts', 0):,} contacts.")


def history_section(con) -> None:
    st.subheader("Tables and load history")
    counts = store.table_counts(con)
    st.dataframe({"table": list(counts), "rows": list(counts.values())},
                 hide_index=True, key="data_tables")
    loads = con.execute("SELECT loaded_at, entity, file, mode, rows_in, rows_loaded, "
                        "rows_rejected FROM loads ORDER BY id DESC LIMIT 100").df()
    st.dataframe(loads, hide_index=True, key="data_loads")


st.title("Data")
con = connection()
with shown_errors("The import"):
    import_section(con)
with shown_errors("The pull"):
    rest_section(con)
with shown_errors("The demo"):
    demo_section(con)
with shown_errors("Reading the history"):
    history_section(con)
