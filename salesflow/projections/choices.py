"""Constants of the revenue forecast shared by services, selectors and views."""

from __future__ import annotations

METRICS: tuple[str, ...] = ("won_revenue", "collections")
FREQS: tuple[str, ...] = ("M", "W")
MONTHS = 36  # complete months of history read
WEEKS = 104  # complete weeks of history read
HORIZON: dict[str, int] = {"M": 3, "W": 8}
FOLDS: dict[str, int] = {"M": 3, "W": 4}
NOTE_NO_HISTORY = "no_history"
NOTE_TRIMMED = "leading_zeros_trimmed"
