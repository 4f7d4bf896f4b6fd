"""The evaluator: run a definition against the store and explain the result.

Everything here takes the DuckDB connection and ``as_of`` as arguments; the
same functions serve the app, notebooks and the command line::

    con = store.connect("data/workbench.duckdb")
    defn = definition.load("data/segments/vip.json")
    evaluator.count(con, defn, as_of=date(2026, 12, 4))
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import pandas as pd
from sqlglot import exp

from workbench import catalog, compiler
from workbench.compiler import ROOT, Compiled, Context, col, compile_node, in_query
from workbench.definition import (
    Definition, FieldCondition, Group, Node, RelatedCondition, Resolver, SegmentRef,
)
from workbench.describe import describe_node

logger = logging.getLogger(__name__)

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def run(con: duckdb.DuckDBPyConnection,
        compiled: Compiled) -> duckdb.DuckDBPyConnection:
    """Execute a compiled query on its own cursor (thread-safe for one caller)."""
    sql = compiled.sql("duckdb")
    started = time.perf_counter()
    cur = con.cursor()
    cur.execute(sql, compiled.params)
    logger.debug("ran in %.3fs: %s", time.perf_counter() - started, sql)
    return cur


def count(con: duckdb.DuckDBPyConnection, defn: Definition, *, as_of: date,
          resolver: Resolver | None = None) -> int:
    """Number of members of ``defn`` as of ``as_of``."""
    return int(run(con, compiler.compile_count(defn, as_of, resolver)).fetchone()[0])


def ids_query(defn: Definition, as_of: date,
              resolver: Resolver | None = None) -> Compiled:
    """``SELECT t.id ... ORDER BY t.id``: the members' ids, ascending."""
    compiled = compiler.compile_members(defn, as_of, resolver)
    return Compiled(compiled.expression.order_by(col(ROOT, "id"), copy=False),
                    compiled.params)


def member_ids(con: duckdb.DuckDBPyConnection, defn: Definition, *, as_of: date,
               resolver: Resolver | None = None) -> list[int]:
    """Ids of the members, ascending."""
    return [int(r[0]) for r in run(con, ids_query(defn, as_of, resolver)).fetchall()]


def members_query(defn: Definition, as_of: date, resolver: Resolver | None = None,
                  *, limit: int | None = None,
                  columns: list[str] | None = None) -> tuple[Compiled, list[str]]:
    """The members with their stored fields (or ``columns``), ordered by id."""
    src = catalog.source(defn.entity)
    names = columns or [f.name for f in src.stored_fields]
    compiled = compiler.compile_members(defn, as_of, resolver)
    query = compiled.expression
    query.set("expressions", [col(ROOT, n) for n in names])
    query = query.order_by(col(ROOT, "id"), copy=False)
    if limit is not None:
        query = query.limit(limit, copy=False)
    return Compiled(query, compiled.params), names


def members(con: duckdb.DuckDBPyConnection, defn: Definition, *, as_of: date,
            resolver: Resolver | None = None, limit: int | None = None,
            columns: list[str] | None = None) -> pd.DataFrame:
    """Members with their stored fields (or ``columns``), ordered by id."""
    query, _ = members_query(defn, as_of, resolver, limit=limit, columns=columns)
    return run(con, query).df()


@dataclass(frozen=True)
class ChannelCounts:
    """Members and how many of them each channel reaches.

    For companies a channel reaches the company when it reaches at least one
    of its contacts; leads have no opt-out list, so reachable = valid.
    """

    total: int
    with_email: int
    with_phone: int
    email_reachable: int
    phone_reachable: int

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)

    @classmethod
    def from_row(cls, row) -> ChannelCounts:
        return cls(*(int(v or 0) for v in row))


def channel_exprs(alias: str, entity: str, ctx: Context) -> list[exp.Expression]:
    email, phone = col(alias, "email"), col(alias, "phone")
    has_email = compiler.filled(email, "email")
    has_phone = compiler.filled(phone, "phone")
    valid_email = exp.and_(has_email, exp.RegexpLike(
        this=exp.Trim(this=email.copy()), expression=exp.Literal.string(EMAIL_PATTERN)))
    if entity != "contacts":
        return [has_email, has_phone, valid_email, has_phone.copy()]

    def opted_out(channel: str) -> exp.Expression:
        sub = (exp.select(exp.column("contact_id", table="o"))
               .from_("opt_outs AS o")
               .where(exp.EQ(this=exp.column("channel", table="o"),
                             expression=exp.Literal.string(channel))))
        return compiler.coalesce_false(in_query(col(alias, "id"), sub))

    return [has_email, has_phone,
            exp.and_(valid_email, exp.Not(this=opted_out("email"))),
            exp.and_(has_phone.copy(), exp.Not(this=opted_out("phone")))]


def channels_query(defn: Definition, as_of: date,
                   resolver: Resolver | None = None) -> Compiled:
    """One row: the member count and the four channel counts."""
    where, ctx = compiler.compile_where(defn, as_of, resolver)
    if defn.entity == "companies":
        reach = company_channels(ctx)
    else:
        reach = [exp.CountIf(this=f) for f in channel_exprs(ROOT, defn.entity, ctx)]
    query = compiler.entity_from(defn).select(
        exp.Count(this=exp.Star()), *reach, copy=False).where(where, copy=False)
    return Compiled(query, ctx.params)


def channel_counts(con: duckdb.DuckDBPyConnection, defn: Definition, *, as_of: date,
                   resolver: Resolver | None = None) -> ChannelCounts:
    """Count members and their reach per channel in one query."""
    row = run(con, channels_query(defn, as_of, resolver)).fetchone()
    return ChannelCounts.from_row(row)


def company_channels(ctx: Context) -> list[exp.Expression]:
    flags = channel_exprs("c", "contacts", ctx)
    per_company = (exp.select(exp.column("company_id", table="c"),
                              *[exp.alias_(exp.func("bool_or", f), f"f{i}")
                                for i, f in enumerate(flags)])
                   .from_("contacts AS c")
                   .group_by(exp.column("company_id", table="c")))
    return [exp.CountIf(this=exp.Coalesce(
        this=exp.Subquery(this=exp.select(f"s.f{i}").from_(
            exp.Subquery(this=per_company.copy(), alias="s")).where(
            exp.EQ(this=exp.column("company_id", table="s"),
                   expression=col(ROOT, "id")))),
        expressions=[exp.false()])) for i in range(4)]


# --------------------------------------------------------------------------
# Explanation


@dataclass(frozen=True)
class ConditionCount:
    """How many records one entity-level condition keeps.

    ``alone``: records meeting it on their own. ``remaining``: for top-level
    steps, records left after it and every step before it (exclusions
    included), else None.
    """

    path: str
    text: str
    alone: int
    remaining: int | None


def condition_counts(con: duckdb.DuckDBPyConnection, defn: Definition, *, as_of: date,
                     resolver: Resolver | None = None) -> list[ConditionCount]:
    """Per-condition counts and the narrowing of the top-level steps, one scan."""
    units = compiler.leaves(defn)
    ctx = Context(as_of, resolver, stack=(defn.id,))
    src = catalog.source(defn.entity)
    flags = [exp.alias_(compile_node(node, src, ROOT, ctx), f"f{i}")
             for i, (_, node) in enumerate(units)]
    if not flags:
        total = count(con, defn, as_of=as_of, resolver=resolver)
        return [ConditionCount("include", "all records", total, total)]
    inner = compiler.entity_from(defn).select(*flags)
    index = {id(node): i for i, (_, node) in enumerate(units)}

    def ref(node: Node) -> exp.Expression:
        if isinstance(node, Group):
            parts = [ref(c) for c in node.children]
            if not parts:
                return exp.true()
            joined = compiler.and_(parts) if node.kind == "all" else compiler.or_(parts)
            joined = exp.paren(joined, copy=False)
            return compiler.negate(joined) if node.negated else joined
        return exp.column(f"f{index[id(node)]}")

    steps = _steps(defn, ref)
    outer = [exp.CountIf(this=exp.column(f"f{i}")) for i in range(len(units))]
    outer += [exp.CountIf(this=s) for _, s in steps]
    query = exp.select(*outer).from_(exp.Subquery(this=inner, alias="flags"))
    row = run(con, Compiled(query, ctx.params)).fetchone()
    alone = row[:len(units)]
    remaining = dict(zip((p for p, _ in steps), row[len(units):]))
    return [ConditionCount(path, describe_node(node, src), int(alone[i]),
                           None if path not in remaining else int(remaining[path]))
            for i, (path, node) in enumerate(units)]


def _steps(defn: Definition, ref) -> list[tuple[str, exp.Expression]]:
    """Cumulative predicates after each top-level include child and exclusion."""
    inc = defn.include
    steps: list[tuple[str, exp.Expression]] = []
    taken: list[exp.Expression] = []
    for i, child in enumerate(inc.children):
        taken.append(ref(child))
        joined = compiler.and_([t.copy() for t in taken]) if inc.kind == "all" \
            else compiler.or_([t.copy() for t in taken])
        if inc.negated:
            joined = compiler.negate(joined)
        steps.append((f"include.{inc.key}[{i}]", joined))
    base = steps[-1][1] if steps else exp.true()
    for i, node in enumerate(defn.exclude):
        base = exp.and_(base.copy(), compiler.negate(ref(node)))
        steps.append((f"exclude[{i}]", base))
    return steps


@dataclass(frozen=True)
class ConditionVerdict:
    path: str
    text: str
    met: bool
    seen: Any  # the field value, or the number / aggregate of related records


@dataclass(frozen=True)
class RecordExplanation:
    record_id: int
    exists: bool
    member: bool
    included: bool
    verdicts: list[ConditionVerdict]
    excluded_by: list[str]  # paths of the exclusions that removed the record


def explain_record(con: duckdb.DuckDBPyConnection, defn: Definition, record_id: int,
                   *, as_of: date,
                   resolver: Resolver | None = None) -> RecordExplanation:
    """For one record: every condition met or not, with the values seen."""
    src = catalog.source(defn.entity)
    ctx = Context(as_of, resolver, stack=(defn.id,))
    units = compiler.leaves(defn)
    selects: list[exp.Expression] = []
    for _, node in units:
        selects.append(compile_node(node, src, ROOT, ctx))
        selects.append(_seen(node, src, ctx))
    include = compiler.compile_group(defn.include, src, ROOT, ctx)
    excludes = [compile_node(n, src, ROOT, ctx) for n in defn.exclude]
    selects += [include] + excludes
    query = compiler.entity_from(defn).select(*selects).where(
        exp.EQ(this=col(ROOT, "id"), expression=ctx.param(int(record_id))))
    row = run(con, Compiled(query, ctx.params)).fetchone()
    if row is None:
        return RecordExplanation(int(record_id), False, False, False, [], [])
    verdicts = [ConditionVerdict(path, describe_node(node, src), bool(row[2 * i]),
                                 _plain(row[2 * i + 1]))
                for i, (path, node) in enumerate(units)]
    tail = row[2 * len(units):]
    included = bool(tail[0])
    excluded_by = [f"exclude[{i}]" for i, hit in enumerate(tail[1:]) if hit]
    member = included and not excluded_by
    if defn.mode == "static" and defn.snapshot is not None:
        member = int(record_id) in set(defn.snapshot.ids)
    return RecordExplanation(int(record_id), True, member, included, verdicts,
                             excluded_by)


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
    if hasattr(value, "as_integer_ratio") and not isinstance(value, (int, float)):
        return float(value)
    return value


def _seen(node: Node, src: catalog.Source, ctx: Context) -> exp.Expression:
    """What the explanation shows beside a condition for one record."""
    if isinstance(node, FieldCondition):
        if node.op == "changed_in_last_days":
            sub = (exp.select(exp.Max(this=exp.column("changed_at", table="fc")))
                   .from_("field_changes AS fc")
                   .where(exp.and_(
                       exp.EQ(this=exp.column("entity", table="fc"),
                              expression=exp.Literal.string(src.name)),
                       exp.EQ(this=exp.column("field", table="fc"),
                              expression=exp.Literal.string(node.field)),
                       exp.EQ(this=exp.column("record_id", table="fc"),
                              expression=col(ROOT, "id")))))
            return exp.Subquery(this=sub)
        return col(ROOT, node.field)
    if isinstance(node, SegmentRef):
        return exp.null()
    assert isinstance(node, RelatedCondition)
    rel, target, alias, sub = compiler.related_rows(node, src, ctx)
    if node.quantifier in ("exists", "none", "count"):
        agg: exp.Expression = exp.Count(this=exp.Star())
    else:
        agg, _ = compiler._aggregate_expr(node, target, alias)
    correlated = sub.where(exp.EQ(this=col(alias, rel.target_key),
                                  expression=col(ROOT, rel.key)))
    correlated.set("expressions", [agg])
    return exp.Subquery(this=correlated)
