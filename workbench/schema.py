"""The JSON Schema of definitions, generated from the catalog.

Each source gets its own condition and group definitions, so the schema
knows which fields and relations exist where (``deals`` conditions inside a
contact's related-deals condition, ``users`` inside a deal's responsible
user). The committed copy is ``data/segment.schema.json``; a test fails when
it differs from what this module generates (``python -m workbench schema``
regenerates it).
"""

from __future__ import annotations

import json
from typing import Any

from workbench import catalog
from workbench.catalog import AGGREGATE_OPERATORS, QUANTIFIERS, SOURCES
from workbench.definition import FORMAT, ID_PATTERN


def _value_schema(kind: str) -> dict[str, Any]:
    scalar = {"type": ["string", "number"]}
    date = {"type": "string", "format": "date"}
    return {
        "none": {"type": "null"},
        "scalar": scalar,
        "list": {"type": "array", "items": scalar, "minItems": 1},
        "pair": {"type": "array", "items": scalar, "minItems": 2, "maxItems": 2},
        "days": {"type": "integer", "minimum": 0},
        "date": date,
    }[kind]


def _field_condition(src: catalog.Source) -> dict[str, Any]:
    """One variant per field: its operators, and a value typed loosely.

    The exact value rules (days are whole numbers, dates are ISO days, the
    vocabulary of closed enums) are checked by ``definition.parse``, which
    names the path and the closest valid choice.
    """
    variants = []
    for fld in src.fields:
        variants.append({
            "type": "object",
            "properties": {"field": {"const": fld.name, "description": fld.label},
                           "op": {"enum": list(fld.operators)},
                           "value": {"anyOf": [_value_schema(k) for k in (
                               "scalar", "list", "none")]}},
            "required": ["field", "op"],
            "additionalProperties": False,
        })
    return {"oneOf": variants}


def _related_condition(src: catalog.Source) -> dict[str, Any]:
    variants = []
    for rel in src.relations:
        quantifiers = list(QUANTIFIERS) if rel.cardinality == "many" else [
            "exists", "none"]
        target = catalog.source(rel.target)
        variants.append({
            "type": "object",
            "properties": {
                "related": {"const": rel.name, "description": rel.label},
                "quantifier": {"enum": quantifiers},
                "field": {"enum": list(target.field_names)},
                "op": {"enum": sorted(set(AGGREGATE_OPERATORS) | {
                    "in_last_days", "more_than_days_ago", "exactly_days_ago",
                    "before", "after", "on"})},
                "value": {},
                "where": {"$ref": f"#/$defs/group_{target.name}"},
            },
            "required": ["related"],
            "additionalProperties": False,
        })
    return {"oneOf": variants} if variants else {"not": {}}


def _group(src: catalog.Source) -> dict[str, Any]:
    items = {"type": "array", "items": {"$ref": f"#/$defs/node_{src.name}"}}
    return {"oneOf": [
        {"type": "object", "properties": {key: items}, "required": [key],
         "additionalProperties": False}
        for key in ("all", "any", "none")
    ]}


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) every valid definition satisfies."""
    defs: dict[str, Any] = {
        "segment_ref": {"type": "object",
                        "properties": {"segment": {"type": "string",
                                                   "pattern": ID_PATTERN.pattern}},
                        "required": ["segment"], "additionalProperties": False},
    }
    for src in SOURCES.values():
        defs[f"field_{src.name}"] = _field_condition(src)
        defs[f"related_{src.name}"] = _related_condition(src)
        defs[f"group_{src.name}"] = _group(src)
        node = [{"$ref": f"#/$defs/field_{src.name}"},
                {"$ref": f"#/$defs/group_{src.name}"}]
        if src.relations:
            node.append({"$ref": f"#/$defs/related_{src.name}"})
        if src.segmentable:
            node.append({"$ref": "#/$defs/segment_ref"})
        defs[f"node_{src.name}"] = {"anyOf": node}

    by_entity = []
    for name in catalog.ENTITIES:
        by_entity.append({
            "if": {"properties": {"entity": {"const": name}}},
            "then": {"properties": {
                "include": {"$ref": f"#/$defs/group_{name}"},
                "exclude": {"type": "array", "items": {"$ref": f"#/$defs/node_{name}"}},
            }},
        })
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Segment Workbench segment definition",
        "type": "object",
        "properties": {
            "format": {"const": FORMAT},
            "id": {"type": "string", "pattern": ID_PATTERN.pattern},
            "name": {"type": "string", "minLength": 1},
            "description": {"type": "string"},
            "entity": {"enum": list(catalog.ENTITIES)},
            "mode": {"enum": ["dynamic", "static"]},
            "include": {"type": "object"},
            "exclude": {"type": "array"},
            "snapshot": {
                "type": "object",
                "properties": {
                    "version": {"type": "integer"},
                    "as_of": {"type": "string", "format": "date"},
                    "made_at": {"type": ["string", "null"]},
                    "fingerprint": {"type": ["object", "null"]},
                    "channels": {"type": ["object", "null"]},
                    "ids": {"type": "array", "items": {"type": "integer"}},
                },
                "required": ["as_of", "ids"],
            },
        },
        "required": ["id", "name"],
        "additionalProperties": False,
        "allOf": by_entity,
        "$defs": defs,
    }


def schema_text() -> str:
    """The schema as written to ``data/segment.schema.json``."""
    return json.dumps(json_schema(), ensure_ascii=False, indent=1) + "\n"
