"""Rolling-origin backtest of statsforecast models on one regular series (issue 11 item 2).

Pure: no Django models, no database. ``statsforecast`` is imported inside the functions that
fit models (its import costs about two seconds), so importing this module is cheap.

The method, stated once (the page, the API and ``salesflow forecast-backtest`` all use it):

* **Regular series.** :func:`regularize` sums the amounts of each period (``D`` a day, ``W`` a
  Monday–Sunday week labelled by its Monday, ``M`` a calendar month labelled by its first day)
  and fills every missing period between the first and the last with **0**.
* **Folds.** With ``n`` points, horizon ``h`` and ``k`` folds, fold ``i`` (``i = 1..k``) trains
  on the first ``n - (k - i + 1)·h`` points and forecasts the next ``h``: the test windows are
  the last ``k·h`` points, disjoint, oldest first. When the series is too short for ``k``
  folds, fewer folds are run (the result says how many); at least ``h + 2`` points are needed.
* **Models.** Baselines: ``Naive`` and ``SeasonalNaive`` (season 12 for M, 52 for W, 7 for D;
  only when the first fold's training holds at least one season). Candidates: ``AutoETS`` and
  ``AutoARIMA`` (seasonal with the same season when it is at most 24 and the first fold's
  training holds two seasons, otherwise non-seasonal: ETS allows no longer season and a
  52-week seasonal ARIMA takes seconds per fit), and ``CrostonOptimized`` when the series is
  intermittent (average demand interval ``n / non-zero points`` ≥ 1.32, Syntetos–Boylan).
  Candidates run only when the first fold's training holds at least
  :data:`MIN_MODEL_TRAIN` points; otherwise only the baselines are compared ("too short").
* **Metrics** over every forecast point of every fold: MAPE skips points whose actual is 0
  (``None`` when every actual is 0); sMAPE = mean of ``200·|a−f| / (|a|+|f|)`` with a point
  where both are 0 counted as 0; MASE = the mean over folds of the fold's MAE divided by the
  in-sample one-step naive MAE of that fold's training data (folds whose training is
  constant are skipped; ``None`` when all are).
* **Choice.** The better baseline is the baseline with the lower MASE (Naive on a tie). A
  candidate *beats the baseline* when its MASE is strictly lower. The chosen model is the
  candidate with the lowest MASE among those that beat the baseline (earlier in the list on
  a tie); when none does, the chosen model is the better baseline and
  :attr:`BacktestResult.beat_baseline` is ``False``. When no MASE is defined (every training
  set constant), the mean absolute error ranks instead.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np

Freq = Literal["D", "W", "M"]
FREQS: tuple[Freq, ...] = ("D", "W", "M")
SEASON: dict[str, int] = {"M": 12, "W": 52, "D": 7}
MAX_MODEL_SEASON = 24
MIN_MODEL_TRAIN = 8
INTERMITTENT_ADI = 1.32
LEVEL = 80

NAIVE = "Naive"
SEASONAL_NAIVE = "SeasonalNaive"
BASELINES = (NAIVE, SEASONAL_NAIVE)
CANDIDATES = ("AutoETS", "AutoARIMA", "CrostonOptimized")

# Note codes (the CLI prints them in English, the page translates them).
NOTE_FILLED = "filled"  # missing periods filled with 0
NOTE_TOO_SHORT = "too_short"  # only the baselines were compared
NOTE_FEWER_FOLDS = "fewer_folds"  # fewer folds than asked fitted in the series
NOTE_NO_SEASONAL = "no_seasonal_naive"  # not a full season in the first fold's training
NOTE_MAPE_ZEROS = "mape_skips_zeros"  # MAPE skipped actuals equal to 0
NOTE_NOT_BEATEN = "baseline_not_beaten"  # no candidate beat the better baseline
NOTE_INTERMITTENT = "intermittent"  # Croston-type model included
NOTE_MODEL_FAILED = "model_failed"  # a candidate could not be fitted on some fold

NOTE_TEXT: dict[str, str] = {
    NOTE_FILLED: "Missing periods were filled with 0.",
    NOTE_TOO_SHORT: "The series is too short for the models: only the baselines were compared.",
    NOTE_FEWER_FOLDS: "The series holds fewer folds than asked; the folds column says how many ran.",
    NOTE_NO_SEASONAL: "SeasonalNaive was not run: the first fold's training holds less than one season.",
    NOTE_MAPE_ZEROS: "MAPE skips periods whose actual is 0.",
    NOTE_NOT_BEATEN: "No model beat the better baseline in the backtest: the baseline is the forecast.",
    NOTE_INTERMITTENT: "The series is intermittent: a Croston-type model was included.",
    NOTE_MODEL_FAILED: "A model could not be fitted and was left out.",
}


class SeriesError(ValueError):
    """The input cannot be backtested (the message says why, in plain words)."""


@dataclass(frozen=True)
class ModelScore:
    """One model's backtest: the metrics (``None`` when undefined, see the module doc)."""

    name: str
    mape: float | None
    smape: float | None
    mase: float | None
    mae: float | None
    folds: int
    baseline: bool

    def as_dict(self) -> dict[str, Any]:
        """The CLI/JSON shape: name, mape, smape, mase, folds (rounded to 4 places)."""
        return {
            "name": self.name,
            "mape": _round(self.mape),
            "smape": _round(self.smape),
            "mase": _round(self.mase),
            "folds": self.folds,
        }


@dataclass
class BacktestResult:
    """The comparison: every model run (baselines first), the chosen one and why."""

    chosen: str
    baseline: str
    beat_baseline: bool
    models: list[ModelScore]
    folds: int
    horizon: int
    freq: str
    n: int
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """Exactly ``{"chosen": NAME, "models": [{"name","mape","smape","mase","folds"}…]}``."""
        return {"chosen": self.chosen, "models": [m.as_dict() for m in self.models]}


@dataclass(frozen=True)
class Forecast:
    """The chosen model fitted on the whole series: ``h`` means and, when the model gives
    them, the 80% prediction interval (``None`` otherwise). Values are clipped at 0."""

    model: str
    mean: list[float]
    lo: list[float] | None
    hi: list[float] | None
    level: int = LEVEL


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


# ------------------------------------------------------------------------------ the series


def period_start(day: date, freq: str) -> date:
    """The first day of the period of ``freq`` holding ``day``."""
    if freq == "D":
        return day
    if freq == "W":
        return day - timedelta(days=day.weekday())
    if freq == "M":
        return day.replace(day=1)
    raise SeriesError(f"Unknown frequency {freq!r}: use D, W or M.")


def next_period(start: date, freq: str) -> date:
    """The first day of the period after the one starting on ``start``."""
    if freq == "D":
        return start + timedelta(days=1)
    if freq == "W":
        return start + timedelta(days=7)
    return date(start.year + (start.month == 12), start.month % 12 + 1, 1)


def period_range(first: date, last: date, freq: str) -> list[date]:
    """Period starts from the period of ``first`` to the period of ``last``, inclusive."""
    out: list[date] = []
    cur, end = period_start(first, freq), period_start(last, freq)
    while cur <= end:
        out.append(cur)
        cur = next_period(cur, freq)
    return out


def regularize(dates: Sequence[date], amounts: Sequence[float], freq: str) -> tuple[list[date], list[float], int]:
    """Sum ``amounts`` per period and fill missing periods with 0.

    Returns (period starts, values, number of periods filled). Raises :class:`SeriesError`
    for an empty series, lengths that differ, or an amount that is not a finite number.
    """
    if freq not in FREQS:
        raise SeriesError(f"Unknown frequency {freq!r}: use D, W or M.")
    if len(dates) != len(amounts):
        raise SeriesError("Dates and amounts differ in length.")
    if not dates:
        raise SeriesError("The series is empty.")
    sums: dict[date, float] = {}
    for d, a in zip(dates, amounts, strict=True):
        value = float(a)
        if not math.isfinite(value):
            raise SeriesError(f"The amount on {d.isoformat()} is not a finite number.")
        key = period_start(d, freq)
        sums[key] = sums.get(key, 0.0) + value
    periods = period_range(min(sums), max(sums), freq)
    values = [sums.get(p, 0.0) for p in periods]
    return periods, values, len(periods) - len(sums)


def is_intermittent(values: Sequence[float]) -> bool:
    """Average demand interval (points ÷ non-zero points) ≥ 1.32; an all-zero series is too."""
    nonzero = sum(1 for v in values if v != 0)
    return nonzero == 0 or len(values) / nonzero >= INTERMITTENT_ADI


# ------------------------------------------------------------------------------ models


def _model_season(freq: str, train_len: int) -> int:
    season = SEASON[freq]
    return season if season <= MAX_MODEL_SEASON and train_len >= 2 * season else 1


def _make(name: str, freq: str, train_len: int) -> Any:
    """A fresh statsforecast model object (imported lazily)."""
    from statsforecast.models import AutoARIMA, AutoETS, CrostonOptimized, Naive, SeasonalNaive

    if name == NAIVE:
        return Naive()
    if name == SEASONAL_NAIVE:
        return SeasonalNaive(season_length=SEASON[freq])
    if name == "AutoETS":
        return AutoETS(season_length=_model_season(freq, train_len))
    if name == "AutoARIMA":
        return AutoARIMA(season_length=_model_season(freq, train_len))
    if name == "CrostonOptimized":
        return CrostonOptimized()
    raise SeriesError(f"Unknown model {name!r}.")


#: Fitted forecasts by (model, frequency, series bytes, horizon, level), most recent last;
#: see :func:`_predict`.
_FITTED: OrderedDict[tuple[str, str, bytes, int, bool], dict[str, np.ndarray]] = OrderedDict()
_FITTED_MAX = 512


def _predict(name: str, freq: str, y: np.ndarray, h: int, level: bool) -> dict[str, np.ndarray]:
    """``name``'s forecast of ``h`` points after ``y`` (with the 80% interval when
    ``level``); raises when the model fails or gives a forecast that is not finite.

    Memoised per process for the last :data:`_FITTED_MAX` distinct inputs: a fit is a pure
    function of the model, the frequency, the series' exact values, the horizon and
    ``level`` (the models are deterministic), and the same series come back (the company's
    and a team's, or one recompute after another with unchanged facts), while AutoARIMA
    takes about a second per fit. Failures are not remembered (the next call fits again).
    Callers get their own copies of the arrays."""
    series = np.ascontiguousarray(y, dtype=float)
    key = (name, freq, series.tobytes(), h, level)
    cached = _FITTED.get(key)
    if cached is None:
        model = _make(name, freq, len(series))
        kwargs: dict[str, Any] = {"level": [LEVEL]} if level and name != "CrostonOptimized" else {}
        raw = model.forecast(y=series, h=h, **kwargs)
        cached = {k: np.asarray(v, dtype=float).copy() for k, v in raw.items()}
        if cached["mean"].shape != (h,) or not np.all(np.isfinite(cached["mean"])):
            raise FloatingPointError(f"{name} gave no finite forecast")
        _FITTED[key] = cached
        if len(_FITTED) > _FITTED_MAX:
            _FITTED.popitem(last=False)
    else:
        _FITTED.move_to_end(key)
    return {k: v.copy() for k, v in cached.items()}


# ------------------------------------------------------------------------------ metrics


def _scores(name: str, baseline: bool, folds: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> ModelScore:
    """Metrics over ``folds`` of (training, actuals, forecasts)."""
    ape: list[float] = []
    sape: list[float] = []
    abs_err: list[float] = []
    fold_mase: list[float] = []
    for train, actual, pred in folds:
        err = np.abs(actual - pred)
        abs_err.extend(err.tolist())
        for a, f, e in zip(actual.tolist(), pred.tolist(), err.tolist(), strict=True):
            if a != 0:
                ape.append(100.0 * e / abs(a))
            denom = abs(a) + abs(f)
            sape.append(0.0 if denom == 0 else 200.0 * e / denom)
        scale = float(np.mean(np.abs(np.diff(train)))) if len(train) >= 2 else 0.0
        if scale > 0:
            fold_mase.append(float(np.mean(err)) / scale)
    return ModelScore(
        name=name,
        mape=float(np.mean(ape)) if ape else None,
        smape=float(np.mean(sape)) if sape else None,
        mase=float(np.mean(fold_mase)) if fold_mase else None,
        mae=float(np.mean(abs_err)) if abs_err else None,
        folds=len(folds),
        baseline=baseline,
    )


def _rank_key(score: ModelScore, by_mase: bool) -> float:
    value = score.mase if by_mase else score.mae
    return math.inf if value is None else value


# ------------------------------------------------------------------------------ backtest


def backtest(values: Sequence[float], freq: str, horizon: int, folds: int = 3) -> BacktestResult:
    """The rolling-origin backtest of :data:`BASELINES` and :data:`CANDIDATES` on ``values``
    (a regular series, oldest first) and the choice described in the module doc.

    Raises :class:`SeriesError` when ``horizon`` or ``folds`` is below 1, a value is not
    finite, or the series holds fewer than ``horizon + 2`` points.
    """
    if freq not in FREQS:
        raise SeriesError(f"Unknown frequency {freq!r}: use D, W or M.")
    if horizon < 1:
        raise SeriesError("The horizon must be at least 1.")
    if folds < 1:
        raise SeriesError("At least one fold is needed.")
    y = np.asarray([float(v) for v in values], dtype=float)
    if not np.all(np.isfinite(y)):
        raise SeriesError("The series holds a value that is not a finite number.")
    n = len(y)
    fitting = min(folds, (n - 2) // horizon)
    if fitting < 1:
        raise SeriesError(f"The series has {n} periods; a horizon of {horizon} needs at least {horizon + 2}.")
    notes: list[str] = []
    if fitting < folds:
        notes.append(NOTE_FEWER_FOLDS)
    origins = [n - (fitting - i) * horizon for i in range(fitting)]
    first_train = origins[0]
    season = SEASON[freq]

    names: list[tuple[str, bool]] = [(NAIVE, True)]
    if first_train >= season:
        names.append((SEASONAL_NAIVE, True))
    else:
        notes.append(NOTE_NO_SEASONAL)
    if first_train >= MIN_MODEL_TRAIN:
        names += [("AutoETS", False), ("AutoARIMA", False)]
        if is_intermittent(y.tolist()):
            names.append(("CrostonOptimized", False))
            notes.append(NOTE_INTERMITTENT)
    else:
        notes.append(NOTE_TOO_SHORT)

    scores: list[ModelScore] = []
    for name, is_base in names:
        runs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        try:
            for origin in origins:
                train, actual = y[:origin], y[origin : origin + horizon]
                runs.append((train, actual, _predict(name, freq, train, horizon, level=False)["mean"]))
        except Exception:  # statsforecast raises many kinds on degenerate data
            if is_base:
                raise
            if NOTE_MODEL_FAILED not in notes:
                notes.append(NOTE_MODEL_FAILED)
            continue
        scores.append(_scores(name, is_base, runs))

    if any(0.0 in y[o : o + horizon].tolist() for o in origins):
        notes.append(NOTE_MAPE_ZEROS)
    base_scores = [s for s in scores if s.baseline]
    by_mase = any(s.mase is not None for s in base_scores)
    best_base = min(base_scores, key=lambda s: _rank_key(s, by_mase))  # min is stable: Naive on a tie
    bar = _rank_key(best_base, by_mase)
    beating = [s for s in scores if not s.baseline and _rank_key(s, by_mase) < bar]
    chosen = min(beating, key=lambda s: _rank_key(s, by_mase)) if beating else best_base
    if not beating:
        notes.append(NOTE_NOT_BEATEN)
    return BacktestResult(
        chosen=chosen.name,
        baseline=best_base.name,
        beat_baseline=bool(beating),
        models=scores,
        folds=fitting,
        horizon=horizon,
        freq=freq,
        n=n,
        notes=notes,
    )


def forecast(values: Sequence[float], freq: str, model: str, horizon: int) -> Forecast:
    """``model`` fitted on the whole series, ``horizon`` periods ahead, with its 80% interval
    when the model gives one (Croston does not). Means and bounds are clipped at 0: the
    series are amounts that cannot be negative."""
    y = np.asarray([float(v) for v in values], dtype=float)
    out = _predict(model, freq, y, horizon, level=True)

    def clip(a: np.ndarray) -> list[float]:
        return [max(0.0, round(float(v), 2)) for v in a.tolist()]

    lo = out.get(f"lo-{LEVEL}")
    hi = out.get(f"hi-{LEVEL}")
    ok = lo is not None and hi is not None and bool(np.all(np.isfinite(lo))) and bool(np.all(np.isfinite(hi)))
    return Forecast(
        model=model,
        mean=clip(out["mean"]),
        lo=clip(lo) if ok and lo is not None else None,
        hi=clip(hi) if ok and hi is not None else None,
    )


def future_periods(last: date, freq: str, horizon: int) -> list[date]:
    """The ``horizon`` period starts after the period starting on ``last``."""
    out: list[date] = []
    cur = last
    for _ in range(horizon):
        cur = next_period(cur, freq)
        out.append(cur)
    return out


def table_lines(result: BacktestResult, notes: Iterable[str] | None = None) -> list[str]:
    """The comparison table as plain text lines (the CLI's output), chosen model marked ``*``."""

    def fmt(v: float | None) -> str:
        return "—" if v is None else f"{v:.2f}" if abs(v) < 1e9 else f"{v:.3e}"

    lines = [f"{'model':<28}{'MAPE %':>10}{'sMAPE %':>10}{'MASE':>10}{'folds':>7}"]
    for m in result.models:
        mark = "*" if m.name == result.chosen else " "
        label = f"{mark}{m.name}{' (baseline)' if m.baseline else ''}"
        lines.append(f"{label:<28}{fmt(m.mape):>10}{fmt(m.smape):>10}{fmt(m.mase):>10}{m.folds:>7}")
    lines.append("")
    if result.beat_baseline:
        lines.append(
            f"Chosen: {result.chosen} (lowest MASE among the models that beat the better baseline, {result.baseline})."
        )
    else:
        lines.append(f"Chosen: {result.chosen}, the better baseline: no model beat it.")
    for code in notes if notes is not None else result.notes:
        lines.append(NOTE_TEXT.get(code, code))
    return lines
