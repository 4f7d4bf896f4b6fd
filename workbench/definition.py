"""Segment definitions: the JSON format, its typed model and its validation.

A definition is plain JSON (format ``segment-workbench/1``)::

    {
      "format": "segment-workbench/1",
      "id": "vip",
      "name": "VIP customers",
      "description": "Won deals adding up to more than 100,000 RUB.",
      "entity": "contacts",
      "mode": "dynamic",
      "include": {"all": [
        {"related": "deals", "quantifier": "sum", "field": "amount",
         "op": "gt", "value": 100000,
         "where": {"all": [{"field": "stage_semantics", "op": "equals",
                            "value": "won"}]}}
      ]},
      "exclude": [{"segment": "unsubscribed"}]
    }

``parse`` turns it into frozen dataclasses after checking every name and
value against the catalog; all problems are collected and raised at once,
each with its path (``include.all[2].where.any[0]``). ``to_json`` writes the
canonical form back, so loading and saving without edits gives the same text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Callable, Final, Literal, Union

from workbench import catalog
from workbench.catalog import AGGREGATE_OPERATORS, OPERATORS, QUANTIFIERS, Source
from workbench.errors import WorkbenchError

FORMAT: Final = "segment-workbench/1"
MODES: Final = ("dynamic", "static")
GROUP_KEYS: Final = ("all", "any", "none")
ID_PATTERN: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")
MAX_PROBLEMS_SHOWN: Final = 8
MAX_DEPTH: Final = 40  # nested groups and related conditions, counted together


@dataclass(frozen=True)
class FieldCondition:
    """A field of the current record compared with a value."""

    field: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class RelatedCondition:
    """A quantified condition over related records (deals, orders, ...).

    Every predicate in ``where`` holds on the same related record.
    ``quantifier`` exists/none need no comparison; count compares the number
    of matching records; sum/min/max compare an aggregate of ``field``.
    """

    relation: str
    quantifier: str = "exists"
    where: Group | None = None
    field: str | None = None
    op: str | None = None
    value: Any = None


@dataclass(frozen=True)
class SegmentRef:
    """Membership in another saved segment, by id."""

    segment: str


@dataclass(frozen=True)
class Group:
    """``all`` (AND) or ``any`` (OR) of children; ``negated`` makes "none of"."""

    kind: Literal["all", "any"] = "all"
    children: tuple[Node, ...] = ()
    negated: bool = False

    @property
    def key(self) -> str:
        return "none" if self.negated else self.kind


Node = Union[FieldCondition, RelatedCondition, SegmentRef, Group]


@dataclass(frozen=True)
class Snapshot:
    """The frozen member list of a static segment and what made it."""

    as_of: str
    ids: tuple[int, ...]
    made_at: str | None = None
    fingerprint: dict[str, Any] | None = None
    channels: dict[str, int] | None = None
    version: int = 1


@dataclass(frozen=True)
class Definition:
    id: str
    name: str
    entity: str = "contacts"
    description: str = ""
    mode: Literal["dynamic", "static"] = "dynamic"
    include: Group = field(default_factory=Group)
    exclude: tuple[Node, ...] = ()
    snapshot: Snapshot | None = None

    def with_snapshot(self, snapshot: Snapshot | None) -> Definition:
        return replace(self, snapshot=snapshot)


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class DefinitionError(WorkbenchError, ValueError):
    """A definition has problems; ``problems`` lists every one with its path."""

    def __init__(self, problems: list[Problem], segment: str | None = None,
                 file: str | None = None) -> None:
        self.problems = problems
        self.segment = segment
        self.file = file
        super().__init__(self._message())

    def _message(self) -> str:
        where = []
        if self.file:
            where.append(f"file {self.file}")
        if self.segment:
            where.append(f'segment "{self.segment}"')
        head = ", ".join(where)
        shown = [str(p) for p in self.problems[:MAX_PROBLEMS_SHOWN]]
        more = len(self.problems) - len(shown)
        if more > 0:
            shown.append(f"... and {more} more")
        if len(shown) == 1:
            return f"{head}: {shown[0]}" if head else shown[0]
        body = "\n".join(f"  - {line}" for line in shown)
        return f"{head or 'definition'} has {len(self.problems)} problems:\n{body}"


# --------------------------------------------------------------------------
# Parsing and validation


class _Checker:
    """Walks raw JSON, building the model and collecting problems."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def unknown_keys(self, raw: dict, allowed: tuple[str, ...], path: str) -> None:
        for key in raw:
            if key not in allowed:
                hint = catalog.closest(key, allowed)
                extra = f'; did you mean "{hint}"?' if hint else ""
                self.fail(path, f'unknown key "{key}"{extra}')

    def group(self, raw: Any, src: Source, path: str) -> Group:
        depth = path.count("[") + path.count(".where")
        if depth > MAX_DEPTH:
            self.fail(path, f"nested more than {MAX_DEPTH} levels deep; flatten the "
                      "groups (all of all of ... is the same as one all)")
            return Group()
        if not isinstance(raw, dict):
            self.fail(path, f"expected a group like {{\"all\": [...]}}, got {_show(raw)}")
            return Group()
        keys = [k for k in raw if k in GROUP_KEYS]
        if len(keys) != 1 or len(raw) != 1:
            self.fail(path, 'a group has exactly one key: "all", "any" or "none"; '
                      f"got {', '.join(map(repr, raw)) or 'none'}")
            return Group()
        key = keys[0]
        items = raw[key]
        if not isinstance(items, list):
            self.fail(f"{path}.{key}", f"expected a list of conditions, got {_show(items)}")
            return Group()
        children = tuple(self.node(item, src, f"{path}.{key}[{i}]")
                         for i, item in enumerate(items))
        return Group("all" if key == "all" else "any", children, key == "none")

    def node(self, raw: Any, src: Source, path: str) -> Node:
        if isinstance(raw, dict):
            if any(k in raw for k in GROUP_KEYS):
                return self.group(raw, src, path)
            if "segment" in raw:
                return self.segment_ref(raw, path)
            if "related" in raw:
                return self.related(raw, src, path)
            if "field" in raw:
                return self.field_condition(raw, src, path)
        self.fail(path, "expected a condition (field, related or segment) or a "
                  f"group (all, any, none), got {_show(raw)}")
        return Group()

    def segment_ref(self, raw: dict, path: str) -> SegmentRef:
        self.unknown_keys(raw, ("segment",), path)
        ref = raw["segment"]
        if not isinstance(ref, str) or not ID_PATTERN.match(ref):
            self.fail(f"{path}.segment", f"expected a segment id, got {_show(ref)}")
            ref = str(ref)
        return SegmentRef(ref)

    def field_condition(self, raw: dict, src: Source, path: str) -> FieldCondition:
        self.unknown_keys(raw, ("field", "op", "value"), path)
        name, op = raw.get("field"), raw.get("op")
        cond = FieldCondition(str(name), str(op), raw.get("value"))
        fld = self.lookup_field(src, name, f"{path}.field")
        if fld is None:
            return cond
        if op not in fld.operators:
            hint = catalog.closest(str(op), fld.operators)
            extra = f'; did you mean "{hint}"?' if hint else ""
            self.fail(f"{path}.op", f'operator {_show(op)} does not apply to '
                      f'{src.name}.{fld.name} ({fld.type}){extra}; '
                      f"valid: {', '.join(fld.operators)}")
            return cond
        value = self.value(fld, op, raw.get("value"), "value" in raw, f"{path}.value")
        return FieldCondition(fld.name, op, value)

    def related(self, raw: dict, src: Source, path: str) -> RelatedCondition:
        self.unknown_keys(raw, ("related", "quantifier", "field", "op", "value",
                                "where"), path)
        name = raw.get("related")
        names = tuple(r.name for r in src.relations)
        if name not in names:
            hint = catalog.closest(str(name), names)
            extra = f'; did you mean "{hint}"?' if hint else ""
            self.fail(f"{path}.related", f"{src.name} have no related "
                      f"{_show(name)}{extra}; known: {', '.join(names)}")
            return RelatedCondition(str(name))
        rel = src.relation(name)
        target = catalog.source(rel.target)
        quant = raw.get("quantifier", "exists")
        where = None
        if raw.get("where") is not None:
            where = self.group(raw["where"], target, f"{path}.where")
        cond = RelatedCondition(name, str(quant), where)
        if quant not in QUANTIFIERS:
            self.fail(f"{path}.quantifier", f"unknown quantifier {_show(quant)}; "
                      f"valid: {', '.join(QUANTIFIERS)}")
            return cond
        if rel.cardinality == "one" and quant not in ("exists", "none"):
            self.fail(f"{path}.quantifier", f"{rel.name} is a single record: "
                      'use "exists" or "none"')
            return cond
        if quant in ("exists", "none"):
            for key in ("field", "op", "value"):
                if key in raw:
                    self.fail(f"{path}.{key}", f'"{quant}" takes no {key}')
            return cond
        return self.aggregate(raw, cond, target, path)

    def aggregate(self, raw: dict, cond: RelatedCondition, target: Source,
                  path: str) -> RelatedCondition:
        quant = cond.quantifier
        if quant == "count":
            if "field" in raw:
                self.fail(f"{path}.field", '"count" counts records and takes no field')
            fld = catalog.Field("count", "Number", "number")
        else:
            fld = self.lookup_field(target, raw.get("field"), f"{path}.field")
            if fld is None:
                return cond
            allowed_types = ("number", "money", "id") if quant == "sum" else (
                "number", "money", "id", "date", "datetime")
            if fld.type not in allowed_types:
                self.fail(f"{path}.field", f'"{quant}" needs a number'
                          f'{"" if quant == "sum" else " or date"} field; '
                          f"{target.name}.{fld.name} is {fld.type}")
                return cond
        op = raw.get("op")
        if fld.type in catalog.DATE_TYPES:
            ops = tuple(o for o in fld.operators
                        if o not in ("filled", "not_filled", "changed_in_last_days"))
        else:
            ops = AGGREGATE_OPERATORS
        if op not in ops:
            self.fail(f"{path}.op", f"comparison {_show(op)} does not apply to "
                      f"{quant} of {fld.name}; valid: {', '.join(ops)}")
            return cond
        value = self.value(fld, op, raw.get("value"), "value" in raw, f"{path}.value")
        return replace(cond, field=None if quant == "count" else fld.name, op=op,
                       value=value)

    def lookup_field(self, src: Source, name: Any, path: str) -> catalog.Field | None:
        try:
            return src.field(name)
        except (KeyError, TypeError):
            hint = catalog.closest(str(name), src.field_names)
            extra = f'; did you mean "{hint}"?' if hint else ""
            self.fail(path, f'field "{src.name}.{name}" is not in the catalog{extra}')
            return None

    def value(self, fld: catalog.Field, op: str, value: Any, present: bool,
              path: str) -> Any:
        kind = OPERATORS[op].value
        if kind == "none":
            if present and value is not None:
                self.fail(path, f'"{op}" takes no value')
            return None
        if not present or value is None:
            self.fail(path, f'"{op}" needs a value')
            return None
        if kind == "days":
            least = 1 if op == "in_last_days" else 0
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                self.fail(path, f"expected a whole number of days >= {least}, "
                          f"got {_show(value)}")
            return value
        if kind == "date":
            return self.date_value(value, path)
        if kind == "list":
            if not isinstance(value, list) or not value:
                self.fail(path, f"expected a non-empty list, got {_show(value)}")
                return value
            return [self.scalar(fld, v, f"{path}[{i}]") for i, v in enumerate(value)]
        if kind == "pair":
            if not isinstance(value, list) or len(value) != 2:
                self.fail(path, f"expected [low, high], got {_show(value)}")
                return value
            if fld.type in catalog.DATE_TYPES:
                low, high = (self.date_value(v, f"{path}[{i}]")
                             for i, v in enumerate(value))
            else:
                low, high = (self.scalar(fld, v, f"{path}[{i}]")
                             for i, v in enumerate(value))
            if _comparable(low, high) and low > high:
                self.fail(path, f"low {low!r} is greater than high {high!r}")
            return [low, high]
        return self.scalar(fld, value, path)

    def scalar(self, fld: catalog.Field, value: Any, path: str) -> Any:
        if fld.type in catalog.NUMERIC_TYPES or fld.type == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.fail(path, f"{fld.name} is a number; got {_show(value)}")
            return value
        if fld.type in catalog.DATE_TYPES:
            return self.date_value(value, path)
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"expected non-empty text, got {_show(value)}; "
                      'use "filled" / "not_filled" to test for empty')
            return value
        if fld.values:
            canonical = {v.casefold(): v for v in fld.values}
            found = canonical.get(value.strip().casefold())
            if found is None:
                hint = catalog.closest(value, fld.values)
                extra = f'; did you mean "{hint}"?' if hint else ""
                self.fail(path, f"{fld.name} is one of {', '.join(fld.values)}; "
                          f"got {_show(value)}{extra}")
                return value
            return found
        return value

    def date_value(self, value: Any, path: str) -> Any:
        try:
            date.fromisoformat(value)
        except (TypeError, ValueError):
            self.fail(path, f"expected a date YYYY-MM-DD, got {_show(value)}")
        return value


def _comparable(a: Any, b: Any) -> bool:
    return type(a) is type(b) and isinstance(a, (int, float, str))


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def parse(raw: Any, *, file: str | None = None) -> Definition:
    """Build a checked ``Definition`` from JSON data.

    Raises ``DefinitionError`` listing every problem with its path.
    """
    chk = _Checker()
    if not isinstance(raw, dict):
        raise DefinitionError([Problem("", f"expected a JSON object, got {_show(raw)}")],
                              file=file)
    chk.unknown_keys(raw, ("format", "id", "name", "description", "entity", "mode",
                           "include", "exclude", "snapshot"), "")
    seg_id = raw.get("id")
    if raw.get("format", FORMAT) != FORMAT:
        chk.fail("format", f"unsupported format {_show(raw.get('format'))}; "
                 f'this version reads "{FORMAT}"')
    if not isinstance(seg_id, str) or not ID_PATTERN.match(seg_id):
        chk.fail("id", "expected lower-case letters, digits, - or _ "
                 f"(at most 80), got {_show(seg_id)}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        chk.fail("name", f"expected a non-empty name, got {_show(name)}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        chk.fail("description", f"expected text, got {_show(description)}")
    entity = raw.get("entity", "contacts")
    if entity not in catalog.ENTITIES:
        chk.fail("entity", f"expected one of {', '.join(catalog.ENTITIES)}, "
                 f"got {_show(entity)}")
        entity = "contacts"
    mode = raw.get("mode", "dynamic")
    if mode not in MODES:
        chk.fail("mode", f'expected "dynamic" or "static", got {_show(mode)}')
    src = catalog.source(entity)
    include = chk.group(raw.get("include", {"all": []}), src, "include")
    exclude_raw = raw.get("exclude", [])
    exclude: tuple[Node, ...] = ()
    if not isinstance(exclude_raw, list):
        chk.fail("exclude", f"expected a list, got {_show(exclude_raw)}")
    else:
        exclude = tuple(chk.node(x, src, f"exclude[{i}]")
                        for i, x in enumerate(exclude_raw))
    snapshot = _snapshot(chk, raw.get("snapshot"))
    if chk.problems:
        raise DefinitionError(chk.problems, segment=seg_id if isinstance(seg_id, str)
                              else None, file=file)
    return Definition(seg_id, name.strip(), entity, description, mode, include,
                      exclude, snapshot)


def _snapshot(chk: _Checker, raw: Any) -> Snapshot | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        chk.fail("snapshot", f"expected an object, got {_show(raw)}")
        return None
    chk.unknown_keys(raw, ("as_of", "ids", "made_at", "fingerprint", "channels",
                           "version"), "snapshot")
    ids = raw.get("ids")
    if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids):
        chk.fail("snapshot.ids", "expected a list of record ids")
        ids = []
    as_of = chk.date_value(raw.get("as_of"), "snapshot.as_of")
    return Snapshot(str(as_of), tuple(ids), raw.get("made_at"), raw.get("fingerprint"),
                    raw.get("channels"), int(raw.get("version", 1)))


def loads(text: str, *, file: str | None = None) -> Definition:
    """Parse JSON text; a syntax error names the line and column."""
    try:
        raw = json.loads(text)
    except RecursionError:
        raise DefinitionError([Problem("", f"nested more than {MAX_DEPTH} levels "
                                           "deep")], file=file) from None
    except json.JSONDecodeError as err:
        raise DefinitionError([Problem("", f"not valid JSON: {err.msg} at line "
                                           f"{err.lineno}, column {err.colno}")],
                              file=file) from None
    return parse(raw, file=file)


def load(path: str | Path) -> Definition:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DefinitionError([Problem("", "file not found")], file=str(path)) from None
    except UnicodeDecodeError:
        raise DefinitionError([Problem("", "not UTF-8 text")], file=str(path)) from None
    return loads(text, file=str(path))


# --------------------------------------------------------------------------
# Writing


def node_to_json(node: Node) -> dict[str, Any]:
    if isinstance(node, Group):
        return {node.key: [node_to_json(c) for c in node.children]}
    if isinstance(node, SegmentRef):
        return {"segment": node.segment}
    if isinstance(node, FieldCondition):
        out: dict[str, Any] = {"field": node.field, "op": node.op}
        if OPERATORS[node.op].value != "none":
            out["value"] = node.value
        return out
    out = {"related": node.relation, "quantifier": node.quantifier}
    if node.field is not None:
        out["field"] = node.field
    if node.op is not None:
        out["op"] = node.op
        out["value"] = node.value
    if node.where is not None:
        out["where"] = node_to_json(node.where)
    return out


def to_dict(defn: Definition) -> dict[str, Any]:
    out: dict[str, Any] = {
        "format": FORMAT,
        "id": defn.id,
        "name": defn.name,
        "description": defn.description,
        "entity": defn.entity,
        "mode": defn.mode,
        "include": node_to_json(defn.include),
        "exclude": [node_to_json(n) for n in defn.exclude],
    }
    if defn.snapshot is not None:
        snap = defn.snapshot
        out["snapshot"] = {
            "version": snap.version, "as_of": snap.as_of, "made_at": snap.made_at,
            "fingerprint": snap.fingerprint, "channels": snap.channels,
            "ids": list(snap.ids),
        }
    return out


def to_json(defn: Definition) -> str:
    """Canonical text: stable key order, two-space indent, UTF-8, final newline."""
    return json.dumps(to_dict(defn), ensure_ascii=False, indent=2) + "\n"


# --------------------------------------------------------------------------
# Walking


def walk(node: Node, path: str = "include"):
    """Yield ``(path, node)`` for a node and all its descendants, parents first."""
    yield path, node
    if isinstance(node, Group):
        for i, child in enumerate(node.children):
            yield from walk(child, f"{path}.{node.key}[{i}]")
    elif isinstance(node, RelatedCondition) and node.where is not None:
        yield from walk(node.where, f"{path}.where")


def references(defn: Definition) -> list[str]:
    """Ids of the segments this definition names directly, in order, once each."""
    found: list[str] = []
    roots = [("include", defn.include)] + [
        (f"exclude[{i}]", n) for i, n in enumerate(defn.exclude)]
    for root_path, root in roots:
        for _, node in walk(root, root_path):
            if isinstance(node, SegmentRef) and node.segment not in found:
                found.append(node.segment)
    return found


Resolver = Callable[[str], Definition]


class SegmentNotFound(WorkbenchError, KeyError):
    def __init__(self, segment: str, where: str) -> None:
        self.segment = segment
        super().__init__(f'segment "{segment}" is not in {where}')

    def __str__(self) -> str:
        return self.args[0]


class DirectoryResolver:
    """Finds referenced segments as ``<id>.json`` files in a folder."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def __call__(self, segment_id: str) -> Definition:
        path = self.folder / f"{segment_id}.json"
        if not path.is_file():
            raise SegmentNotFound(segment_id, str(self.folder))
        return load(path)
