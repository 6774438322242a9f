"""The TUI dashboard's keypress-to-paint time over a large FOCUS lake (default 1,000,000 rows).

Usage: ``python benchmarks/tui_dashboard.py [N] [--keep DIR] [--copies K]``. The lake is built as
``benchmarks/spend_query.py`` builds it (same generator and ingest phases, reused from
``ingest_and_sweep``); ``--copies K`` stores the ingested Parquet files K times, so K x N rows are
read without generating and ingesting them again (10 M rows: ``1000000 --copies 10``). With
``--keep DIR`` the lake is kept and reused, and the copies are added to it.

Each phase runs in its own child process, so its peak RSS is its own:

* ``tui``: ``SpendpilotApp`` headless (``App.run_test``) on the real services of a home whose
  lake is that lake. Keys, each pressed only once the previous one's figures are painted:
  ``d`` (open the dashboard: service, 30 days), ``g`` (account), ``g`` (region), ``g`` (team, a
  tag), ``p`` (team, 7 days), ``p`` (team, 90 days). For each key:

  - *to paint*: from just before ``pilot.press(key)`` until the plot widget's ``render()`` has
    returned for the first time while the screen holds the new ``Dashboard`` (the one whose
    grouping and period the key asked for). ``_show`` fills the title, tables and plot from the
    worker's result on the event loop; the plot's ``render`` is where plotext draws the figure,
    called by the compositor on the next refresh. So this is "the key to the new figures on
    screen", worker (all the dashboard's queries) included;
  - *stall*: a 5 ms interval timer records how late each tick is; the largest lateness between
    the key and the paint is the longest the event loop was frozen (no key, no paint) then, and
    the loop thread's CPU between those two ticks says how much of it was the app's own work
    rather than waiting for a CPU on a shared machine.

  Then the process's peak RSS (``ru_maxrss``). ``d`` is pressed 0.5 s after the app starts.
  The phase runs twice: first with no stored spend cube (``<lake>/.cache`` removed: the first
  start after an ingest, the app's start-up read still under way at ``d``), then again with the
  cube the first run stored (the next start), and a third time with none stored but ``d``
  pressed once the app's start-up workers (queue, spend strip, spend cube) have finished.
* ``queries``: what the dashboard's worker spends its time on, each part timed alone in-process
  (the spend queries for the grouping, the LLM-usage query, the spend cube's one scan and its
  stored copy's read, budgets, forecast, anomalies), and
  for reference DuckDB's own aggregate for the first question (by service, last 30 days and the
  30 before, in one scan, bare session over the same Parquet files) and the real
  ``spendpilot spend --by service --last 30d --compare --json`` process.

Prints figures; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ingest_and_sweep import RESULT_PREFIX, _run_phase  # noqa: E402

STALL_TICK = 0.005
KEYS: tuple[tuple[str, str, int], ...] = (
    ("d", "service", 30), ("g", "account", 30), ("g", "region", 30), ("g", "team", 30),
    ("p", "team", 7), ("p", "team", 90),
)
"""(key, the grouping label then shown, the period then shown), pressed in this order."""
WAIT_LIMIT = 900.0


async def _tui(home: Path, wait_start: bool = False) -> dict[str, Any]:
    from spendpilot.config import load_settings
    from spendpilot.runtime import build_services
    from spendpilot.tui import SpendpilotApp
    from spendpilot.tui.screens.dashboard import DashboardScreen

    services = build_services(load_settings(None, home=home))
    app = SpendpilotApp(services, approver="bench")
    ticks: list[tuple[float, float, float]] = []  # (when, lateness, loop-thread CPU since the last)
    last = [0.0, 0.0]
    painted: list[tuple[float, Any]] = []  # (when render returned, the board on screen then)

    def tick() -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        if last[0]:
            ticks.append((now, now - last[0] - STALL_TICK, cpu - last[1]))
        last[0], last[1] = now, cpu

    from textual_plotext import PlotextPlot

    render = PlotextPlot.render

    def timed_render(plot: PlotextPlot) -> Any:
        """The plot's own render, noting when it returned and which board was on screen."""
        result = render(plot)
        screen = plot.screen
        painted.append((time.perf_counter(), screen.board if isinstance(screen, DashboardScreen) else None))
        return result

    # On the class, before ``d``: the first paint can happen while ``press`` is still waiting.
    PlotextPlot.render = timed_render  # type: ignore[method-assign,assignment]

    results: list[dict[str, Any]] = []
    async with app.run_test(size=(160, 48)) as pilot:
        app.set_interval(STALL_TICK, tick)
        await pilot.pause(0.5)
        if wait_start:  # d pressed once the start-up reads (queue, spend strip, spend cube) are done
            await app.workers.wait_for_complete()
            await pilot.pause(0.1)
        for key, group, period in KEYS:
            before = app.screen.board if isinstance(app.screen, DashboardScreen) else None
            start = time.perf_counter()
            await pilot.press(key)
            screen = app.screen
            assert isinstance(screen, DashboardScreen), f"{key!r} did not show the dashboard"
            done_at = None
            while done_at is None:
                done_at = next((when for when, board in painted
                                if when >= start and board is not None and board is not before
                                and board.group_label == group and board.period_days == period), None)
                if time.perf_counter() - start > WAIT_LIMIT:
                    raise SystemExit(f"{key!r}: nothing painted in {WAIT_LIMIT:.0f} s")
                await asyncio.sleep(0.001)
            outlook_at = None
            if key == "d":  # the outlook panels may follow the spend panels (their own worker)
                while outlook_at is None and time.perf_counter() - start < WAIT_LIMIT:
                    shown = screen.board
                    if shown is not None and shown.outlook_read:
                        await pilot.pause()  # their tables are filled with the board: one refresh
                        outlook_at = time.perf_counter()
                    await asyncio.sleep(0.001)
            await pilot.pause(0.05)  # let a tick land after the paint
            during = [(late, cpu) for when, late, cpu in ticks if start <= when <= done_at + STALL_TICK * 2]
            board = screen.board
            assert board is not None
            results.append({
                "key": key, "group": group, "period": period, "seconds": done_at - start,
                "stall_s": max((late for late, _ in during), default=0.0),
                "stall_cpu_s": max((cpu for _, cpu in during), default=0.0),
                "series": len(board.series), "notes": board.notes,
                "outlook_s": None if outlook_at is None else outlook_at - start,
            })
    return {"keys": results, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _timed(call: Any, runs: int) -> dict[str, Any]:
    times, error = [], ""
    for _ in range(runs):
        start = time.perf_counter()
        try:
            call()
        except Exception as exc:  # a part that fails is reported, not the benchmark's end
            error = f"{type(exc).__name__}: {exc}"[:120]
        times.append(time.perf_counter() - start)
    return {"seconds": statistics.median(times), "error": error}


def _queries(home: Path, runs: int) -> dict[str, Any]:
    from spendpilot.config import load_settings
    from spendpilot.lake.spend import Granularity, build_query, run_spend_query
    from spendpilot.runtime import build_services
    from spendpilot.tui.dashboard_data import FORECAST_DAYS, SERIES

    services = build_services(load_settings(None, home=home))
    lake = home / "lake"
    parts: dict[str, dict[str, Any]] = {}
    for key in ("service", "team"):
        parts[f"spend by {key}, 30 d, compared"] = _timed(
            lambda k=key: services.spend(build_query(group_by=[k], last_days=30, compare=True)), runs)
        parts[f"spend by {key}, 30 d, daily top {SERIES}"] = _timed(
            lambda k=key: services.spend(build_query(group_by=[k], last_days=30, granularity=Granularity.DAY,
                                                     top=SERIES)), runs)
    parts["unit economics (LLM usage)"] = _timed(
        lambda: services.spend(build_query(group_by=["feature"], last_days=30, source="llm_usage")), runs)
    if hasattr(services, "spend_cube"):
        from spendpilot.lake.spend_cube import SpendCube
        from spendpilot.tui.dashboard_data import CUBE_DAYS, CUBE_KEYS

        parts[f"spend cube: {', '.join(CUBE_KEYS)}, {CUBE_DAYS} d, one scan"] = _timed(
            lambda: SpendCube.build(lake, CUBE_KEYS, CUBE_DAYS), runs)
        try:
            from spendpilot.lake.spend_cube_cache import SpendCubeCache
        except ImportError:  # before the cube was stored next to the lake
            pass
        else:
            SpendCubeCache(lake).get(CUBE_KEYS, CUBE_DAYS)  # stored, if it was not yet
            parts["spend cube: stored one read (a new process's first ask)"] = _timed(
                lambda: SpendCubeCache(lake).get(CUBE_KEYS, CUBE_DAYS), runs)
    parts["budgets"] = _timed(services.budgets, runs)
    parts[f"forecast, next {FORECAST_DAYS} d"] = _timed(lambda: services.forecast([], FORECAST_DAYS), runs)
    parts["anomalies"] = _timed(services.anomalies, runs)

    # DuckDB's own aggregate for the first question, bare session, same files and same days.
    import duckdb

    result = run_spend_query(lake, build_query(group_by=["service"], last_days=30, compare=True))
    pattern = str(lake / "focus" / "*" / "*" / "*.parquet")
    source = f"read_parquet('{pattern}', hive_partitioning = true, union_by_name = true)"
    start_s, end_s = f"TIMESTAMPTZ '{result.start} 00:00:00+00'", f"TIMESTAMPTZ '{result.end} 00:00:00+00'"
    sql = (
        f'SELECT "ServiceName", "BillingCurrency", '
        f'sum(CASE WHEN "ChargePeriodStart" >= {start_s} THEN "EffectiveCost" END), '
        f'sum(CASE WHEN "ChargePeriodStart" < {start_s} THEN "EffectiveCost" END) FROM {source} '
        f'WHERE "ChargePeriodStart" >= {start_s} - INTERVAL {result.end.toordinal() - result.start.toordinal() + 1} DAY '
        f'AND "ChargePeriodStart" < {end_s} + INTERVAL 1 DAY GROUP BY ALL'
    )

    def bare() -> None:
        con = duckdb.connect()
        con.sql(f'SELECT max("ChargePeriodEnd") FROM {source}').fetchall()
        con.sql(sql).fetchall()
        con.close()

    parts["DuckDB bare: by service, 30 d + previous"] = _timed(bare, runs)
    cli = [sys.executable, "-m", "spendpilot.cli", "spend", "--home", str(home), "--by", "service",
           "--last", "30d", "--compare", "--json"]
    parts["spendpilot spend --by service --last 30d --compare"] = _timed(
        lambda: subprocess.run(cli, check=True, stdout=subprocess.DEVNULL), runs)
    return {"parts": parts, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _child(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phase", required=True, choices=["tui", "queries"])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--wait-start", action="store_true")
    args = parser.parse_args(argv)
    result = asyncio.run(_tui(args.home, args.wait_start)) if args.phase == "tui" else _queries(args.home, args.runs)
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def _run(*args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args],
                          stdout=subprocess.PIPE, text=True, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith(RESULT_PREFIX))
    return json.loads(line[len(RESULT_PREFIX):])


def prepare_lake(work: Path, rows: int, copies: int) -> tuple[int, float]:
    """Generate and ingest ``rows`` unless ``work/lake`` exists; store its files ``copies`` times.

    Returns the rows in the lake and its Parquet size in MB."""
    import duckdb

    csv_path, lake_dir = work / "focus_synthetic.csv", work / "lake"
    if not (lake_dir / "focus").is_dir():
        print(f"generating and ingesting {rows:,} rows in {work}", file=sys.stderr)
        _run_phase("--phase", "generate", "--csv", str(csv_path), "--rows", str(rows))
        _run_phase("--phase", "ingest", "--csv", str(csv_path), "--lake", str(lake_dir), "--rows", str(rows))
        csv_path.unlink(missing_ok=True)
    stored = sorted((lake_dir / "focus").rglob("*.parquet"))
    originals = [p for p in stored if ".copy" not in p.name]
    for copy in range(1, copies):
        for original in originals:
            target = original.with_name(f"{original.stem}.copy{copy}.parquet")
            if not target.exists():
                shutil.copyfile(original, target)
    pattern = str(lake_dir / "focus" / "*" / "*" / "*.parquet")
    counted = duckdb.sql(f"SELECT count(*) FROM read_parquet('{pattern}')")
    assert counted is not None
    count = int(counted.fetchall()[0][0])
    size = sum(p.stat().st_size for p in (lake_dir / "focus").rglob("*.parquet")) / 1e6
    return count, size


def _print_tui(title: str, tui: dict[str, Any]) -> None:
    print(f"\n{'TUI key, ' + title:<44}{'to paint s':>11}{'stall ms':>10}{'loop CPU ms':>13}")
    for k in tui["keys"]:
        label = f"{k['key']}  ({k['group']}, {k['period']} d)"
        print(f"{label:<44}{k['seconds']:>11.2f}{k['stall_s'] * 1000:>10.0f}{k['stall_cpu_s'] * 1000:>13.0f}"
              + (f"   notes: {'; '.join(k['notes'])[:80]}" if k["notes"] else ""))
    for k in tui["keys"]:
        if k.get("outlook_s") is not None:
            print(f"{k['key']}: outlook panels (budgets, forecast, anomalies) painted after {k['outlook_s']:.2f} s")
    print(f"TUI peak RSS {tui['peak_rss_mib']:,.0f} MiB")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("rows", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it (reuses its lake)")
    parser.add_argument("--copies", type=int, default=1, help="store the ingested files this many times")
    parser.add_argument("--runs", type=int, default=1, help="timed runs per query part (median printed)")
    args = parser.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="spendpilot-dash-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        count, size = prepare_lake(work, args.rows, args.copies)
        runs = []
        shutil.rmtree(work / "lake" / ".cache", ignore_errors=True)  # the first start after an ingest
        runs.append(("first start (no stored cube)", _run("--phase", "tui", "--home", str(work))))
        if (work / "lake" / ".cache").is_dir():  # the cube is kept next to the lake
            runs.append(("next start (cube stored)", _run("--phase", "tui", "--home", str(work))))
            shutil.rmtree(work / "lake" / ".cache", ignore_errors=True)
            runs.append(("first start, d after start-up reads", _run("--phase", "tui", "--home", str(work),
                                                                        "--wait-start")))
        queries = _run("--phase", "queries", "--home", str(work), "--runs", str(args.runs))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)

    print(f"lake: {count:,} FOCUS rows ({args.copies} cop{'y' if args.copies == 1 else 'ies'} of the ingested "
          f"files), {size:,.0f} MB Parquet")
    for title, run in runs:
        _print_tui(title, run)
    print(f"\n{'the worker`s parts, alone':<52}{'median s':>9}")
    for name, r in queries["parts"].items():
        print(f"{name:<52}{r['seconds']:>9.2f}" + (f"   {r['error']}" if r["error"] else ""))
    print(f"queries process peak RSS {queries['peak_rss_mib']:,.0f} MiB")
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    if "--phase" in sys.argv:
        _child(sys.argv[1:])
    else:
        main(sys.argv[1:])
