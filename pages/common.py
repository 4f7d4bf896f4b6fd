"""What every page shares: the database, the library, today, error display.

Pages stay thin: they collect widget values, call one ``workbench`` function
and render its result. Errors a user can fix (``WorkbenchError``) are shown
as messages; anything else is shown as a short error without a traceback.
"""

from __future__ import annotations

import logging
import runpy
import threading
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Iterator

import duckdb
import streamlit as st

from workbench import demo, store
from workbench.errors import WorkbenchError
from workbench.library import Library

logger = logging.getLogger(__name__)

APP = Path(__file__).resolve().parent.parent / "app.py"
_RUN = threading.local()  # set while app.py's navigation runs a page


@st.cache_resource(show_spinner="Opening the CRM database...")
def _connection(path: str) -> duckdb.DuckDBPyConnection:
    demo.ensure_demo(Path(path))  # creates the demo database on first start
    return store.connect(path)


def db_path() -> str:
    return str(store.default_db_path())


def connection() -> duckdb.DuckDBPyConnection:
    """A cursor on the shared database, private to this script run.

    When the database cannot be opened (another program holds its lock, or
    the file is not a DuckDB database) the page says so and stops.
    """
    try:
        return _connection(db_path()).cursor()
    except (duckdb.Error, OSError, WorkbenchError) as err:
        logger.warning("cannot open %s: %s", db_path(), err)
        st.error(f"The CRM database **{db_path()}** cannot be opened: {err}\n\n"
                 "If another copy of the app or a command is using it, stop that "
                 "first; if the file is not a workbench database, point "
                 "`WORKBENCH_DB` at another file (a new one gets the demo data).")
        st.stop()


def library() -> Library:
    return Library()


def today() -> date:
    return store.today(connection())


@contextmanager
def shown_errors(what: str = "This step") -> Iterator[None]:
    """Show a user's mistake as a message and a bug as a short error, never a traceback."""
    try:
        yield
    except WorkbenchError as err:
        st.error(str(err))
    except duckdb.Error as err:
        logger.exception("query failed")
        st.error(f"{what} failed in the database: {err}")
    except Exception as err:  # the app never shows a traceback
        logger.exception("unexpected error")
        st.error(f"{what} failed: {type(err).__name__}: {err}")


def run_page(page) -> None:
    """Run the page ``st.navigation`` chose, marked as run through app.py."""
    _RUN.via_app = True
    try:
        page.run()
    finally:
        _RUN.via_app = False


def through_app() -> None:
    """Make a page run inside app.py's navigation, whatever the first URL was.

    When the first request after the server starts is a deep link (``/builder``),
    Streamlit's ``pages/`` folder convention runs that file on its own, without
    app.py: no page config, no navigation, until someone opens ``/``. A page
    calling this first runs app.py instead (which selects the same page by its
    URL) and stops its own run.
    """
    if getattr(_RUN, "via_app", False):
        return
    runpy.run_path(str(APP), run_name="__main__")
    st.stop()


@st.cache_data(max_entries=64, show_spinner="Counting reach by channel...")
def cached_channel_rows(db: str, stamp: str, texts: tuple[str, ...],
                        as_of: date) -> list[dict]:
    """Members and reach by channel of each saved segment, one row each.

    ``texts`` alternates segment ids and their canonical JSON, so an edited
    definition (or one it references) changes the key; ``stamp`` is the
    data's fingerprint (``json.dumps(store.fingerprint(con), sort_keys=True)``)
    and ``db`` the database path. Recounted only when one of them or the day
    changes.
    """
    from workbench import evaluator  # noqa: PLC0415  (only this helper needs it)

    lib, con = library(), connection()
    rows = []
    for seg_id in texts[::2]:
        try:
            c = evaluator.channel_counts(con, lib.load(seg_id), as_of=as_of,
                                         resolver=lib)
        except WorkbenchError as err:
            rows.append({"segment": seg_id, "members": None, "problem": str(err)})
            continue
        rows.append({"segment": seg_id, "members": c.total,
                     "e-mail reachable": c.email_reachable,
                     "phone reachable": c.phone_reachable,
                     # channel_counts counts each channel on its own, so
                     # total - e-mail - phone is a lower bound of "neither".
                     "not reachable (at least)": max(
                         0, c.total - c.email_reachable - c.phone_reachable),
                     "problem": ""})
    return rows
