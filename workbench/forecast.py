"""Forecast a segment's size, with a prediction interval and a backtest.

Two things are reported side by side, because they answer different
questions:

* **The statistical forecast** is fitted on the size history (one value per
  day, week or month, see ``workbench.history``). The default model,
  ``"linear"``, is an ordinary least squares line ``size = a + b * t`` over
  the step number ``t`` (statsmodels ``OLS``); its interval is the OLS
  prediction interval for a new observation (t distribution, parameter
  uncertainty included, residuals assumed independent and normal). The
  alternative, ``"holt"``, is statsmodels' ``ETSModel`` with additive
  error and additive trend (Holt's linear method), whose interval comes from
  the state space model. Neither knows about calendars or campaigns.
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

``backtest`` fits the model without the last ``k`` points, forecasts them and
reports the mean absolute error (MAE) and mean absolute percentage error
(MAPE, over points whose actual size is not 0) and how many actual values
fell inside the interval.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, Literal

import duckdb
import numpy as np
import pandas as pd

from workbench import history as hist
from workbench.definition import Definition, Resolver
from workbench.errors import WorkbenchError

logger = logging.getLogger(__name__)

Model = Literal["linear", "holt"]
MODELS: Final[dict[str, str]] = {
    "linear": "least-squares linear trend (statsmodels OLS)",
    "holt": "Holt's linear trend (statsmodels ETSModel, additive error and trend)",
}
MIN_POINTS: Final[dict[str, int]] = {"linear": 3, "holt": 6}


class ForecastError(WorkbenchError, ValueError):
    """The history is too short or the request cannot be forecast."""


def future_dates(last: date, every: hist.Every, periods: int) -> list[date]:
    """The ``periods`` dates after ``last``, one step apart.

    >>> future_dates(date(2026, 1, 31), "month", 2)
    [datetime.date(2026, 2, 28), datetime.date(2026, 3, 31)]
    """
    if periods < 1:
        raise ForecastError(f"periods must be at least 1, got {periods}")
    if every == "day":
        return [last + timedelta(days=k) for k in range(1, periods + 1)]
    if every == "week":
        return [last + timedelta(weeks=k) for k in range(1, periods + 1)]
    out = []
    for k in range(1, periods + 1):
        month = last.year * 12 + last.month - 1 + k
        year, m = divmod(month, 12)
        out.append(_clip(year, m + 1, last.day))
    return out


def _clip(year: int, month: int, day: int) -> date:
    for d in (day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Fit:
    """A statistical forecast: mean and interval for each future date."""

    model: str
    level: float
    frame: pd.DataFrame  # date, mean, lower, upper
    slope: float | None  # per step, for the linear model

    @property
    def description(self) -> str:
        return f"{MODELS[self.model]}, {self.level:.0%} prediction interval"


def fit_forecast(sizes: list[float], dates: list[date], periods: int, *,
                 every: hist.Every, model: Model = "linear",
                 level: float = 0.9) -> Fit:
    """Forecast the next ``periods`` values of an evenly stepped series.

    Args:
        sizes: the observed sizes, oldest first.
        dates: their dates (only the last is used, to date the forecast).
        periods: how many steps to forecast.
        every: the step of the series.
        model: "linear" (default) or "holt", see the module docstring.
        level: coverage of the prediction interval, e.g. 0.9.

    Returns:
        A ``Fit`` whose frame has date, mean, lower and upper.
    """
    if model not in MODELS:
        raise ForecastError(f'model is one of {", ".join(MODELS)}, got {model!r}')
    if not 0 < level < 1:
        raise ForecastError(f"level is a probability between 0 and 1, got {level}")
    need = MIN_POINTS[model]
    if len(sizes) < need:
        raise ForecastError(f"the {model} model needs at least {need} points of "
                            f"history, got {len(sizes)}; widen the range")
    y = np.asarray(sizes, dtype=float)
    when = future_dates(dates[-1], every, periods)
    if model == "linear":
        mean, lower, upper, slope = _linear(y, periods, level)
    else:
        mean, lower, upper = _holt(y, periods, level)
        slope = None
    frame = pd.DataFrame({"date": pd.to_datetime(when), "mean": mean,
                          "lower": np.maximum(lower, 0.0), "upper": upper})
    return Fit(model, level, frame, slope)


def _linear(y: np.ndarray, periods: int, level: float):
    import statsmodels.api as sm

    t = np.arange(len(y), dtype=float)
    ahead = np.arange(len(y), len(y) + periods, dtype=float)
    result = sm.OLS(y, sm.add_constant(t)).fit()
    if np.allclose(y, y[0]):  # a flat line: no residual, no interval to speak of
        flat = np.full(periods, y[0])
        return flat, flat.copy(), flat.copy(), 0.0
    exog = sm.add_constant(ahead, has_constant="add")
    frame = result.get_prediction(exog).summary_frame(alpha=1 - level)
    return (frame["mean"].to_numpy(), frame["obs_ci_lower"].to_numpy(),
            frame["obs_ci_upper"].to_numpy(), float(result.params[1]))


def _holt(y: np.ndarray, periods: int, level: float):
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    if np.allclose(y, y[0]):
        flat = np.full(periods, y[0])
        return flat, flat.copy(), flat.copy()
    with warnings.catch_warnings():  # convergence chatter on short series
        warnings.simplefilter("ignore")
        # A Series, not an array: ETSResults.get_prediction reads the index of
        # its predictions and fails on a bare array in statsmodels 0.15.
        series = pd.Series(y, index=pd.RangeIndex(len(y)))
        result = ETSModel(series, error="add", trend="add").fit(disp=False)
        pred = result.get_prediction(start=len(y), end=len(y) + periods - 1)
        frame = pred.summary_frame(alpha=1 - level)
    return (frame["mean"].to_numpy(), frame["pi_lower"].to_numpy(),
            frame["pi_upper"].to_numpy())


@dataclass(frozen=True)
class Backtest:
    """A forecast of the last ``holdout`` points from the points before them."""

    holdout: int
    frame: pd.DataFrame  # date, actual, mean, lower, upper
    mae: float
    mape: float | None  # percent; None when every actual is 0
    covered: int  # actual values inside the interval


def backtest(sizes: list[float], dates: list[date], holdout: int, *,
             every: hist.Every, model: Model = "linear",
             level: float = 0.9) -> Backtest:
    """Fit without the last ``holdout`` points, forecast them, measure the error."""
    if holdout < 1 or holdout >= len(sizes):
        raise ForecastError(f"the backtest holds out 1 to {len(sizes) - 1} points, "
                            f"got {holdout}")
    fit = fit_forecast(sizes[:-holdout], dates[:-holdout], holdout, every=every,
                       model=model, level=level)
    actual = np.asarray(sizes[-holdout:], dtype=float)
    frame = fit.frame.assign(date=pd.to_datetime(dates[-holdout:]), actual=actual)
    err = np.abs(frame["mean"].to_numpy() - actual)
    nonzero = actual != 0
    mape = float(np.mean(err[nonzero] / actual[nonzero]) * 100) if nonzero.any() else None
    inside = (frame["lower"] <= frame["actual"]) & (frame["actual"] <= frame["upper"])
    return Backtest(holdout, frame[["date", "actual", "mean", "lower", "upper"]],
                    float(err.mean()), mape, int(inside.sum()))


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

    def frame(self) -> pd.DataFrame:
        """Future dates with mean, lower, upper, known and the known moves."""
        return self.fit.frame.merge(self.known, on="date", how="left")


def forecast(con: duckdb.DuckDBPyConnection, defn: Definition, history: hist.History,
             periods: int, *, every: hist.Every, resolver: Resolver | None = None,
             model: Model = "linear", level: float = 0.9,
             holdout: int | None = None) -> SegmentForecast:
    """Forecast ``periods`` steps after the history, with known moves and a backtest.

    ``holdout`` defaults to a quarter of the history (at least 1) when the
    history is long enough to fit without it, else no backtest is run.
    """
    sizes, dates = history.sizes, history.dates
    fit = fit_forecast(sizes, dates, periods, every=every, model=model, level=level)
    when = [d.date() for d in fit.frame["date"]]
    known = known_moves(con, defn, dates[-1], when, resolver=resolver,
                        existing_only=history.existing_only)
    if holdout is None:
        holdout = max(1, len(sizes) // 4)
    test = None
    if len(sizes) - holdout >= MIN_POINTS[model]:
        test = backtest(sizes, dates, holdout, every=every, model=model, level=level)
    return SegmentForecast(history, fit, known, test)
