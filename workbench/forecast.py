"""Forecast a segment's size, with a prediction interval and a backtest.

Two things are reported side by side, because they answer different
questions:

* **The statistical forecast** is fitted on the size history (one value per
  day, week or month, see ``workbench.history``). By default (``"auto"``)
  the model chooses itself: each candidate is fitted on the history without
  its last ``k`` points (a quarter of the history), forecasts them, and the
  one with the lowest mean absolute error on those points is refitted on the
  whole history. The candidates are ``"linear"``, an ordinary least squares
  line ``size = a + b * t`` over the step number (statsmodels ``OLS``, OLS
  prediction interval); ``"holt"``, Holt's linear trend (statsmodels
  ``ETSModel``, additive error and trend, state space interval);
  ``"damped"``, the same with a damped trend; and ``"drift"``, the last
  value plus the average step so far (random-walk interval from the
  standard deviation of the steps). Each can also be asked for by name.
  None of them knows about calendars or campaigns.
* **Known moves** are exact: the size at each future date computed from
  today's data, i.e. what the segment becomes if no new record or event
  arrives. For relative-date definitions this is where the calendar alone
  moves records: a contact in "won a deal in the last 60 days" leaves 60
  days after that deal; a contact enters "last won deal more than 180 days
  ago" on day 181 unless a new deal comes. ``known_left`` and
  ``known_entered`` count those moves per period. For a definition without
  relative dates the known line is flat.

The two are not blended into one number: the trend already contains the
usual outflow of windowed segments, and adding the scheduled outflow on top
would count it twice. Read the known line as "before anything new happens"
and the forecast as "if the past trend continues".

**The interval is calibrated on the backtest.** A model's own interval
assumes independent errors; segment sizes drift in runs (their residuals
are autocorrelated), so that interval is often far too narrow. The backtest
compares the errors on the held-out points with the model's own half-width
there; when more than ``1 - level`` of them fall outside, every half-width
of the forecast is multiplied by the ``level`` quantile of the ratio
error / half-width, so the widened interval would have held that share of
the backtest. ``Fit.widened`` is the factor (1 when nothing was widened)
and the backtest reports how many actual values the model's own interval
and the widened one held. The calibration and the model choice use the
same held-out points, so both flatter the chosen model somewhat; with a
short history read them as rough.

Every forecast value is clamped to ``[0, records]``, where ``records`` is
the entity's current number of records: a segment cannot outgrow its table.

``backtest`` fits the model without the last ``k`` points, forecasts them and
reports the mean absolute error (MAE) and mean absolute percentage error
(MAPE, over points whose actual size is not 0) and how many actual values
fell inside the interval.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

import duckdb
import numpy as np
import pandas as pd

from workbench import catalog
from workbench import history as hist
from workbench.definition import Definition, Resolver
from workbench.errors import WorkbenchError

logger = logging.getLogger(__name__)

Model = Literal["auto", "linear", "holt", "damped", "drift"]
MODELS: Final[dict[str, str]] = {
    "auto": "the candidate with the lowest backtest error",
    "linear": "least-squares linear trend (statsmodels OLS)",
    "holt": "Holt's linear trend (statsmodels ETSModel, additive error and trend)",
    "damped": "Holt's damped trend (statsmodels ETSModel, additive, damped)",
    "drift": "last value plus the average step (drift)",
}
# Tried in this order; on equal error the earlier (simpler) one is kept.
CANDIDATES: Final = ("drift", "linear", "holt", "damped")
MIN_POINTS: Final[dict[str, int]] = {"drift": 2, "linear": 3, "holt": 6, "damped": 8}
MAX_PERIODS: Final = 520


class ForecastError(WorkbenchError, ValueError):
    """The history is too short or the request cannot be forecast."""


def check_periods(periods: int) -> int:
    """``periods`` if it is between 1 and ``MAX_PERIODS``, else a ForecastError."""
    if not 1 <= periods <= MAX_PERIODS:
        raise ForecastError(f"periods is a number of steps from 1 to {MAX_PERIODS}, "
                            f"got {periods}")
    return periods


def future_dates(last: date, every: hist.Every, periods: int) -> list[date]:
    """The ``periods`` dates after ``last``, one step apart.

    >>> future_dates(date(2026, 1, 31), "month", 2)
    [datetime.date(2026, 2, 28), datetime.date(2026, 3, 31)]
    """
    check_periods(periods)
    try:
        out = [hist.step(last, every, k) for k in range(1, periods + 1)]
    except OverflowError:
        out = [date.max]
    if out[-1] > hist.LAST_DAY:
        raise ForecastError(f"{periods} steps of a {every} after {last} go past "
                            f"{hist.LAST_DAY}; forecast fewer periods")
    return out


@dataclass(frozen=True)
class Fit:
    """A statistical forecast: mean and interval for each future date.

    ``widened`` is the factor the model's own interval was multiplied by to
    match the backtest (1.0: not widened); ``cap`` the upper clamp.
    """

    model: str
    level: float
    frame: pd.DataFrame  # date, mean, lower, upper
    slope: float | None  # per step, for the linear model
    widened: float = 1.0
    cap: float | None = None

    @property
    def description(self) -> str:
        text = f"{MODELS[self.model]}, {self.level:.0%} prediction interval"
        if self.widened > 1:
            text += f" widened ×{self.widened:.1f} to match the backtest"
        return text


def _prepare(sizes: list[float], model: str, level: float) -> np.ndarray:
    if model not in MODELS or model == "auto":
        named = ", ".join(m for m in MODELS if m != "auto")
        raise ForecastError(f"model is one of {named}, got {model!r}")
    if not 0 < level < 1:
        raise ForecastError(f"level is a probability between 0 and 1, got {level}")
    need = MIN_POINTS[model]
    if len(sizes) < need:
        raise ForecastError(f"the {model} model needs at least {need} points of "
                            f"history, got {len(sizes)}; widen the range")
    return np.asarray(sizes, dtype=float)


def fit_forecast(sizes: list[float], dates: list[date], periods: int, *,
                 every: hist.Every, model: str = "linear", level: float = 0.9,
                 cap: float | None = None) -> Fit:
    """Forecast the next ``periods`` values of an evenly stepped series.

    Args:
        sizes: the observed sizes, oldest first.
        dates: their dates (only the last is used, to date the forecast).
        periods: how many steps to forecast (1 to ``MAX_PERIODS``).
        every: the step of the series.
        model: "linear", "holt", "damped" or "drift" (see the module
            docstring; "auto" is resolved by ``choose_model``).
        level: coverage of the model's own prediction interval, e.g. 0.9.
        cap: the largest possible size (the entity's record count); mean and
            interval are clamped to ``[0, cap]``.

    Returns:
        A ``Fit`` whose frame has date, mean, lower and upper.
    """
    y = _prepare(sizes, model, level)
    when = future_dates(dates[-1], every, periods)
    slope = None
    if model == "linear":
        mean, lower, upper, slope = _linear(y, periods, level)
    elif model == "drift":
        mean, lower, upper = _drift(y, periods, level)
    else:
        mean, lower, upper = _ets(y, periods, level, damped=model == "damped")
    frame = pd.DataFrame({"date": pd.to_datetime(when), "mean": mean,
                          "lower": lower, "upper": upper})
    return Fit(model, level, _clamp(frame, cap), slope, 1.0, cap)


def _clamp(frame: pd.DataFrame, cap: float | None) -> pd.DataFrame:
    """Mean and interval limited to what the segment can hold: 0 to ``cap``."""
    top = np.inf if cap is None else float(cap)
    return frame.assign(**{c: frame[c].clip(0.0, top) for c in ("mean", "lower",
                                                                 "upper")})


def _flat(y: np.ndarray, periods: int):
    flat = np.full(periods, y[-1])
    return flat, flat.copy(), flat.copy()


def _linear(y: np.ndarray, periods: int, level: float):
    import statsmodels.api as sm

    if np.allclose(y, y[0]):  # a flat line: no residual, no interval to speak of
        return (*_flat(y, periods), 0.0)
    t = np.arange(len(y), dtype=float)
    ahead = np.arange(len(y), len(y) + periods, dtype=float)
    result = sm.OLS(y, sm.add_constant(t)).fit()
    exog = sm.add_constant(ahead, has_constant="add")
    frame = result.get_prediction(exog).summary_frame(alpha=1 - level)
    return (frame["mean"].to_numpy(), frame["obs_ci_lower"].to_numpy(),
            frame["obs_ci_upper"].to_numpy(), float(result.params[1]))


def _drift(y: np.ndarray, periods: int, level: float):
    """Last value plus h average steps; the interval of a random walk with drift."""
    from scipy import stats

    steps = np.diff(y)
    if np.allclose(steps, 0):
        return _flat(y, periods)
    h = np.arange(1, periods + 1, dtype=float)
    drift = steps.mean()
    mean = y[-1] + h * drift
    # Step spread, widened for the uncertainty of the drift itself.
    sigma = steps.std(ddof=1) if len(steps) > 1 else abs(drift)
    half = stats.norm.ppf(0.5 + level / 2) * sigma * np.sqrt(h * (1 + h / len(steps)))
    return mean, mean - half, mean + half


def _ets(y: np.ndarray, periods: int, level: float, *, damped: bool):
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    if np.allclose(y, y[0]):
        return _flat(y, periods)
    with warnings.catch_warnings():  # convergence chatter on short series
        warnings.simplefilter("ignore")
        # A Series, not an array: ETSResults.get_prediction reads the index of
        # its predictions and fails on a bare array in statsmodels 0.15.
        series = pd.Series(y, index=pd.RangeIndex(len(y)))
        result = ETSModel(series, error="add", trend="add",
                          damped_trend=damped).fit(disp=False)
        pred = result.get_prediction(start=len(y), end=len(y) + periods - 1)
        frame = pred.summary_frame(alpha=1 - level)
    return (frame["mean"].to_numpy(), frame["pi_lower"].to_numpy(),
            frame["pi_upper"].to_numpy())


@dataclass(frozen=True)
class Backtest:
    """A forecast of the last ``holdout`` points from the points before them.

    ``covered`` counts actual values inside the model's own interval;
    ``covered_widened`` inside the interval after calibration (equal to
    ``covered`` when the interval was not widened).
    """

    holdout: int
    frame: pd.DataFrame  # date, actual, mean, lower, upper
    mae: float
    mape: float | None  # percent; None when every actual is 0
    covered: int  # actual values inside the interval
    model: str = "linear"
    widened: float = 1.0
    covered_widened: int | None = None

    def coverage(self) -> str:
        """How many held-out values the interval held, before and after widening."""
        own = f"{self.covered} of {self.holdout} inside the model's own interval"
        if self.widened == 1.0:
            return own
        return (f"{own}, {self.covered_widened} of {self.holdout} inside the "
                f"interval widened ×{self.widened:.1f}")

    def table(self) -> pd.DataFrame:
        """The held-out points for display: days, whole numbers, plain labels."""
        f = self.frame
        return pd.DataFrame({
            "Date": f["date"].dt.date,
            "Actual size": f["actual"].round().astype("int64"),
            "Forecast": f["mean"].round().astype("int64"),
            "Lower": f["lower"].round().astype("int64"),
            "Upper": f["upper"].round().astype("int64"),
            "Inside": (f["lower"] <= f["actual"]) & (f["actual"] <= f["upper"]),
        })


def backtest(sizes: list[float], dates: list[date], holdout: int, *,
             every: hist.Every, model: str = "linear", level: float = 0.9,
             cap: float | None = None) -> Backtest:
    """Fit without the last ``holdout`` points, forecast them, measure the error."""
    if holdout < 1 or holdout >= len(sizes):
        raise ForecastError(f"the backtest holds out 1 to {len(sizes) - 1} points, "
                            f"got {holdout}")
    fit = fit_forecast(sizes[:-holdout], dates[:-holdout], holdout, every=every,
                       model=model, level=level, cap=cap)
    actual = np.asarray(sizes[-holdout:], dtype=float)
    frame = fit.frame.assign(date=pd.to_datetime(dates[-holdout:]), actual=actual)
    err = np.abs(frame["mean"].to_numpy() - actual)
    nonzero = actual != 0
    mape = float(np.mean(err[nonzero] / actual[nonzero]) * 100) if nonzero.any() else None
    inside = (frame["lower"] <= frame["actual"]) & (frame["actual"] <= frame["upper"])
    return Backtest(holdout, frame[["date", "actual", "mean", "lower", "upper"]],
                    float(err.mean()), mape, int(inside.sum()), model)


def widening(test: Backtest, level: float) -> float:
    """The factor that makes the interval hold ``level`` of the backtest's errors.

    Errors are measured in half-widths of the model's own interval at each
    held-out point; the factor is their ``level`` quantile, at least 1.

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"actual": [10.0, 14.0], "mean": [10.0, 10.0],
    ...                       "lower": [9.0, 9.0], "upper": [11.0, 11.0]})
    >>> widening(Backtest(2, frame, 2.0, None, 1), 0.5)
    1.0
    >>> widening(Backtest(2, frame, 2.0, None, 1), 0.9)
    4.0
    """
    f = test.frame
    half = ((f["upper"] - f["lower"]) / 2).to_numpy()
    err = (f["actual"] - f["mean"]).abs().to_numpy()
    if test.covered >= np.ceil(level * test.holdout) or not (half > 0).any():
        return 1.0
    ratio = np.where(half > 0, err / np.where(half > 0, half, 1.0), np.inf)
    factor = float(np.quantile(ratio, level, method="higher"))
    return max(1.0, factor) if np.isfinite(factor) else 1.0


def widen(frame: pd.DataFrame, factor: float, cap: float | None) -> pd.DataFrame:
    """Each half-width around the mean multiplied by ``factor``, then clamped."""
    if factor == 1.0:
        return frame
    mean = frame["mean"]
    out = frame.assign(lower=mean - (mean - frame["lower"]) * factor,
                       upper=mean + (frame["upper"] - mean) * factor)
    return _clamp(out, cap)


@dataclass(frozen=True)
class Choice:
    """Which model the forecast uses, and why."""

    model: str
    reason: str
    candidates: pd.DataFrame  # model, mae, mape, covered, holdout


def choose_model(sizes: list[float], dates: list[date], *, every: hist.Every,
                 model: str = "auto", level: float = 0.9, holdout: int | None = None,
                 cap: float | None = None) -> tuple[Choice, dict[str, Backtest]]:
    """Backtest the candidates on the last ``holdout`` points; keep the best.

    With ``model="auto"`` every candidate the history is long enough for is
    backtested and the lowest MAE wins (the simpler one on a tie). A named
    model is backtested alone. ``holdout`` defaults to a quarter of the
    history, at least 1. Returns the choice and each candidate's backtest.
    """
    n = len(sizes)
    if holdout is None:
        holdout = max(1, n // 4)
    names = CANDIDATES if model == "auto" else (model,)
    tests = {m: backtest(sizes, dates, holdout, every=every, model=m, level=level,
                         cap=cap)
             for m in names if 1 <= holdout < n and n - holdout >= MIN_POINTS[m]}
    rows = [{"model": m, "mae": t.mae, "mape": t.mape, "covered": t.covered,
             "holdout": t.holdout} for m, t in tests.items()]
    table = pd.DataFrame(rows, columns=["model", "mae", "mape", "covered", "holdout"])
    if model != "auto":
        return Choice(model, "asked for", table), tests
    if not tests:
        if n < MIN_POINTS["linear"]:
            raise ForecastError(f"a forecast needs at least {MIN_POINTS['linear']} "
                                f"points of history, got {n}; widen the range")
        return Choice("linear", f"{n} points are too few to compare models on a "
                      "backtest; the linear trend is the default", table), tests
    best = min(tests, key=lambda m: (round(tests[m].mae, 9), names.index(m)))
    others = ", ".join(f"{m} {t.mae:,.1f}" for m, t in tests.items() if m != best)
    reason = (f"lowest backtest error over the last {holdout} points: MAE "
              f"{tests[best].mae:,.1f}" + (f" (others: {others})" if others else ""))
    return Choice(best, reason, table), tests


def known_moves(con: duckdb.DuckDBPyConnection, defn: Definition, today: date,
                when: list[date], *, resolver: Resolver | None = None,
                existing_only: bool = True) -> pd.DataFrame:
    """Size at future dates from today's data: what happens if nothing new does.

    Returns a frame of date, known (the size), known_entered and known_left
    (moves since the previous date, the first since ``today``).
    """
    h = hist.history(con, defn, [today, *when], resolver=resolver,
                     existing_only=existing_only)
    frame = h.frame().iloc[1:].reset_index(drop=True)
    frame = frame.astype({"entered": "Int64", "left": "Int64"})
    return frame.rename(columns={"size": "known", "entered": "known_entered",
                                 "left": "known_left"})


@dataclass(frozen=True)
class SegmentForecast:
    """History, statistical forecast and known moves of one segment."""

    history: hist.History
    fit: Fit
    known: pd.DataFrame
    backtest: Backtest | None
    choice: Choice | None = None

    def frame(self) -> pd.DataFrame:
        """Future dates with mean, lower, upper, known and the known moves."""
        return self.fit.frame.merge(self.known, on="date", how="left")

    def table(self) -> pd.DataFrame:
        """The forecast for display: days, whole numbers, plain labels."""
        f = self.frame()
        whole = lambda c: f[c].round().astype("Int64")  # noqa: E731
        return pd.DataFrame({
            "Date": f["date"].dt.date, "Forecast": whole("mean"),
            "Lower": whole("lower"), "Upper": whole("upper"),
            "If nothing new happens": whole("known"),
            "Entering then": whole("known_entered"),
            "Leaving then": whole("known_left"),
        })


def record_count(con: duckdb.DuckDBPyConnection, entity: str) -> int:
    """The entity's current number of records: the most a segment can hold."""
    table = catalog.source(entity).table  # a catalog name, never user text
    return int(con.cursor().execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])


def forecast(con: duckdb.DuckDBPyConnection, defn: Definition, history: hist.History,
             periods: int, *, every: hist.Every, resolver: Resolver | None = None,
             model: Model = "auto", level: float = 0.9,
             holdout: int | None = None) -> SegmentForecast:
    """Forecast ``periods`` steps after the history, with known moves and a backtest.

    The model is chosen (or checked) on a backtest of the last ``holdout``
    points, a quarter of the history by default; the interval is widened
    when that backtest shows it too narrow (see the module docstring). No
    backtest is run when the history is too short to fit without them.
    """
    check_periods(periods)
    sizes, dates = history.sizes, history.dates
    cap = float(record_count(con, defn.entity))
    choice, tests = choose_model(sizes, dates, every=every, model=model, level=level,
                                 holdout=holdout, cap=cap)
    fit = fit_forecast(sizes, dates, periods, every=every, model=choice.model,
                       level=level, cap=cap)
    test = tests.get(choice.model)
    if test is not None:
        factor = widening(test, level)
        widened = widen(test.frame, factor, cap)
        inside = ((widened["lower"] <= widened["actual"])
                  & (widened["actual"] <= widened["upper"]))
        test = Backtest(test.holdout, test.frame, test.mae, test.mape, test.covered,
                        test.model, factor, int(inside.sum()))
        fit = Fit(fit.model, level, widen(fit.frame, factor, cap), fit.slope, factor,
                  cap)
    when = [d.date() for d in fit.frame["date"]]
    known = known_moves(con, defn, dates[-1], when, resolver=resolver,
                        existing_only=history.existing_only)
    return SegmentForecast(history, fit, known, test, choice)
