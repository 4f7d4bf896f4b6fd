"""Definitions in plain words, from the same catalog the SQL comes from.

    >>> from workbench.definition import FieldCondition
    >>> from workbench.catalog import CONTACTS
    >>> describe_node(FieldCondition("city", "in", ["Moscow", "Kazan"]), CONTACTS)
    'City is one of "Moscow", "Kazan"'
"""

from __future__ import annotations

from typing import Any

from workbench import catalog
from workbench.catalog import OPERATORS, Source
from workbench.definition import (
    Definition, FieldCondition, Group, Node, SegmentRef,
)

GROUP_WORDS = {"all": "all of", "any": "any of", "none": "none of"}


def value_words(value: Any, op: str) -> str:
    kind = OPERATORS[op].value
    if kind == "list":
        return ", ".join(_one(v) for v in value)
    if kind == "pair":
        return f"{_one(value[0])} and {_one(value[1])}"
    if kind == "days":
        return str(value)
    return _one(value)


def _one(v: Any) -> str:
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def _comparison(op: str, value: Any) -> str:
    words = OPERATORS[op].words
    return words.replace("{v}", value_words(value, op)) if "{v}" in words else words


def describe_node(node: Node, src: Source) -> str:
    """One line for a condition; groups list their children in brackets."""
    if isinstance(node, Group):
        inner = "; ".join(describe_node(c, src) for c in node.children)
        return f"{GROUP_WORDS[node.key]} ({inner})" if inner else "all records"
    if isinstance(node, SegmentRef):
        return f'in segment "{node.segment}"'
    if isinstance(node, FieldCondition):
        label = src.field(node.field).label
        return f"{label} {_comparison(node.op, node.value)}"
    rel = src.relation(node.relation)
    target = catalog.source(rel.target)
    where = ""
    if node.where is not None and node.where.children:
        where = f" where {describe_node(node.where, target)}"
        if node.where.key == "all" and len(node.where.children) == 1:
            where = f" where {describe_node(node.where.children[0], target)}"
    noun = rel.label.lower()
    if node.quantifier == "exists":
        return f"has at least one of {noun}{where}" if rel.cardinality == "many" \
            else f"{rel.label}{where or ' is set'}"
    if node.quantifier == "none":
        return f"has no {noun}{where}" if rel.cardinality == "many" \
            else f"{rel.label} is not{where or ' set'}"
    if node.quantifier == "count":
        return f"number of {noun}{where} {_comparison(node.op, node.value)}"
    fld = target.field(node.field).label.lower()
    lead = {"sum": "sum of", "min": "smallest", "max": "largest"}[node.quantifier]
    if node.quantifier == "max" and target.field(node.field).type in catalog.DATE_TYPES:
        lead = "latest"
    if node.quantifier == "min" and target.field(node.field).type in catalog.DATE_TYPES:
        lead = "earliest"
    return f"{lead} {fld} of {noun}{where} {_comparison(node.op, node.value)}"


def describe(defn: Definition) -> list[str]:
    """The definition as indented lines: what it includes, then what it removes."""
    src = catalog.source(defn.entity)
    lines = [f"{src.label} matching {GROUP_WORDS[defn.include.key]}:"]
    lines += _tree(defn.include, src, 1)
    if not defn.include.children:
        lines = [f"All {src.label.lower()}"]
    for node in defn.exclude:
        lines.append(f"minus {describe_node(node, src)}")
    if defn.mode == "static":
        snap = defn.snapshot
        lines.append("Static: " + (f"{len(snap.ids):,} members frozen as of {snap.as_of}"
                                   if snap else "not frozen yet"))
    return lines


def _tree(group: Group, src: Source, depth: int) -> list[str]:
    pad = "  " * depth
    out: list[str] = []
    for child in group.children:
        if isinstance(child, Group) and child.children:
            out.append(f"{pad}- {GROUP_WORDS[child.key]}:")
            out += _tree(child, src, depth + 1)
        else:
            out.append(f"{pad}- {describe_node(child, src)}")
    return out
