"""How long everyday commands take, and which heavy libraries each one imports.

Commands that only read the state database (`proposals`, `show`, `audit`) should cost little
more than `spendpilot --help` (the floor: Python, Typer and the CLI module); the composition
root builds LangGraph, Chroma, DuckDB and boto3 only for commands that use them.

Usage: python benchmarks/command_latency.py [RUNS]   (default 5; prints medians)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("langgraph", "langchain_core", "chromadb", "duckdb", "pyarrow", "boto3", "textual")


def _time(args: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "spendpilot.cli", *args], capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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
    with tempfile.TemporaryDirectory() as tmp:
        home = str(Path(tmp) / "home")
        subprocess.run([sys.executable, "-m", "spendpilot.cli", "proposals", "--home", home], capture_output=True, check=False)
        floor = _time(["--help"], runs)
        print(f"{'command':<28} {'median':>8} {'over --help':>12}  heavy libraries imported")
        for args in (["--help"], ["proposals", "--home", home], ["audit", "--home", home],
                     ["show", "sp-00000000", "--home", home], ["checks"], ["policy"]):
            t = _time(args, runs)
            heavy = _heavy_imports(args)
            label = " ".join(a for a in args if a != home and a != "--home")
            print(f"{label:<28} {t:>7.2f}s {t - floor:>+11.2f}s  {', '.join(heavy) or '-'}")


if __name__ == "__main__":
    main()
