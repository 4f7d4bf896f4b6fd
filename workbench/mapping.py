"""Import mappings: which file loads into which entity table, and how.

A mapping is a JSON file (shipped ones live in ``data/mappings/``). It names
the files of one dataset in load order, and for each the entity table it
fills and where every catalog field comes from::

    {
      "name": "maven-crm",
      "description": "Maven CRM sales opportunities",
      "date_formats": ["%Y-%m-%d"],
      "timezone": null,
      "loads": [
        {"entity": "companies", "file": "accounts.csv",
         "fields": {"id": {"column": "account", "external": true},
                    "name": "account",
                    "revenue": {"column": "revenue", "scale": 1000000}}},
        {"entity": "deals", "file": "sales_pipeline.csv",
         "fields": {"id": {"column": "opportunity_id", "external": true},
                    "stage_semantics": {"column": "deal_stage",
                                        "values": {"Won": "won", "Lost": "lost"},
                                        "default": "open"},
                    "currency": {"value": "USD"},
                    "closed_at": {"column": "close_date", "formats": ["%d-%m-%Y"]},
                    "company_id": {"column": "account", "ref": "companies",
                                   "must_resolve": true}}}
      ]
    }

A field is either a column name (a string) or an object with these keys:

- ``column`` or ``columns`` (with ``combine``: ``first`` non-empty, the
  default, or ``join`` with ``sep``); ``value``: a constant instead;
- ``values``: exact source value -> stored value; ``default``: what
  unmapped non-empty values become (absent: they are kept as they are);
- ``formats``: ``strptime`` formats tried before ISO 8601 (overrides the
  load's and the mapping's ``date_formats``); ``scale``: a multiplier;
- ``external``: the key is a string of the source system; on ``id`` it is
  turned into our BIGINT through the ``external_ids`` table (same string,
  same id, in every file and every re-import); ``aliases``: further columns
  whose keys name the same record (Olist's per-order customer_id);
- ``ref``: the column holds another entity's external key, resolved to that
  entity's id; ``must_resolve``: a key that resolves to nothing rejects the
  row (otherwise the field is left empty); ``strip_prefix``: removed before
  resolving (Salesforce ``@AccountRef1``);
- ``lookup``: one step or a list of steps, each reading another file of the
  dataset: ``{"file", "key", "value"}`` gives the value of the row whose
  ``key`` equals ours; ``aggregate`` (``sum``, ``count``, ``min``, ``max``)
  folds several; ``found`` / ``missing`` give constants instead (a lead is
  converted when its id is among the closed deals); ``keep_unmatched``
  passes an unmatched value on unchanged;
- ``required``: an empty value rejects the row (always so for ``id``);
- ``only_if``: ``{"field": F, "in": [...]}`` keeps the value only when the
  already computed field F is one of the listed values;
- ``optional``: the column may be missing from the file (field left empty).

A load may also list ``contact_points`` (``channel``, ``kind``, ``column``):
every phone and e-mail of a record, one row each in ``contact_points``.
``timezone`` names the zone of timestamps written without an offset; values
with an offset are always converted. Both end up naive in the workspace
zone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workbench.catalog import SOURCES, closest
from workbench.errors import WorkbenchError

MAPPINGS_DIR: Final = Path(__file__).resolve().parent.parent / "data" / "mappings"

Combine = Literal["first", "join"]
Aggregate = Literal["first", "sum", "count", "min", "max"]
CHANNELS: Final = ("email", "phone")

_FIELD_KEYS: Final = frozenset({
    "column", "columns", "combine", "sep", "value", "values", "default",
    "formats", "scale", "external", "aliases", "ref", "must_resolve",
    "strip_prefix", "lookup", "required", "only_if", "optional",
})
_LOOKUP_KEYS: Final = frozenset({
    "file", "key", "value", "aggregate", "found", "missing", "keep_unmatched",
})
_LOAD_KEYS: Final = frozenset({
    "entity", "file", "fields", "contact_points", "date_formats", "timezone",
    "sheet", "records",
})
_MAPPING_KEYS: Final = frozenset({
    "name", "description", "date_formats", "timezone", "loads",
})


class MappingError(WorkbenchError, ValueError):
    """A mapping file cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Lookup:
    """One step through another file: our value is its ``key``."""

    file: str
    key: str
    value: str | None = None
    aggregate: Aggregate = "first"
    found: str | None = None
    missing: str | None = None
    keep_unmatched: bool = False


@dataclass(frozen=True)
class Condition:
    """Keep a value only when another (already computed) field is in ``values``."""

    field: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class FieldSpec:
    """Where one catalog field of a load comes from."""

    field: str
    columns: tuple[str, ...] = ()
    combine: Combine = "first"
    sep: str = " "
    constant: Any = None
    has_constant: bool = False
    values: dict[str, str] = field(default_factory=dict)
    default: str | None = None
    formats: tuple[str, ...] = ()
    scale: float | None = None
    external: bool = False
    aliases: tuple[str, ...] = ()
    ref: str | None = None
    must_resolve: bool = False
    strip_prefix: str = ""
    lookup: tuple[Lookup, ...] = ()
    required: bool = False
    only_if: Condition | None = None
    optional: bool = False


@dataclass(frozen=True)
class ContactPoint:
    """A column holding phones or e-mails of one kind (work, mobile, ...)."""

    channel: str
    kind: str
    column: str
    optional: bool = False


@dataclass(frozen=True)
class Load:
    """One file into one entity table."""

    entity: str
    file: str
    fields: tuple[FieldSpec, ...]
    contact_points: tuple[ContactPoint, ...] = ()
    date_formats: tuple[str, ...] = ()
    timezone: str | None = None
    sheet: str | None = None
    records: str | None = None  # JSON: key of the records list

    def spec(self, name: str) -> FieldSpec | None:
        for spec in self.fields:
            if spec.field == name:
                return spec
        return None

    @property
    def source_columns(self) -> tuple[tuple[str, bool], ...]:
        """Every file column the load reads, with whether it may be missing."""
        cols: list[tuple[str, bool]] = []
        for spec in self.fields:
            cols += [(c, spec.optional) for c in spec.columns]
            cols += [(c, spec.optional) for c in spec.aliases]
        cols += [(p.column, p.optional) for p in self.contact_points]
        return tuple(cols)


@dataclass(frozen=True)
class Mapping:
    """A dataset's loads in order, with where the mapping came from."""

    name: str
    loads: tuple[Load, ...]
    description: str = ""
    origin: str = "<dict>"


def shipped_mappings() -> dict[str, Path]:
    """Short name -> path of every mapping in ``data/mappings``."""
    return {p.stem: p for p in sorted(MAPPINGS_DIR.glob("*.json"))}


def load_mapping(spec: str | Path | dict[str, Any]) -> Mapping:
    """Read a mapping from a dict, a JSON file or a shipped mapping's short name.

    Raises MappingError naming the file and the offending key.
    """
    if isinstance(spec, dict):
        return parse_mapping(spec, origin="<dict>")

    path = Path(spec)
    if not path.exists():
        shipped = shipped_mappings()
        if str(spec) in shipped:
            path = shipped[str(spec)]
        else:
            hint = closest(str(spec), list(shipped))
            more = f"; did you mean {hint!r}?" if hint else ""
            raise MappingError(
                f"mapping {str(spec)!r} is neither a file nor a shipped mapping "
                f"({', '.join(shipped) or 'none'}){more}"
            )
    try:
        raw = json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        raise MappingError(f"{path.name}: not a mapping: a mapping is a JSON text "
                           f"file in UTF-8, and byte {err.start} is not UTF-8; "
                           "is it a data file rather than a mapping?") from None
    except json.JSONDecodeError as err:
        raise MappingError(f"{path.name}: not valid JSON: {err}") from None
    except OSError as err:
        raise MappingError(f"{path.name}: cannot read the mapping: "
                           f"{err.strerror or err}") from None
    return parse_mapping(raw, origin=path.name)


def parse_mapping(raw: Any, *, origin: str = "<dict>") -> Mapping:
    """Check a decoded mapping against the catalog and build the model."""
    _need(isinstance(raw, dict), origin, "", "a mapping is a JSON object")
    _known_keys(raw, _MAPPING_KEYS, origin, "")
    loads_raw = raw.get("loads")
    _need(isinstance(loads_raw, list) and loads_raw, origin, "loads",
          "needs a non-empty list of loads")
    formats = _str_tuple(raw.get("date_formats", []), origin, "date_formats")
    zone = _zone(raw.get("timezone"), origin, "timezone")
    loads = tuple(
        _parse_load(item, origin, f"loads[{i}]", formats, zone)
        for i, item in enumerate(loads_raw)
    )
    return Mapping(
        name=str(raw.get("name") or Path(origin).stem),
        loads=loads,
        description=str(raw.get("description", "")),
        origin=origin,
    )


def _parse_load(raw: Any, origin: str, where: str, formats: tuple[str, ...],
                zone: str | None) -> Load:
    _need(isinstance(raw, dict), origin, where, "a load is a JSON object")
    _known_keys(raw, _LOAD_KEYS, origin, where)
    entity = raw.get("entity")
    if entity not in SOURCES or SOURCES[entity].key != "id":
        hint = closest(str(entity), list(SOURCES))
        more = f"; did you mean {hint!r}?" if hint else ""
        raise MappingError(f"{origin}: {where}.entity: {entity!r} is not an "
                           f"entity table that can be loaded{more}")
    _need(isinstance(raw.get("file"), str) and raw["file"], origin,
          f"{where}.file", "needs a file name")
    fields_raw = raw.get("fields")
    _need(isinstance(fields_raw, dict) and "id" in fields_raw, origin,
          f"{where}.fields", "needs an object of fields including 'id'")

    stored = {f.name: f for f in SOURCES[entity].stored_fields}
    specs = []
    for name, value in fields_raw.items():
        if name not in stored:
            hint = closest(name, list(stored))
            more = f"; did you mean {hint!r}?" if hint else ""
            raise MappingError(f"{origin}: {where}.fields.{name}: not a stored "
                               f"field of {entity}{more}")
        specs.append(_parse_field(name, value, origin, f"{where}.fields.{name}"))
    for spec in specs:
        if spec.only_if and spec.only_if.field not in fields_raw:
            raise MappingError(f"{origin}: {where}.fields.{spec.field}.only_if: "
                               f"field {spec.only_if.field!r} is not mapped")
    points = tuple(
        _parse_point(p, origin, f"{where}.contact_points[{i}]")
        for i, p in enumerate(raw.get("contact_points", []))
    )
    return Load(
        entity=entity,
        file=raw["file"],
        fields=tuple(specs),
        contact_points=points,
        date_formats=_str_tuple(raw.get("date_formats", formats), origin,
                                f"{where}.date_formats"),
        timezone=_zone(raw.get("timezone", zone), origin, f"{where}.timezone"),
        sheet=raw.get("sheet"),
        records=raw.get("records"),
    )


def _parse_field(name: str, raw: Any, origin: str, where: str) -> FieldSpec:
    if isinstance(raw, str):
        return FieldSpec(field=name, columns=(raw,), required=name == "id")
    _need(isinstance(raw, dict), origin, where,
          "a field is a column name or an object")
    _known_keys(raw, _FIELD_KEYS, origin, where)
    columns = _str_tuple(raw.get("columns", []), origin, f"{where}.columns")
    if "column" in raw:
        columns = (str(raw["column"]),) + columns
    has_constant = "value" in raw
    _need(bool(columns) != has_constant, origin, where,
          "needs exactly one of 'column', 'columns' or 'value'")
    values = raw.get("values", {})
    _need(isinstance(values, dict), origin, f"{where}.values",
          "is an object of source value -> stored value")
    combine = raw.get("combine", "first")
    _need(combine in ("first", "join"), origin, f"{where}.combine",
          "is 'first' or 'join'")
    ref = raw.get("ref")
    _need(ref is None or ref in SOURCES, origin, f"{where}.ref",
          f"names no entity ({', '.join(SOURCES)})")
    lookups = raw.get("lookup", [])
    if isinstance(lookups, dict):
        lookups = [lookups]
    only_if = raw.get("only_if")
    condition = None
    if only_if is not None:
        _need(isinstance(only_if, dict) and "field" in only_if
              and isinstance(only_if.get("in"), list), origin,
              f"{where}.only_if", "is {\"field\": F, \"in\": [values]}")
        condition = Condition(str(only_if["field"]),
                              tuple(str(v) for v in only_if["in"]))
    return FieldSpec(
        field=name,
        columns=columns,
        combine=combine,
        sep=str(raw.get("sep", " ")),
        constant=raw.get("value"),
        has_constant=has_constant,
        values={str(k): str(v) for k, v in values.items()},
        default=None if raw.get("default") is None else str(raw["default"]),
        formats=_str_tuple(raw.get("formats", []), origin, f"{where}.formats"),
        scale=None if raw.get("scale") is None else float(raw["scale"]),
        external=bool(raw.get("external", False)),
        aliases=_str_tuple(raw.get("aliases", []), origin, f"{where}.aliases"),
        ref=ref,
        must_resolve=bool(raw.get("must_resolve", False)),
        strip_prefix=str(raw.get("strip_prefix", "")),
        lookup=tuple(_parse_lookup(s, origin, f"{where}.lookup[{i}]")
                     for i, s in enumerate(lookups)),
        required=bool(raw.get("required", name == "id")),
        only_if=condition,
        optional=bool(raw.get("optional", False)),
    )


def _parse_lookup(raw: Any, origin: str, where: str) -> Lookup:
    _need(isinstance(raw, dict), origin, where, "a lookup step is an object")
    _known_keys(raw, _LOOKUP_KEYS, origin, where)
    _need(isinstance(raw.get("file"), str) and isinstance(raw.get("key"), str),
          origin, where, "needs 'file' and 'key'")
    aggregate = raw.get("aggregate", "first")
    _need(aggregate in ("first", "sum", "count", "min", "max"), origin,
          f"{where}.aggregate", "is one of first, sum, count, min, max")
    has_const = "found" in raw or "missing" in raw
    _need(("value" in raw) != has_const or aggregate == "count", origin, where,
          "needs 'value' or 'found'/'missing'")
    return Lookup(
        file=raw["file"], key=raw["key"], value=raw.get("value"),
        aggregate=aggregate,
        found=None if raw.get("found") is None else str(raw["found"]),
        missing=None if raw.get("missing") is None else str(raw["missing"]),
        keep_unmatched=bool(raw.get("keep_unmatched", False)),
    )


def _parse_point(raw: Any, origin: str, where: str) -> ContactPoint:
    _need(isinstance(raw, dict) and raw.get("channel") in CHANNELS
          and isinstance(raw.get("column"), str), origin, where,
          "needs 'channel' (email or phone) and 'column'")
    return ContactPoint(str(raw["channel"]), str(raw.get("kind", "work")),
                        raw["column"], bool(raw.get("optional", False)))


def _need(ok: Any, origin: str, where: str, what: str) -> None:
    if not ok:
        place = f"{where}: " if where else ""
        raise MappingError(f"{origin}: {place}{what}")


def _known_keys(raw: dict[str, Any], known: frozenset[str], origin: str,
                where: str) -> None:
    for key in raw:
        if key not in known:
            hint = closest(key, sorted(known))
            more = f"; did you mean {hint!r}?" if hint else ""
            place = f"{where}." if where else ""
            raise MappingError(f"{origin}: {place}{key}: unknown key{more}")


def _str_tuple(raw: Any, origin: str, where: str) -> tuple[str, ...]:
    if isinstance(raw, str):
        return (raw,)
    _need(isinstance(raw, (list, tuple)) and all(isinstance(x, str) for x in raw),
          origin, where, "is a list of strings")
    return tuple(raw)


def _zone(raw: Any, origin: str, where: str) -> str | None:
    if raw is None:
        return None
    try:
        ZoneInfo(str(raw))
    except (ZoneInfoNotFoundError, ValueError):
        raise MappingError(f"{origin}: {where}: {raw!r} is not an IANA time zone "
                           "such as 'America/Sao_Paulo'") from None
    return str(raw)
