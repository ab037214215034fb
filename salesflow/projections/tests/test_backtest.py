"""The rolling-origin backtest (``projections.backtest``) against hand-worked and numpy
computations: no database."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from salesflow.projections import backtest as bt


def test_naive_metrics_match_a_hand_computation_on_a_short_series() -> None:
    # folds of h=1 on 10, 20, 30, 40, 50: train [10,20,30] → forecast 30, actual 40;
    # train [10..40] → forecast 40, actual 50.
    # MAPE = (10/40 + 10/50)/2·100 = 22.5; sMAPE = (200·10/70 + 200·10/90)/2 = 25.3968…;
    # MASE = mean(10/10, 10/10) = 1 (in-sample one-step naive MAE of each training set is 10).
    r = bt.backtest([10, 20, 30, 40, 50], "M", horizon=1, folds=2)
    naive = r.models[0]
    assert naive.name == "Naive" and naive.folds == 2
    assert naive.mape == pytest.approx(22.5)
    assert naive.smape == pytest.approx((200 * 10 / 70 + 200 * 10 / 90) / 2)
    assert naive.mase == pytest.approx(1.0)
    # too short for a season and for the models: only the baselines, and it says so
    assert [m.name for m in r.models] == ["Naive"]
    assert r.chosen == "Naive" and not r.beat_baseline
    assert {bt.NOTE_TOO_SHORT, bt.NOTE_NO_SEASONAL, bt.NOTE_NOT_BEATEN} <= set(r.notes)
    assert r.as_json() == {
        "chosen": "Naive",
        "models": [{"name": "Naive", "mape": 22.5, "smape": 25.3968, "mase": 1.0, "folds": 2}],
    }


def test_mape_skips_zero_actuals_and_says_so() -> None:
    # fold 1: train [10,20,30] → 30, actual 0 (skipped by MAPE, sMAPE 200, MASE 30/10 = 3)
    # fold 2: train [10,20,30,0] → 0, actual 50 (APE 100, sMAPE 200, MASE 50/(50/3) = 3)
    r = bt.backtest([10, 20, 30, 0, 50], "M", horizon=1, folds=2)
    naive = r.models[0]
    assert naive.mape == pytest.approx(100.0)
    assert naive.smape == pytest.approx(200.0)
    assert naive.mase == pytest.approx(3.0)
    assert bt.NOTE_MAPE_ZEROS in r.notes


def _fold_mase(y: np.ndarray, h: int, k: int, predict: object) -> float:
    """Independent MASE: for each fold, MAE of the forecasts / mean |diff| of the training."""
    n = len(y)
    values = []
    for i in range(k):
        origin = n - (k - i) * h
        train, actual = y[:origin], y[origin : origin + h]
        pred = predict(train, h)  # type: ignore[operator]
        values.append(np.mean(np.abs(actual - pred)) / np.mean(np.abs(np.diff(train))))
    return float(np.mean(values))


def test_seasonal_series_seasonal_naive_beats_naive() -> None:
    t = np.arange(48)
    rng = np.random.default_rng(7)
    y = 1000 + 400 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 20, 48)
    r = bt.backtest(y.tolist(), "M", horizon=3, folds=3)
    scores = {m.name: m for m in r.models}
    naive_mase = _fold_mase(y, 3, 3, lambda tr, h: np.repeat(tr[-1], h))
    snaive_mase = _fold_mase(y, 3, 3, lambda tr, h: tr[-12:][:h])
    assert scores["Naive"].mase == pytest.approx(naive_mase)
    assert scores["SeasonalNaive"].mase == pytest.approx(snaive_mase)
    assert snaive_mase < naive_mase
    assert r.baseline == "SeasonalNaive"
    assert {"AutoETS", "AutoARIMA"} <= set(scores)
    assert all(s.folds == 3 for s in scores.values())
    # the chosen model has the lowest MASE among those strictly below the better baseline
    if r.beat_baseline:
        assert r.chosen not in bt.BASELINES
        better = [s for s in scores.values() if not s.baseline and s.mase < scores["SeasonalNaive"].mase]  # type: ignore[operator]
        assert scores[r.chosen].mase == min(s.mase for s in better)  # type: ignore[type-var]


def test_when_nothing_beats_the_baseline_the_baseline_is_chosen() -> None:
    rng = np.random.default_rng(3)  # a random walk: the naive forecast is the best there is
    y = 1000 + np.cumsum(rng.normal(0, 100, 40))
    r = bt.backtest(y.tolist(), "M", horizon=3, folds=3)
    scores = {m.name: m for m in r.models}
    assert r.chosen == "Naive" and r.baseline == "Naive" and not r.beat_baseline
    assert bt.NOTE_NOT_BEATEN in r.notes
    for name in ("AutoETS", "AutoARIMA"):
        assert scores[name].mase >= scores["Naive"].mase  # type: ignore[operator]


def test_sparse_series_includes_croston() -> None:
    y = np.zeros(40)
    y[[2, 7, 9, 15, 22, 23, 30, 36]] = [5, 3, 8, 2, 6, 4, 7, 3]
    r = bt.backtest(y.tolist(), "M", horizon=2, folds=3)
    assert "CrostonOptimized" in [m.name for m in r.models]
    assert bt.NOTE_INTERMITTENT in r.notes
    assert not bt.is_intermittent([1.0, 2.0, 3.0])


def test_regularize_sums_per_period_and_fills_missing_with_zero() -> None:
    days = [date(2026, 1, 5), date(2026, 1, 20), date(2026, 4, 1)]
    periods, values, filled = bt.regularize(days, [1.5, 2.5, 7.0], "M")
    assert periods == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)]
    assert values == [4.0, 0.0, 0.0, 7.0] and filled == 2
    weeks, wvalues, _ = bt.regularize([date(2026, 12, 3), date(2026, 12, 6), date(2026, 12, 7)], [1, 2, 3], "W")
    assert weeks == [date(2026, 11, 30), date(2026, 12, 7)] and wvalues == [3.0, 3.0]


@pytest.mark.parametrize(
    ("values", "horizon", "folds"),
    [([1.0, 2.0, 3.0], 2, 1), ([1.0, math.nan, 3.0, 4.0], 1, 1), ([1.0, 2.0, 3.0], 0, 1), ([1.0, 2.0, 3.0], 1, 0)],
)
def test_bad_input_is_a_series_error(values: list[float], horizon: int, folds: int) -> None:
    with pytest.raises(bt.SeriesError):
        bt.backtest(values, "M", horizon, folds)


def test_forecast_gives_interval_and_clips_at_zero() -> None:
    fc = bt.forecast([5.0, 4.0, 3.0, 2.0, 1.0, 0.5, 0.2, 0.1, 0.0, 0.0], "M", "Naive", 3)
    assert fc.mean == [0.0, 0.0, 0.0]
    assert fc.lo is not None and fc.hi is not None and all(v >= 0 for v in fc.lo)
    assert bt.forecast([0, 3, 0, 0, 2, 0, 0, 4, 0, 1], "M", "CrostonOptimized", 2).lo is None
