"""The builder's forms: groups, conditions and value widgets, drawn from the draft.

Every widget reads its starting value from the draft and writes a change
back through a callback that calls one ``builder_state`` function, so the
draft is up to date before the page computes its live feedback. Widget keys
are ``b.<path>:<part>``, e.g. ``b.include.0.where.1:field``; keys of the
operator and value widgets also name the field and operator they belong
to, so changing a field starts its operator and value afresh.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import date
from typing import Any

import streamlit as st

from pages import builder_session as session
from pages.common import connection, db_path, library
from workbench import builder_state as bs
from workbench import catalog
from workbench.catalog import OPERATORS, QUANTIFIERS, Source
from workbench.errors import WorkbenchError

logger = logging.getLogger(__name__)

FLASH = "builder_flash"  # (kind, message) shown once at the top of the page
# Groups and related conditions are boxed, and so indented, this many levels
# deep; deeper ones are drawn flat with a level marker, so ten nested groups
# leave the innermost conditions as wide as the fourth level's.
BOXED_LEVELS = 3
WIDE_VALUES = ("list", "pair")  # value widgets drawn on a row of their own


def pkey(path: bs.Path) -> str:
    """Widget key prefix of a node: ``b.include.0.where.1``."""
    return "b." + ".".join(str(step) for step in path)


# --------------------------------------------------------------------------
# Callbacks: change the draft, never raise into Streamlit


def safe(fn: Callable[..., None]) -> Callable[..., None]:
    """A callback whose failure becomes a message instead of a traceback."""
    def wrapped(*args: Any) -> None:
        try:
            fn(*args)
        except WorkbenchError as err:
            st.session_state[FLASH] = ("error", str(err))
        except Exception as err:  # the app never shows a traceback
            logger.exception("builder callback failed")
            st.session_state[FLASH] = ("error", f"{type(err).__name__}: {err}")
    return wrapped


def _source(path: bs.Path) -> Source:
    return bs.source_at(session.draft(), path[:-1])


def _update(path: bs.Path, change: Callable[[dict], dict]) -> None:
    d = session.draft()
    session.set_draft(bs.set_node(d, path, change(bs.node_at(d, path))))


@safe
def on_structure(action: str, path: bs.Path, arg: Any = None) -> None:
    d = session.draft()
    if action == "remove":
        new = bs.remove(d, path)
    elif action == "move":
        new = bs.move(d, path, arg)
    elif action == "kind":
        new = bs.set_group_kind(d, path, st.session_state[arg])
    else:
        new = bs.add_child(d, path, new_node(action, path))
    session.set_draft(new, structural=True)


def new_node(kind: str, group_path: bs.Path) -> dict[str, Any]:
    src = bs.source_at(session.draft(), group_path)
    if kind == "add_field":
        return bs.blank_condition(src)
    if kind == "add_related":
        return bs.blank_related(src)
    if kind == "add_group":
        return bs.blank_group("all")
    return {"segment": None}  # unfinished, and left out of the count, until chosen


@safe
def on_field(path: bs.Path, key: str) -> None:
    _update(path, lambda n: bs.change_field(n, _source(path), st.session_state[key]))


@safe
def on_op(path: bs.Path, key: str) -> None:
    _update(path, lambda n: bs.change_op(n, st.session_state[key]))


@safe
def on_value(path: bs.Path, key: str, reader: Callable[[str], Any]) -> None:
    _update(path, lambda n: bs.change_value(n, reader(key)))


@safe
def on_relation(path: bs.Path, key: str) -> None:
    _update(path, lambda n: bs.change_relation(n, _source(path), st.session_state[key]))


@safe
def on_quantifier(path: bs.Path, key: str) -> None:
    def change(node: dict) -> dict:
        target = _target(_source(path), node)
        return bs.change_quantifier(node, target, st.session_state[key])
    _update(path, change)


@safe
def on_aggregate_field(path: bs.Path, key: str) -> None:
    def change(node: dict) -> dict:
        target = _target(_source(path), node)
        return bs.change_aggregate_field(node, target, st.session_state[key])
    _update(path, change)


@safe
def on_segment(path: bs.Path, key: str) -> None:
    _update(path, lambda n: {"segment": st.session_state[key]})


def _target(src: Source, node: dict) -> Source:
    return catalog.source(src.relation(node["related"]).target)


# --------------------------------------------------------------------------
# Reading widget values as JSON values


def read_plain(key: str) -> Any:
    value = st.session_state.get(key)
    if value == "" or value == []:
        return None
    return bs.json_value(value)


def read_pair(key: str) -> Any:
    low, high = (read_plain(f"{key}:lo"), read_plain(f"{key}:hi"))
    return None if low is None and high is None else [low, high]


def read_number_list(key: str) -> Any:
    text = st.session_state.get(key) or ""
    items = [t.strip() for t in text.split(",") if t.strip()]
    return [_number_or_text(t) for t in items] or None


def _number_or_text(text: str) -> Any:
    try:
        return bs.json_value(float(text))
    except ValueError:
        return text  # kept, so the check names it


# --------------------------------------------------------------------------
# Value widgets


@st.cache_data(ttl=300, show_spinner=False, max_entries=500)
def _values(path: str, source: str, field: str) -> list[tuple[str, int]]:
    return bs.present_values(connection(), source, field)


def present(source: str, field: str) -> list[tuple[str, int]]:
    try:
        return _values(db_path(), source, field)
    except Exception:  # a pick list is a convenience; free text still works
        logger.exception("reading values of %s.%s failed", source, field)
        return []


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _as_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def value_widget(path: bs.Path, node: dict, type_: str, choices: tuple[str, str],
                 key: str) -> None:
    """The input for a condition's value, fitting its operator and field type."""
    op = node.get("op")
    kind = OPERATORS[op].value if op in OPERATORS else "none"
    value = node.get("value")
    if kind == "none":
        st.caption("no value needed")
    elif kind == "days":
        least = 1 if op == "in_last_days" else 0
        start = value if isinstance(value, int) and not isinstance(value, bool) \
            and value >= least else None
        st.number_input("N days", min_value=least, step=1, value=start, key=key,
                        on_change=on_value, args=(path, key, read_plain))
    elif kind == "date" or (kind == "scalar" and type_ in catalog.DATE_TYPES):
        st.date_input("Date", value=_as_date(value), key=key,
                      on_change=on_value, args=(path, key, read_plain))
    elif kind == "pair":
        pair_widget(path, value, type_, key)
    elif kind == "list":
        list_widget(path, value, type_, choices, key)
    elif type_ in catalog.NUMERIC_TYPES:
        st.number_input("Value", value=_as_float(value), step=1.0, key=key,
                        on_change=on_value, args=(path, key, read_plain))
    elif type_ in ("enum", "list"):
        pick_widget(path, value, choices, key)
    else:
        st.text_input("Value", value=value if isinstance(value, str) else "",
                      key=key, on_change=on_value, args=(path, key, read_plain))


def pair_widget(path: bs.Path, value: Any, type_: str, key: str) -> None:
    low, high = value if isinstance(value, list) and len(value) == 2 else (None, None)
    left, right = st.columns(2)
    args = (path, key, read_pair)
    if type_ in catalog.DATE_TYPES:
        left.date_input("From", value=_as_date(low), key=f"{key}:lo",
                        on_change=on_value, args=args)
        right.date_input("To", value=_as_date(high), key=f"{key}:hi",
                         on_change=on_value, args=args)
        return
    left.number_input("From", value=_as_float(low), step=1.0, key=f"{key}:lo",
                      on_change=on_value, args=args)
    right.number_input("To", value=_as_float(high), step=1.0, key=f"{key}:hi",
                       on_change=on_value, args=args)


def list_widget(path: bs.Path, value: Any, type_: str, choices: tuple[str, str],
                key: str) -> None:
    current = value if isinstance(value, list) else []
    if type_ in catalog.NUMERIC_TYPES:
        st.text_input("Values, comma-separated",
                      value=", ".join(str(v) for v in current), key=key,
                      on_change=on_value, args=(path, key, read_number_list))
        return
    counts = dict(present(*choices))
    options = list(counts) + [str(v) for v in current if str(v) not in counts]
    st.multiselect("Values", options, default=[str(v) for v in current], key=key,
                   accept_new_options=True, format_func=_counted(counts),
                   wrap=True,
                   on_change=on_value, args=(path, key, read_plain),
                   placeholder="Pick or type values")
    unmatched_hint(current, counts)


def pick_widget(path: bs.Path, value: Any, choices: tuple[str, str], key: str) -> None:
    counts = dict(present(*choices))
    options = list(counts)
    if isinstance(value, str) and value not in counts:
        options.append(value)
    index = options.index(value) if value in options else None
    st.selectbox("Value", options, index=index, key=key, accept_new_options=True,
                 format_func=_counted(counts), on_change=on_value,
                 args=(path, key, read_plain), placeholder="Pick or type a value")
    unmatched_hint([value] if isinstance(value, str) else [], counts)


def unmatched_hint(values: list, counts: dict[str, int]) -> None:
    """Say when a typed value is none of the stored ones: a near miss
    ("winter promo" for "Winter promo test") would silently match nobody."""
    if not counts:
        return
    stored = {str(v).strip().casefold() for v in counts}
    missing = [str(v) for v in values if str(v).strip().casefold() not in stored]
    if missing:
        listed = ", ".join(f'"{v}"' for v in missing[:3])
        st.caption(f"{listed}: not among the {len(counts):,} most common stored "
                   "values; matches only records holding exactly that (case and "
                   "surrounding spaces aside).")


def _counted(counts: dict[str, int]) -> Callable[[str], str]:
    return lambda v: f"{v} ({counts[v]:,})" if counts.get(v) else str(v)


# --------------------------------------------------------------------------
# Conditions and groups


CONTROL_WIDTHS = [0.7, 0.7, 0.7]


def controls(path: bs.Path, cols: list) -> None:
    """Move up, move down and remove buttons of a node, one per column."""
    k = pkey(path)
    cols[0].button(":material/arrow_upward:", key=f"{k}:up", help="Move up",
                   type="tertiary", on_click=on_structure, args=("move", path, -1))
    cols[1].button(":material/arrow_downward:", key=f"{k}:down", help="Move down",
                   type="tertiary", on_click=on_structure, args=("move", path, 1))
    cols[2].button(":material/close:", key=f"{k}:remove", help="Remove",
                   type="tertiary", on_click=on_structure, args=("remove", path))


def field_condition(path: bs.Path, node: dict, src: Source) -> None:
    k = pkey(path)
    names = list(src.field_names)
    field = node.get("field") if node.get("field") in names else names[0]
    fld = src.field(field)
    ops = list(fld.operators)
    op = node.get("op") if node.get("op") in ops else None
    wide = op is not None and OPERATORS[op].value in WIDE_VALUES
    spec = [4, 3] if wide else [4, 3, 4]
    cols = st.columns(spec + CONTROL_WIDTHS, vertical_alignment="bottom")
    cols[0].selectbox(f"{src.label}: field", names, index=names.index(field),
                      format_func=lambda n: src.field(n).label, key=f"{k}:field",
                      on_change=on_field, args=(path, f"{k}:field"))
    op_key = f"{k}:op:{field}"
    cols[1].selectbox("Operator", ops, index=ops.index(op) if op else None,
                      format_func=lambda o: OPERATORS[o].label, key=op_key,
                      on_change=on_op, args=(path, op_key))
    controls(path, cols[len(spec):])
    if op is not None:
        with st.container() if wide else cols[2]:
            value_widget(path, node, fld.type, (src.name, field),
                         f"{k}:value:{field}:{op}")


def related_condition(path: bs.Path, node: dict, src: Source,
                      problems: dict[bs.Path, list[str]], level: int) -> None:
    """Relation and quantifier, the aggregate under them, then the nested group."""
    k = pkey(path)
    rels = [r.name for r in src.relations]
    relation = node.get("related") if node.get("related") in rels else rels[0]
    target = catalog.source(src.relation(relation).target)
    with box(level):
        cols = st.columns([5, 5] + CONTROL_WIDTHS, vertical_alignment="bottom")
        cols[0].selectbox("Related records", rels, index=rels.index(relation),
                          format_func=lambda r: src.relation(r).label,
                          key=f"{k}:relation", on_change=on_relation,
                          args=(path, f"{k}:relation"))
        quants = list(bs.quantifiers_for(src, relation))
        quant = node.get("quantifier") if node.get("quantifier") in quants else None
        q_key = f"{k}:quantifier:{relation}"
        cols[1].selectbox("Quantifier", quants,
                          index=quants.index(quant) if quant else None,
                          placeholder="choose…",
                          format_func=lambda q: QUANTIFIERS[q], key=q_key,
                          on_change=on_quantifier, args=(path, q_key))
        controls(path, cols[2:])
        if quant not in (None, "exists", "none"):
            aggregate(path, node, target, f"{k}:{relation}:{quant}")
        st.caption(f"…on the same {target.singular}:")
        group(path + ("where",), node.get("where"), target, problems,
              entity_level=False, level=level)


def aggregate(path: bs.Path, node: dict, target: Source, k: str) -> None:
    """Field, comparison and value of count / sum / min / max, in one row."""
    quant = node["quantifier"]
    field = "count"
    inner = st.columns([3, 3, 4], vertical_alignment="bottom")
    if quant != "count":
        names = [f.name for f in bs.aggregate_fields(target, quant)]
        field = node.get("field") if node.get("field") in names else names[0]
        inner[0].selectbox("Of field", names, index=names.index(field),
                           format_func=lambda n: target.field(n).label,
                           key=f"{k}:aggfield", on_change=on_aggregate_field,
                           args=(path, f"{k}:aggfield"))
    ops = list(bs.aggregate_operators(target, node))
    op = node.get("op") if node.get("op") in ops else None
    op_key = f"{k}:op:{field}"
    inner[1].selectbox("Comparison", ops, index=ops.index(op) if op else None,
                       format_func=lambda o: OPERATORS[o].label, key=op_key,
                       on_change=on_op, args=(path, op_key))
    type_ = "number" if quant == "count" else target.field(field).type
    with inner[2]:
        if op is not None:
            value_widget(path, node, type_, (target.name, field),
                         f"{k}:value:{field}:{op}")


def segment_choices(d: dict) -> dict[str, str]:
    """Saved segments of the same entity a draft may refer to (not itself), by id."""
    good, _ = library().load_all()
    return {s.id: s.name for s in good
            if s.entity == d["entity"] and s.id != d.get("id")}


def segment_condition(path: bs.Path, node: dict) -> None:
    k = pkey(path)
    names = segment_choices(session.draft())
    current = node.get("segment")
    choices = list(names)
    if current and current not in names:
        choices.append(current)
    cols = st.columns([10] + CONTROL_WIDTHS, vertical_alignment="bottom")
    cols[0].selectbox("In saved segment", choices,
                      index=choices.index(current) if current in choices else None,
                      format_func=lambda i: f"{names[i]} ({i})" if i in names else i,
                      key=f"{k}:segment", on_change=on_segment,
                      args=(path, f"{k}:segment"), placeholder="choose a segment…")
    controls(path, cols[1:])


def node_form(path: bs.Path, node: Any, src: Source,
              problems: dict[bs.Path, list[str]], *, entity_level: bool,
              level: int) -> None:
    """One node of the tree, with its problems marked right under it.

    ``level`` counts the groups and related conditions around the node.
    """
    if bs.is_group(node):
        group(path, node, src, problems, entity_level=entity_level, level=level + 1)
    elif isinstance(node, dict) and "related" in node:
        related_condition(path, node, src, problems, level + 1)
    elif isinstance(node, dict) and "segment" in node:
        segment_condition(path, node)
    else:
        field_condition(path, node, src)
    for message in problems.get(path, []):
        st.warning(f"Not counted yet: {message}", icon=":material/edit_note:")


@contextmanager
def box(level: int) -> Iterator[None]:
    """Around a nested group or related condition at ``level``.

    Boxed (bordered, so indented) down to ``BOXED_LEVELS``; deeper, drawn
    flat between markers naming the level, so nesting never squeezes the forms.
    """
    if level <= BOXED_LEVELS:
        with st.container(border=True):
            yield
        return
    st.caption(f"{'›' * (level - BOXED_LEVELS)} level {level}",
               help="Levels below the third are not indented further.")
    yield
    st.caption(f"end of level {level}")


def group(path: bs.Path, node: dict | None, src: Source,
          problems: dict[bs.Path, list[str]], *, entity_level: bool,
          level: int = 0) -> None:
    """A group: its kind, its children (nested groups boxed), and add buttons.

    ``level`` 0 is the include group; a related condition's group has its level.
    """
    k = pkey(path)
    nested = isinstance(path[-1], int)
    with box(level) if nested else nullcontext():
        if node is not None:
            key = bs.group_key(node)
            cols = st.columns([10] + CONTROL_WIDTHS, vertical_alignment="center")
            cols[0].radio("Match", list(bs.GROUP_WORDS), horizontal=True,
                          index=list(bs.GROUP_WORDS).index(key),
                          format_func=lambda g: bs.GROUP_WORDS[g] + ":",
                          key=f"{k}:kind", label_visibility="collapsed",
                          on_change=on_structure, args=("kind", path, f"{k}:kind"))
            if nested:
                controls(path, cols[1:])
            for i, child in enumerate(node[key]):
                node_form(path + (i,), child, src, problems, entity_level=entity_level,
                          level=level)
        add_buttons(path, src, entity_level=entity_level)


def add_buttons(path: bs.Path, src: Source, *, entity_level: bool) -> None:
    k = pkey(path)
    row = st.container(horizontal=True, gap="small")
    row.button("+ Condition", key=f"{k}:add_field", on_click=on_structure,
               args=("add_field", path))
    if src.relations:
        row.button("+ Related records", key=f"{k}:add_related", on_click=on_structure,
                   args=("add_related", path))
    row.button("+ Group", key=f"{k}:add_group", on_click=on_structure,
               args=("add_group", path))
    if entity_level:
        row.button("+ Saved segment", key=f"{k}:add_segment", on_click=on_structure,
                   args=("add_segment", path))


def exclusions(problems: dict[bs.Path, list[str]]) -> None:
    """Exclusions: each removes the records it matches from the result."""
    d = session.draft()
    src = catalog.source(d["entity"])
    for i, node in enumerate(d.get("exclude", [])):
        with st.container(border=True):
            st.caption(f"Minus ({i + 1})")
            node_form(("exclude", i), node, src, problems, entity_level=True,
                      level=1)
    add_buttons(("exclude",), src, entity_level=True)
