"""Passing segments between people: bundles, bundle import, share links.

A bundle is one JSON file holding a segment and every segment it references,
transitively, so it evaluates the same in another library::

    {"format": "segment-workbench-bundle/1", "root": "vip-lapsed",
     "segments": [{...vip-lapsed...}, {...vip...}]}

A plain definition file is read as a bundle of one. Importing validates
everything before writing anything; an id already in the target library is
either replaced (a new version, so nothing is lost) or renamed, and a rename
rewrites the references to it inside the bundle.

A share link carries one definition (without snapshot ids) in a query
parameter: compact JSON, zlib-compressed, URL-safe base64 without padding.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final, Literal

from workbench import definition
from workbench.definition import (
    Definition, DefinitionError, Group, Node, Problem, RelatedCondition, SegmentRef,
)
from workbench.errors import WorkbenchError
from workbench.library import Library, LibraryError

BUNDLE_FORMAT: Final = "segment-workbench-bundle/1"
SHARE_PARAM: Final = "segment"
MAX_SHARED_BYTES: Final = 1_000_000  # a decompressed share link larger than this is refused

Choice = Literal["rename", "replace"]


class ShareLinkError(WorkbenchError, ValueError):
    """A share link cannot be read back into a definition."""


@dataclass(frozen=True)
class Bundle:
    """Segments read from one file; ``root`` is the one the user shared."""

    root: str
    segments: tuple[Definition, ...]
    file: str = "bundle"

    @property
    def ids(self) -> list[str]:
        return [d.id for d in self.segments]


# --------------------------------------------------------------------------
# Making bundles


def collect(library: Library, segment_id: str) -> list[Definition]:
    """The segment and everything it references, root first, each once."""
    found: dict[str, Definition] = {}
    waiting = [(segment_id, None)]
    while waiting:
        seg_id, by = waiting.pop(0)
        if seg_id in found:
            continue
        if not library.exists(seg_id):
            where = f' (referenced by "{by}")' if by else ""
            raise LibraryError(f'segment "{seg_id}"{where} is not in the library, '
                               "so the bundle would be incomplete")
        defn = library.load(seg_id)
        found[seg_id] = defn
        waiting += [(ref, seg_id) for ref in definition.references(defn)]
    return list(found.values())


def bundle_json(library: Library, segment_id: str) -> str:
    """One JSON text holding the segment and all the segments it references."""
    segments = collect(library, segment_id)
    body = {"format": BUNDLE_FORMAT, "root": segment_id,
            "segments": [definition.to_dict(d) for d in segments]}
    return json.dumps(body, ensure_ascii=False, indent=2) + "\n"


# --------------------------------------------------------------------------
# Reading bundles


def read_bundle(text: str | bytes, *, file: str = "bundle") -> Bundle:
    """Parse and validate a bundle (or a single definition) from file text.

    Raises ``DefinitionError`` naming the file and, for each problem, the
    segment's place in the file and the path inside its definition.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DefinitionError([Problem("", "not UTF-8 text")], file=file) from None
    try:
        raw = json.loads(text)
    except RecursionError:
        raise DefinitionError([Problem("", "nested too deeply to read")],
                              file=file) from None
    except json.JSONDecodeError as err:
        raise DefinitionError([Problem("", f"not valid JSON: {err.msg} at line "
                                           f"{err.lineno}, column {err.colno}")],
                              file=file) from None
    if isinstance(raw, dict) and "segments" not in raw and "format" in raw \
            and raw.get("format") != BUNDLE_FORMAT:
        defn = definition.parse(raw, file=file)
        return Bundle(defn.id, (defn,), file)
    return _parse_bundle(raw, file)


def _parse_bundle(raw: Any, file: str) -> Bundle:
    if not isinstance(raw, dict) or not isinstance(raw.get("segments"), list):
        raise DefinitionError([Problem("", 'expected a bundle {"format": '
                                           f'"{BUNDLE_FORMAT}", "segments": [...]}} '
                                           "or a segment definition")], file=file)
    problems: list[Problem] = []
    if raw.get("format") != BUNDLE_FORMAT:
        problems.append(Problem("format", f'expected "{BUNDLE_FORMAT}", got '
                                          f"{json.dumps(raw.get('format'))}"))
    segments: list[Definition] = []
    for i, item in enumerate(raw["segments"]):
        try:
            segments.append(definition.parse(item))
        except DefinitionError as err:
            label = f'segments[{i}] "{err.segment}"' if err.segment else f"segments[{i}]"
            problems += [Problem(f"{label} {p.path}".strip(), p.message)
                         for p in err.problems]
    ids = [d.id for d in segments]
    for seg_id in {i for i in ids if ids.count(i) > 1}:
        problems.append(Problem("segments", f'id "{seg_id}" appears more than once'))
    root = raw.get("root", ids[0] if ids else None)
    if not problems and root not in ids:
        problems.append(Problem("root", f"{json.dumps(root)} is not one of the "
                                        "segments in the file"))
    if problems:
        raise DefinitionError(problems, file=file)
    return Bundle(root, tuple(segments), file)


# --------------------------------------------------------------------------
# Importing


@dataclass(frozen=True)
class ImportPlan:
    """What importing a bundle would do: the new id of each segment."""

    bundle: Bundle
    new_ids: dict[str, str]
    replaced: list[str] = field(default_factory=list)

    @property
    def renamed(self) -> dict[str, str]:
        return {old: new for old, new in self.new_ids.items() if old != new}


def conflicts(library: Library, bundle: Bundle) -> list[str]:
    """Ids in the bundle that the library already has."""
    return [seg_id for seg_id in bundle.ids if library.exists(seg_id)]


def free_id(library: Library, seg_id: str, taken: set[str]) -> str:
    """``seg_id-2``, ``seg_id-3``, ... the first id neither saved nor taken."""
    n = 2
    while True:
        candidate = f"{seg_id[:76]}-{n}"
        if candidate not in taken and not library.exists(candidate):
            return candidate
        n += 1


def plan_import(library: Library, bundle: Bundle,
                choices: dict[str, Choice] | Choice = "rename") -> ImportPlan:
    """Decide each segment's id; ``choices`` maps a clashing id to rename/replace."""
    taken = set(bundle.ids)
    new_ids: dict[str, str] = {}
    replaced: list[str] = []
    for seg_id in bundle.ids:
        choice = choices if isinstance(choices, str) else choices.get(seg_id, "rename")
        if choice not in ("rename", "replace"):
            raise LibraryError(f'choose "rename" or "replace" for "{seg_id}", '
                               f"got {choice!r}")
        if not library.exists(seg_id):
            new_ids[seg_id] = seg_id
        elif choice == "replace":
            new_ids[seg_id] = seg_id
            replaced.append(seg_id)
        else:
            new_ids[seg_id] = free_id(library, seg_id, taken)
            taken.add(new_ids[seg_id])
    return ImportPlan(bundle, new_ids, replaced)


def rename_references(node: Node, new_ids: dict[str, str]) -> Node:
    """The same condition tree with segment references renamed."""
    if isinstance(node, SegmentRef):
        return SegmentRef(new_ids.get(node.segment, node.segment))
    if isinstance(node, Group):
        return replace(node, children=tuple(rename_references(c, new_ids)
                                            for c in node.children))
    if isinstance(node, RelatedCondition) and node.where is not None:
        return replace(node, where=rename_references(node.where, new_ids))
    return node


def _renamed(defn: Definition, new_ids: dict[str, str]) -> Definition:
    include = rename_references(defn.include, new_ids)
    assert isinstance(include, Group)
    return replace(defn, id=new_ids[defn.id], include=include,
                   exclude=tuple(rename_references(n, new_ids) for n in defn.exclude))


def _check_references(plan: ImportPlan, library: Library,
                      segments: list[Definition]) -> None:
    """Every reference resolves in the bundle or the library; no cycles."""
    inside = {d.id: d for d in segments}
    problems: list[Problem] = []
    for i, defn in enumerate(segments):
        for ref in definition.references(defn):
            if ref not in inside and not library.exists(ref):
                problems.append(Problem(f'segments[{i}] "{defn.id}"',
                                        f'references segment "{ref}", which is '
                                        "neither in the file nor in the library"))

    def refs(seg_id: str) -> list[str]:
        if seg_id in inside:
            return definition.references(inside[seg_id])
        try:
            return definition.references(library.load(seg_id))
        except WorkbenchError:
            return []

    for start in inside:
        path = _cycle(start, refs)
        if path:
            problems.append(Problem("", "segment references form a cycle: "
                                        + " → ".join(path)))
            break
    if problems:
        raise DefinitionError(problems, file=plan.bundle.file)


def _cycle(start: str, refs) -> list[str] | None:
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    while stack:
        seg_id, path = stack.pop()
        for ref in refs(seg_id):
            if ref == start:
                return path + [ref]
            if ref not in path and len(path) < 100:
                stack.append((ref, path + [ref]))
    return None


def import_bundle(library: Library, bundle: Bundle,
                  choices: dict[str, Choice] | Choice = "rename", *,
                  author: str | None = None, at: datetime | None = None) -> ImportPlan:
    """Save a bundle's segments into ``library``; returns what was done.

    Nothing is written unless every segment and reference checks out.
    """
    plan = plan_import(library, bundle, choices)
    segments = [_renamed(d, plan.new_ids) for d in bundle.segments]
    _check_references(plan, library, segments)
    for original, defn in zip(bundle.segments, segments):
        renamed = f' as "{defn.id}"' if defn.id != original.id else ""
        library.save(defn, note=f"imported from {bundle.file}{renamed}",
                     author=author, at=at)
    return plan


# --------------------------------------------------------------------------
# Share links


def encode_share(defn: Definition) -> str:
    """The definition, without snapshot ids, as a URL-safe text.

    >>> from workbench.definition import Definition
    >>> decode_share(encode_share(Definition("all", "Everyone"))).name
    'Everyone'
    """
    raw = definition.to_dict(defn.with_snapshot(None))
    compact = json.dumps(raw, ensure_ascii=False, separators=(",", ":"))
    packed = zlib.compress(compact.encode("utf-8"), 9)
    return base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def share_query(defn: Definition) -> str:
    """``segment=...``: the query string a share link carries."""
    return f"{SHARE_PARAM}={encode_share(defn)}"


def decode_share(param: str) -> Definition:
    """Read a definition back from a share link's ``segment`` parameter.

    Raises ``ShareLinkError`` for a damaged link and ``DefinitionError``
    (file "share link") when the definition inside does not validate.
    """
    text = (param or "").strip()
    if not text:
        raise ShareLinkError("the share link carries no segment")
    try:
        packed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        inflater = zlib.decompressobj()
        data = inflater.decompress(packed, MAX_SHARED_BYTES)
        if inflater.unconsumed_tail:
            raise ShareLinkError("the share link holds more than "
                                 f"{MAX_SHARED_BYTES:,} bytes of definition")
        raw = json.loads(data.decode("utf-8"))
    except ShareLinkError:
        raise
    except RecursionError:
        raise ShareLinkError("the shared definition is nested too deeply") from None
    except (binascii.Error, ValueError, zlib.error) as err:
        raise ShareLinkError("the share link is damaged or cut short (copy the whole "
                             f"link again): {err}") from None
    return definition.parse(raw, file="share link")
