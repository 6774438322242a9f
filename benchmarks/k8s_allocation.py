"""Kubernetes cost allocation at scale: N pods over D days of hourly usage (default 1,000 x 14).

Builds a generated cluster in memory (m5/r5 nodes, 12 pods each, every tenth node a time-sliced
g5.12xlarge; hourly CPU and memory readings per pod), then times ``allocate`` alone and reports
the peak memory of the allocation step (tracemalloc, Python allocations, in a second run) and of the process
(ru_maxrss). Also checks the invariant while at it: namespace totals + idle = node costs.

    .venv/bin/python benchmarks/k8s_allocation.py [PODS] [DAYS]
"""

from __future__ import annotations

import resource
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.k8s.cluster_gen import large_cluster  # noqa: E402

from spendpilot.allocation.kubernetes import allocate, node_prices  # noqa: E402
from spendpilot.savings.pricebook import PriceBook  # noqa: E402


def main() -> None:
    pods = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    days = int(sys.argv[2]) if len(sys.argv) > 2 else 14
    end = datetime(2026, 11, 15, tzinfo=UTC)
    t0 = time.perf_counter()
    state = large_cluster(pods=pods, days=days, end=end)
    built = time.perf_counter() - t0
    prices, missing = node_prices(state, PriceBook.bundled())
    assert not missing, missing
    t1 = time.perf_counter()
    result = allocate(state, prices, end - timedelta(days=days), end)
    elapsed = time.perf_counter() - t1
    tracemalloc.start()  # a second run for memory: tracing slows allocation several times over
    allocate(state, prices, end - timedelta(days=days), end)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    total = sum((line.cost for line in result.lines), Decimal(0))
    assert total.quantize(Decimal("0.01")) == result.node_costs["USD"].quantize(Decimal("0.01"))
    points = sum(len(u.points) for u in state.usage)
    print(f"cluster: {len(state.nodes)} nodes, {pods} pods, {days} days hourly ({points:,} usage points); built in {built:.1f} s")
    print(f"allocate: {elapsed:.2f} s, peak traced memory {peak / 2**20:.1f} MiB, "
          f"process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    print(f"result: {len(result.lines):,} lines (day x namespace x workload + idle), "
          f"total {total.quantize(Decimal('0.01'))} USD = node costs {result.node_costs['USD'].quantize(Decimal('0.01'))} USD")


if __name__ == "__main__":
    main()
