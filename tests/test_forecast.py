"""The forecast recovers a known trend; known moves and backtests are exact."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from workbench import definition, demo, evaluator, forecast, history, store

START = date(2025, 1, 5)
WEEKS = [START + timedelta(weeks=k) for k in range(52)]


def trend(noise: float, seed: int = 3) -> list[float]:
    """500 + 12 per week, with normal noise of standard deviation ``noise``."""
    rng = np.random.default_rng(seed)
    return list(500 + 12 * np.arange(52) + rng.normal(0, noise, 52))


def test_linear_model_recovers_a_known_trend_within_half_a_member_per_week():
    fit = forecast.fit_forecast(trend(noise=5), WEEKS, 8, every="week")

    truth = 500 + 12 * np.arange(52, 60)
    assert fit.slope == pytest.approx(12, abs=0.5)
    assert np.all(np.abs(fit.frame["mean"] - truth) < 0.02 * truth)
    assert np.all((fit.frame["lower"] <= truth) & (truth <= fit.frame["upper"]))


def test_holt_model_recovers_a_known_trend_within_three_percent():
    fit = forecast.fit_forecast(trend(noise=5), WEEKS, 8, every="week", model="holt")

    truth = 500 + 12 * np.arange(52, 60)
    assert np.all(np.abs(fit.frame["mean"] - truth) < 0.03 * truth)


def test_interval_widens_with_the_horizon_and_with_the_level():
    narrow = forecast.fit_forecast(trend(noise=20), WEEKS, 6, every="week", level=0.5)
    wide = forecast.fit_forecast(trend(noise=20), WEEKS, 6, every="week", level=0.95)

    width = (wide.frame["upper"] - wide.frame["lower"]).to_numpy()
    assert np.all(np.diff(width) > 0)
    assert np.all(width > (narrow.frame["upper"] - narrow.frame["lower"]).to_numpy())


def test_backtest_of_an_exact_line_has_no_error():
    line = [100.0 + 3 * k for k in range(20)]

    test = forecast.backtest(line, WEEKS[:20], 5, every="week")

    assert test.mae == pytest.approx(0, abs=1e-6)
    assert test.mape == pytest.approx(0, abs=1e-6)
    assert list(test.frame["actual"]) == line[-5:]


def test_flat_history_forecasts_the_same_size():
    fit = forecast.fit_forecast([40.0] * 10, WEEKS[:10], 3, every="week")

    assert list(fit.frame["mean"]) == [40.0] * 3


def test_too_short_a_history_is_refused_with_the_number_needed():
    with pytest.raises(forecast.ForecastError, match="at least 6 points"):
        forecast.fit_forecast([1.0, 2.0, 3.0], WEEKS[:3], 2, every="week", model="holt")


def test_future_dates_continue_the_step_and_clip_month_ends():
    assert forecast.future_dates(date(2026, 1, 31), "month", 3) == [
        date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]
    assert forecast.future_dates(date(2026, 1, 1), "week", 1) == [date(2026, 1, 8)]


def test_known_moves_are_the_counts_as_of_future_dates_on_todays_data():
    as_of = date(2026, 6, 30)
    con = store.connect()
    demo.generate(con, contacts=600, seed=5, as_of=as_of)
    defn = definition.parse({"id": "recent-won", "name": "won in 60 days", "include": {
        "all": [{"related": "deals", "quantifier": "exists", "where": {"all": [
            {"field": "stage_semantics", "op": "equals", "value": "won"},
            {"field": "closed_at", "op": "in_last_days", "value": 60}]}}]}})
    past = history.history(con, defn, history.date_series(
        as_of - timedelta(weeks=20), as_of, "week"), existing_only=False)

    result = forecast.forecast(con, defn, past, 10, every="week")
    frame = result.frame()

    expected = [evaluator.count(con, defn, as_of=d.date()) for d in frame["date"]]
    assert list(frame["known"]) == expected
    assert result.backtest is not None and result.backtest.holdout == 5
