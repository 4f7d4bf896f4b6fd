"""Size history: a segment's size at past dates, as if evaluated as of each.

``history(con, defn, dates)`` returns, for every date D, exactly
``evaluator.count(con, defn, as_of=D)`` (with ``existing_only=False``; see
below for the default), computed by one of two paths.

**Interval path** (one query, whatever the number of dates). A definition's
dependence on ``as_of`` comes only from relative-date conditions. For each
record we compute the days on which each time-dependent condition holds, as
intervals whose edges are events (+1 when a window opens, -1 when it closes,
or +amount/-amount for a sum), take a running sum per record over those
events, evaluate the whole definition at each event day to get the days on
which the record enters and leaves, and sweep the entries and exits of all
records into a size per day. Conditions that do not depend on ``as_of`` are
computed once per record as flags. Shapes that take this path, combined in
any way by all / any / none groups, exclusions and segment references:

* a relative date on a field of the entity (in_last_days,
  more_than_days_ago, exactly_days_ago), e.g. "lead created in the last 30
  days";
* "changed in the last N days" on a field of the entity (from field changes);
* a related-record condition (exists, none, count, sum) whose ``where`` is an
  ``all`` group of conditions that do not depend on ``as_of`` and relative
  dates on fields of the related record, e.g. "a won deal closed in the
  last 60 days", "at least 2 visits to /pricing in the last 14 days", "won
  deals closed in the last 365 days add up to more than 100,000";
* min / max of a date of related records compared with a relative date,
  when the ``where`` does not depend on ``as_of``, e.g. "last won deal more
  than 180 days ago";
* anything that does not depend on ``as_of`` (it is constant over time).

**Batch path** (one evaluation per date, compiled and run in a loop) for
every other time-dependent shape: a relative date inside an ``any`` or
``none`` group of a related condition's ``where``, min / max over records
in a moving window, "changed in the last N days" on related records,
relative dates on records two relations away. ``path_for(defn)`` says
which path a definition takes and why.

**What "as of a past date" reconstructs.** Only the reference day of the
relative dates moves; the data is today's. So:

* records created after D are present in today's data. By default
  (``existing_only=True``) history leaves out entity records whose
  ``created_at`` is after D (records with no creation date count at every
  date); with ``existing_only=False`` it equals ``evaluator.count`` as of D
  exactly. Related records are never filtered by their creation date, but
  a related record dated after D never meets a relative-date condition
  (a future date matches none), so windowed conditions see the past right;
* fields hold today's values: a deal won last week was "open" a month ago
  but counts as "won" at every date; a contact's past city is known only
  where field changes recorded it, and history does not replay them;
* opt-outs and mailings dated after D still count as if they had happened
  (opt-out conditions carry no date window), so "unsubscribed" does not
  shrink into the past;
* static segments answer from their frozen member list at every date.
"""

from __future__ import annotations

import calendar
import logging
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final, Literal

import duckdb
import numpy as np
import pandas as pd
from sqlglot import exp

from workbench import catalog, compiler, evaluator
from workbench.catalog import DATE_TYPES, Source
from workbench.compiler import ROOT, Compiled, Context, col
from workbench.definition import (
    Definition, DefinitionError, FieldCondition, Group, Node, Problem,
    RelatedCondition, Resolver, SegmentRef, walk,
)
from workbench.errors import WorkbenchError

logger = logging.getLogger(__name__)

Every = Literal["day", "week", "month"]
HistoryPath = Literal["interval", "batch"]
RELATIVE_OPS: Final = ("in_last_days", "more_than_days_ago", "exactly_days_ago")
TIME_OPS: Final = RELATIVE_OPS + ("changed_in_last_days",)
MAX_DATES: Final = 3660
# Dates analysis accepts: wide for any CRM, far enough from the calendar's
# ends (years 1 and 9999) that a year back or a forecast ahead stays inside.
FIRST_DAY: Final = date(1900, 1, 1)
LAST_DAY: Final = date(2199, 12, 31)


class HistoryError(WorkbenchError, ValueError):
    """A history cannot be computed as asked (dates, range)."""


class _NotInterval(Exception):
    """The definition has a time-dependent shape the interval path lacks."""


# --------------------------------------------------------------------------
# Dates


def check_day(day: date, what: str = "date") -> date:
    """``day`` if it lies in the range analysis supports, else a HistoryError.

    Histories step back a year and forecasts step ahead up to ten years, so
    days far from the present (``0001-01-01``, ``9999-12-31``) are refused
    here rather than overflowing the calendar in the middle of a step.
    """
    if not FIRST_DAY <= day <= LAST_DAY:
        raise HistoryError(f"{what} {day} is outside the supported range "
                           f"{FIRST_DAY} to {LAST_DAY}")
    return day


def step(day: date, every: Every, k: int) -> date:
    """``day`` moved ``k`` steps (negative: back); month ends are clipped.

    >>> step(date(2026, 1, 31), "month", 1)
    datetime.date(2026, 2, 28)
    """
    if every == "day":
        return day + timedelta(days=k)
    if every == "week":
        return day + timedelta(weeks=k)
    month = day.year * 12 + day.month - 1 + k
    year, month = divmod(month, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def date_series(start: date, end: date, every: Every = "week",
                anchor: Literal["start", "end"] = "start") -> list[date]:
    """Dates from ``start`` to ``end`` every day, week or month.

    With ``anchor="start"`` (the default) the first date is ``start`` and
    the last is the last step on or before ``end``. With ``anchor="end"``
    the last date is ``end`` (usually today) and the series steps back, the
    first date being the first step on or after ``start``: a forecast needs
    the present as its last point. A month step keeps the anchor's day,
    clipped to the month's end.

    >>> date_series(date(2026, 1, 1), date(2026, 1, 20), "week")
    [datetime.date(2026, 1, 1), datetime.date(2026, 1, 8), datetime.date(2026, 1, 15)]
    >>> date_series(date(2026, 1, 1), date(2026, 1, 20), "week", anchor="end")
    [datetime.date(2026, 1, 6), datetime.date(2026, 1, 13), datetime.date(2026, 1, 20)]
    """
    check_day(start, "the first day")
    check_day(end, "the last day")
    if start > end:
        raise HistoryError(f"the range starts after it ends: {start} > {end}")
    if every not in ("day", "week", "month"):
        raise HistoryError(f'every is "day", "week" or "month", got {every!r}')
    if anchor not in ("start", "end"):
        raise HistoryError(f'anchor is "start" or "end", got {anchor!r}')
    out: list[date] = []
    sign, origin = (1, start) if anchor == "start" else (-1, end)
    for k in range(MAX_DATES + 1):
        d = step(origin, every, sign * k)
        if not start <= d <= end:
            break
        out.append(d)
    else:
        raise HistoryError(f"more than {MAX_DATES} dates from {start} to {end} "
                           f"every {every}; choose a longer step")
    return out if anchor == "start" else out[::-1]


# --------------------------------------------------------------------------
# Which path


def _resolve(ref: SegmentRef, src: Source, resolver: Resolver | None,
             stack: tuple[str, ...]) -> Definition:
    if ref.segment in stack:
        cycle = " → ".join(stack[stack.index(ref.segment):] + (ref.segment,))
        raise DefinitionError([Problem("", f"segment references form a cycle: {cycle}")],
                              segment=stack[0] if stack else None)
    if resolver is None:
        raise compiler.CompileError(f'segment "{ref.segment}" is referenced but no '
                                    "segment library was given to look it up")
    defn = resolver(ref.segment)
    if defn.entity != src.name:
        raise compiler.CompileError(f'segment "{defn.id}" selects {defn.entity}, but '
                                    f"it is used in a condition on {src.name}")
    return defn


def timed(node: Node, src: Source, resolver: Resolver | None,
          stack: tuple[str, ...] = ()) -> bool:
    """Whether a node's truth depends on ``as_of`` (through references too)."""
    for _, sub in walk(node):
        if isinstance(sub, FieldCondition) and sub.op in TIME_OPS:
            return True
        if isinstance(sub, RelatedCondition) and sub.op in RELATIVE_OPS:
            return True
        if isinstance(sub, SegmentRef):
            defn = _resolve(sub, src, resolver, stack)
            if defn.mode == "dynamic" and _definition_timed(defn, resolver,
                                                            stack + (defn.id,)):
                return True
    return False


def _definition_timed(defn: Definition, resolver: Resolver | None,
                      stack: tuple[str, ...]) -> bool:
    src = catalog.source(defn.entity)
    return any(timed(n, src, resolver, stack) for n in (defn.include, *defn.exclude))


def path_for(defn: Definition,
             resolver: Resolver | None = None) -> tuple[HistoryPath, str]:
    """``("interval", "")`` or ``("batch", why)`` for this definition."""
    try:
        _plan(defn, date(2000, 1, 1), resolver, existing_only=False)
    except _NotInterval as why:
        return "batch", str(why)
    return "interval", ""


# --------------------------------------------------------------------------
# The interval plan


@dataclass
class _Plan:
    """Flags, interval sources and the formula of one definition.

    ``flags[j]`` is a predicate over the entity row (column ``s{j}``);
    ``intervals[i]`` is a query of ``(id, s, e, w)``: record ``id`` gets weight
    ``w`` on days ``s <= D < e`` (``e`` NULL: forever), whose running sum is
    column ``c{i}``; ``formula`` is the definition over those columns.
    """

    ctx: Context
    flags: list[exp.Expression] = field(default_factory=list)
    intervals: list[exp.Select] = field(default_factory=list)
    formula: exp.Expression | None = None

    def flag(self, predicate: exp.Expression) -> exp.Expression:
        self.flags.append(compiler.coalesce_false(predicate))
        return exp.column(f"s{len(self.flags) - 1}")

    def interval(self, query: exp.Select) -> exp.Expression:
        self.intervals.append(query)
        return exp.column(f"c{len(self.intervals) - 1}")


def _day(e: exp.Expression) -> exp.Expression:
    return exp.Cast(this=e, to=exp.DataType.build("DATE"))


def _plus(day: exp.Expression, days: int, ctx: Context) -> exp.Expression:
    n = exp.Cast(this=ctx.param(int(days)), to=exp.DataType.build("INTEGER"))
    return exp.paren(exp.Add(this=day.copy(), expression=n), copy=False)


def _window(value: exp.Expression, op: str, days: int,
            ctx: Context) -> tuple[exp.Expression, exp.Expression | None]:
    """Days D on which ``value <op> days`` holds, as ``[s, e)``.

    With ``age = D - day(value)``: in the last N days is ``0 <= age < N``,
    more than N days ago is ``age > N``, exactly N days ago is ``age = N``.
    """
    day = _day(value)
    if op == "in_last_days":
        return day, _plus(day, days, ctx)
    if op == "more_than_days_ago":
        return _plus(day, days + 1, ctx), None
    return _plus(day, days, ctx), _plus(day, days + 1, ctx)


def _interval_query(source: exp.Expression, owner: exp.Expression,
                    windows: list[tuple[exp.Expression, exp.Expression | None]],
                    weight: exp.Expression, where: exp.Expression) -> exp.Select:
    """``SELECT owner AS id, greatest(starts) AS s, least(ends) AS e, w ...``."""
    starts = [s for s, _ in windows]
    ends = [e for _, e in windows if e is not None]
    s = starts[0] if len(starts) == 1 else exp.func("greatest", *starts)
    e: exp.Expression = exp.null()
    if ends:
        e = ends[0] if len(ends) == 1 else exp.func("least", *ends)
    return exp.select(exp.alias_(owner, "id"), exp.alias_(s, "s"), exp.alias_(e, "e"),
                      exp.alias_(weight, "w")).from_(source).where(where)


def _plan(defn: Definition, last: date, resolver: Resolver | None, *,
          existing_only: bool) -> _Plan:
    ctx = Context(last, resolver)
    plan = _Plan(ctx)
    src = catalog.source(defn.entity)
    plan.formula = _lower_definition(defn, src, plan, ())
    if existing_only:
        created = col(ROOT, "created_at")
        always = plan.flag(exp.Is(this=created.copy(), expression=exp.null()))
        since = plan.interval(_interval_query(
            compiler.source_table(src, ROOT), col(ROOT, "id"),
            [(_day(created), None)], exp.Literal.number(1),
            exp.Not(this=exp.Is(this=created.copy(), expression=exp.null()))))
        exists = exp.paren(exp.or_(always, _positive(since)), copy=False)
        plan.formula = exp.and_(exists, exp.paren(plan.formula, copy=False))
    return plan


def _positive(c: exp.Expression) -> exp.Expression:
    return exp.GT(this=c.copy(), expression=exp.Literal.number(0))


def _lower_definition(defn: Definition, src: Source, plan: _Plan,
                      parents: tuple[str, ...]) -> exp.Expression:
    ctx = plan.ctx
    stack = parents + (defn.id,)
    if defn.mode == "static" or not _definition_timed(defn, ctx.resolver, stack):
        saved, ctx.stack = ctx.stack, parents
        try:
            return plan.flag(compiler.definition_predicate(defn, ROOT, ctx))
        finally:
            ctx.stack = saved
    parts = [_lower(defn.include, src, plan, stack)]
    parts += [compiler.negate(_lower(n, src, plan, stack)) for n in defn.exclude]
    return exp.paren(compiler.and_(parts), copy=False) if len(parts) > 1 else parts[0]


def _lower(node: Node, src: Source, plan: _Plan,
           stack: tuple[str, ...]) -> exp.Expression:
    """The node as a formula over flag and running-sum columns."""
    ctx = plan.ctx
    if not timed(node, src, ctx.resolver, stack):
        saved, ctx.stack = ctx.stack, stack
        try:
            return plan.flag(compiler.compile_node(node, src, ROOT, ctx))
        finally:
            ctx.stack = saved
    if isinstance(node, Group):
        parts = [_lower(c, src, plan, stack) for c in node.children]
        joined = compiler.and_(parts) if node.kind == "all" else compiler.or_(parts)
        joined = exp.paren(joined, copy=False) if len(parts) > 1 else joined
        return compiler.negate(joined) if node.negated else joined
    if isinstance(node, SegmentRef):
        defn = _resolve(node, src, ctx.resolver, stack)
        return _lower_definition(defn, src, plan, stack)
    if isinstance(node, FieldCondition):
        return _positive(plan.interval(_field_interval(node, src, ctx)))
    return _lower_related(node, src, plan, stack)


def _field_interval(cond: FieldCondition, src: Source, ctx: Context) -> exp.Select:
    table = compiler.source_table(src, ROOT)
    if cond.op == "changed_in_last_days":
        if src.key != "id" or src.select_sql is not None:
            raise compiler.CompileError(
                f"changes are not recorded for {src.label.lower()}")
        # Each recorded change opens a window [day, day + N); overlapping
        # windows add up, and "> 0" reads them as one.
        changes = exp.Table(this=exp.to_identifier("field_changes", quoted=True),
                            alias=exp.TableAlias(this=exp.to_identifier("fc")))
        where = compiler.and_([
            exp.EQ(this=col("fc", "entity"), expression=exp.Literal.string(src.name)),
            exp.EQ(this=col("fc", "field"), expression=exp.Literal.string(cond.field)),
            exp.Not(this=exp.Is(this=col("fc", "changed_at"), expression=exp.null()))])
        window = _window(col("fc", "changed_at"), "in_last_days", cond.value, ctx)
        query = _interval_query(changes, col(ROOT, "id"), [window],
                                exp.Literal.number(1), where)
        return query.join(table, on=exp.EQ(this=col(ROOT, "id"),
                                           expression=col("fc", "record_id")))
    value = col(ROOT, cond.field)
    window = _window(value, cond.op, cond.value, ctx)
    not_null = exp.Not(this=exp.Is(this=value.copy(), expression=exp.null()))
    return _interval_query(table, col(ROOT, "id"), [window], exp.Literal.number(1),
                           not_null)


def _split_where(cond: RelatedCondition, target: Source, ctx: Context,
                 stack: tuple[str, ...]) -> tuple[list[Node], list[FieldCondition]]:
    """Children of ``where`` that do not depend on ``as_of``, and relative dates."""
    where = cond.where
    if where is None or not timed(where, target, ctx.resolver, stack):
        return list(where.children) if where is not None else [], []
    if where.kind != "all" or where.negated:
        raise _NotInterval(f'a relative date inside "{where.key}" in the conditions '
                           f"on {cond.relation}")
    fixed: list[Node] = []
    relative: list[FieldCondition] = []
    for child in where.children:
        if not timed(child, target, ctx.resolver, stack):
            fixed.append(child)
        elif (isinstance(child, FieldCondition) and child.op in RELATIVE_OPS
              and target.field(child.field).type in DATE_TYPES):
            relative.append(child)
        else:
            raise _NotInterval(f"a time-dependent condition on {cond.relation} that is "
                               "not a relative date of the record itself")
    return fixed, relative


def _lower_related(cond: RelatedCondition, src: Source, plan: _Plan,
                   stack: tuple[str, ...]) -> exp.Expression:
    ctx = plan.ctx
    rel = src.relation(cond.relation)
    target = catalog.source(rel.target)
    fixed, relative = _split_where(cond, target, ctx, stack)
    r = ctx.alias()
    key = col(r, rel.target_key)
    parts = [exp.Not(this=exp.Is(this=key.copy(), expression=exp.null()))]
    if fixed:
        parts.append(compiler.compile_group(Group("all", tuple(fixed)), target, r, ctx))
    # The owner's id: the entity row whose key the related record points at.
    on = exp.EQ(this=col(ROOT, rel.key), expression=key.copy())

    if not relative:  # min / max of a date compared with a relative date
        if cond.quantifier not in ("min", "max"):
            raise _NotInterval(f"{cond.quantifier} compared with a relative date")
        agg, _ = compiler._aggregate_expr(cond, target, r)
        grouped = (exp.select(exp.alias_(key.copy(), "k"), exp.alias_(agg, "v"))
                   .from_(compiler.source_table(target, r)).where(compiler.and_(parts))
                   .group_by(key.copy()))
        g = exp.Subquery(this=grouped, alias="g")
        window = _window(exp.column("v", table="g"), cond.op, cond.value, ctx)
        query = _interval_query(g, col(ROOT, "id"), [window], exp.Literal.number(1),
                                exp.Not(this=exp.Is(this=exp.column("v", table="g"),
                                                    expression=exp.null())))
        query = query.join(compiler.source_table(src, ROOT),
                           on=exp.EQ(this=col(ROOT, rel.key),
                                     expression=exp.column("k", table="g")))
        return _positive(plan.interval(query))

    if cond.quantifier in ("min", "max"):
        raise _NotInterval(f"{cond.quantifier} over {cond.relation} in a moving window")
    windows = [_window(col(r, c.field), c.op, c.value, ctx) for c in relative]
    parts += [exp.Not(this=exp.Is(this=col(r, c.field), expression=exp.null()))
              for c in relative]
    weight: exp.Expression = exp.Literal.number(1)
    if cond.quantifier == "sum":
        weight = exp.Coalesce(this=col(r, cond.field),
                              expressions=[exp.Literal.number(0)])
    query = _interval_query(compiler.source_table(target, r), col(ROOT, "id"), windows,
                            weight, compiler.and_(parts))
    query = query.join(compiler.source_table(src, ROOT), on=on)
    running = plan.interval(query)
    if cond.quantifier == "exists":
        return _positive(running)
    if cond.quantifier == "none":
        return exp.Not(this=exp.paren(_positive(running), copy=False))
    return compiler.coalesce_false(compiler.compare(running, "number", cond.op,
                                                    cond.value, ctx))


# --------------------------------------------------------------------------
# The sweep


def _sweep_sql(plan: _Plan, defn: Definition, first: date,
               last: date) -> tuple[str, dict]:
    """SQL giving the members on ``first`` and the moves after it, by day.

    Only intervals that reach into ``[first, last]`` are read. A window open
    on ``first`` counts in the record's starting state (``k``) instead of
    as an event, so records created or windows opened long ago cost one
    grouped row, not a place in the sweep. Rendered as DuckDB text around
    sqlglot-built parts; every value is a parameter of ``plan.ctx``.
    """
    ctx = plan.ctx
    render = lambda e: e.sql(dialect="duckdb")  # noqa: E731
    n = len(plan.intervals)
    flags = ", ".join(f"{render(f)} AS s{j}" for j, f in enumerate(plan.flags))
    flags = ", " + flags if flags else ""
    table = render(compiler.source_table(catalog.source(defn.entity), ROOT))
    formula = render(compiler.coalesce_false(plan.formula))
    if n == 0:  # nothing depends on as_of: one count, no moves
        return (f"SELECT NULL::DATE AS day, count_if({formula}) AS entered, 0 AS left "
                f"FROM (SELECT {ROOT}.id{flags} FROM {table})"), ctx.params
    first_p, last_p = render(ctx.param(first)), render(ctx.param(last))
    leaves = range(n)
    ivs = " UNION ALL ".join(
        f"SELECT {i} AS leaf, id, s, e, w FROM ({render(q)})"
        for i, q in enumerate(plan.intervals))
    starts = ", ".join(f"sum(w) FILTER (WHERE leaf = {i}) AS k{i}" for i in leaves)
    deltas = ", ".join(f"sum(delta) FILTER (WHERE leaf = {i}) AS d{i}" for i in leaves)
    running = ", ".join(f"sum(d{i}) OVER w AS r{i}" for i in leaves)
    states = ", ".join(f"coalesce(k{i}, 0) + coalesce(r{i}, 0) AS c{i}"
                       for i in leaves)
    at_start = ", ".join(f"coalesce(k{i}, 0) AS c{i}" for i in leaves)
    sql = f"""
WITH iv AS (
  SELECT * FROM ({ivs})
  WHERE s IS NOT NULL AND s <= {last_p} AND (e IS NULL OR (s < e AND e > {first_p}))),
k AS (SELECT id, {starts} FROM iv WHERE s <= {first_p} GROUP BY id),
ev AS (
  SELECT id, leaf, s AS day, w AS delta FROM iv WHERE s > {first_p}
  UNION ALL
  SELECT id, leaf, e AS day, -w AS delta FROM iv WHERE e <= {last_p}),
steps AS (SELECT id, day, {deltas} FROM ev GROUP BY id, day),
runs AS (
  SELECT id, day, {running} FROM steps
  WINDOW w AS (PARTITION BY id ORDER BY day ROWS UNBOUNDED PRECEDING)),
flags AS (SELECT {ROOT}.id{flags} FROM {table}),
base AS (
  SELECT id, {formula} AS m0
  FROM (SELECT flags.*, {at_start} FROM flags LEFT JOIN k USING (id))),
at_events AS (
  SELECT runs.id, runs.day, base.m0, {formula} AS m
  FROM (SELECT runs.id, runs.day, {states} FROM runs LEFT JOIN k USING (id)) AS runs
  JOIN flags USING (id) JOIN base USING (id)),
moves AS (
  SELECT day, m::INTEGER - (lag(m, 1, m0) OVER (PARTITION BY id ORDER BY day))::INTEGER
    AS delta
  FROM at_events)
SELECT NULL::DATE AS day, count_if(m0) AS entered, 0 AS left FROM base
UNION ALL
SELECT day, count_if(delta > 0), count_if(delta < 0) FROM moves
WHERE delta <> 0 GROUP BY day
"""
    return sql, ctx.params


@dataclass(frozen=True)
class History:
    """Sizes at dates, with entries and exits since the previous date.

    ``entered[k]`` / ``left[k]`` count membership changes after
    ``dates[k-1]`` up to ``dates[k]`` (None for the first date, and for all
    dates on the batch path). A record that enters and leaves within one
    step counts in both.
    """

    segment: str
    dates: list[date]
    sizes: list[int]
    path: HistoryPath
    reason: str
    existing_only: bool
    entered: list[int | None]
    left: list[int | None]
    seconds: float

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"date": pd.to_datetime(self.dates), "size": self.sizes,
                             "entered": self.entered, "left": self.left})

    def table(self) -> pd.DataFrame:
        """The sizes for display: days, whole numbers, plain labels.

        Moves are text ("" where none is known: the first date, and every
        date on the batch path), so an unknown move shows blank, not None;
        on the batch path the two move columns are left out.
        """
        frame = pd.DataFrame({"Date": list(self.dates), "Size": list(self.sizes)})
        if self.path == "batch":
            return frame
        moves = lambda xs: ["" if x is None else f"{x:,}" for x in xs]  # noqa: E731
        return frame.assign(**{"Entered since the previous date": moves(self.entered),
                               "Left since the previous date": moves(self.left)})


def _interval_history(con: duckdb.DuckDBPyConnection, plan: _Plan, defn: Definition,
                      dates: list[date]) -> tuple[list[int], list, list]:
    """Sizes and moves per date from the transitions of one sweep."""
    sql, params = _sweep_sql(plan, defn, dates[0], dates[-1])
    logger.debug("history sweep: %s", sql)
    frame = con.cursor().execute(sql, params).df()
    base = int(frame.loc[frame["day"].isna(), "entered"].sum())
    moves = frame[frame["day"].notna()]
    days = pd.to_datetime(moves["day"]).to_numpy(dtype="datetime64[D]")
    order = np.argsort(days)
    days = days[order]
    ins = np.cumsum(moves["entered"].to_numpy(dtype=np.int64)[order])
    outs = np.cumsum(moves["left"].to_numpy(dtype=np.int64)[order])
    at = np.searchsorted(days, np.array(dates, dtype="datetime64[D]"), side="right")
    cum_in = np.concatenate([[0], ins])[at]
    cum_out = np.concatenate([[0], outs])[at]
    sizes = [int(base + i - o) for i, o in zip(cum_in, cum_out)]
    entered = [None] + [int(v) for v in np.diff(cum_in)]
    left = [None] + [int(v) for v in np.diff(cum_out)]
    return sizes, entered, left


def existing_on(defn: Definition, day: date, ctx: Context) -> exp.Expression:
    """Created on or before ``day``, or with no creation date."""
    created = col(ROOT, "created_at")
    return exp.paren(exp.or_(
        exp.Is(this=created.copy(), expression=exp.null()),
        exp.LT(this=created.copy(), expression=ctx.param(
            compiler.day_start(day + timedelta(days=1), "datetime")))), copy=False)


def count_as_of(con: duckdb.DuckDBPyConnection, defn: Definition, day: date, *,
                resolver: Resolver | None = None, existing_only: bool = True) -> int:
    """One full evaluation as of ``day``: the batch path's step."""
    where, ctx = compiler.compile_where(defn, day, resolver)
    if existing_only:
        where = exp.and_(existing_on(defn, day, ctx), exp.paren(where, copy=False))
    query = compiler.entity_from(defn).select(exp.Count(this=exp.Star())).where(where)
    return int(evaluator.run(con, Compiled(query, ctx.params)).fetchone()[0])


def history(con: duckdb.DuckDBPyConnection, defn: Definition, dates: list[date], *,
            resolver: Resolver | None = None, existing_only: bool = True,
            method: Literal["auto", "interval", "batch"] = "auto") -> History:
    """The segment's size at each date, as if evaluated as of that date.

    Args:
        con: the workbench database.
        defn: the segment.
        dates: the days to size (any order; returned ascending, unique).
        resolver: looks up referenced segments (a ``Library``).
        existing_only: leave out records created after each date (see the
            module docstring); False reproduces ``evaluator.count`` exactly.
        method: "auto" takes the interval path when the definition allows it.

    Returns:
        A ``History`` with the sizes and which path computed them.
    """
    if not dates:
        raise HistoryError("history needs at least one date")
    dates = sorted(set(dates))
    check_day(dates[0], "the first date")
    check_day(dates[-1], "the last date")
    started = time.perf_counter()
    path, reason = "batch", "asked for"
    plan = None
    if method != "batch":
        try:
            plan = _plan(defn, dates[-1], resolver, existing_only=existing_only)
            path, reason = "interval", ""
        except _NotInterval as why:
            if method == "interval":
                raise HistoryError(f'segment "{defn.id}" cannot take the interval '
                                   f"path: {why}") from None
            reason = str(why)
            logger.info("history of %s takes the batch path: %s", defn.id, why)
    if plan is not None:
        sizes, entered, left = _interval_history(con, plan, defn, dates)
    else:
        sizes = [count_as_of(con, defn, d, resolver=resolver,
                             existing_only=existing_only) for d in dates]
        entered = left = [None] * len(dates)
    return History(defn.id, dates, sizes, path, reason, existing_only, entered, left,
                   time.perf_counter() - started)


# --------------------------------------------------------------------------
# Who entered and who left


@dataclass(frozen=True)
class Movement:
    """Members at two dates compared: who came in and who went out."""

    start: date
    end: date
    size_start: int
    size_end: int
    entered: list[int]
    left: list[int]
    stayed: int


def member_ids_as_of(con: duckdb.DuckDBPyConnection, defn: Definition, day: date, *,
                     resolver: Resolver | None = None,
                     existing_only: bool = True) -> list[int]:
    """Member ids as of ``day``, ascending (``existing_only`` as in history)."""
    where, ctx = compiler.compile_where(defn, day, resolver)
    if existing_only:
        where = exp.and_(existing_on(defn, day, ctx), exp.paren(where, copy=False))
    query = (compiler.entity_from(defn).select(col(ROOT, "id")).where(where)
             .order_by(col(ROOT, "id")))
    return [int(r[0]) for r in evaluator.run(con, Compiled(query, ctx.params)).fetchall()]


def entered_left(con: duckdb.DuckDBPyConnection, defn: Definition, d1: date, d2: date,
                 *, resolver: Resolver | None = None,
                 existing_only: bool = True) -> Movement:
    """Who is a member as of ``d2`` but not ``d1`` (entered), and the reverse."""
    if d1 > d2:
        raise HistoryError(f"the first date is after the second: {d1} > {d2}")
    before = member_ids_as_of(con, defn, d1, resolver=resolver,
                              existing_only=existing_only)
    after = member_ids_as_of(con, defn, d2, resolver=resolver,
                             existing_only=existing_only)
    old, new = set(before), set(after)
    return Movement(d1, d2, len(before), len(after), sorted(new - old),
                    sorted(old - new), len(old & new))
