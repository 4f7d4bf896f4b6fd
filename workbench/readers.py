"""Reading import files into data frames of text.

Every reader returns a frame whose columns are the file's columns and whose
cells are strings ("" for empty), except Parquet, which keeps its own column
types. Typing is the importer's job, against the catalog, so that a value is
judged the same way whatever file it came from.

Row numbers used in rejections are 1-based *data* rows: the header does not
count, and a CSV record spanning several lines (a quoted line break) is one
row. For JSON, row N is the N-th record.
"""

from __future__ import annotations

import io
import json
import logging
import re
from pathlib import Path
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.store import DEFAULT_TIMEZONE

logger = logging.getLogger(__name__)

TRUE_WORDS: Final = frozenset({"y", "yes", "true", "t", "1", "да", "д"})
FALSE_WORDS: Final = frozenset({"n", "no", "false", "f", "0", "нет", "н"})
# An offset counts only after a time of day, so "01-02-2018" has none.
_OFFSET: Final = r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"
_SPACES: Final = r"[\s\u00a0\u202f']"
ENCODINGS: Final = ("utf-8-sig", "cp1251")
DELIMITERS: Final = (",", ";", "\t", "|")
_QUOTED: Final = re.compile(r'"(?:[^"]|"")*"')


class ImportFileError(WorkbenchError, ValueError):
    """A file cannot be read as asked; the message names the file."""


def read_table(path: str | Path, *, sheet: str | None = None,
               records: str | None = None) -> pd.DataFrame:
    """Read a CSV, TSV, XLSX, Parquet or JSON file into a frame.

    Args:
        path: the file; its extension picks the reader.
        sheet: XLSX sheet name (default: the first sheet).
        records: JSON key holding the records list (default: the file is a
            list, or an object with ``records`` as Salesforce writes it).
    """
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(f"{path.name}: file not found in {path.parent}")

    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return read_csv(path)
    if suffix == ".xlsx":
        return _read_xlsx(path, sheet)
    if suffix in (".parquet", ".pq"):
        return _read_parquet(path)
    if suffix == ".json":
        return read_json(path, records)
    if suffix in (".xls", ".html", ".htm"):
        # Bitrix24's "Excel" export is an HTML table saved as .xls.
        from workbench.bitrix_files import read_html_table  # it imports readers

        return read_html_table(path)
    raise ImportFileError(
        f"{path.name}: cannot read {suffix or 'files without an extension'}; "
        "use .csv, .tsv, .xlsx, .xls (HTML table), .parquet or .json"
    )


def decode(data: bytes, name: str) -> tuple[str, str]:
    """Text of a file and the encoding that read it: UTF-8 (BOM or not), then 1251.

    >>> decode("имя".encode("cp1251"), "x.csv")
    ('имя', 'cp1251')
    """
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise ImportFileError(f"{name}: neither UTF-8 nor Windows-1251 text")


def sniff_delimiter(header: str) -> str:
    """The delimiter that splits the header line into the most columns.

    Quoted titles are ignored, so a comma inside ``"Name, full"`` does not
    count. Ties go to the earlier of ``, ; TAB |``.

    >>> sniff_delimiter('"ID";"Name, full";')
    ';'
    """
    bare = _QUOTED.sub("", header)
    counts = [(bare.count(d), -i, d) for i, d in enumerate(DELIMITERS)]
    best = max(counts)
    return best[2] if best[0] > 0 else ","


def read_csv(path: str | Path) -> pd.DataFrame:
    """Read a delimited text file with sniffed encoding and delimiter."""
    path = Path(path)
    text, encoding = decode(path.read_bytes(), path.name)
    first_line = text.split("\n", 1)[0]
    sep = sniff_delimiter(first_line)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str,
                            keep_default_na=False, na_filter=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise ImportFileError(f"{path.name}: not a readable table: {err}") from None
    logger.debug("%s: %s, delimiter %r, %d rows", path.name, encoding, sep,
                 len(frame))
    return _drop_trailing_blank(frame)


def _drop_trailing_blank(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop untitled, empty columns: Bitrix24 ends every line with ``;``."""
    drop = [c for c in frame.columns
            if str(c).startswith("Unnamed: ") and not frame[c].astype(bool).any()]
    return frame.drop(columns=drop)


def _read_xlsx(path: Path, sheet: str | None) -> pd.DataFrame:
    try:
        frame = pd.read_excel(path, sheet_name=sheet or 0, dtype=str,
                              engine="openpyxl", keep_default_na=False,
                              na_filter=False)
    except ValueError as err:
        raise ImportFileError(f"{path.name}: {err}") from None
    return _drop_trailing_blank(frame)


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as err:  # pyarrow raises several unrelated types
        raise ImportFileError(f"{path.name}: not a readable Parquet file: {err}"
                              ) from None


def read_json(path: str | Path, records: str | None = None) -> pd.DataFrame:
    """Read JSON records: a list, or ``{"records": [...]}`` (Salesforce tree).

    Nested objects become dotted columns (``attributes.referenceId``); lists
    of scalars become one ``", "``-separated cell.
    """
    path = Path(path)
    text, _ = decode(path.read_bytes(), path.name)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ImportFileError(f"{path.name}: not valid JSON: {err}") from None

    key = records or "records"
    if isinstance(data, dict) and isinstance(data.get(key), list):
        data = data[key]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ImportFileError(
            f"{path.name}: expected a list of records or an object with a "
            f"{key!r} list"
        )
    rows = [_flatten(r) for r in data]
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    frame = pd.DataFrame(rows, columns=list(columns), dtype=object)
    return frame.fillna("").astype(str)


def _flatten(record: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = _scalar_text(value)
    return out


def _scalar_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_scalar_text(v) for v in value)
    return str(value)


# --------------------------------------------------------------------------
# Cell values: text to catalog types, column-wise


def convert(raw: pd.Series, type_: str, *, formats: Sequence[str] = (),
            source_zone: str | None = None,
            workspace_zone: str = DEFAULT_TIMEZONE
            ) -> tuple[pd.Series, np.ndarray]:
    """Values of one catalog type and a mask of cells that could not be read.

    Empty cells become missing values, never failures.

    >>> convert(pd.Series(["1 234,50", "", "x"]), "money")[1].tolist()
    [False, False, True]
    """
    if not is_textual(raw):
        typed = _convert_typed(raw, type_, workspace_zone)
        if typed is not None:
            return typed, np.zeros(len(raw), dtype=bool)
        raw = as_text(raw)
    if type_ in ("number", "money"):
        values, bad = parse_numbers(raw)
        return values.round(2) if type_ == "money" else values, bad
    if type_ == "id":
        return parse_ids(raw)
    if type_ in ("date", "datetime"):
        values, bad = parse_datetimes(raw, formats, source_zone, workspace_zone)
        return (values.dt.normalize() if type_ == "date" else values), bad
    if type_ == "boolean":
        return parse_booleans(raw)
    if type_ == "list":
        return parse_lists(raw), np.zeros(len(raw), dtype=bool)
    return clean_text(raw), np.zeros(len(raw), dtype=bool)


def _convert_typed(raw: pd.Series, type_: str, zone: str) -> pd.Series | None:
    """Parquet columns already typed: pass them through when they fit."""
    if type_ in ("number", "money") and pd.api.types.is_numeric_dtype(raw):
        return raw.astype(float)
    if type_ == "id" and pd.api.types.is_integer_dtype(raw):
        return raw.astype("Int64")
    if type_ == "boolean" and pd.api.types.is_bool_dtype(raw):
        return raw.astype("boolean")
    if type_ in ("date", "datetime") and pd.api.types.is_datetime64_any_dtype(raw):
        if getattr(raw.dt, "tz", None) is not None:
            raw = raw.dt.tz_convert(zone).dt.tz_localize(None)
        return raw.dt.normalize() if type_ == "date" else raw
    return None


def clean_text(raw: pd.Series) -> pd.Series:
    """Trimmed, NFC-normalised text; blank cells become missing."""
    text = raw.astype(object).where(raw.notna(), "").astype(str).str.strip()
    text = text.str.normalize("NFC")
    return text.astype(object).where(text != "", None)


def parse_numbers(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Numbers from text with spaces or apostrophes and a decimal comma or point.

    When both ``,`` and ``.`` occur the later one is the decimal mark; a
    single comma alone is a decimal comma; several are thousands separators.

    >>> parse_numbers(pd.Series(["1 234,50", "1,234.5", "7", "x"]))[0].tolist()[:3]
    [1234.5, 1234.5, 7.0]
    """
    text = as_text(raw).str.replace(_SPACES, "", regex=True)
    commas = text.str.count(",")
    dots = text.str.count(r"\.")
    comma_last = text.str.rfind(",") > text.str.rfind(".")
    european = (commas > 0) & (dots > 0) & comma_last
    text = text.where(~european, text.str.replace(".", "", regex=False))
    text = text.where(~((commas > 1) | ((dots > 0) & ~comma_last)),
                      text.str.replace(",", "", regex=False))
    text = text.str.replace(",", ".", regex=False)
    numbers = pd.to_numeric(text.where(text != "", None), errors="coerce")
    numbers = numbers.astype(float)
    bad = (text != "") & ~np.isfinite(numbers.fillna(np.inf).to_numpy()) | \
        ((text != "") & numbers.isna())
    return numbers.where(~bad), np.asarray(bad, dtype=bool)


def parse_ids(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Whole numbers as exact 64-bit integers (``"12.0"`` from Excel is 12)."""
    text = as_text(raw).str.replace(_SPACES, "", regex=True)
    text = text.str.replace(r"\.0+$", "", regex=True)
    ok = text.str.fullmatch(r"[+-]?\d{1,18}")
    bad = np.asarray((text != "") & ~ok, dtype=bool)
    ids = text.where(ok.astype(bool), None).astype("Int64")
    return ids, bad


def parse_datetimes(raw: pd.Series, formats: Sequence[str] = (),
                    source_zone: str | None = None,
                    workspace_zone: str = DEFAULT_TIMEZONE
                    ) -> tuple[pd.Series, np.ndarray]:
    """Naive workspace-zone timestamps from text.

    Each of ``formats`` is tried in turn, then ISO 8601. A value with an
    offset (``Z``, ``+03:00``) is converted to the workspace zone; one
    without is taken to be in ``source_zone`` when given (and converted),
    else already in the workspace zone.
    """
    text = as_text(raw).str.strip()
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    offset = text.str.contains(_OFFSET, regex=True)
    todo = (text != "") & ~offset
    for fmt in (*formats, "ISO8601"):
        if not todo.any():
            break
        parsed = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        hit = parsed.notna()
        result.loc[hit[hit].index] = parsed[hit].astype("datetime64[us]")
        todo = todo & result.isna()
    if source_zone and source_zone != workspace_zone and result.notna().any():
        local = result.dt.tz_localize(source_zone, ambiguous="NaT",
                                      nonexistent="shift_forward")
        local = local.fillna(result.dt.tz_localize(source_zone, ambiguous=True,
                                                   nonexistent="shift_forward"))
        result = local.dt.tz_convert(workspace_zone).dt.tz_localize(None)
        result = result.astype("datetime64[us]")
    if offset.any():
        parsed = pd.to_datetime(text[offset], format="ISO8601", errors="coerce",
                                utc=True)
        parsed = parsed.dt.tz_convert(workspace_zone).dt.tz_localize(None)
        result.loc[offset[offset].index] = parsed.astype("datetime64[us]")
    bad = (text != "") & result.isna()
    return result, np.asarray(bad, dtype=bool)


def parse_booleans(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Y/N, yes/no, true/false, 1/0, Да/Нет (any case) as booleans."""
    words = as_text(raw).str.strip().str.lower()
    table = {**dict.fromkeys(TRUE_WORDS, True), **dict.fromkeys(FALSE_WORDS, False)}
    values = words.map(table).astype("boolean")
    bad = np.asarray((words != "") & values.isna(), dtype=bool)
    return values, bad


def parse_lists(raw: pd.Series) -> pd.Series:
    """Lists from cells separated by ``", "`` or ``;``; blank cells are missing."""
    text = clean_text(raw)
    filled = text.notna()
    out = pd.Series(None, index=text.index, dtype=object)
    items = text[filled].str.split(r";|, ", regex=True)
    out[filled] = items.map(lambda xs: [x.strip() for x in xs if x.strip()] or None)
    return out


def is_textual(series: pd.Series) -> bool:
    return series.dtype == object or pd.api.types.is_string_dtype(series)


def as_text(series: pd.Series) -> pd.Series:
    """Cells as Python strings, "" for missing."""
    if is_textual(series):
        return series.astype(object).where(series.notna(), "").astype(str)
    text = series.astype(str)
    return text.where(series.notna(), "").astype(object)
