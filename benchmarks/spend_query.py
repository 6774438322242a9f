"""Speed and memory of `spendpilot spend --by service,account` beside DuckDB's own GROUP BY.

Usage: ``python benchmarks/spend_query.py [N] [--keep DIR] [--runs R] [--copies K]`` (N defaults
to 1,000,000). ``--copies K`` stores the ingested Parquet files K times (as K deliveries of the
same rows would sit side by side): K x N rows to query without generating and ingesting them,
when only the query is being measured.

Generates N synthetic FOCUS rows and ingests them with the phases of ``ingest_and_sweep`` (same
generator, same child-process isolation), then times, each in a fresh child process so its peak
RSS is its own:

* ``duckdb``: a bare DuckDB session summing ``EffectiveCost`` per service, billing account and
  currency over the same Parquet files and the same days: the floor for this question;
* ``spend``: ``run_spend_query`` for the same question (the latest-data lookup, the grouped
  sum, names beside ids, ranking, shares and the result models);
* ``spend CLI``: the real command with ``--json``, process start included.

Both answers are compared row by row. Prints figures; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ingest_and_sweep import RESULT_PREFIX, _peak_rss_mb, _run_phase  # noqa: E402

EVERYTHING = ("2000-01-01", "2099-12-31")
"""The whole lake: the synthetic rows span 60 days, and both sides must sum the same rows."""


def duckdb_phase(lake_dir: Path, runs: int) -> dict[str, Any]:
    import duckdb

    pattern = str(lake_dir / "focus" / "*" / "*" / "*.parquet")
    sql = (
        'SELECT "ServiceName", "BillingAccountId", "BillingCurrency", sum("EffectiveCost") AS cost '
        f"FROM read_parquet('{pattern}', hive_partitioning = true, union_by_name = true) "
        "GROUP BY ALL"
    )
    times, found = [], []
    for _ in range(runs):
        start = time.perf_counter()
        con = duckdb.connect()
        found = con.sql(sql).fetchall()
        con.close()
        times.append(time.perf_counter() - start)
    totals = {f"{svc}|{acct}|{cur}": str(cost) for svc, acct, cur, cost in found}
    return {"seconds": statistics.median(times), "all": times, "groups": len(found), "totals": totals}


def spend_phase(lake_dir: Path, runs: int) -> dict[str, Any]:
    from datetime import date

    from spendpilot.lake.spend import build_query, run_spend_query

    query = build_query(group_by=["service", "account"], start=date.fromisoformat(EVERYTHING[0]),
                        end=date.fromisoformat(EVERYTHING[1]))
    times = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = run_spend_query(lake_dir, query)
        times.append(time.perf_counter() - start)
    assert result is not None
    totals = {}
    for row in result.rows:
        account = row.keys["account"].rsplit("[", 1)[-1].rstrip("]")  # "Name [id]" → id
        totals[f"{row.keys['service']}|{account}|{row.currency}"] = str(row.amount)
    return {"seconds": statistics.median(times), "all": times, "groups": len(result.rows), "totals": totals}


def cli_phase(lake_dir: Path, runs: int) -> dict[str, Any]:
    """The real command in its own process; the peak RSS reported is that process's."""
    import resource

    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "spendpilot.cli", "spend", "--home", str(lake_dir.parent),
             "--by", "service,account", "--from", EVERYTHING[0], "--to", EVERYTHING[1], "--json"],
            check=True, stdout=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - start)
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": statistics.median(times), "all": times, "child_peak_rss_mb": child_peak}


def _child(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phase", required=True, choices=["duckdb", "spend", "cli"])
    parser.add_argument("--lake", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    phase = {"duckdb": duckdb_phase, "spend": spend_phase, "cli": cli_phase}[args.phase]
    result = phase(args.lake, args.runs)
    result["peak_rss_mb"] = result.pop("child_peak_rss_mb", None) or _peak_rss_mb()
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def _run(*args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args],
                          stdout=subprocess.PIPE, text=True, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith(RESULT_PREFIX))
    return json.loads(line[len(RESULT_PREFIX):])


def _count_rows(lake_dir: Path) -> int:
    import duckdb

    pattern = str(lake_dir / "focus" / "*" / "*" / "*.parquet")
    return int(duckdb.sql(f"SELECT count(*) FROM read_parquet('{pattern}')").fetchall()[0][0])


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it (reuses its lake)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per phase (median printed)")
    parser.add_argument("--copies", type=int, default=1, help="store the ingested files this many times")
    args = parser.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="spendpilot-spend-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    csv_path, lake_dir = work / "focus_synthetic.csv", work / "lake"
    try:
        built: dict[str, Any] = {}
        if not (lake_dir / "focus").is_dir():
            print(f"spend benchmark: generating and ingesting {args.rows:,} rows in {work}", file=sys.stderr)
            built["generate"] = _run_phase("--phase", "generate", "--csv", str(csv_path), "--rows", str(args.rows))
            built["ingest"] = _run_phase("--phase", "ingest", "--csv", str(csv_path), "--lake", str(lake_dir),
                                         "--rows", str(args.rows))
            csv_path.unlink(missing_ok=True)
        stored = sorted((lake_dir / "focus").rglob("*.parquet"))
        originals = [p for p in stored if ".copy" not in p.name]
        for copy in range(1, args.copies):
            for original in originals:
                target = original.with_name(f"{original.stem}.copy{copy}.parquet")
                if not target.exists():
                    shutil.copyfile(original, target)
        rows_queried = _count_rows(lake_dir)
        lake_mb = sum(p.stat().st_size for p in (lake_dir / "focus").rglob("*.parquet")) / 1e6
        runs = str(args.runs)
        results = {name: _run("--phase", name, "--lake", str(lake_dir), "--runs", runs)
                   for name in ("duckdb", "spend", "cli")}
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)

    for phase, r in built.items():
        print(f"{phase:<8}{r['rows']:>12,} rows {r['seconds']:8.1f} s  peak RSS {r['peak_rss_mb']:,.0f} MB  {r['note']}")
    same = {k: Decimal(v) for k, v in results["duckdb"]["totals"].items()} == {
        k: Decimal(v) for k, v in results["spend"]["totals"].items()}
    print(f"\nlake: {rows_queried:,} rows ({args.copies} cop{'y' if args.copies == 1 else 'ies'} of the "
          f"ingested files), {lake_mb:,.0f} MB Parquet")
    print(f"\n{'query (by service, account)':<34}{'median s':>9}{'runs':>24}{'peak RSS MB':>13}")
    labels = {"duckdb": "DuckDB GROUP BY (bare session)", "spend": "run_spend_query (in-process)",
              "cli": "spendpilot spend --json (process)"}
    for name, r in results.items():
        each = ", ".join(f"{t:.2f}" for t in r["all"])
        print(f"{labels[name]:<34}{r['seconds']:>9.2f}{each:>24}{r['peak_rss_mb']:>13,.0f}")
    print(f"\n{results['spend']['groups']} groups; spend's amounts equal DuckDB's: {same}")


if __name__ == "__main__":
    if "--phase" in sys.argv:
        _child(sys.argv[1:])
    else:
        main(sys.argv[1:])
