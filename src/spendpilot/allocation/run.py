"""Allocate the clusters a sweep read: prices, the period (whole UTC days) and the result.

Kept apart from the method (``kubernetes.py``, pure functions) and from the command line
(``spendpilot allocate``), so a scheduled job can call it too.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from spendpilot.allocation.kubernetes import Allocation, allocate, node_prices
from spendpilot.domain.snapshot import Snapshot
from spendpilot.errors import BadArgument


def whole_days(now: datetime, days: int) -> tuple[datetime, datetime]:
    """The last ``days`` complete UTC days before ``now``: a partial day is never allocated,
    because its stored rows would replace a complete day's (see ``focus_rows``)."""
    if days < 1:
        raise BadArgument("--days must be at least 1")
    end = datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)
    return end - timedelta(days=days), end


def allocate_snapshot(snapshot: Snapshot, prices: object, *, days: int, cluster: str | None = None
                      ) -> list[tuple[Allocation, list[str]]]:
    """Each cluster's allocation with the reasons any node went unpriced."""
    clusters = [c for c in snapshot.clusters if cluster is None or c.cluster == cluster]
    if cluster is not None and not clusters:
        known = ", ".join(c.cluster for c in snapshot.clusters) or "none"
        raise BadArgument(f"no cluster named {cluster!r} was read; clusters read: {known}")
    start, end = whole_days(snapshot.taken_at, days)
    out: list[tuple[Allocation, list[str]]] = []
    for state in clusters:
        found, missing = node_prices(state, prices, snapshot.resource_costs_30d, snapshot.resource_billed_hours_30d)
        out.append((allocate(state, found, start, end), missing))
    return out
