"""Saved segments: one readable JSON file per segment in a folder, with history.

``data/segments/`` by default (``$WORKBENCH_SEGMENTS`` overrides). Saves are
atomic: the new text is written to a temporary file in the same folder and
renamed over the old one, so a crash mid-save leaves the previous file.
A ``Library`` is also a resolver: ``library("vip")`` returns the definition,
which is how segment references are looked up.

Every save is recorded as a numbered version in
``<folder>/.history/<id>/<n>.json``: the definition's canonical JSON wrapped
with the version number, the time it was saved and a note. The current file
is always the newest version; a file edited by hand (or copied in) is
recorded as a version of its own before the next save, so nothing is lost.
A definition's id is its file name.
"""

from __future__ import annotations

import difflib
import json
import functools
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Final

import duckdb

from workbench import definition, evaluator, store
from workbench.definition import ID_PATTERN, Definition, SegmentNotFound, Snapshot
from workbench.errors import WorkbenchError

logger = logging.getLogger(__name__)

DEFAULT_FOLDER: Final = Path(__file__).resolve().parent.parent / "data" / "segments"
HISTORY: Final = ".history"


class LibraryError(WorkbenchError, ValueError):
    """A library operation was refused; the message says why."""


class SaveConflict(LibraryError):
    """The stored segment is newer than the version the caller opened.

    ``diff`` holds the unified diff from the stored version to the text the
    caller tried to save, so the page can show what the other save changed.
    """

    def __init__(self, segment: str, expected: int, current: Version,
                 diff: str) -> None:
        self.segment = segment
        self.expected = expected
        self.current = current
        self.diff = diff
        by = f" by {current.author}" if current.author else ""
        opened = (f"you opened version {expected}" if expected
                  else "you were creating it as a new segment")
        super().__init__(
            f'segment "{segment}" was saved as version {current.number}{by} at '
            f"{current.saved_at} after {opened}; your changes were not saved. "
            "Compare the two versions, then reload it and apply your edits again "
            "(or save under another id).")


@functools.lru_cache(maxsize=512)
def _load_cached(path: str, mtime_ns: int, size: int) -> Definition:
    """Parse a saved file once per version of it on disk.

    Definitions are frozen, so one parsed copy can serve every caller;
    resolving references no longer re-reads and re-validates each file
    every time a segment is counted.
    """
    return definition.load(path)


def default_folder() -> Path:
    env = os.environ.get("WORKBENCH_SEGMENTS")
    return Path(env) if env else DEFAULT_FOLDER


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK: Final = _current_umask()


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes it private (0600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class Version:
    """One recorded version of a segment.

    ``recorded`` is False for a current file that no save recorded (edited by
    hand or copied in); it becomes a real version before the next save.
    """

    segment: str
    number: int
    saved_at: str
    note: str = ""
    author: str | None = None
    recorded: bool = True


def _now(at: datetime | None) -> str:
    moment = at or datetime.now(timezone.utc)
    return moment.isoformat(timespec="seconds")


def diff_text(raw: dict[str, Any]) -> str:
    """Canonical JSON for reading in a diff; snapshot ids become a count."""
    shown = dict(raw)
    snap = shown.get("snapshot")
    if isinstance(snap, dict) and isinstance(snap.get("ids"), list):
        shown["snapshot"] = {**snap, "ids": f"<{len(snap['ids'])} ids>"}
    return json.dumps(shown, ensure_ascii=False, indent=2) + "\n"


def unified_diff(old: dict[str, Any], new: dict[str, Any], old_label: str,
                 new_label: str) -> str:
    """A readable diff of two definitions, with membership changes summarised."""
    lines = difflib.unified_diff(diff_text(old).splitlines(keepends=True),
                                 diff_text(new).splitlines(keepends=True),
                                 old_label, new_label)
    text = "".join(lines)
    old_ids = set((old.get("snapshot") or {}).get("ids") or [])
    new_ids = set((new.get("snapshot") or {}).get("ids") or [])
    if old_ids != new_ids:
        text += (f"# snapshot members: {len(new_ids - old_ids)} added, "
                 f"{len(old_ids - new_ids)} removed\n")
    return text


class Library:
    """The segments saved in one folder, with their versions."""

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_folder()

    def path(self, segment_id: str) -> Path:
        """The file of a segment; an id that is not a plain name is refused.

        Ids become file names, so only lower-case letters, digits, ``-`` and
        ``_`` (at most 80) are allowed: nothing can point outside the folder.
        """
        if not isinstance(segment_id, str) or not ID_PATTERN.match(segment_id):
            raise LibraryError(f"{segment_id!r:.60} is not a segment id: use lower-case "
                               "letters, digits, - and _ (at most 80 characters)")
        return self.folder / f"{segment_id}.json"

    def ids(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.json")
                      if not p.name.startswith("."))

    def exists(self, segment_id: str) -> bool:
        return self.path(segment_id).is_file()

    def load(self, segment_id: str) -> Definition:
        path = self.path(segment_id)
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise SegmentNotFound(segment_id, f"the library {self.folder}") from None
        return _load_cached(str(path.resolve()), stat.st_mtime_ns, stat.st_size)

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

    # ----------------------------------------------------------------------
    # Versions

    def history_folder(self, segment_id: str) -> Path:
        return self.folder / HISTORY / segment_id

    def _recorded(self, segment_id: str) -> list[tuple[int, Path]]:
        folder = self.history_folder(segment_id)
        if not folder.is_dir():
            return []
        found = [(int(p.stem), p) for p in folder.glob("*.json") if p.stem.isdigit()]
        return sorted(found)

    def _read_version(self, path: Path) -> dict[str, Any]:
        return json.loads(path.read_text(encoding="utf-8"))

    def _unrecorded_current(self, segment_id: str) -> str | None:
        """The current file's text when no recorded version holds it."""
        if not self.exists(segment_id):
            return None
        text = self.path(segment_id).read_text(encoding="utf-8")
        recorded = self._recorded(segment_id)
        if recorded:
            last = self._read_version(recorded[-1][1])
            if json.dumps(last["definition"], ensure_ascii=False, indent=2) + "\n" \
                    == text:
                return None
        return text

    def history(self, segment_id: str) -> list[Version]:
        """Every version of a segment, oldest first; the last is the current one."""
        versions = []
        for number, path in self._recorded(segment_id):
            meta = self._read_version(path)
            versions.append(Version(segment_id, number, meta.get("saved_at", ""),
                                    meta.get("note", ""), meta.get("author")))
        if self._unrecorded_current(segment_id) is not None:
            mtime = datetime.fromtimestamp(self.path(segment_id).stat().st_mtime,
                                           timezone.utc)
            number = versions[-1].number + 1 if versions else 1
            versions.append(Version(segment_id, number, _now(mtime),
                                    "edited outside the library", recorded=False))
        return versions

    def current_version(self, segment_id: str) -> int:
        """The number of the version in the current file; 0 when there is none."""
        if not self.exists(segment_id):
            return 0
        versions = self.history(segment_id)
        return versions[-1].number if versions else 0

    def version_raw(self, segment_id: str, number: int) -> dict[str, Any]:
        """The JSON of one version as it was saved."""
        for version in self.history(segment_id):
            if version.number != number:
                continue
            if not version.recorded:
                return json.loads(self.path(segment_id).read_text(encoding="utf-8"))
            path = self.history_folder(segment_id) / f"{number}.json"
            return self._read_version(path)["definition"]
        known = ", ".join(str(v.number) for v in self.history(segment_id)) or "none"
        raise LibraryError(f'segment "{segment_id}" has no version {number}; '
                           f"versions: {known}")

    def load_version(self, segment_id: str, number: int) -> Definition:
        return definition.parse(self.version_raw(segment_id, number),
                                file=f"{segment_id} version {number}")

    def diff(self, segment_id: str, old: int, new: int | None = None) -> str:
        """Unified diff of canonical JSON from version ``old`` to ``new`` (current)."""
        new = new if new is not None else self.current_version(segment_id)
        return unified_diff(self.version_raw(segment_id, old),
                            self.version_raw(segment_id, new),
                            f"{segment_id} version {old}", f"{segment_id} version {new}")

    def _record(self, segment_id: str, number: int, raw: dict[str, Any], saved_at: str,
                note: str, author: str | None) -> None:
        body = {"version": number, "saved_at": saved_at, "note": note,
                "author": author, "definition": raw}
        atomic_write(self.history_folder(segment_id) / f"{number}.json",
                     json.dumps(body, ensure_ascii=False, indent=2) + "\n")

    # ----------------------------------------------------------------------
    # Saving

    def save(self, defn: Definition, *, expected_version: int | None = None,
             note: str = "", author: str | None = None,
             at: datetime | None = None) -> Path:
        """Write the canonical JSON of ``defn`` atomically as a new version.

        Args:
            expected_version: the version the caller opened (0 for a new
                segment). When the stored version is newer, nothing is written
                and ``SaveConflict`` says which version was saved and when.
            note, author: kept with the version for the history listing.
            at: the save time; the wall clock when omitted.
        """
        seg_id = defn.id
        raw = definition.to_dict(defn)
        current = self.current_version(seg_id)
        if expected_version is not None and current > expected_version:
            stored = self.history(seg_id)[-1]
            diff = unified_diff(self.version_raw(seg_id, current), raw,
                                f"{seg_id} version {current} (saved)",
                                f"{seg_id} (yours)")
            raise SaveConflict(seg_id, expected_version, stored, diff)
        self._keep_unrecorded(seg_id)
        recorded = self._recorded(seg_id)
        number = recorded[-1][0] + 1 if recorded else 1
        self._record(seg_id, number, raw, _now(at), note, author)
        path = self.path(seg_id)
        atomic_write(path, definition.to_json(defn))
        logger.debug("saved %s as version %s", path, number)
        return path

    def _keep_unrecorded(self, segment_id: str) -> None:
        text = self._unrecorded_current(segment_id)
        if text is None:
            return
        try:
            raw = json.loads(text)
        except json.JSONDecodeError:
            raw = {"unreadable_text": text}
        version = self.history(segment_id)[-1]
        self._record(segment_id, version.number, raw, version.saved_at,
                     version.note, None)

    def restore(self, segment_id: str, number: int, *,
                expected_version: int | None = None, author: str | None = None,
                at: datetime | None = None) -> Definition:
        """Save version ``number`` again as the newest version."""
        old = self.load_version(segment_id, number)
        if old.id != segment_id:
            old = replace(old, id=segment_id)
        self.save(old, expected_version=expected_version,
                  note=f"restored version {number}", author=author, at=at)
        return old

    # ----------------------------------------------------------------------
    # Rename, duplicate, delete

    def referrers(self, segment_id: str) -> list[str]:
        """Ids of saved segments that reference ``segment_id`` directly."""
        found = []
        for defn in self.load_all()[0]:
            if segment_id in definition.references(defn):
                found.append(defn.id)
        return found

    def _refuse_if_referenced(self, segment_id: str, action: str) -> None:
        users = [r for r in self.referrers(segment_id) if r != segment_id]
        if users:
            names = ", ".join(f'"{u}"' for u in users)
            raise LibraryError(f'cannot {action} segment "{segment_id}": '
                               f"{names} reference{'s' if len(users) == 1 else ''} "
                               "it; remove those references first")

    def _check_new_id(self, new_id: str) -> None:
        if not definition.ID_PATTERN.match(new_id):
            raise LibraryError(f"{new_id!r} is not a segment id: use lower-case "
                               "letters, digits, - or _ (at most 80)")
        if self.exists(new_id):
            raise LibraryError(f'a segment "{new_id}" already exists; choose another id')

    def rename(self, segment_id: str, new_id: str, *, author: str | None = None,
               at: datetime | None = None) -> Definition:
        """Give a segment a new id, carrying its history; refused if referenced."""
        defn = self.load(segment_id)
        self._check_new_id(new_id)
        self._refuse_if_referenced(segment_id, "rename")
        self._keep_unrecorded(segment_id)
        old_history = self.history_folder(segment_id)
        new_history = self.history_folder(new_id)
        if old_history.is_dir() and not new_history.exists():
            new_history.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(old_history), str(new_history))
        renamed = replace(defn, id=new_id)
        self.save(renamed, note=f'renamed from "{segment_id}"', author=author, at=at)
        self.path(segment_id).unlink()
        return renamed

    def duplicate(self, segment_id: str, new_id: str, name: str | None = None, *,
                  author: str | None = None, at: datetime | None = None) -> Definition:
        """Save a copy under ``new_id`` (snapshot included) with a fresh history."""
        defn = self.load(segment_id)
        self._check_new_id(new_id)
        copy = replace(defn, id=new_id, name=name or f"{defn.name} (copy)")
        self.save(copy, expected_version=0, note=f'copied from "{segment_id}"',
                  author=author, at=at)
        return copy

    def delete(self, segment_id: str) -> None:
        """Remove a segment; its history stays, so ``restore`` can bring it back."""
        if not self.exists(segment_id):
            raise SegmentNotFound(segment_id, f"the library {self.folder}")
        self._refuse_if_referenced(segment_id, "delete")
        self._keep_unrecorded(segment_id)
        self.path(segment_id).unlink()
        logger.debug("deleted %s", segment_id)

    # ----------------------------------------------------------------------
    # Static snapshots

    def snapshots(self, segment_id: str) -> list[tuple[Version, Snapshot]]:
        """Every distinct snapshot the segment has had, oldest first."""
        found: list[tuple[Version, Snapshot]] = []
        for version in self.history(segment_id):
            try:
                snap = self.load_version(segment_id, version.number).snapshot
            except definition.DefinitionError:
                continue
            if snap is not None and (not found or found[-1][1] != snap):
                found.append((version, snap))
        return found


def refresh_snapshot(con: duckdb.DuckDBPyConnection, library: Library,
                     segment_id: str, as_of: date, *, expected_version: int | None = None,
                     author: str | None = None, at: datetime | None = None) -> Definition:
    """Evaluate a static segment's conditions and freeze the result as a new version.

    The segment's own conditions are evaluated as if it were dynamic; the
    segments it references answer as they normally do (a referenced static
    segment from its own list). The new snapshot keeps the ids, ``as_of``,
    when it was made, the data's fingerprint and the channel counts.

    Returns the saved definition.
    """
    defn = library.load(segment_id)
    if defn.mode != "static":
        raise LibraryError(f'segment "{segment_id}" is dynamic and is evaluated every '
                           "time; make it static to freeze its members")
    live = replace(defn, mode="dynamic", snapshot=None)
    ids = evaluator.member_ids(con, live, as_of=as_of, resolver=library)
    channels = evaluator.channel_counts(con, live, as_of=as_of, resolver=library)
    previous = defn.snapshot.version if defn.snapshot is not None else 0
    snap = Snapshot(as_of.isoformat(), tuple(ids), _now(at), store.fingerprint(con),
                    channels.as_dict(), previous + 1)
    frozen = defn.with_snapshot(snap)
    library.save(frozen, expected_version=expected_version,
                 note=f"snapshot {snap.version}: {len(ids)} members as of {snap.as_of}",
                 author=author, at=at)
    return frozen
