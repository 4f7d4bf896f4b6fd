"""Saved segments: one readable JSON file per segment in a folder.

``data/segments/`` by default (``$WORKBENCH_SEGMENTS`` overrides). Saves are
atomic: the new text is written to a temporary file in the same folder and
renamed over the old one, so a crash mid-save leaves the previous file.
A ``Library`` is also a resolver: ``library("vip")`` returns the definition,
which is how segment references are looked up.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Final

from workbench import definition
from workbench.definition import Definition, SegmentNotFound
from workbench.errors import WorkbenchError

logger = logging.getLogger(__name__)

DEFAULT_FOLDER: Final = Path(__file__).resolve().parent.parent / "data" / "segments"


class LibraryError(WorkbenchError, ValueError):
    """A library operation was refused; the message says why."""


def default_folder() -> Path:
    env = os.environ.get("WORKBENCH_SEGMENTS")
    return Path(env) if env else DEFAULT_FOLDER


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Library:
    """The segments saved in one folder."""

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_folder()

    def path(self, segment_id: str) -> Path:
        return self.folder / f"{segment_id}.json"

    def ids(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.json")
                      if not p.name.startswith("."))

    def exists(self, segment_id: str) -> bool:
        return self.path(segment_id).is_file()

    def load(self, segment_id: str) -> Definition:
        if not self.exists(segment_id):
            raise SegmentNotFound(segment_id, f"the library {self.folder}")
        return definition.load(self.path(segment_id))

    __call__ = load

    def load_all(self) -> tuple[list[Definition], list[definition.DefinitionError]]:
        """Every segment that loads, and the errors of those that do not."""
        good: list[Definition] = []
        bad: list[definition.DefinitionError] = []
        for seg_id in self.ids():
            try:
                good.append(self.load(seg_id))
            except definition.DefinitionError as err:
                bad.append(err)
        return good, bad

    def save(self, defn: Definition) -> Path:
        """Write the canonical JSON of ``defn`` atomically."""
        path = self.path(defn.id)
        atomic_write(path, definition.to_json(defn))
        logger.debug("saved %s", path)
        return path

    def referrers(self, segment_id: str) -> list[str]:
        """Ids of saved segments that reference ``segment_id`` directly."""
        found = []
        for defn in self.load_all()[0]:
            if segment_id in definition.references(defn):
                found.append(defn.id)
        return found
