"""Speed and memory of the cost lake: generate N FOCUS rows, ingest them, run a sweep's queries.

Usage: ``python benchmarks/ingest_and_sweep.py [N] [--keep DIR]`` (N defaults to 1,000,000).

Each phase runs in its own child process, so the peak resident memory reported for a phase is
that phase's alone (the child reads its own high-water mark, ``ru_maxrss``, before exiting).
Prints figures; never passes or fails on time.

The sweep phase times the lake queries a sweep makes one by one, then the full sweep graph
(collect -> detect -> estimate -> propose -> dedupe -> narrate -> persist) over the same lake,
with the AWS source disabled so only the lake is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULT_PREFIX = "RESULT "


def _peak_rss_mb() -> float:
    """This process's peak resident set size (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _progress_printer(label: str, total: int) -> Callable[[int], None]:
    """A progress callback printing every ~10% to stderr (stdout carries the result)."""
    state = {"next": 0.1, "start": time.perf_counter()}

    def report(done: int) -> None:
        if total and done / total >= state["next"]:
            elapsed = time.perf_counter() - state["start"]
            print(f"  {label}: {done:>12,} rows  {done / total:4.0%}  {elapsed:6.1f}s",
                  file=sys.stderr, flush=True)
            while done / total >= state["next"]:
                state["next"] += 0.1

    return report


# --- phases (each runs in a child process) -------------------------------------------------------


def generate_phase(csv_path: Path, rows: int) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    from _synthetic_focus import write_synthetic_csv

    start = time.perf_counter()
    write_synthetic_csv(csv_path, rows, progress=_progress_printer("generate", rows))
    seconds = time.perf_counter() - start
    # Flush the CSV to disk now, so the kernel's write-back is not billed to the ingest phase.
    os.sync()
    return {"rows": rows, "seconds": seconds,
            "note": f"{csv_path.stat().st_size / 1e6:,.0f} MB CSV"}


def ingest_phase(csv_path: Path, lake_dir: Path, rows: int) -> dict[str, Any]:
    from spendpilot.lake import ingest_file

    start = time.perf_counter()
    report = ingest_file(csv_path, lake_dir, progress=_progress_printer("ingest", rows))
    seconds = time.perf_counter() - start
    size = sum(p.stat().st_size for p in lake_dir.rglob("*.parquet"))
    return {
        "rows": report.rows_read,
        "seconds": seconds,
        "note": f"{report.rows_stored:,} stored, {report.rows_quarantined:,} quarantined, "
                f"{size / 1e6:,.0f} MB Parquet",
        "reasons": report.reasons,
    }


def sweep_phase(lake_dir: Path) -> dict[str, Any]:
    """The lake queries one sweep makes, timed one by one.

    A sweep needs each resource's cost over the last 30 days (for savings estimates) and the
    dashboard's top services and daily spend. The lead engineer extends this to the full sweep.
    """
    from spendpilot.lake import CostLake

    lake = CostLake(lake_dir)
    timings: dict[str, float] = {}

    def timed(name: str, call: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        result = call()
        timings[name] = time.perf_counter() - start
        return result

    rows = timed("row_count", lake.row_count)
    latest = timed("latest_charge_time", lake.latest_charge_time)
    since = latest - timedelta(days=30) if latest else None
    costs = timed("resource_costs_30d", lambda: lake.resource_costs(since) if since else {})
    timed("resource_billed_hours_30d", lambda: lake.resource_billed_hours(since) if since else {})
    timed("resource_commitment_share_30d", lambda: lake.resource_commitment_share(since) if since else {})
    top = timed("top_spend_service", lambda: lake.top_spend("service", days=30))
    timed("top_spend_tag_team", lambda: lake.top_spend("tag:team", days=30))
    daily = timed("daily_spend_30d", lambda: lake.daily_spend(days=30))
    seconds = sum(timings.values())
    report = timed("full_sweep_graph", lambda: _full_sweep(lake_dir))
    return {
        "rows": rows,
        "seconds": seconds,
        "note": f"{len(costs):,} resources, {len(top)} services, {len(daily)} days; "
                f"full sweep graph {timings['full_sweep_graph']:.2f}s, {report.findings} findings",
        "timings": timings,
    }


def _full_sweep(lake_dir: Path) -> Any:
    """The real sweep over this lake: the stores live beside it, AWS is not read."""
    from spendpilot.config import Settings
    from spendpilot.runtime import build_services

    home = lake_dir.parent / "sweep-home"
    home.mkdir(exist_ok=True)
    (home / "lake").unlink(missing_ok=True)
    (home / "lake").symlink_to(lake_dir.resolve(), target_is_directory=True)
    return build_services(Settings(home=home, aws={"enabled": False})).sweep()


def _child(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phase", required=True, choices=["generate", "ingest", "sweep"])
    parser.add_argument("--csv", type=Path)
    parser.add_argument("--lake", type=Path)
    parser.add_argument("--rows", type=int, default=0)
    args = parser.parse_args(argv)
    if args.phase == "generate":
        result = generate_phase(args.csv, args.rows)
    elif args.phase == "ingest":
        result = ingest_phase(args.csv, args.lake, args.rows)
    else:
        result = sweep_phase(args.lake)
    result["peak_rss_mb"] = _peak_rss_mb()
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# --- driver --------------------------------------------------------------------------------------


def _run_phase(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        stdout=subprocess.PIPE, text=True, check=True,
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith(RESULT_PREFIX))
    return json.loads(line[len(RESULT_PREFIX):])


def _baseline_rss_mb() -> float:
    """Peak RSS of a child that only imports the lake: the floor under every phase's figure."""
    code = (
        "import resource, spendpilot.lake;"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, check=True
    )
    return float(out.stdout.strip())


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = parser.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="spendpilot-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    csv_path, lake_dir = work / "focus_synthetic.csv", work / "lake"
    shutil.rmtree(lake_dir, ignore_errors=True)
    try:
        print(f"spendpilot lake benchmark: {args.rows:,} rows in {work}", file=sys.stderr)
        results = {
            "generate": _run_phase("--phase", "generate", "--csv", str(csv_path),
                                   "--rows", str(args.rows)),
            "ingest": _run_phase("--phase", "ingest", "--csv", str(csv_path),
                                 "--lake", str(lake_dir), "--rows", str(args.rows)),
            "sweep": _run_phase("--phase", "sweep", "--lake", str(lake_dir)),
        }
        baseline = _baseline_rss_mb()
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)

    print()
    print(f"{'phase':<10}{'rows':>12}{'seconds':>10}{'rows/s':>12}{'peak RSS MB':>13}  notes")
    print("-" * 96)
    for phase, r in results.items():
        rate = r["rows"] / r["seconds"] if r["seconds"] else 0.0
        print(f"{phase:<10}{r['rows']:>12,}{r['seconds']:>10.2f}{rate:>12,.0f}"
              f"{r['peak_rss_mb']:>13,.0f}  {r['note']}")
    print("-" * 96)
    print(f"(a child that only imports spendpilot.lake peaks at {baseline:,.0f} MB)")
    print("\nsweep queries:")
    for name, seconds in results["sweep"]["timings"].items():
        print(f"  {name:<31}{seconds * 1000:>9.0f} ms")
    print("\nquarantined by reason:")
    for reason, count in results["ingest"]["reasons"].items():
        print(f"  {count:>8,}  {reason}")


if __name__ == "__main__":
    if "--phase" in sys.argv:
        _child(sys.argv[1:])
    else:
        main(sys.argv[1:])
