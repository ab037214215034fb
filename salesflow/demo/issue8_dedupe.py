"""Demo seeding of the duplicate check (issue 8, match): the demo's leads, accounts and
contacts are bulk-written past the services, so their duplicate-check keys are filled here
(the demo's look-alike companies and leads then show up in the duplicate report)."""

from __future__ import annotations

from salesflow.dedupe.services import match_keys_refresh


def write_match_keys() -> int:
    """Fill the stored matching keys of every demo record; returns the rows changed."""
    return match_keys_refresh()
