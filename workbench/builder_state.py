"""Editing a segment definition in the builder, as pure operations on a draft.

A *draft* is the JSON form of a definition (``definition.to_dict``) that may
be unfinished: a condition without a value, a field that does not fit its
operator. The builder page keeps one draft in its session and changes it only
through the functions below, which return a new draft and never touch the
one they were given; tests call them directly.

A node of the draft is addressed by a *path*, a tuple of steps from the
root: ``("include",)`` is the include group, ``("include", 0)`` its first
child, ``("include", 0, "where")`` the nested group of that related
condition, ``("exclude", 1)`` the second exclusion.

    >>> d = add_child(new_draft(), ("include",), {"field": "city", "op": "filled"})
    >>> node_at(d, ("include", 0))
    {'field': 'city', 'op': 'filled'}
"""

from __future__ import annotations

import copy
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Callable, Final, Iterator

import duckdb

from workbench import catalog, compiler, definition, evaluator, store
from workbench.catalog import OPERATORS, QUANTIFIERS, Source
from workbench.definition import Definition, DefinitionError, Resolver, Snapshot
from workbench.errors import WorkbenchError

Path = tuple[Any, ...]
Draft = dict[str, Any]
INCLUDE: Final[Path] = ("include",)
GROUP_WORDS: Final = {"all": "all of", "any": "any of", "none": "none of"}
DRAFT_ID: Final = "draft"
ID_MAX_LENGTH: Final = 80  # as definition.ID_PATTERN allows
CHOOSE_SEGMENT: Final = "choose a saved segment"
CHOOSE_QUANTIFIER: Final = ("choose a quantifier: at least one, none, or a count, "
                            "sum, smallest or largest")


class BuilderError(WorkbenchError, ValueError):
    """An editing step cannot be applied to the draft as asked."""


# --------------------------------------------------------------------------
# Drafts and paths


def new_draft(entity: str = "contacts") -> Draft:
    """An empty dynamic segment of ``entity``: every record, nothing excluded."""
    catalog.source(entity)
    return {"format": definition.FORMAT, "id": "", "name": "", "description": "",
            "entity": entity, "mode": "dynamic", "include": {"all": []},
            "exclude": []}


def draft_from(defn: Definition) -> Draft:
    """The draft of a saved definition; saving it unedited gives the same JSON."""
    return definition.to_dict(defn)


def group_key(group: dict[str, Any]) -> str:
    """``all``, ``any`` or ``none``: the one key of a group."""
    for key in definition.GROUP_KEYS:
        if key in group:
            return key
    raise BuilderError(f"not a group: {sorted(group)}")


def is_group(node: Any) -> bool:
    return isinstance(node, dict) and any(k in node for k in definition.GROUP_KEYS)


def node_at(draft: Draft, path: Path) -> Any:
    """The node at ``path``; BuilderError when the path leads nowhere."""
    node: Any = draft
    try:
        for step in path:
            if isinstance(step, int) and isinstance(node, dict):
                node = node[group_key(node)][step]
            else:
                node = node[step]
    except (KeyError, IndexError, TypeError):
        raise BuilderError(f"no node at {path_text(draft, path) or path}") from None
    return node


def _container(draft: Draft, path: Path) -> tuple[list[Any], int]:
    """The list holding the node at ``path`` and its index there."""
    if len(path) < 2 or not isinstance(path[-1], int):
        raise BuilderError(f"{path} is not a condition inside a group")
    parent = node_at(draft, path[:-1])
    items = parent if isinstance(parent, list) else parent[group_key(parent)]
    if not 0 <= path[-1] < len(items):
        raise BuilderError(f"no node at {path}")
    return items, path[-1]


def _edited(draft: Draft, change: Callable[[Draft], None]) -> Draft:
    new = copy.deepcopy(draft)
    change(new)
    return new


def set_node(draft: Draft, path: Path, node: Any) -> Draft:
    """Replace the node at ``path``."""
    def change(new: Draft) -> None:
        if path == INCLUDE:
            new["include"] = copy.deepcopy(node)
            return
        if path[-1] == "where":
            node_at(new, path[:-1])["where"] = copy.deepcopy(node)
            return
        items, index = _container(new, path)
        items[index] = copy.deepcopy(node)
    return _edited(draft, change)


def add_child(draft: Draft, group_path: Path, node: Any) -> Draft:
    """Append ``node`` to the group at ``group_path`` (``("exclude",)``: exclusions)."""
    def change(new: Draft) -> None:
        if group_path[-1] == "where":  # a related condition's first nested one
            owner = node_at(new, group_path[:-1])
            if not is_group(owner.get("where")):
                owner["where"] = {"all": []}
        target = node_at(new, group_path)
        items = target if isinstance(target, list) else target[group_key(target)]
        items.append(copy.deepcopy(node))
    return _edited(draft, change)


def remove(draft: Draft, path: Path) -> Draft:
    """Delete the node at ``path`` (a condition, group or exclusion)."""
    def change(new: Draft) -> None:
        items, index = _container(new, path)
        del items[index]
    return _edited(draft, change)


def move(draft: Draft, path: Path, offset: int) -> Draft:
    """Move a node up (``-1``) or down (``+1``) among its siblings; ends stay put."""
    def change(new: Draft) -> None:
        items, index = _container(new, path)
        target = min(max(index + offset, 0), len(items) - 1)
        items.insert(target, items.pop(index))
    return _edited(draft, change)


def set_group_kind(draft: Draft, path: Path, key: str) -> Draft:
    """Make the group at ``path`` read "all of", "any of" or "none of"."""
    if key not in definition.GROUP_KEYS:
        raise BuilderError(f"a group is all, any or none; got {key!r}")
    group = node_at(draft, path)
    return set_node(draft, path, {key: group[group_key(group)]})


def set_entity(draft: Draft, entity: str) -> Draft:
    """Switch the entity; conditions name its fields, so they are cleared."""
    if entity == draft.get("entity"):
        return draft
    fresh = new_draft(entity)
    for key in ("id", "name", "description", "mode"):
        fresh[key] = draft.get(key, fresh[key])
    return fresh


def set_header(draft: Draft, **values: Any) -> Draft:
    """Set id, name, description or mode."""
    unknown = set(values) - {"id", "name", "description", "mode"}
    if unknown:
        raise BuilderError(f"not a header field: {', '.join(sorted(unknown))}")
    return _edited(draft, lambda new: new.update(values))


def duplicate(draft: Draft, taken: list[str] | set[str]) -> Draft:
    """A copy under a fresh id and name, without the original's snapshot."""
    new = copy.deepcopy(draft)
    new.pop("snapshot", None)
    seg_id = draft.get("id")
    base = seg_id if id_problem(seg_id) is None else "segment"
    new["id"] = unique_id(base[:ID_MAX_LENGTH - len("-copy")] + "-copy", taken)
    new["name"] = f"Copy of {draft.get('name') or 'segment'}"
    return new


def slug(name: str) -> str:
    """A segment id made from a name.

    >>> slug("VIP customers, Moscow!")
    'vip-customers-moscow'
    """
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return text[:ID_MAX_LENGTH].rstrip("-") or "segment"


def unique_id(base: str, taken: list[str] | set[str]) -> str:
    """``base`` or ``base-2``, ``base-3``... whichever is not taken.

    The result stays within the id length limit: a long base is cut to make
    room for its number.
    """
    base = base[:ID_MAX_LENGTH]
    if base not in taken:
        return base
    n = 2
    while _numbered(base, n) in taken:
        n += 1
    return _numbered(base, n)


def _numbered(base: str, n: int) -> str:
    suffix = f"-{n}"
    return base[:ID_MAX_LENGTH - len(suffix)].rstrip("-") + suffix


def id_problem(seg_id: Any) -> str | None:
    """Why ``seg_id`` cannot be a segment's id, or None when it can.

    The id is the segment's file name, so the page asks this before the id
    goes anywhere near the file system.

    >>> id_problem("vip-2026") is None
    True
    >>> id_problem("VIP 2026")
    'lower-case letters, digits, - and _ only; got "VIP 2026"'
    """
    if not isinstance(seg_id, str) or not seg_id:
        return "give the segment an id (naming it fills one in)"
    if len(seg_id) > ID_MAX_LENGTH:
        return f"at most {ID_MAX_LENGTH} characters; got {len(seg_id):,}"
    if seg_id[0] in "-_":
        return f'start with a letter or digit; got "{seg_id}"'
    if not definition.ID_PATTERN.match(seg_id):
        return f'lower-case letters, digits, - and _ only; got "{seg_id}"'
    return None


# --------------------------------------------------------------------------
# What a group may contain


def source_at(draft: Draft, group_path: Path) -> Source:
    """The source whose records the children of the group at ``group_path`` test."""
    src = catalog.source(draft["entity"])
    for i, step in enumerate(group_path):
        if step == "where":
            related = node_at(draft, group_path[:i])
            src = catalog.source(src.relation(related["related"]).target)
    return src


def blank_condition(src: Source, field_name: str | None = None) -> dict[str, Any]:
    """A new field condition: the first useful field and its first operator."""
    fld = src.field(field_name) if field_name else _first_field(src)
    return {"field": fld.name, "op": fld.operators[0], "value": None}


def _first_field(src: Source) -> catalog.Field:
    for fld in src.fields:
        if fld.type != "id":
            return fld
    return src.fields[0]


def blank_related(src: Source, relation: str | None = None) -> dict[str, Any]:
    """A new related-record condition, not counted until its quantifier is chosen.

    Starting as "has at least one" would restrict the segment at once (and,
    under Exclude, remove everyone with such a record) before the user said
    anything.
    """
    rel = src.relation(relation) if relation else src.relations[0]
    return {"related": rel.name, "quantifier": None, "where": {"all": []}}


def blank_group(key: str = "all") -> dict[str, Any]:
    return {key: []}


def quantifiers_for(src: Source, relation: str) -> tuple[str, ...]:
    """Quantifiers a relation takes: a single record is only there or not."""
    if src.relation(relation).cardinality == "one":
        return ("exists", "none")
    return tuple(QUANTIFIERS)


def aggregate_fields(target: Source, quantifier: str) -> tuple[catalog.Field, ...]:
    """Fields ``sum`` (numbers) or ``min`` / ``max`` (numbers, dates) can take."""
    types = {"number", "money"} if quantifier == "sum" else {
        "number", "money", "date", "datetime"}
    return tuple(f for f in target.fields if f.type in types)


def aggregate_operators(target: Source, node: dict[str, Any]) -> tuple[str, ...]:
    """Comparisons for an aggregate: dates compare as dates, the rest as numbers."""
    fld = _aggregate_field(target, node)
    if fld is not None and fld.type in catalog.DATE_TYPES:
        return tuple(o for o in fld.operators
                     if o not in ("filled", "not_filled", "changed_in_last_days"))
    return catalog.AGGREGATE_OPERATORS


def _aggregate_field(target: Source, node: dict[str, Any]) -> catalog.Field | None:
    if node.get("quantifier") == "count":
        return catalog.Field("count", "Number", "number")
    try:
        return target.field(node.get("field"))
    except (KeyError, TypeError):
        return None


def value_type(src: Source, node: dict[str, Any]) -> str:
    """The field type the value of a condition is read as (``count`` is a number)."""
    if "related" in node:
        target = catalog.source(src.relation(node["related"]).target)
        fld = _aggregate_field(target, node)
        return fld.type if fld is not None else "number"
    return src.field(node["field"]).type


# --------------------------------------------------------------------------
# Changing one condition


def change_field(node: dict[str, Any], src: Source, field_name: str) -> dict[str, Any]:
    """A field condition on another field: its operator kept when still valid."""
    fld = src.field(field_name)
    op = node.get("op") if node.get("op") in fld.operators else fld.operators[0]
    same_kind = _same_value_type(src, node.get("field"), fld)
    value = node.get("value") if same_kind and op == node.get("op") else None
    return _with_value({"field": fld.name, "op": op}, op, value)


def _same_value_type(src: Source, old: Any, new: catalog.Field) -> bool:
    try:
        return src.field(old).type == new.type
    except (KeyError, TypeError):
        return False


def change_op(node: dict[str, Any], op: str) -> dict[str, Any]:
    """Another operator; the value is kept when it has the same shape."""
    old = node.get("op")
    keep = old in OPERATORS and OPERATORS[old].value == OPERATORS[op].value
    new = {k: v for k, v in node.items() if k not in ("op", "value", "where")}
    new["op"] = op
    new = _with_value(new, op, node.get("value") if keep else None)
    if "where" in node:
        new["where"] = node["where"]
    return new


def change_value(node: dict[str, Any], value: Any) -> dict[str, Any]:
    """The same condition with another value (numbers stored as JSON numbers)."""
    new = dict(node)
    new["value"] = json_value(value)
    return new


def _with_value(node: dict[str, Any], op: str, value: Any) -> dict[str, Any]:
    if OPERATORS[op].value != "none":
        node["value"] = value
    return node


def change_relation(node: dict[str, Any], src: Source, relation: str) -> dict[str, Any]:
    """The same quantifier over other related records; their conditions reset."""
    new = blank_related(src, relation)
    quantifier = node.get("quantifier", "exists")
    if quantifier in quantifiers_for(src, relation) and quantifier != "exists":
        target = catalog.source(src.relation(relation).target)
        new = change_quantifier(new, target, quantifier)
    return new


def change_quantifier(node: dict[str, Any], target: Source,
                      quantifier: str) -> dict[str, Any]:
    """exists / none take no comparison; count, sum, min, max need one."""
    new: dict[str, Any] = {"related": node["related"], "quantifier": quantifier}
    if quantifier in ("sum", "min", "max"):
        fields = aggregate_fields(target, quantifier)
        current = node.get("field")
        names = [f.name for f in fields]
        new["field"] = current if current in names else (names[0] if names else None)
    if quantifier not in ("exists", "none"):
        ops = aggregate_operators(target, new)
        new["op"] = node.get("op") if node.get("op") in ops else ops[0]
        new["value"] = node.get("value") if node.get("op") == new["op"] else None
    new["where"] = node.get("where") or {"all": []}
    return new


def change_aggregate_field(node: dict[str, Any], target: Source,
                           field_name: str) -> dict[str, Any]:
    """Aggregate another field; the comparison resets when its type changes."""
    new = dict(node)
    new["field"] = field_name
    ops = aggregate_operators(target, new)
    if node.get("op") not in ops or _field_type(target, node.get("field")) != \
            _field_type(target, field_name):
        new["op"], new["value"] = ops[0], None
    return new


def _field_type(src: Source, name: Any) -> str | None:
    try:
        return src.field(name).type
    except (KeyError, TypeError):
        return None


def json_value(value: Any) -> Any:
    """A widget value as JSON: whole floats as ints, dates as ISO text.

    >>> json_value(100000.0), json_value(2.5), json_value(date(2026, 1, 2))
    (100000, 2.5, '2026-01-02')
    """
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


# --------------------------------------------------------------------------
# Checking the pieces and evaluating what is finished


def walk(draft: Draft) -> Iterator[tuple[Path, str, Any]]:
    """Every node of the draft as ``(path, path text, node)``, parents first.

    The path text is the one ``definition.parse`` uses in its messages.
    """
    yield from _walk(draft.get("include", {"all": []}), INCLUDE, "include")
    for i, node in enumerate(draft.get("exclude", [])):
        yield from _walk(node, ("exclude", i), f"exclude[{i}]")


def _walk(node: Any, path: Path, text: str) -> Iterator[tuple[Path, str, Any]]:
    yield path, text, node
    if is_group(node):
        key = group_key(node)
        for i, child in enumerate(node[key]):
            yield from _walk(child, path + (i,), f"{text}.{key}[{i}]")
    elif isinstance(node, dict) and is_group(node.get("where")):
        yield from _walk(node["where"], path + ("where",), f"{text}.where")


def path_text(draft: Draft, path: Path) -> str:
    """The parse-style text of a path, such as ``include.all[0].where.any[1]``."""
    for p, text, _ in walk(draft):
        if p == path:
            return text
    return ""


def check_node(draft: Draft, path: Path, resolver: Resolver | None = None,
               as_of: date | None = None) -> list[str]:
    """Problems of one condition on its own (a related one without its children).

    Each message starts with the part of the condition it is about.
    """
    node = node_at(draft, path)
    if is_group(node):
        return []
    if isinstance(node, dict) and "segment" in node and not node["segment"]:
        return [CHOOSE_SEGMENT]  # just added: nothing picked yet
    if isinstance(node, dict) and "related" in node and node.get("quantifier") is None:
        return [CHOOSE_QUANTIFIER]  # just added: not counted until chosen
    alone = {k: v for k, v in node.items() if k != "where"} \
        if isinstance(node, dict) else node
    wrapped, leaf_text = _wrap_in_ancestors(draft, path, alone)
    raw = {"id": _live_id(draft), "name": "check", "entity": draft["entity"],
           "include": {"all": [wrapped]}}
    try:
        defn = definition.parse(raw)
        compiler.compile_where(defn, as_of or date(2000, 1, 1), resolver)
    except DefinitionError as err:
        return [_relative(p.path, leaf_text) + p.message for p in err.problems]
    except WorkbenchError as err:
        return [str(err)]
    return []


def _wrap_in_ancestors(draft: Draft, path: Path, node: Any) -> tuple[Any, str]:
    """``node`` inside "has at least one" of each related record above it."""
    steps = [i for i, step in enumerate(path) if step == "where"]
    text = "include.all[0]"
    wrapped = node
    for i in reversed(steps):
        related = node_at(draft, path[:i])
        wrapped = {"related": related.get("related"), "quantifier": "exists",
                   "where": {"all": [wrapped]}}
    text += ".where.all[0]" * len(steps)
    return wrapped, text


def _relative(problem_path: str, leaf_text: str) -> str:
    if problem_path.startswith(leaf_text):
        rest = problem_path[len(leaf_text):].lstrip(".")
        return f"{rest}: " if rest else ""
    return ""


def _live_id(draft: Draft) -> str:
    seg_id = draft.get("id")
    if isinstance(seg_id, str) and definition.ID_PATTERN.match(seg_id):
        return seg_id
    return DRAFT_ID


@dataclass(frozen=True)
class Live:
    """What can be evaluated now: the finished part and what is not finished."""

    definition: Definition
    problems: dict[Path, list[str]]  # by node path; () holds whole-draft problems

    @property
    def complete(self) -> bool:
        return not self.problems


def live_definition(draft: Draft, resolver: Resolver | None = None,
                    as_of: date | None = None) -> Live:
    """The draft without its unfinished conditions, as a dynamic definition.

    Every condition is checked on its own; one that fails is left out (a
    related condition with its nested ones) and its problems are returned by
    path, so the page can mark it in place while the rest still counts.
    """
    problems: dict[Path, list[str]] = {}
    for path, _, node in walk(draft):
        if not is_group(node):
            found = check_node(draft, path, resolver, as_of)
            if found:
                problems[path] = found
    pruned = _prune(draft, set(problems))
    raw = {"id": _live_id(draft), "name": draft.get("name") or "Untitled",
           "description": "", "entity": draft["entity"], "mode": "dynamic",
           "include": pruned["include"], "exclude": pruned["exclude"]}
    try:
        defn = definition.parse(raw)
    except DefinitionError as err:  # should not happen once pieces pass
        problems[()] = [str(p) for p in err.problems]
        defn = definition.parse({**raw, "include": {"all": []}, "exclude": []})
    return Live(defn, problems)


def _prune(draft: Draft, broken: set[Path]) -> Draft:
    """The draft without the nodes at ``broken`` paths."""
    def keep(node: Any, path: Path) -> Any:
        if path in broken:
            return None
        if is_group(node):
            key = group_key(node)
            kids = [keep(c, path + (i,)) for i, c in enumerate(node[key])]
            return {key: [k for k in kids if k is not None]}
        if isinstance(node, dict) and is_group(node.get("where")):
            return {**node, "where": keep(node["where"], path + ("where",))}
        return node
    include = keep(draft.get("include", {"all": []}), INCLUDE) or {"all": []}
    exclude = [keep(n, ("exclude", i)) for i, n in enumerate(draft.get("exclude", []))]
    return {"include": include, "exclude": [n for n in exclude if n is not None]}


def header_problems(draft: Draft) -> list[str]:
    """What keeps the draft from being saved: id, name, description, mode."""
    try:
        definition.parse({**draft, "include": {"all": []}, "exclude": [],
                          "snapshot": None})
    except DefinitionError as err:
        return [str(p) for p in err.problems]
    return []


def definition_for_save(draft: Draft) -> Definition:
    """The draft as a definition, exactly; DefinitionError lists every problem."""
    return definition.parse(draft)


# --------------------------------------------------------------------------
# Values present in the data, for pick lists


def present_values(con: duckdb.DuckDBPyConnection, source_name: str, field_name: str,
                   limit: int = 200) -> list[tuple[str, int]]:
    """The most frequent non-empty values of a field, with how often each occurs.

    A list field (tags) counts each element. The table and column names come
    from the catalog; the limit is a parameter.
    """
    src = catalog.source(source_name)
    fld = src.field(field_name)
    table = f"({src.select_sql})" if src.select_sql else f'"{src.table}"'
    column = f's."{fld.name}"'
    value = f"unnest({column})" if fld.type == "list" else column
    sql = (f"SELECT v, count(*) AS n FROM (SELECT CAST({value} AS VARCHAR) AS v "
           f"FROM {table} AS s) WHERE v IS NOT NULL AND trim(v) <> '' "
           "GROUP BY v ORDER BY n DESC, v LIMIT $limit")
    rows = con.cursor().execute(sql, {"limit": limit}).fetchall()
    found = [(str(v), int(n)) for v, n in rows]
    seen = {v for v, _ in found}
    return found + [(v, 0) for v in fld.values if v not in seen]


# --------------------------------------------------------------------------
# Saving


def make_snapshot(con: duckdb.DuckDBPyConnection, defn: Definition, *, as_of: date,
                  made_at: datetime, resolver: Resolver | None = None) -> Snapshot:
    """Freeze the members of ``defn`` as of ``as_of`` for a static segment."""
    logic = replace(defn, mode="dynamic", snapshot=None)
    ids = evaluator.member_ids(con, logic, as_of=as_of, resolver=resolver)
    channels = evaluator.channel_counts(con, logic, as_of=as_of, resolver=resolver)
    return Snapshot(as_of.isoformat(), tuple(ids),
                    made_at.isoformat(sep=" ", timespec="seconds"),
                    store.fingerprint(con), channels.as_dict())
