"""Reading import files into data frames of text.

Every reader returns a frame whose columns are the file's columns and whose
cells are strings ("" for empty), except Parquet, which keeps its own column
types. Typing is the importer's job, against the catalog, so that a value is
judged the same way whatever file it came from.

Row numbers used in rejections are 1-based *data* rows: the header does not
count, and a CSV record spanning several lines (a quoted line break) is one
row. For JSON, row N is the N-th record.

A CSV file is checked record by record: a record with more fields than the
header (a delimiter inside an unquoted value) or fewer is kept as a row of
empty cells and named in the frame's ``RowNotes`` (``row_notes(frame)``), so
the importer rejects that row alone and loads the others. The notes also
give the file's data line count and the records that run over several
lines, since a quote left open swallows the lines after it.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
from pyarrow import csv as pa_csv

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
NOTES_KEY: Final = "workbench_row_notes"
# Control characters other than tab, line feed, form feed and carriage return:
# text files have none, binary data read as Windows-1251 has many.
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_SIGNATURES: Final = (
    (b"PK\x03\x04", "a ZIP archive (an XLSX workbook is one)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 workbook"),
    (b"PAR1", "a Parquet file"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
)


class ImportFileError(WorkbenchError, ValueError):
    """A file cannot be read as asked; the message names the file."""


@dataclass(frozen=True)
class RowNotes:
    """What reading a text file found about its rows, for the importer to report.

    Keys are the frame's index labels (0-based positions as read).
    """

    lines: int  # physical data lines: header and blank lines not counted
    records: int  # rows of the frame as read
    broken: dict[int, str] = field(default_factory=dict)  # unreadable -> why
    spans: dict[int, tuple[int, int]] = field(default_factory=dict)  # file lines

    def describe(self, limit: int = 3) -> str:
        """A sentence when lines and rows differ, else "".

        >>> RowNotes(lines=3, records=2, spans={0: (2, 3)}).describe()
        '3 data lines make 2 rows: row 1 runs over lines 2-3'
        """
        if self.lines == self.records:
            return ""
        shown = [f"row {i + 1} runs over lines {a}-{b}"
                 for i, (a, b) in list(sorted(self.spans.items()))[:limit]]
        more = len(self.spans) - limit
        tail = f" and {more} more" if more > 0 else ""
        rows = f"{self.records} row{'' if self.records == 1 else 's'}"
        return f"{self.lines} data lines make {rows}: " + ", ".join(shown) + tail


def row_notes(frame: pd.DataFrame) -> RowNotes | None:
    """The reader's notes on a frame's rows (CSV files only), if any."""
    notes = frame.attrs.get(NOTES_KEY)
    return notes if isinstance(notes, RowNotes) else None


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

    frame = _read_by_suffix(path, sheet, records)
    if frame.empty:
        what = "holds no data" if frame.columns.empty else \
            "has a header but no data rows"
        raise ImportFileError(f"{path.name}: the file {what}; nothing to load")
    return frame


def _read_by_suffix(path: Path, sheet: str | None,
                    records: str | None) -> pd.DataFrame:
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

    A UTF-16 file with its byte-order mark (Excel's "Unicode text") is read
    too. Binary data is refused, naming what it looks like.

    >>> decode("имя".encode("cp1251"), "x.csv")
    ('имя', 'cp1251')
    """
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:65536]:
        _refuse_binary(data, name)
    for encoding in ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        head = text[:65536]
        if len(_CONTROL.findall(head)) > max(2, len(head) // 100):
            _refuse_binary(data, name)
        return text, encoding
    if _looks_like(data) != "text":
        _refuse_binary(data, name)
    raise ImportFileError(f"{name}: neither UTF-8 nor Windows-1251 text")


def _refuse_binary(data: bytes, name: str) -> None:
    """Refuse binary data (NUL bytes, many control codes) offered as text."""
    kind = _looks_like(data)
    kind = "binary data" if kind == "text" else kind
    raise ImportFileError(f"{name}: not a text file: it holds {kind}, not rows "
                          "of text; export the data as CSV, or give the file "
                          "its own extension")


def _looks_like(data: bytes) -> str:
    """What a file's first bytes say it is, for a message.

    >>> _looks_like(b"%PDF-1.7")
    'a PDF document'
    """
    if not data:
        return "no bytes at all"
    for magic, what in _SIGNATURES:
        if data.startswith(magic):
            return what
    return "binary data" if b"\x00" in data[:4096] else "text"


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
    """Read a delimited text file with sniffed encoding and delimiter.

    Records whose field count differs from the header's are kept as empty
    rows and explained in the frame's ``RowNotes``; see the module notes.
    """
    path = Path(path)
    text, encoding = decode(path.read_bytes(), path.name)
    if not text.strip():
        raise ImportFileError(f"{path.name}: the file is empty; nothing to load")
    first_line = text.split("\n", 1)[0]
    sep = sniff_delimiter(first_line)
    frame = _read_csv_fast(text, sep)
    if frame is None:  # some record is odd: read record by record to say which
        frame = _read_csv_records(text, sep, path.name)
    logger.debug("%s: %s, delimiter %r, %d rows", path.name, encoding, sep,
                 len(frame))
    return _drop_trailing_blank(frame)


def _read_csv_fast(text: str, sep: str) -> pd.DataFrame | None:
    """The whole file in one pass of Arrow's CSV parser, when every record is
    plain: one line each, with exactly the header's number of fields. None
    when any record is not, so the record-by-record reader can name it; that
    reader is several times slower and needs more memory, which matters at a
    million rows.
    """
    header = next(csv.reader(io.StringIO(text.split("\n", 1)[0]), delimiter=sep))
    titles = _titles(header)
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(text.encode("utf-8")),
            read_options=pa_csv.ReadOptions(column_names=titles, skip_rows=1),
            parse_options=pa_csv.ParseOptions(delimiter=sep,
                                              newlines_in_values=False),
            convert_options=pa_csv.ConvertOptions(
                column_types={t: pa.string() for t in titles},
                strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowException):
        return None  # a record with another number of fields, or a bad quote
    frame = table.to_pandas()
    lines = sum(1 for line in text.splitlines()[1:] if line.strip())
    if lines != len(frame):
        return None
    frame.attrs[NOTES_KEY] = RowNotes(lines, len(frame))
    return frame


def _read_csv_records(text: str, sep: str, name: str) -> pd.DataFrame:
    """Read record by record, keeping each record's field count and lines."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    header = next(reader)
    titles = _titles(header)
    width = len(titles)
    # Bitrix24 ends lines with ";": a row may lack the untitled last field.
    titled = len(_rstrip_blank(header))
    rows: list[list[str]] = []
    broken: dict[int, str] = {}
    spans: dict[int, tuple[int, int]] = {}
    lines, last_line = 0, reader.line_num
    for record in reader:
        first, last_line = last_line + 1, reader.line_num
        if not record or (len(record) == 1 and not record[0].strip()):
            continue  # a blank line
        index = len(rows)
        lines += last_line - first + 1
        if last_line > first:
            spans[index] = (first, last_line)
        problem = _field_count_problem(len(record), width, titled, record)
        if problem and last_line > first:
            closed = "is never closed" if record[-1].endswith(("\n", "\r")) \
                else f"is closed only on line {last_line}"
            problem = (f"this record runs over lines {first}-{last_line} of the "
                       f"file: a quote opened in it {closed} — check the quotes; "
                       f"{problem}")
        if problem:
            broken[index] = problem
            record = []
        rows.append((record + [""] * width)[:width])
    frame = pd.DataFrame(rows, columns=titles, dtype=object)
    frame = frame.astype(str) if not frame.empty else frame
    frame.attrs[NOTES_KEY] = RowNotes(lines, len(rows), broken, spans)
    if broken:
        logger.info("%s: %d records do not match the header's %d fields", name,
                    len(broken), width)
    return frame


def _field_count_problem(count: int, width: int, titled: int,
                         record: list[str]) -> str:
    """Why a record's fields do not fit the header's, or "".

    ``titled`` is the header's width without its trailing untitled fields
    (Bitrix24 ends each line with ``;``): a record may leave those out or
    add empty ones, but a value past the titled columns means a shift.

    >>> _field_count_problem(4, 3, 3, ["1", "a", "b", "c"])[:40]
    'has 4 fields where the header has 3; a d'
    """
    filled = len(_rstrip_blank(record))
    if filled > titled and count > width:
        return (f"has {count} fields where the header has {width}; "
                "a delimiter inside an unquoted value?")
    if filled > titled:
        return (f"has a value in field {filled}, which the header leaves "
                "untitled; a delimiter inside an unquoted value?")
    if count < titled:
        return (f"has {count} field{'s' if count != 1 else ''} where the header "
                f"has {width}; a value or a delimiter is missing")
    return ""


def _rstrip_blank(header: list[str]) -> list[str]:
    """The header without its trailing untitled fields."""
    end = len(header)
    while end and not header[end - 1].strip():
        end -= 1
    return header[:end]


def _titles(header: list[str]) -> list[str]:
    """Column titles as pandas names them: ``Unnamed: i``, ``a.1`` for a repeat.

    >>> _titles(["a", "", "a"])
    ['a', 'Unnamed: 1', 'a.1']
    """
    seen: dict[str, int] = {}
    titles = []
    for i, title in enumerate(header):
        title = title or f"Unnamed: {i}"
        name = title
        while name in seen:
            seen[title] += 1
            name = f"{title}.{seen[title]}"
        seen[name] = 0
        titles.append(name)
    return titles


def _drop_trailing_blank(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop untitled, empty columns: Bitrix24 ends every line with ``;``."""
    drop = [c for c in frame.columns
            if str(c).startswith("Unnamed: ") and not frame[c].astype(bool).any()]
    return frame.drop(columns=drop)


def _read_xlsx(path: Path, sheet: str | None) -> pd.DataFrame:
    data = path.read_bytes()
    if not data.startswith(b"PK\x03\x04"):
        raise ImportFileError(f"{path.name}: not an XLSX workbook (the file holds "
                              f"{_looks_like(data)}; an XLSX file is a ZIP archive "
                              "saved by Excel)")
    try:
        frame = pd.read_excel(io.BytesIO(data), sheet_name=sheet or 0, dtype=str,
                              engine="openpyxl", keep_default_na=False,
                              na_filter=False)
    except ValueError as err:
        if "Worksheet" in str(err):  # a sheet name the workbook lacks
            raise ImportFileError(f"{path.name}: {err}") from None
        raise ImportFileError(f"{path.name}: not an XLSX workbook ({err})") from None
    except (zipfile.BadZipFile, KeyError, OSError, EOFError) as err:
        # A damaged archive, or a ZIP that holds no workbook.
        reason = str(err).strip("'\"") or type(err).__name__
        raise ImportFileError(f"{path.name}: not an XLSX workbook ({reason})"
                              ) from None
    return _drop_trailing_blank(frame)


def _read_parquet(path: Path) -> pd.DataFrame:
    data = path.read_bytes()
    if len(data) < 12 or not (data.startswith(b"PAR1") and data.endswith(b"PAR1")):
        raise ImportFileError(f"{path.name}: not a Parquet file (a Parquet file "
                              "starts and ends with the bytes PAR1)")
    try:
        # From memory, so that no error message can carry a server path.
        return pd.read_parquet(io.BytesIO(data))
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
        return (round_cents(values) if type_ == "money" else values), bad
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


def round_cents(values: pd.Series) -> pd.Series:
    """Money to whole cents; values of 10^15 and more are left for the importer
    to refuse (rounding them would overflow, and cents are not exact there).

    >>> round_cents(pd.Series([1.005, 2.344, 1e308])).tolist()
    [1.0, 2.34, 1e+308]
    """
    small = values.abs() < 1e15
    return values.mask(small, values[small].round(2))


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
    text = _number_text(raw)
    numbers = pd.to_numeric(text.where(text != "", None), errors="coerce")
    numbers = numbers.astype(float)
    bad = (text != "") & ~np.isfinite(numbers.fillna(np.inf).to_numpy()) | \
        ((text != "") & numbers.isna())
    return numbers.where(~bad), np.asarray(bad, dtype=bool)


def _number_text(raw: pd.Series) -> pd.Series:
    """Numbers as plain text with a decimal point: ``"1 234,50"`` -> ``"1234.50"``."""
    text = as_text(raw).str.replace(_SPACES, "", regex=True)
    commas = text.str.count(",")
    dots = text.str.count(r"\.")
    comma_last = text.str.rfind(",") > text.str.rfind(".")
    european = (commas > 0) & (dots > 0) & comma_last
    text = text.where(~european, text.str.replace(".", "", regex=False))
    text = text.where(~((commas > 1) | ((dots > 0) & ~comma_last)),
                      text.str.replace(",", "", regex=False))
    return text.str.replace(",", ".", regex=False)


def exact_decimals(raw: pd.Series) -> pd.Series:
    """Numbers as exact ``Decimal`` objects (None where empty or unreadable).

    Money goes to DECIMAL(18,2) this way, so no cent is lost to a float.

    >>> exact_decimals(pd.Series(["999 999 999 999 999,99", "x"])).tolist()
    [Decimal('999999999999999.99'), None]
    """
    if not is_textual(raw):
        return raw.map(lambda v: None if pd.isna(v) else _decimal(repr(float(v))))
    return _number_text(raw).map(_decimal).astype(object)


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


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
