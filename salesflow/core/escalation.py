"""Catching up an escalation ladder, shared by the stall ladder (``sales``) and the follow-up
ladder (``activities``).

Both ladders are daily jobs that take each step of a ladder once per record and episode.
On a first run over an existing database, or after the job did not run for a while, a
record may have reached several steps at once; telling its owner, then the manager, then
the manager's manager about the same deal in one run is noise. The rules here:

- **Only the current step is taken with notifications**: of the steps a record has reached
  and not yet taken, those at the furthest point of the ladder (the largest day offset —
  several steps may share it) are taken; the earlier ones are recorded as *skipped*, so
  they are never taken later either, and nobody is notified of them. A job that runs every
  day takes at most one new step per record and day, so nothing is skipped then.
- **Many notifications to one person in one run become one digest**: more than
  :func:`digest_threshold` notifications of one kind to one recipient in one run are sent as
  one notification listing the records (the per-record events still go on each record's
  timeline, flagged so that they notify nobody on their own).
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Sequence
from typing import TypeVar

from django.conf import settings

Step = TypeVar("Step")

#: How many records a digest names in its summary; the rest are counted ("and 12 more").
DIGEST_NAMES = 5
#: How many record ids a digest event carries (the notification links to the full list).
DIGEST_IDS = 50


def digest_threshold() -> int:
    """More than this many notifications of one kind to one person in one run are sent as
    one digest (``SALESFLOW_ESCALATION_DIGEST_OVER``, default 3)."""
    return max(int(getattr(settings, "SALESFLOW_ESCALATION_DIGEST_OVER", 3)), 0)


def catch_up(
    reached: Sequence[Step], taken: Container[Step], offset: Callable[[Step], int]
) -> tuple[list[Step], list[Step]]:
    """Split the steps a record has ``reached`` (in ladder order) into those to take now
    with notifications and those to record as skipped.

    A step in ``taken`` (notified or skipped before) is in neither list. The steps to
    take are the untaken ones at the furthest ``offset`` among all reached steps (taken or
    not); every other untaken step is skipped. So a record past three steps at its first
    run gets the third only, and a step added to the ladder below where a record already is
    is skipped for that record rather than sent late."""
    if not reached:
        return [], []
    furthest = max(offset(step) for step in reached)
    take: list[Step] = []
    skip: list[Step] = []
    for step in reached:
        if step in taken:
            continue
        (take if offset(step) == furthest else skip).append(step)
    return take, skip


def is_digest(count: int, recipient: object) -> bool:
    """Whether ``count`` notifications to ``recipient`` (``None``: nobody) in one run go as a digest."""
    return recipient is not None and count > digest_threshold()


def first_ids(ids: Iterable[int]) -> list[int]:
    """The record ids a digest event carries: the first :data:`DIGEST_IDS`."""
    out: list[int] = []
    for pk in ids:
        if len(out) >= DIGEST_IDS:
            break
        out.append(pk)
    return out
