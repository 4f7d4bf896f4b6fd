"""Compile a definition into one SQL query, built as a sqlglot expression tree.

User values never enter the SQL text: every value becomes a named
placeholder (``$p0`` in DuckDB, ``%(p0)s`` in PostgreSQL) whose value sits
in ``params``. Table and column names come only from the catalog.

The semantics pinned here (DESIGN.md, "Evaluator"):

* empty = NULL or blank text; 0, "0" and false are values;
* every negative operator is ``NOT COALESCE(positive, FALSE)``, the exact
  complement over the whole entity, so "city not equals Moscow" keeps
  contacts with no city;
* text compares trimmed and lower-cased on both sides, in SQL;
* a calendar day is ``CAST(ts AS DATE)`` of a timestamp stored in the
  workspace zone; relative days are turned into day bounds here, from
  ``as_of``, so "in the last N days" is ``as_of-(N-1) <= day <= as_of``;
* count and sum over no records are 0; min and max over none are undefined
  and compare false.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Callable

import sqlglot
from sqlglot import exp

from workbench import catalog
from workbench.catalog import DATE_TYPES, Source
from workbench.definition import (
    Definition, DefinitionError, FieldCondition, Group, Node, Problem,
    RelatedCondition, Resolver, SegmentNotFound, SegmentRef, walk,
)
from workbench.errors import WorkbenchError

ROOT = "t"
TRUE = exp.true()
FALSE = exp.false()


class CompileError(WorkbenchError, ValueError):
    """A definition is valid JSON but cannot be evaluated as asked."""


@dataclass
class Context:
    """State of one compilation: the reference day, parameters, segment stack."""

    as_of: date
    resolver: Resolver | None = None
    params: dict[str, Any] = field(default_factory=dict)
    stack: tuple[str, ...] = ()
    use_snapshots: bool = True
    aliases: int = 0

    def param(self, value: Any) -> exp.Placeholder:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return exp.Placeholder(this=name)

    def alias(self) -> str:
        self.aliases += 1
        return f"r{self.aliases}"


# --------------------------------------------------------------------------
# Small expression helpers


def col(alias: str, name: str) -> exp.Column:
    return exp.column(name, table=alias, quoted=True)


def fold(e: exp.Expression) -> exp.Expression:
    """Text compared case- and space-insensitively: ``lower(trim(x))``."""
    return exp.Lower(this=exp.Trim(this=e))


def coalesce_false(e: exp.Expression) -> exp.Expression:
    return exp.Coalesce(this=e, expressions=[FALSE.copy()])


def in_query(e: exp.Expression, query: exp.Expression) -> exp.Expression:
    """``e IN (query)``."""
    return exp.In(this=e, query=exp.Subquery(this=query))


def negate(e: exp.Expression) -> exp.Expression:
    """``NOT COALESCE(e, FALSE)``: the exact complement, NULL counted as no match."""
    if _is_key_in_rows(e):
        return _not_exists(e)
    return exp.Not(this=exp.paren(coalesce_false(e), copy=False))


def _is_key_in_rows(e: exp.Expression) -> bool:
    """``x IN (SELECT a.k FROM ... WHERE ...)`` without grouping."""
    query = e.args.get("query") if isinstance(e, exp.In) else None
    sub = query.this if query is not None else None
    return (isinstance(sub, exp.Select) and sub.args.get("from_") is not None
            and not sub.args.get("group") and len(sub.selects) == 1
            and isinstance(sub.selects[0], exp.Column))


def _not_exists(e: exp.In) -> exp.Expression:
    """``NOT COALESCE(x IN (SELECT k ... WHERE w), FALSE)`` becomes
    ``NOT EXISTS (SELECT 1 ... WHERE w AND k = x)``.

    Both keep exactly the rows whose x equals no k: a NULL x matches nothing
    either way, and a NULL k only ever made IN give NULL, which COALESCE read
    as false. DuckDB plans NOT EXISTS as an anti join; the IN form as a mark
    join plus a filter, which cost up to 1.3x more at 1M contacts (BENCHMARKS.md).
    """
    sub = e.args["query"].this
    key = sub.selects[0]
    # The IN expression was built for this negation alone: reuse it in place.
    rows = sub.select(exp.Literal.number(1), append=False, copy=False).where(
        exp.EQ(this=key.copy(), expression=e.this.copy()), copy=False)
    return exp.Not(this=exp.Exists(this=rows))


def and_(parts: list[exp.Expression]) -> exp.Expression:
    if not parts:
        return TRUE.copy()
    return exp.and_(*parts, copy=False) if len(parts) > 1 else parts[0]


def or_(parts: list[exp.Expression]) -> exp.Expression:
    if not parts:
        return TRUE.copy()
    return exp.or_(*parts, copy=False) if len(parts) > 1 else parts[0]


def filled(e: exp.Expression, type_: str) -> exp.Expression:
    if type_ in catalog.TEXT_TYPES:
        not_null = exp.Not(this=exp.Is(this=e.copy(), expression=exp.null()))
        not_blank = exp.NEQ(this=exp.Trim(this=e.copy()),
                            expression=exp.Literal.string(""))
        return exp.and_(not_null, not_blank)
    if type_ == "list":
        return exp.GT(this=exp.func("coalesce", exp.ArraySize(this=e.copy()),
                                    exp.Literal.number(0)),
                      expression=exp.Literal.number(0))
    return exp.Not(this=exp.Is(this=e.copy(), expression=exp.null()))


def day_start(d: date, type_: str) -> Any:
    return d if type_ == "date" else datetime.combine(d, time())


def day_range(e: exp.Expression, lo: date | None, hi: date | None, type_: str,
              ctx: Context) -> exp.Expression:
    """``lo <= day(e) <= hi`` as bounds on the stored value (either may be open)."""
    parts: list[exp.Expression] = []
    if lo is not None:
        parts.append(exp.GTE(this=e.copy(), expression=ctx.param(day_start(lo, type_))))
    if hi is not None:
        next_day = day_start(hi + timedelta(days=1), type_)
        parts.append(exp.LT(this=e.copy(), expression=ctx.param(next_day)))
    return and_(parts) if parts else filled(e, type_)


# --------------------------------------------------------------------------
# Operators: one builder per operator name, given the value expression


def compare(e: exp.Expression, type_: str, op: str, value: Any,
            ctx: Context) -> exp.Expression:
    """The positive SQL predicate of ``e <op> value`` (may be NULL on NULL)."""
    if op.startswith("not_") and op != "not_filled":
        return negate(compare(e, type_, op[4:], value, ctx))
    if op == "filled":
        return filled(e, type_)
    if op == "not_filled":
        return exp.Not(this=exp.paren(filled(e, type_)))
    if type_ in DATE_TYPES:
        return _compare_date(e, type_, op, value, ctx)
    if type_ == "list":
        return _compare_list(e, op, value, ctx)
    if type_ == "boolean":
        wanted = TRUE.copy() if op == "is_true" else FALSE.copy()
        return exp.EQ(this=e, expression=wanted)
    if type_ in catalog.TEXT_TYPES:
        return _compare_text(e, op, value, ctx)
    return _compare_number(e, op, value, ctx)


def _text_param(value: str, ctx: Context) -> exp.Expression:
    return fold(ctx.param(value))


def _compare_text(e: exp.Expression, op: str, value: Any,
                  ctx: Context) -> exp.Expression:
    if op == "equals":
        return exp.EQ(this=fold(e), expression=_text_param(value, ctx))
    if op == "in":
        return exp.In(this=fold(e), expressions=[_text_param(v, ctx) for v in value])
    if op == "contains":
        return exp.GT(this=exp.StrPosition(this=exp.Lower(this=e),
                                           substr=_text_param(value, ctx)),
                      expression=exp.Literal.number(0))
    raise CompileError(f'operator "{op}" does not apply to text')


def _compare_closed_enum(e: exp.Expression, op: str, value: Any,
                         ctx: Context) -> exp.Expression:
    # Closed vocabularies (stage group, lead status group, channel) are stored
    # in their canonical spelling by every loader, and validation has mapped
    # the value to that spelling, so a plain comparison is exact and fast.
    if op == "equals":
        return exp.EQ(this=e, expression=ctx.param(value))
    if op == "in":
        return exp.In(this=e, expressions=[ctx.param(v) for v in value])
    return _compare_text(e, op, value, ctx)


def _compare_number(e: exp.Expression, op: str, value: Any,
                    ctx: Context) -> exp.Expression:
    simple = {"equals": exp.EQ, "gt": exp.GT, "gte": exp.GTE, "lt": exp.LT,
              "lte": exp.LTE}
    if op in simple:
        return simple[op](this=e, expression=ctx.param(value))
    if op == "between":
        return exp.Between(this=e, low=ctx.param(value[0]), high=ctx.param(value[1]))
    if op == "in":
        return exp.In(this=e, expressions=[ctx.param(v) for v in value])
    raise CompileError(f'operator "{op}" does not apply to numbers')


def _compare_date(e: exp.Expression, type_: str, op: str, value: Any,
                  ctx: Context) -> exp.Expression:
    try:
        return _date_bounds(e, type_, op, value, ctx)
    except OverflowError:
        raise CompileError(f'"{op}" {value} as of {ctx.as_of} falls outside the '
                           "calendar (years 1 to 9999)") from None


def _date_bounds(e: exp.Expression, type_: str, op: str, value: Any,
                 ctx: Context) -> exp.Expression:
    as_of = ctx.as_of
    if op == "in_last_days":
        return day_range(e, as_of - timedelta(days=value - 1), as_of, type_, ctx)
    if op == "more_than_days_ago":
        return day_range(e, None, as_of - timedelta(days=value + 1), type_, ctx)
    if op == "exactly_days_ago":
        day = as_of - timedelta(days=value)
        return day_range(e, day, day, type_, ctx)
    if op in ("on", "equals"):
        day = date.fromisoformat(value)
        return day_range(e, day, day, type_, ctx)
    if op == "before":
        last = date.fromisoformat(value) - timedelta(days=1)
        return day_range(e, None, last, type_, ctx)
    if op == "after":
        first = date.fromisoformat(value) + timedelta(days=1)
        return day_range(e, first, None, type_, ctx)
    if op == "between":
        lo, hi = (date.fromisoformat(v) for v in value)
        return day_range(e, lo, hi, type_, ctx)
    raise CompileError(f'operator "{op}" does not apply to dates')


def _compare_list(e: exp.Expression, op: str, value: Any,
                  ctx: Context) -> exp.Expression:
    values = [value] if op == "contains" else list(value)
    if op not in ("contains", "in"):
        raise CompileError(f'operator "{op}" does not apply to lists')
    # EXISTS (SELECT 1 FROM UNNEST(tags) AS u(x) WHERE lower(trim(x)) IN (...))
    item = exp.column("x", table="u")
    unnest = exp.Unnest(expressions=[e.copy()],
                        alias=exp.TableAlias(this=exp.to_identifier("u"),
                                             columns=[exp.to_identifier("x")]))
    match = exp.In(this=fold(item), expressions=[_text_param(v, ctx) for v in values])
    sub = exp.select("1").from_(unnest, copy=False).where(match, copy=False)
    return exp.Exists(this=sub)


# --------------------------------------------------------------------------
# Nodes


@lru_cache(maxsize=None)
def _select_sql(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read="duckdb")


def source_table(src: Source, alias: str) -> exp.Expression:
    """The FROM item for a source: its table, or its fixed join as a subquery."""
    if src.select_sql is None:
        return exp.Table(this=exp.to_identifier(src.table, quoted=True),
                         alias=exp.TableAlias(this=exp.to_identifier(alias)))
    return exp.Subquery(this=_select_sql(src.select_sql).copy(),
                        alias=exp.TableAlias(this=exp.to_identifier(alias)))


def compile_node(node: Node, src: Source, alias: str, ctx: Context) -> exp.Expression:
    """A predicate true for the records of ``alias`` that match.

    It may be NULL where SQL's three-valued logic gives NULL; NULL always
    means "does not match", which holds because WHERE and COUNT_IF drop it and
    every negation goes through ``negate`` (``NOT COALESCE(p, FALSE)``).
    """
    if isinstance(node, Group):
        return compile_group(node, src, alias, ctx)
    if isinstance(node, FieldCondition):
        return compile_field(node, src, alias, ctx)
    if isinstance(node, RelatedCondition):
        return compile_related(node, src, alias, ctx)
    return compile_segment_ref(node, src, alias, ctx)


def compile_group(group: Group, src: Source, alias: str,
                  ctx: Context) -> exp.Expression:
    parts = [compile_node(c, src, alias, ctx) for c in group.children]
    if not parts:
        return TRUE.copy()  # an empty group restricts nothing
    combined = and_(parts) if group.kind == "all" else or_(parts)
    combined = exp.paren(combined, copy=False) if len(parts) > 1 else combined
    return negate(combined) if group.negated else combined


def compile_field(cond: FieldCondition, src: Source, alias: str,
                  ctx: Context) -> exp.Expression:
    fld = src.field(cond.field)
    if cond.op == "changed_in_last_days":
        return _changed(cond, src, alias, ctx)
    column = col(alias, fld.name)
    if fld.values and cond.op in ("equals", "in", "not_equals", "not_in"):
        positive = _compare_closed_enum(column, cond.op.removeprefix("not_"),
                                        cond.value, ctx)
        pred = negate(positive) if cond.op.startswith("not_") else positive
    else:
        pred = compare(column, fld.type, cond.op, cond.value, ctx)
    return pred


def _changed(cond: FieldCondition, src: Source, alias: str,
             ctx: Context) -> exp.Expression:
    if src.key != "id" or src.select_sql is not None:
        raise CompileError(f"changes are not recorded for {src.label.lower()}")
    fc = ctx.alias()
    when = _compare_date(col(fc, "changed_at"), "datetime", "in_last_days",
                         cond.value, ctx)
    sub = (exp.select(col(fc, "record_id"))
           .from_(exp.Table(this=exp.to_identifier("field_changes", quoted=True),
                            alias=exp.TableAlias(this=exp.to_identifier(fc))))
           .where(and_([
               exp.EQ(this=col(fc, "entity"), expression=exp.Literal.string(src.name)),
               exp.EQ(this=col(fc, "field"), expression=exp.Literal.string(cond.field)),
               when])))
    return in_query(col(alias, "id"), sub)


def _aggregate_expr(cond: RelatedCondition, target: Source, alias: str) -> tuple[
        exp.Expression, str]:
    if cond.quantifier == "count":
        return exp.Count(this=exp.Star()), "number"
    fld = target.field(cond.field)
    column = col(alias, fld.name)
    if cond.quantifier == "sum":
        return exp.Coalesce(this=exp.Sum(this=column),
                            expressions=[exp.Literal.number(0)]), "number"
    agg = exp.Min(this=column) if cond.quantifier == "min" else exp.Max(this=column)
    return agg, fld.type


def zero_passes(op: str, value: Any) -> bool:
    """Whether an aggregate of 0 (count/sum over no records) meets the comparison."""
    checks: dict[str, Callable[[Any], bool]] = {
        "equals": lambda v: v == 0, "not_equals": lambda v: v != 0,
        "gt": lambda v: 0 > v, "gte": lambda v: 0 >= v,
        "lt": lambda v: 0 < v, "lte": lambda v: 0 <= v,
        "between": lambda v: v[0] <= 0 <= v[1],
    }
    return checks[op](value)


def related_rows(cond: RelatedCondition, src: Source, ctx: Context) -> tuple[
        catalog.Relation, Source, str, exp.Select]:
    """``SELECT target_key FROM target WHERE <where> AND key IS NOT NULL``."""
    rel = src.relation(cond.relation)
    target = catalog.source(rel.target)
    alias = ctx.alias()
    key = col(alias, rel.target_key)
    parts = [exp.Not(this=exp.Is(this=key.copy(), expression=exp.null()))]
    if cond.where is not None and cond.where.children:
        parts.append(compile_group(cond.where, target, alias, ctx))
    sub = exp.select(key).from_(source_table(target, alias), copy=False).where(
        and_(parts), copy=False)
    return rel, target, alias, sub


def compile_related(cond: RelatedCondition, src: Source, alias: str,
                    ctx: Context) -> exp.Expression:
    rel, target, r_alias, sub = related_rows(cond, src, ctx)
    outer_key = col(alias, rel.key)
    if cond.quantifier in ("exists", "none"):
        member = in_query(outer_key, sub)
        return member if cond.quantifier == "exists" else negate(member)

    agg, agg_type = _aggregate_expr(cond, target, r_alias)
    key = col(r_alias, rel.target_key)
    grouped = sub.group_by(key, copy=False)
    if cond.quantifier in ("count", "sum") and zero_passes(cond.op, cond.value):
        # Records with no related rows pass (0 meets the comparison): keep
        # everyone except those whose aggregate fails it.
        having = negate(compare(agg, agg_type, cond.op, cond.value, ctx))
        return negate(in_query(outer_key, grouped.having(having, copy=False)))
    having = compare(agg, agg_type, cond.op, cond.value, ctx)
    return in_query(outer_key, grouped.having(having, copy=False))


def compile_segment_ref(ref: SegmentRef, src: Source, alias: str,
                        ctx: Context) -> exp.Expression:
    if ref.segment in ctx.stack:
        cycle = " → ".join(ctx.stack[ctx.stack.index(ref.segment):] + (ref.segment,))
        problem = Problem("", f"segment references form a cycle: {cycle}")
        raise DefinitionError([problem], segment=ctx.stack[0])
    if ctx.resolver is None:
        raise CompileError(f'segment "{ref.segment}" is referenced but no segment '
                           "library was given to look it up")
    try:
        defn = ctx.resolver(ref.segment)
    except SegmentNotFound as err:
        where = f' in segment "{ctx.stack[-1]}"' if ctx.stack else ""
        raise CompileError(f"{err}{where}") from None
    if defn.entity != src.name:
        raise CompileError(f'segment "{defn.id}" selects {defn.entity}, but it is '
                           f"used in a condition on {src.name}")
    return definition_predicate(defn, alias, ctx)


def definition_predicate(defn: Definition, alias: str, ctx: Context) -> exp.Expression:
    """The predicate selecting a definition's members among rows of ``alias``."""
    src = catalog.source(defn.entity)
    outer = ctx.stack
    ctx.stack = outer + (defn.id,)
    try:
        if defn.mode == "static" and ctx.use_snapshots:
            return snapshot_predicate(defn, alias, ctx)
        parts = [compile_group(defn.include, src, alias, ctx)]
        parts += [negate(compile_node(n, src, alias, ctx)) for n in defn.exclude]
        return exp.paren(and_(parts), copy=False) if len(parts) > 1 else parts[0]
    finally:
        ctx.stack = outer


def snapshot_predicate(defn: Definition, alias: str, ctx: Context) -> exp.Expression:
    if defn.snapshot is None:
        raise CompileError(f'static segment "{defn.id}" has no snapshot yet: '
                           "refresh it to freeze its members")
    ids = ctx.param(list(defn.snapshot.ids))
    sub = exp.select(exp.Unnest(expressions=[ids]))
    return in_query(col(alias, "id"), sub)


# --------------------------------------------------------------------------
# Whole queries


@dataclass(frozen=True)
class Compiled:
    """A compiled query and the values of its placeholders."""

    expression: exp.Expression
    params: dict[str, Any]

    def sql(self, dialect: str = "duckdb", pretty: bool = False) -> str:
        return self.expression.sql(dialect=dialect, pretty=pretty)

    def sql_with_values(self, dialect: str = "duckdb") -> str:
        """The SQL with values written in, for reading only, never for running."""
        shown = {k: (v if not isinstance(v, list) or len(v) <= 20 else v[:20])
                 for k, v in self.params.items()}
        filled_in = exp.replace_placeholders(self.expression.copy(), **shown)
        return filled_in.sql(dialect=dialect, pretty=True)


def entity_from(defn: Definition) -> exp.Select:
    src = catalog.source(defn.entity)
    return exp.select().from_(source_table(src, ROOT), copy=False)


def compile_where(defn: Definition, as_of: date, resolver: Resolver | None = None,
                  *, use_snapshots: bool = True) -> tuple[exp.Expression, Context]:
    ctx = Context(as_of, resolver, use_snapshots=use_snapshots)
    return definition_predicate(defn, ROOT, ctx), ctx


def compile_members(defn: Definition, as_of: date, resolver: Resolver | None = None,
                    *, use_snapshots: bool = True) -> Compiled:
    """``SELECT t.id FROM entity AS t WHERE <definition>``."""
    where, ctx = compile_where(defn, as_of, resolver, use_snapshots=use_snapshots)
    query = entity_from(defn).select(col(ROOT, "id"), copy=False).where(
        where, copy=False)
    return Compiled(query, ctx.params)


def compile_count(defn: Definition, as_of: date, resolver: Resolver | None = None,
                  *, use_snapshots: bool = True) -> Compiled:
    where, ctx = compile_where(defn, as_of, resolver, use_snapshots=use_snapshots)
    query = entity_from(defn).select(exp.Count(this=exp.Star()), copy=False).where(
        where, copy=False)
    return Compiled(query, ctx.params)


def leaves(defn: Definition) -> list[tuple[str, Node]]:
    """Entity-level conditions with their paths: the units of explanation.

    A related condition is one unit (its inner conditions are on other
    records); groups are not units, their children are.
    """
    found: list[tuple[str, Node]] = []
    roots = [("include", defn.include)] + [
        (f"exclude[{i}]", n) for i, n in enumerate(defn.exclude)]
    for root_path, root in roots:
        for path, node in walk(root, root_path):
            if isinstance(node, Group):
                continue
            if any(path.startswith(p + ".") for p, _ in found):
                continue  # inside a related condition already listed
            found.append((path, node))
    return found
