"""Reading Bitrix24 export files, saying what was detected about them.

The "Excel" export of a Bitrix24 list is an HTML table saved with an ``.xls``
name, not a workbook; ``read_html_table`` reads it with the standard library's
HTML parser (cells as text, ``<br>`` kept as a line break, entities decoded)
and ``readers.read_table`` hands ``.xls`` / ``.html`` files to it. CSV files
are read by ``readers.read_csv``; ``read_export`` also reports the encoding
and delimiter it found, for the preview.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from workbench.readers import (
    ImportFileError, decode, read_table, row_notes, sniff_delimiter,
)

_BINARY_XLS = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an OLE2 (Excel 97) file


@dataclass(frozen=True)
class ExportFile:
    """A read export with what was detected about it."""

    frame: pd.DataFrame
    name: str
    format: str  # csv, html, xlsx, parquet, json
    encoding: str | None = None
    delimiter: str | None = None
    lines: int | None = None  # data lines of a text file, when counted

    @property
    def lines_note(self) -> str:
        """Why the file's data lines and rows differ, or ""."""
        notes = row_notes(self.frame)
        return notes.describe() if notes else ""


class _TableParser(HTMLParser):
    """Rows of the first HTML table, cell text with ``<br>`` as a line break."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.depth = 0
        self.done = False
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs) -> None:
        if self.done:
            return
        if tag == "table":
            self.depth += 1
        elif tag == "tr" and self.depth == 1:
            self.rows.append([])
        elif tag in ("td", "th") and self.depth == 1 and self.rows:
            self.cell = []
        elif tag == "br" and self.cell is not None:
            self.cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.done:
            return
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "table":
            self.depth -= 1
            self.done = self.depth == 0 and bool(self.rows)

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(re.sub(r"\s*\n\s*", " ", data))


def read_html_table(path: str | Path) -> pd.DataFrame:
    """The first ``<table>`` of an HTML file (Bitrix24's "Excel" ``.xls``) as text.

    The first row gives the titles; cells are strings, "" when empty.
    """
    path = Path(path)
    data = path.read_bytes()
    if data[:8] == _BINARY_XLS or data[:2] == b"PK":
        raise ImportFileError(
            f"{path.name}: a binary Excel workbook, not the HTML table Bitrix24 "
            "saves as .xls; save it as .xlsx or CSV")
    text, _ = decode(data, path.name)
    parser = _TableParser()
    parser.feed(text)
    parser.close()
    rows = [r for r in parser.rows if r]
    if not rows:
        raise ImportFileError(f"{path.name}: no HTML table found")
    header, body = rows[0], rows[1:]
    width = len(header)
    body = [(r + [""] * width)[:width] for r in body]
    titles = [h or f"Unnamed: {i}" for i, h in enumerate(header)]
    return pd.DataFrame(body, columns=titles, dtype=object)


def read_export(source: str | Path | bytes, name: str | None = None) -> ExportFile:
    """Read an export from a path or an upload's bytes, saying what was detected.

    An upload is read under its own file name, so every message names the
    user's file and none shows where the server kept it.
    """
    if isinstance(source, bytes):
        return _read_upload(source, name)

    path = Path(source)
    suffix = path.suffix.lower()
    frame = read_table(path)
    notes = row_notes(frame)
    lines = notes.lines if notes else None
    if suffix in (".csv", ".tsv", ".txt"):
        text, encoding = decode(path.read_bytes(), path.name)
        delimiter = sniff_delimiter(text.split("\n", 1)[0])
        return ExportFile(frame, path.name, "csv", encoding, delimiter, lines)
    kind = {".xls": "html", ".html": "html", ".htm": "html", ".pq": "parquet"}
    return ExportFile(frame, path.name, kind.get(suffix, suffix.lstrip(".")),
                      lines=lines)


def _read_upload(data: bytes, name: str | None) -> ExportFile:
    """Read an upload's bytes from a private folder, under the user's file name."""
    own = Path(name or "").name or "upload.csv"
    if not Path(own).suffix:
        own += ".csv"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / own
        path.write_bytes(data)
        try:
            found = read_export(path)
        except ImportFileError as err:
            # The readers name files by name alone; this is a last guard.
            text = str(err).replace(str(path), own).replace(tmp + os.sep, "")
            raise ImportFileError(text.replace(tmp, "")) from None
    return replace(found, name=own)
