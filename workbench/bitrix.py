"""Bitrix24 CRM exports: recognise, map and load them with no manual work.

A Bitrix24 list export names its columns by their titles in the portal's
language, not by field codes (see FORMATS.md). ``recognise`` reads those
titles, Russian or English, decides whether the file holds contacts,
companies, deals or leads, and gives each column a *target*: a catalog
field, or one of these special targets:

- ``first_name`` / ``middle_name`` / ``last_name``: joined into ``name``;
  ``lead_title``: a lead's name when it has no person name;
- ``phone:<kind>`` / ``email:<kind>``: a column of phones or e-mails of one
  kind (work, mobile, home, mailing, other); a cell may hold several values
  separated by ``, `` and each becomes a row of ``contact_points``; the first
  one is also the record's ``phone`` / ``email``;
- ``company`` / ``contact``: a company's or contact's *name*, resolved to its
  id when exactly one stored record has that name (else left empty);
- ``stage_group``: a deal's "Deal status" (in progress / won / lost), used
  for ``stage_semantics``; without it the semantics come from the stage name;
- ``start_date``: a deal's start date, used as ``created_at`` when the
  export has no "Created" column;
- ``modified``: the record's last change, used to date field changes;
- ``flag:<name>``: a yes/no column (``Да`` / ``Нет``, ``Y`` / ``N``) shown
  typed in the preview but not stored, since the catalog has no such field.

``prepare`` turns a frame and its targets into a frame with derived columns
and a ``mapping.Load``, so the rows go through the same importer as any
other file (typed values, rejections with row numbers, replace / append,
field changes). ``import_export`` does all of it for one file.

Files are read by ``workbench.bitrix_files`` (CSV with its encoding and
delimiter, and the HTML table Bitrix24 saves as ``.xls``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping as MappingType
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from workbench import store
from workbench.bitrix_files import ExportFile, read_export, read_html_table
from workbench.catalog import SOURCES
from workbench.importers import (
    LoadResult, Rejection, import_summary, load_frame, note_origin,
)
from workbench.mapping import Condition, ContactPoint, FieldSpec, Load
from workbench.readers import (
    ImportFileError, as_text, clean_text, convert, parse_booleans,
)

__all__ = [
    "BitrixImport", "ExportFile", "ImportFileError", "Preview", "Prepared",
    "Recognition", "describe_target", "flag_values", "ids_by_name",
    "import_export", "lead_semantics", "mapping_frame", "prepare", "preview",
    "read_export", "read_html_table", "recognise", "rejections_csv",
    "rejections_frame", "split_points", "stage_semantics", "target_choices",
]

logger = logging.getLogger(__name__)

ENTITIES: Final = ("contacts", "companies", "deals", "leads")
DATE_FORMATS: Final = ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y",
                       "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y")
KINDS: Final = ("work", "mobile", "home", "mailing", "other")
SKIP: Final = ""

# Titles a portal writes, per target; the same in every entity unless an
# entity's own table below says otherwise. Compared after ``_norm``.
_PHONES: Final = {
    "phone:work": ("Рабочий телефон", "Work Phone", "Телефон", "Phone"),
    "phone:mobile": ("Мобильный телефон", "Mobile", "Mobile Phone"),
    "phone:home": ("Домашний телефон", "Home Phone"),
    "phone:mailing": ("Телефон для рассылок", "SMS marketing phone"),
    "phone:other": ("Другой телефон", "Other Phone Number", "Other Phone",
                    "Факс", "Fax", "Пейджер", "Pager"),
    "email:work": ("Рабочий e-mail", "Work E-mail", "E-mail", "Email"),
    "email:home": ("Частный e-mail", "Home E-mail", "Personal E-mail"),
    "email:mailing": ("E-mail для рассылок", "Newsletters email",
                      "Newsletter E-mail"),
    "email:other": ("Другой e-mail", "Other E-mail"),
}
_COMMON: Final = {
    "id": ("ID",),
    "created_at": ("Дата создания", "Created", "Date created"),
    "modified": ("Дата изменения", "Modified", "Date modified"),
    "source": ("Источник", "Source"),
    "city": ("Город", "City", "Адрес (город)", "Address (city)"),
    "region": ("Регион", "Область", "Region", "State / Province", "State"),
}
_PERSON: Final = {
    "first_name": ("Имя", "First Name", "Name"),
    "last_name": ("Фамилия", "Last Name"),
    "middle_name": ("Отчество", "Middle Name", "Second Name"),
}
_TITLES: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "contacts": {
        **_COMMON, **_PERSON, **_PHONES,
        "modified_at": _COMMON["modified"],
        "type": ("Тип контакта", "Contact Type", "Type"),
        "birthday": ("Дата рождения", "Birthday", "Birthdate"),
        "company": ("Компания", "Company"),
        "flag:export": ("Экспорт", "Included in export", "Export"),
        "flag:has_phone": ("Задан телефон", "Has phone"),
        "flag:has_email": ("Задан e-mail", "Has E-mail", "Has email"),
    },
    "companies": {
        **_COMMON, **_PHONES,
        "name": ("Название компании", "Company Name", "Название", "Title"),
        "industry": ("Сфера деятельности", "Industry"),
        "size_band": ("Кол-во сотрудников", "Количество сотрудников",
                      "Employees", "Number of employees"),
        "revenue": ("Годовой оборот", "Annual revenue", "Revenue"),
        "flag:export": ("Экспорт", "Included in export"),
    },
    "deals": {
        **_COMMON,
        "title": ("Название сделки", "Deal Name", "Название", "Title"),
        "stage": ("Стадия сделки", "Стадия", "Stage", "Deal stage"),
        "pipeline": ("Направление", "Воронка", "Pipeline", "Category"),
        "stage_group": ("Группа стадий", "Deal status", "Stage group"),
        "amount": ("Сумма", "Income", "Amount", "Opportunity"),
        "currency": ("Валюта", "Currency"),
        "product": ("Товар", "Product"),
        "company": ("Компания", "Company"),
        "contact": ("Контакт", "Contact"),
        "start_date": ("Дата начала", "Start date"),
        "closed_at": ("Предполагаемая дата закрытия", "Assumed close date",
                      "Дата закрытия", "Close date"),
        "flag:closed": ("Сделка закрыта", "Closed"),
        "flag:repeat": ("Повторная сделка", "Repeat deal"),
    },
    "leads": {
        **_COMMON, **_PERSON, **_PHONES,
        "lead_title": ("Название лида", "Lead Name", "Lead title"),
        "status": ("Статус", "Статус лида", "Status", "Lead status"),
        "amount": ("Возможная сумма", "Opportunity", "Сумма", "Amount"),
        "company_name": ("Название компании", "Company Name"),
    },
}
# Titles only one kind of export has: they decide a tie.
_MARKERS: Final = {
    "contacts": ("Тип контакта", "Contact Type"),
    "companies": ("Сфера деятельности", "Industry", "Тип компании",
                  "Company type"),
    "deals": ("Название сделки", "Deal Name", "Стадия сделки", "Stage"),
    "leads": ("Название лида", "Lead Name", "Статус лида"),
}

# (label, words found in a name, codes) in order: the first rule that
# matches wins, so "неуспешна" is lost before "успешн" can call it won.
Rule = tuple[str, tuple[str, ...], frozenset[str]]
_DEAL_RULES: Final[tuple[Rule, ...]] = (
    ("open", ("в работе", "in progress", "in work"), frozenset({"P"})),
    ("lost", ("провал", "неуспеш", "unsuccess", "lost", "lose", "fail", "apology",
              "отказ"), frozenset({"LOSE", "APOLOGY", "F"})),
    ("won", ("успешн", "won", "success"), frozenset({"WON", "S"})),
)
_LEAD_RULES: Final[tuple[Rule, ...]] = (
    ("open", (), frozenset({"P"})),
    ("junk", ("некачествен", "junk", "брак", "bad lead"), frozenset({"JUNK", "F"})),
    ("converted", ("качествен", "converted", "good lead", "сконверт"),
     frozenset({"CONVERTED", "S"})),
)
_SPECIAL: Final = frozenset({
    "first_name", "middle_name", "last_name", "lead_title", "company", "contact",
    "stage_group", "status_group", "start_date", "modified",
})
_STAGE_CODE: Final = re.compile(r"^(?:C\d+:)?([A-Z_]+)$")


def _norm(title: object) -> str:
    """Compare titles without case, ё/е, surrounding spaces or e-mail spelling.

    >>> _norm(" Рабочий  E-mail ")
    'рабочий email'
    """
    text = str(title).strip().lower().replace("ё", "е")
    text = re.sub(r"\s+", " ", text)
    return text.replace("e-mail", "email")


def _title_index(entity: str) -> dict[str, str]:
    index: dict[str, str] = {}
    for target, titles in _TITLES[entity].items():
        if entity != "contacts" and target == "modified_at":
            continue
        for title in titles:
            index.setdefault(_norm(title), target)
    if entity == "contacts":  # the Modified column is a stored field there
        for title in _COMMON["modified"]:
            index[_norm(title)] = "modified_at"
    return index


# --------------------------------------------------------------------------
# Recognition


@dataclass(frozen=True)
class Recognition:
    """Which entity an export holds and what each column becomes."""

    entity: str
    targets: dict[str, str]  # column -> target ("" = not loaded)
    scores: dict[str, int] = field(default_factory=dict)

    @property
    def unrecognised(self) -> tuple[str, ...]:
        return tuple(c for c, t in self.targets.items() if t == SKIP)


def recognise(columns: list[str] | pd.Index, entity: str | None = None
              ) -> Recognition:
    """Guess the entity from the titles (unless given) and map every column.

    Raises ImportFileError when no entity recognises an ``ID`` column and at
    least one other title.
    """
    columns = [str(c) for c in columns]
    scores = {e: _score(e, columns) for e in ENTITIES}
    if entity is None:
        entity = max(ENTITIES, key=lambda e: scores[e])
        if scores[entity] < 2:
            shown = ", ".join(columns[:12])
            raise ImportFileError(
                "these columns do not look like a Bitrix24 contacts, companies, "
                f"deals or leads export: {shown}; choose the entity and map the "
                "columns by hand")
    elif entity not in ENTITIES:
        raise ImportFileError(f"entity {entity!r} is not one of "
                              f"{', '.join(ENTITIES)}")
    index = _title_index(entity)
    targets: dict[str, str] = {}
    used: set[str] = set()
    for col in columns:
        target = index.get(_norm(col), SKIP)
        if target in used and not _repeatable(target):
            target = SKIP  # a second "Phone" column and the like
        used.add(target)
        targets[col] = target
    return Recognition(entity, targets, scores)


def _score(entity: str, columns: list[str]) -> int:
    index = _title_index(entity)
    known = [c for c in columns if _norm(c) in index]
    if "id" not in {index[_norm(c)] for c in known}:
        return 0
    markers = {_norm(m) for m in _MARKERS[entity]}
    return len(known) + 3 * sum(_norm(c) in markers for c in columns)


def _repeatable(target: str) -> bool:
    return target.startswith(("phone:", "email:")) or target == SKIP


def target_choices(entity: str) -> list[str]:
    """Every target a column of this entity's export can be given, for a selectbox."""
    stored = [f.name for f in SOURCES[entity].stored_fields
              if f.name not in ("phone", "email", "stage_semantics",
                                "status_semantics")]
    special = [t for t in _TITLES[entity] if t in _SPECIAL or ":" in t]
    special += [f"{ch}:{k}" for ch in ("phone", "email") for k in KINDS]
    return [SKIP] + list(dict.fromkeys(stored + special))


def describe_target(target: str) -> str:
    """Words for a target in the mapping preview.

    >>> describe_target("phone:mobile")
    'phones (mobile)'
    """
    if target == SKIP:
        return "not loaded"
    if ":" in target:
        kind, what = target.split(":", 1)
        if kind == "flag":
            return f"yes/no flag {what} (shown, not stored)"
        return f"{kind}s ({what})"
    return {
        "first_name": "name: first name", "middle_name": "name: middle name",
        "last_name": "name: last name", "lead_title": "name (when no person name)",
        "company": "company_id, found by company name",
        "contact": "contact_id, found by contact name",
        "stage_group": "stage_semantics (open / won / lost)",
        "status_group": "status_semantics (open / converted / junk)",
        "start_date": "created_at (when there is no Created column)",
        "modified": "date of field changes",
    }.get(target, target)


# --------------------------------------------------------------------------
# Values


def stage_semantics(stages: pd.Series, groups: pd.Series | None = None
                    ) -> pd.Series:
    """open / won / lost for deals, from "Deal status" when given, else the stage.

    Stage names are matched by words ("Сделка успешна", "Deal lost",
    "Анализ причины провала") and codes (``WON``, ``C2:LOSE``, ``APOLOGY``);
    any other filled stage is open.

    >>> stage_semantics(pd.Series(["Новая", "Сделка успешна", "C1:LOSE", ""])).tolist()
    ['open', 'won', 'lost', None]
    """
    result = _semantics(stages, _DEAL_RULES, "open")
    if groups is not None:
        from_group = _semantics(groups, _DEAL_RULES, None)
        result = from_group.where(from_group.notna(), result)
    return result


def lead_semantics(statuses: pd.Series, groups: pd.Series | None = None
                   ) -> pd.Series:
    """open / converted / junk for leads from their status group, name or code.

    >>> lead_semantics(pd.Series(["Некачественный лид", "CONVERTED", "В работе"])).tolist()
    ['junk', 'converted', 'open']
    """
    result = _semantics(statuses, _LEAD_RULES, "open")
    if groups is not None:
        from_group = _semantics(groups, _LEAD_RULES, None)
        result = from_group.where(from_group.notna(), result)
    return result


def _semantics(names: pd.Series, rules: tuple[Rule, ...],
               default: str | None) -> pd.Series:
    """The label of the first rule a name matches; ``default`` for other names."""
    text = as_text(names).str.strip()
    code = text.str.extract(_STAGE_CODE, expand=False).fillna("")
    words = text.str.lower().str.replace("ё", "е")
    out = pd.Series(default, index=names.index, dtype=object)
    decided = pd.Series(False, index=names.index)
    for label, needles, codes in rules:
        hit = code.isin(codes)
        if needles:
            pattern = "|".join(re.escape(n) for n in needles)
            hit |= words.str.contains(pattern, regex=True)
        hit &= ~decided
        out[hit] = label
        decided |= hit
    return out.where(text != "", None)


def split_points(cells: pd.Series) -> pd.Series:
    """Several phones or e-mails in a cell, re-joined with ``", "``.

    Bitrix24 separates them with ``", "``; line breaks and ``;`` are taken
    too, and empty pieces dropped.

    >>> split_points(pd.Series(["+7 916 111-11-11;8 (916) 222-22-22\\n", ""])).tolist()
    ['+7 916 111-11-11, 8 (916) 222-22-22', '']
    """
    text = as_text(cells).str.replace(r"\s*(?:,\s+|;|\n)\s*", ", ", regex=True)
    text = text.str.replace(r"(?:, ){2,}", ", ", regex=True)
    return text.str.strip(", ")


def _first_point(cells: pd.Series) -> pd.Series:
    return cells.str.replace(r", .*", "", regex=True).fillna("")


def ids_by_name(con: duckdb.DuckDBPyConnection, entity: str,
                names: pd.Series) -> pd.Series:
    """Ids of records whose name is ``names`` (case and spaces ignored).

    A name shared by several records resolves to nothing: guessing would
    attach deals to the wrong person.
    """
    keys = clean_text(names).str.lower()
    distinct = pd.DataFrame({"k": pd.unique(keys.dropna().to_numpy())})
    if distinct.empty:
        return pd.Series(pd.NA, index=names.index, dtype="Int64")
    column = "title" if entity == "deals" else "name"
    table = SOURCES[entity].table
    con.complete()
    con.register("_wb_names", distinct)
    try:
        found = con.execute(
            f"""SELECT lower(trim(t."{column}")) AS k, min(t.id) AS id
            FROM "{table}" AS t JOIN _wb_names AS n ON n.k = lower(trim(t."{column}"))
            GROUP BY 1 HAVING count(*) = 1""").df()
    finally:
        con.unregister("_wb_names")
    lookup = pd.Series(found["id"].to_numpy(), index=found["k"].to_numpy())
    return keys.map(lookup).astype("Int64")


# --------------------------------------------------------------------------
# From targets to a load


@dataclass(frozen=True)
class Prepared:
    """A frame with derived columns, the load that reads it and change dates."""

    frame: pd.DataFrame
    load: Load
    changed_at: pd.Series | None = None
    notes: tuple[str, ...] = ()  # what loads but deserves a word (unlinked names)


def prepare(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, entity: str,
            targets: MappingType[str, str], *, file: str = "export",
            zone: str | None = None) -> Prepared:
    """Build the derived columns and the ``Load`` for an export's targets.

    Raises ImportFileError when no column is the ``id``.
    """
    by_target: dict[str, list[str]] = {}
    for col, target in targets.items():
        if target and col in frame.columns:
            by_target.setdefault(target, []).append(col)
    if "id" not in by_target:
        raise ImportFileError(f"{file}: no column is mapped to id; the export's "
                              "ID column is needed to load records")

    out = frame.reset_index(drop=True).copy()
    stored = {f.name for f in SOURCES[entity].stored_fields}
    specs: list[FieldSpec] = []
    points: list[ContactPoint] = []

    def add(name: str, columns: list[str], **kw) -> None:
        if name in stored and not any(s.field == name for s in specs):
            specs.append(FieldSpec(field=name, columns=tuple(columns),
                                   required=name == "id", **kw))

    for target, cols in by_target.items():
        if target in stored:
            add(target, cols)

    person = [c for t in ("first_name", "middle_name", "last_name")
              for c in by_target.get(t, [])]
    if person or "lead_title" in by_target:
        name = _join([out[c] for c in person], out.index)
        for col in by_target.get("lead_title", []):
            name = name.where(name != "", as_text(out[col]).str.strip())
        out["_wb_name"] = name
        add("name", ["_wb_name"])

    for channel in ("phone", "email"):
        firsts = []
        for target, cols in by_target.items():
            if not target.startswith(channel + ":"):
                continue
            for col in cols:
                derived = f"_wb_{channel}_{len(points)}"
                out[derived] = split_points(out[col])
                points.append(ContactPoint(channel, target.split(":", 1)[1],
                                           derived))
                firsts.append(_first_point(out[derived]))
        if firsts:
            out[f"_wb_{channel}"] = _combine_first(firsts)
            add(channel, [f"_wb_{channel}"])

    notes: list[str] = []
    for target, other in (("company", "companies"), ("contact", "contacts")):
        if target in by_target:
            names = out[by_target[target][0]]
            ids = ids_by_name(con, other, names)
            out[f"_wb_{target}_id"] = as_text(ids.astype(object))
            add(f"{target}_id", [f"_wb_{target}_id"])
            named = clean_text(names).fillna("").str.len() > 0
            unlinked = int((named & ids.isna()).sum())
            if unlinked:
                rows = "1 row names" if unlinked == 1 else f"{unlinked} rows name"
                notes.append(f"{rows} a {target} that no stored {target} has, or "
                             f"several have, as its name; left without a {target} "
                             f"(column {by_target[target][0]})")

    if entity == "deals" and "stage" in by_target:
        groups = out[by_target["stage_group"][0]] if "stage_group" in by_target \
            else None
        out["_wb_semantics"] = stage_semantics(out[by_target["stage"][0]], groups)
        add("stage_semantics", ["_wb_semantics"])
        if "closed_at" in by_target:
            specs[:] = [s for s in specs if s.field != "closed_at"]
            add("closed_at", by_target["closed_at"],
                only_if=Condition("stage_semantics", ("won", "lost")))
    if entity == "leads" and "status" in by_target:
        groups = out[by_target["status_group"][0]] if "status_group" in by_target \
            else None
        out["_wb_semantics"] = lead_semantics(out[by_target["status"][0]], groups)
        add("status_semantics", ["_wb_semantics"])
    if "start_date" in by_target:
        add("created_at", by_target["start_date"])

    changed_at = None
    if "modified" in by_target:
        changed_at, _ = convert(out[by_target["modified"][0]], "datetime",
                                formats=DATE_FORMATS, workspace_zone=zone
                                or "Europe/Moscow")
    load = Load(entity=entity, file=file, fields=tuple(specs),
                contact_points=tuple(points), date_formats=DATE_FORMATS)
    return Prepared(out, load, changed_at, tuple(notes))


def _join(parts: list[pd.Series], index: pd.Index) -> pd.Series:
    """Non-empty parts joined by one space, column-wise (no per-row Python)."""
    if not parts:
        return pd.Series("", index=index, dtype=object)
    joined = as_text(parts[0]).str.strip()
    for part in parts[1:]:
        joined = joined + " " + as_text(part).str.strip()
    return joined.str.replace(r"\s{2,}", " ", regex=True).str.strip().astype(object)


def _combine_first(parts: list[pd.Series]) -> pd.Series:
    result = parts[0]
    for part in parts[1:]:
        result = result.where(result != "", part)
    return result


def flag_values(frame: pd.DataFrame, targets: MappingType[str, str]
                ) -> dict[str, pd.Series]:
    """Yes/no columns (``flag:*`` targets) typed as booleans, for the preview."""
    return {col: parse_booleans(frame[col])[0] for col, t in targets.items()
            if t.startswith("flag:") and col in frame.columns}


# --------------------------------------------------------------------------
# Loading


@dataclass(frozen=True)
class BitrixImport:
    """One export loaded: what was read, how it was mapped, what it did."""

    file: ExportFile
    recognition: Recognition
    result: LoadResult
    notes: tuple[str, ...] = ()


def import_export(con: duckdb.DuckDBPyConnection, source: str | Path | bytes, *,
                  name: str | None = None, entity: str | None = None,
                  targets: MappingType[str, str] | None = None,
                  mode: str = "replace",
                  loaded_at: datetime | None = None,
                  emptied: set[str] | None = None) -> BitrixImport:
    """Read, recognise and load one Bitrix24 export in a transaction.

    Args:
        con: a store connection.
        source: a file path, or an upload's bytes with ``name``.
        entity: contacts, companies, deals or leads (default: recognised).
        targets: column -> target, overriding the recognised mapping for
            the columns it names.
        mode: ``replace`` empties the table first; ``append`` updates
            records with the same id and inserts new ones.
        loaded_at: the load time (default: now); dates field changes when
            the export has no "Modified" column.
        emptied: entities already replaced in this run; a later file of
            one of them is appended, so several files of one entity add up.
            The entity of this file is added to it.

    Returns:
        BitrixImport; its ``result.rejections`` list every row not loaded.
    """
    if mode not in ("replace", "append"):
        raise ImportFileError(f"mode {mode!r} is not 'replace' or 'append'")
    export = read_export(source, name)
    recognition = recognise(list(export.frame.columns), entity)
    if targets:
        merged = {**recognition.targets,
                  **{c: t for c, t in targets.items() if c in recognition.targets}}
        recognition = Recognition(recognition.entity, merged, recognition.scores)
    prepared = prepare(con, export.frame, recognition.entity, recognition.targets,
                       file=export.name, zone=store.timezone(con))
    if emptied is not None:
        if mode == "replace" and recognition.entity in emptied:
            mode = "append"
        emptied.add(recognition.entity)
    con.execute("BEGIN TRANSACTION")
    try:
        result = load_frame(con, prepared.load, prepared.frame, file=export.name,
                            mode=mode,  # type: ignore[arg-type]
                            loaded_at=loaded_at, changed_at=prepared.changed_at)
        when = loaded_at or datetime.now(ZoneInfo(store.timezone(con)))
        note_origin(con, import_summary([export.name], result.rows_loaded, mode,
                                        when, recognition.entity))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    for note in prepared.notes:
        logger.warning("%s: %s", export.name, note)
    return BitrixImport(export, recognition, result, prepared.notes)


@dataclass(frozen=True)
class Preview:
    """The first rows typed as they would be stored, and those that would fail."""

    typed: pd.DataFrame
    rejections: tuple[Rejection, ...]


def preview(con: duckdb.DuckDBPyConnection, export: ExportFile,
            recognition: Recognition, *, rows: int = 20) -> Preview:
    """The first rows as they would be stored: typed, in catalog columns.

    Loads them in a transaction that is rolled back, so what is shown is
    exactly what the importer makes of them and nothing is written.
    """
    head = export.frame.head(rows)
    prepared = prepare(con, head, recognition.entity, recognition.targets,
                       file=export.name, zone=store.timezone(con))
    table = SOURCES[recognition.entity].table
    con.execute("BEGIN TRANSACTION")
    try:
        result = load_frame(con, prepared.load, prepared.frame, file=export.name,
                            mode="replace", track_changes=False, history=False)
        cols = ", ".join(f'"{s.field}"' for s in prepared.load.fields)
        typed = con.execute(f'SELECT {cols} FROM "{table}" ORDER BY id').df()
    finally:
        con.execute("ROLLBACK")
    return Preview(typed, result.rejections)


# --------------------------------------------------------------------------
# Tables for a preview or a report


def mapping_frame(export: ExportFile, recognition: Recognition,
                  samples: int = 3) -> pd.DataFrame:
    """One row per column: its title, a few values, its target and what it means."""
    rows = []
    for col, target in recognition.targets.items():
        values = [v for v in as_text(export.frame[col]).head(50) if v.strip()]
        rows.append({"column": col, "values": " | ".join(values[:samples]),
                     "target": target, "loads as": describe_target(target)})
    return pd.DataFrame(rows, columns=["column", "values", "target", "loads as"])


def rejections_frame(rejections: tuple[Rejection, ...] | list[Rejection]
                     ) -> pd.DataFrame:
    """Rejections as a table (file, row, reason), for showing or downloading."""
    return pd.DataFrame([(r.file, r.row, r.reason) for r in rejections],
                        columns=["file", "row", "reason"])


def rejections_csv(rejections: tuple[Rejection, ...] | list[Rejection]) -> bytes:
    """The rejections as UTF-8 CSV with a byte-order mark, so Excel reads Cyrillic."""
    return rejections_frame(rejections).to_csv(index=False).encode("utf-8-sig")
