"""The record-pair scoring engine behind every duplicate check (查重).

Pure Python over plain dict rows, no database: the database matcher
(:mod:`salesflow.dedupe.matching`), the ``salesflow duplicates`` command, the duplicate
report and the quality tests (FEBRL, the generated Chinese set) all score pairs here.

How a pair is scored (a Fellegi–Sunter style sum of evidence):

1. Each row is *prepared* once into features (normalised keys: E.164 phones, company stems,
   pinyin keys, …) by the :class:`MatchConfig` of its record kind.
2. Candidate pairs come from *blocking*: two rows are compared only when they share a
   blocking key (same mobile, same company stem, same name pinyin, …). Blocks larger than
   ``max_block`` are skipped (a key shared by that many rows tells nothing).
3. Each :class:`Rule` looks at one piece of evidence and adds a log-odds weight: positive when
   the values agree ("same mobile" +6), negative when both are present and disagree
   ("different unified social credit codes" −12); missing values add nothing.
4. The score is ``sigmoid(sum + bias)`` in ``[0, 1]``; the reasons are the rules' phrases,
   strongest first (translated at call time). A rule may give its phrase as a callable that
   builds it: the phrases are built only for pairs the caller keeps (``min_score``), so the
   many pairs of an import that score low cost no translation or formatting.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Features = dict[str, Any]
# The phrase of a piece of evidence, or a callable building it (translated when called).
Reason = str | Callable[[], str]
# (log-odds weight, reason or None) for one piece of evidence between two prepared rows
Evidence = tuple[float, Reason | None]
Rule = Callable[[Features, Features], Evidence]


@dataclass(frozen=True)
class MatchConfig:
    """How rows of one kind are prepared, blocked and scored."""

    prepare: Callable[[Mapping[str, Any]], Features]
    rules: Sequence[Rule]
    blocking: Sequence[Callable[[Features], Iterable[str]]]
    bias: float
    max_block: int = 200


@dataclass(frozen=True)
class PairScore:
    """One scored pair of rows (indexes into the scored sequences)."""

    a: int
    b: int
    score: float
    reasons: tuple[str, ...]


@dataclass
class Scored:
    """The evidence sum of a pair before it becomes a probability."""

    total: float = 0.0
    evidence: list[tuple[float, str]] = field(default_factory=list)


def score_features(
    config: MatchConfig, a: Features, b: Features, min_score: float | None = None
) -> tuple[float, tuple[str, ...]]:
    """Score two prepared rows: ``(probability, reasons strongest first)``.

    Reasons list the agreeing evidence first (largest weight first), then notable
    disagreements (weight below −1), so a low score explains itself too. With ``min_score``,
    a pair scoring below it comes back with no reasons (its phrases are never built); the
    score is the same either way.
    """
    total = config.bias
    noted: list[tuple[float, Reason]] = []
    for rule in config.rules:
        weight, reason = rule(a, b)
        total += weight
        if reason is not None and (weight > 0 or weight < -1):
            noted.append((weight, reason))
    score = sigmoid(total)
    if min_score is not None and score < min_score:
        return score, ()
    positive: list[tuple[float, str]] = []
    negative: list[tuple[float, str]] = []
    for weight, reason in noted:
        text = reason if isinstance(reason, str) else reason()
        if text:
            (positive if weight > 0 else negative).append((weight, text))
    positive.sort(key=lambda item: -item[0])
    negative.sort(key=lambda item: item[0])
    reasons = tuple(r for _, r in positive) + tuple(r for _, r in negative)
    return score, reasons


def sigmoid(x: float) -> float:
    """The logistic function, safe for large ``|x|``."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def logit(p: float) -> float:
    """Inverse of :func:`sigmoid` for ``0 < p < 1``."""
    return math.log(p / (1.0 - p))


def block_index(config: MatchConfig, rows: Sequence[Features]) -> dict[str, list[int]]:
    """Blocking key → row indexes having it (keys are namespaced by blocking pass)."""
    index: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        for n, blocker in enumerate(config.blocking):
            for key in set(blocker(row)):
                if key:
                    index[f"{n}:{key}"].append(i)
    return index


def candidate_pairs_within(config: MatchConfig, rows: Sequence[Features]) -> set[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, of rows sharing a blocking key (deduplication)."""
    pairs: set[tuple[int, int]] = set()
    for members in block_index(config, rows).values():
        if len(members) < 2 or len(members) > config.max_block:
            continue
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                i, j = members[x], members[y]
                pairs.add((i, j) if i < j else (j, i))
    return pairs


def candidate_pairs_between(
    config: MatchConfig, left: Sequence[Features], right: Sequence[Features]
) -> set[tuple[int, int]]:
    """Pairs ``(i, j)`` of a left and a right row sharing a blocking key (linkage)."""
    right_index = block_index(config, right)
    pairs: set[tuple[int, int]] = set()
    for key, members in block_index(config, left).items():
        others = right_index.get(key)
        if not others or len(members) * len(others) > config.max_block * config.max_block // 4:
            continue
        for i in members:
            for j in others:
                pairs.add((i, j))
    return pairs


def dedupe_rows(config: MatchConfig, rows: Sequence[Mapping[str, Any]], *, min_score: float) -> list[PairScore]:
    """Candidate duplicate pairs inside ``rows`` scoring at least ``min_score``, best first."""
    prepared = [config.prepare(row) for row in rows]
    return _score_pairs(config, prepared, prepared, candidate_pairs_within(config, prepared), min_score)


def link_rows(
    config: MatchConfig,
    left: Sequence[Mapping[str, Any]],
    right: Sequence[Mapping[str, Any]],
    *,
    min_score: float,
) -> list[PairScore]:
    """Pairs of a ``left`` and a ``right`` row that are the same record (linkage)."""
    a = [config.prepare(row) for row in left]
    b = [config.prepare(row) for row in right]
    return _score_pairs(config, a, b, candidate_pairs_between(config, a, b), min_score)


def _score_pairs(
    config: MatchConfig,
    left: Sequence[Features],
    right: Sequence[Features],
    pairs: Iterable[tuple[int, int]],
    min_score: float,
) -> list[PairScore]:
    out: list[PairScore] = []
    for i, j in pairs:
        score, reasons = score_features(config, left[i], right[j], min_score)
        if score >= min_score:
            out.append(PairScore(i, j, score, reasons))
    out.sort(key=lambda p: (-p.score, p.a, p.b))
    return out


def precision_recall_f1(found: set[tuple[Any, Any]], truth: set[tuple[Any, Any]]) -> tuple[float, float, float]:
    """Precision, recall and F1 of ``found`` pairs against ``truth`` (both as ordered pairs)."""
    hits = len(found & truth)
    precision = hits / len(found) if found else 1.0
    recall = hits / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
