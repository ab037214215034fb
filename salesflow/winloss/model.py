"""The regularised logistic regression of win/loss drivers (issue 11 item 6).

Features (one row per closed deal of ``selectors.DealFrame``):

* one-hot columns of source, industry, company size, the activity bin, the objection-count bin
  and the discount bin, each attribute's most frequent value left out as the **reference**
  (its odds ratios read "against deals with <reference>");
* time in stage is NOT a feature: over all closed deals it mostly measures whether a deal
  got as far as the stage (deals lost early have no time in later stages), which would make
  "time in negotiation" look like a cause of winning. The page compares time in each stage
  among the deals that passed through it instead (``selectors.stage_bins``).

Fitted by Newton–Raphson on scikit-learn's ``LogisticRegression`` objective (L2 penalty,
C = ``PENALTY_C``, intercept unpenalised; the tests compare with scikit-learn) on at most
``MAX_DEALS`` deals (a seeded random sample when there are more; the sample size is
reported). Intervals: percentile bootstrap over ``BOOTSTRAP`` resamples of those deals (seeded,
so the same data gives the same figures); an odds ratio whose 95 % interval contains 1 is
"not significant". The penalty shrinks every coefficient towards 0 (odds ratio 1), so the odds
ratios are conservative; they describe association, not cause.

Language-neutral like ``selectors``: a term names its attribute, value and reference by code and
a missing model says why by ``note_code``; ``winloss.labels`` words them for the reader.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from salesflow.winloss.selectors import (
    ACTIVITY_BINS,
    OBJECTION_BINS,
    Bin,
    DealFrame,
    Model,
    Term,
    count_bins,
    discount_bins,
)

#: a column's meaning: (feature key, attribute, value code, reference value code)
Feature = tuple[str, str, str, str]

PENALTY_C = 1.0
MAX_DEALS = 3000
BOOTSTRAP = 200
NEWTON_STEPS = 50
MIN_DEALS = 40
MIN_EACH = 10  # won and lost deals needed
SEED = 11


def _one_hot(name: str, keys: list[str]) -> tuple[list[np.ndarray[Any, Any]], list[Feature]]:
    """Columns for every key but the most frequent one (the reference; ties by key)."""
    arr = np.array(keys, dtype=object)
    counts = Counter(keys)
    if len(counts) < 2:
        return [], []
    reference = max(sorted(counts), key=lambda k: counts[k])
    cols: list[np.ndarray[Any, Any]] = []
    meta: list[Feature] = []
    for key in sorted(counts):
        if key == reference:
            continue
        cols.append((arr == key).astype(float))
        meta.append((f"{name}={key}", name, key, reference))
    return cols, meta


def _binned(bins: list[Bin], n: int) -> list[str]:
    keys = [""] * n
    for b in bins:
        for i in np.flatnonzero(b.mask):
            keys[int(i)] = b.key
    return keys


def design(frame: DealFrame) -> tuple[np.ndarray[Any, Any], list[Feature]]:
    """The feature matrix of ``frame`` and the meaning of each column."""
    n = frame.n
    cols: list[np.ndarray[Any, Any]] = []
    meta: list[Feature] = []
    for name, values in (("source", frame.source), ("industry", frame.industry), ("size", frame.size)):
        c, m = _one_hot(name, values)
        cols += c
        meta += m
    for name, bins in (
        ("activities", count_bins(frame.activities, ACTIVITY_BINS)),
        ("objections", count_bins(frame.objections, OBJECTION_BINS)),
        ("discount", discount_bins(frame.discount)),
    ):
        c, m = _one_hot(name, _binned(bins, n))
        cols += c
        meta += m
    matrix = np.column_stack(cols) if cols else np.zeros((n, 0))
    return matrix, meta


def _fit(x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The coefficients (without the intercept) minimising C·Σ log-loss + ½‖w‖², the intercept
    unpenalised — scikit-learn's ``LogisticRegression(C=C)`` objective — by Newton–Raphson
    (the objective is strictly convex; a few iterations over a small dense Hessian, far
    cheaper than a general solver on a busy machine). The tests check it against
    scikit-learn."""
    xa = np.column_stack([np.ones(y.size), x])
    penalty = np.eye(xa.shape[1])
    penalty[0, 0] = 0.0
    w = np.zeros(xa.shape[1])
    yf = y.astype(float)
    for _i in range(NEWTON_STEPS):
        z = np.clip(xa @ w, -35.0, 35.0)
        p = 1.0 / (1.0 + np.exp(-z))
        grad = PENALTY_C * (xa.T @ (p - yf)) + penalty @ w
        hess = PENALTY_C * ((xa.T * (p * (1.0 - p))) @ xa) + penalty + 1e-9 * np.eye(xa.shape[1])
        step = np.linalg.solve(hess, grad)
        w = w - step
        if float(np.abs(step).max()) < 1e-10:
            break
    return np.asarray(w[1:], dtype=float)


def fit_model(frame: DealFrame) -> Model:
    """The regression over ``frame``, or a model without terms whose ``note_code`` says why."""
    won = int(frame.won.sum())
    lost = frame.n - won
    empty = Model(n=frame.n, won=won, population=frame.n, bootstrap=0, penalty_c=PENALTY_C)
    if frame.n < MIN_DEALS or won < MIN_EACH or lost < MIN_EACH:
        empty.note_code = "too_few_deals"
        empty.note_params = {"n": frame.n, "won": won, "min": MIN_DEALS, "each": MIN_EACH}
        return empty
    x, meta = design(frame)
    y = frame.won.astype(int)
    if not meta:
        empty.note_code = "no_variation"
        return empty
    rng = np.random.default_rng(SEED)
    if frame.n > MAX_DEALS:
        rows = np.sort(rng.choice(frame.n, MAX_DEALS, replace=False))
        x, y = x[rows], y[rows]
    n = int(y.size)
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    with threadpool_limits(1):  # small matrices: BLAS threads only contend on a busy machine
        coef = _fit(x, y)
        draws = []
        for _i in range(BOOTSTRAP):
            sample = rng.integers(0, n, n)
            ys = y[sample]
            if ys.min() == ys.max():
                continue
            draws.append(_fit(x[sample], ys))
    boot = np.array(draws) if draws else np.zeros((0, len(meta)))
    terms = []
    for j, (key, attribute, value, reference) in enumerate(meta):
        lo = hi = None
        if boot.shape[0] >= 20:
            lo = float(np.exp(np.percentile(boot[:, j], 2.5)))
            hi = float(np.exp(np.percentile(boot[:, j], 97.5)))
        terms.append(
            Term(
                feature=key,
                attribute=attribute,
                value=value,
                reference=reference,
                coefficient=float(coef[j]),
                odds_ratio=float(np.exp(coef[j])),
                or_low=lo,
                or_high=hi,
                significant=lo is not None and hi is not None and (lo > 1.0 or hi < 1.0),
            )
        )
    terms.sort(key=lambda t: -abs(t.coefficient))
    sampled = frame.n > MAX_DEALS
    return Model(
        n=n,
        won=int(y.sum()),
        population=frame.n,
        bootstrap=int(boot.shape[0]),
        penalty_c=PENALTY_C,
        terms=terms,
        note_code="sampled" if sampled else "",
        note_params={"n": n, "total": frame.n} if sampled else {},
    )
