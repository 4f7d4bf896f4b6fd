"""The forecast recovers a known trend; known moves and backtests are exact."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from workbench import definition, demo, evaluator, forecast, history, store

SEGMENTS = Path(__file__).resolve().parent.parent / "data" / "segments"
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


def drifting(seed: int = 4, n: int = 52) -> list[float]:
    """A size that grows in runs: steps of 6 plus autocorrelated (AR 0.9) noise."""
    rng = np.random.default_rng(seed)
    wobble = np.zeros(n)
    for k in range(1, n):
        wobble[k] = 0.9 * wobble[k - 1] + rng.normal(0, 8)
    return list(300 + 6 * np.arange(n) + np.cumsum(wobble))


def test_auto_keeps_the_candidate_with_the_lowest_backtest_error_and_says_so():
    sizes = drifting()

    choice, tests = forecast.choose_model(sizes, WEEKS, every="week")

    assert set(tests) == {"drift", "linear", "holt", "damped"}
    assert choice.model == min(tests, key=lambda m: tests[m].mae)
    assert f"MAE {tests[choice.model].mae:,.1f}" in choice.reason
    assert "last 13 points" in choice.reason


def test_auto_on_an_exact_line_keeps_the_simplest_model():
    line = [100.0 + 3 * k for k in range(20)]

    choice, _ = forecast.choose_model(line, WEEKS[:20], every="week")

    assert choice.model == "drift"


def test_named_model_is_kept_and_backtested_alone():
    choice, tests = forecast.choose_model(drifting(), WEEKS, every="week",
                                          model="linear")

    assert (choice.model, list(tests)) == ("linear", ["linear"])


def test_too_narrow_interval_is_widened_until_the_backtest_is_covered():
    sizes = drifting()
    own = forecast.backtest(sizes, WEEKS, 13, every="week", model="linear")

    factor = forecast.widening(own, 0.9)
    widened = forecast.widen(own.frame, factor, None)

    inside = ((widened["lower"] <= widened["actual"])
              & (widened["actual"] <= widened["upper"])).sum()
    assert own.covered < 12 and factor > 1
    assert inside >= 12  # 90% of 13, rounded up


def test_an_interval_that_holds_the_backtest_is_left_as_it_is():
    test = forecast.backtest(trend(noise=5), WEEKS, 13, every="week")

    assert test.covered >= 12
    assert forecast.widening(test, 0.9) == 1.0


def test_forecast_never_leaves_zero_to_the_record_count():
    steep = [100.0 + 40 * k for k in range(30)]
    falling = [2000.0 - 90 * k for k in range(20)]

    up = forecast.fit_forecast(steep, WEEKS[:30], 520, every="week", cap=1500)
    down = forecast.fit_forecast(falling, WEEKS[:20], 60, every="week", cap=1500)

    for fit in (up, down):
        values = fit.frame[["mean", "lower", "upper"]].to_numpy()
        assert values.min() >= 0 and values.max() <= 1500
    assert up.frame["mean"].iloc[-1] == 1500 and down.frame["mean"].iloc[-1] == 0


@pytest.mark.parametrize("periods", [0, -3, 521, 1_000_000])
def test_periods_outside_1_to_520_are_refused_by_name(periods):
    with pytest.raises(forecast.ForecastError, match="from 1 to 520"):
        forecast.future_dates(date(2026, 1, 1), "week", periods)


def test_ten_years_of_months_ahead_are_dated():
    when = forecast.future_dates(date(2026, 1, 31), "month", 520)

    assert when[-1] == date(2069, 5, 31)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("forecast") / "demo.duckdb"
    con = store.connect(path)
    demo.generate(con, contacts=500, seed=9, as_of=date(2026, 6, 30))
    con.close()
    return path


def test_segment_forecast_is_clamped_to_the_entitys_records_and_tabled(demo_db):
    con = store.connect(demo_db, read_only=True)
    defn = definition.load(SEGMENTS / "active-buyers.json")
    past = history.history(con, defn, history.date_series(
        date(2025, 7, 1), date(2026, 6, 30), "week", anchor="end"))

    result = forecast.forecast(con, defn, past, 520, every="week")
    table = result.table()

    assert result.fit.cap == 500
    assert result.frame()[["mean", "lower", "upper"]].to_numpy().max() <= 500
    assert list(table.columns) == ["Date", "Forecast", "Lower", "Upper",
                                   "If nothing new happens", "Entering then",
                                   "Leaving then"]
    assert str(table["Forecast"].dtype) == "Int64"
    assert table["Date"].iloc[0] == date(2026, 7, 7)
    assert result.choice is not None and result.choice.model == result.fit.model
    assert list(result.backtest.table().columns) == [
        "Date", "Actual size", "Forecast", "Lower", "Upper", "Inside"]


def run_cli(args: list[str], capsys) -> tuple[int, str]:
    from workbench.__main__ import main

    try:
        code = main(args)
    except SystemExit as stop:  # argparse refuses a value
        code = stop.code
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.mark.parametrize("command", [
    pytest.param(["history", "active-buyers.json"], id="history"),
    pytest.param(["forecast", "active-buyers.json", "--periods", "3"], id="forecast"),
    pytest.param(["overlap", "vip.json", "active-buyers.json"], id="overlap"),
])
@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_commands_refuse_days_far_off_with_a_message(demo_db, capsys, command, day):
    files = [str(SEGMENTS / a) if a.endswith(".json") else a for a in command]

    code, text = run_cli([*files, "--db", str(demo_db), "--as-of", day], capsys)

    assert code == 2
    assert f"--as-of {day} is outside the supported range" in text
    assert "Traceback" not in text


def test_forecast_command_refuses_a_million_periods_and_names_the_range(demo_db,
                                                                        capsys):
    code, text = run_cli(["forecast", str(SEGMENTS / "vip.json"), "--db",
                          str(demo_db), "--periods", "1000000"], capsys)

    assert code == 2 and "from 1 to 520" in text


def test_forecast_command_says_which_model_it_chose_and_the_coverage(demo_db,
                                                                     capsys):
    code, text = run_cli(["forecast", str(SEGMENTS / "active-buyers.json"), "--db",
                          str(demo_db), "--to", "2026-06-30", "--periods", "4"],
                         capsys)

    assert code == 0
    assert "chosen for the lowest backtest error over the last 13 points" in text
    assert "inside the model's own interval" in text
