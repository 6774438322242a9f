"""How long everyday commands take, and which heavy libraries each one imports.

Commands that only read the state database (`proposals`, `show`, `audit`) should cost little
more than `spendpilot --help` (the floor: Python, Typer and the CLI module); the composition
root builds LangGraph, Chroma, DuckDB and boto3 only for commands that use them.

The home is seeded with N pending proposals (default 10,000, as ``tui_queue.py`` seeds them:
real ``Proposal`` JSON in one transaction), so ``proposals`` is measured at the scale issue 10
asks for (``proposals`` at 10,000 in at most 1 s). Each command runs RUNS times in a fresh
process; the table shows the median wall time and the median CPU time (user + system of the
child: what the command costs, whatever else the machine is running).

Usage: python benchmarks/command_latency.py [RUNS] [N]   (defaults 5 and 10000)
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tui_queue import seed

HEAVY = ("langgraph", "langchain_core", "chromadb", "duckdb", "pyarrow", "boto3", "textual", "sqlalchemy", "pydantic_settings")


def _time(args: list[str], runs: int) -> tuple[float, float]:
    """Median wall and median CPU seconds of ``spendpilot ARGS`` over ``runs`` fresh processes."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "spendpilot.cli", *args], capture_output=True, check=False)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return statistics.median(walls), statistics.median(cpus)


def _heavy_imports(args: list[str]) -> list[str]:
    code = (
        "import sys, runpy; sys.argv = ['spendpilot', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('spendpilot.cli', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    line = next((ln for ln in proc.stderr.splitlines() if ln.startswith("HEAVY=")), "HEAVY=?")
    return [m for m in line.removeprefix("HEAVY=").split(",") if m]


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        seed(home, count)
        h = str(home)
        floor = 0.0
        print(f"{count:,} pending proposals; median of {runs} runs; load average "
              f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
        print(f"{'command':<28} {'wall':>7} {'CPU':>7} {'wall over --help':>17}  heavy libraries imported")
        for args in (["--help"], ["proposals", "--home", h], ["proposals", "--json", "--home", h],
                     ["proposals", "--limit", "50", "--home", h], ["audit", "--home", h],
                     ["show", "sp-00000000", "--home", h], ["checks"], ["policy"]):
            wall, cpu = _time(args, runs)
            floor = floor or wall  # the first row, --help
            heavy = _heavy_imports(args)
            label = " ".join(a for a in args if a not in (h, "--home"))
            print(f"{label:<28} {wall:>6.2f}s {cpu:>6.2f}s {wall - floor:>+16.2f}s  {', '.join(heavy) or '-'}")


if __name__ == "__main__":
    main()
