"""How long everyday commands take, and which heavy libraries each one imports.

Commands that only read the state database (`proposals`, `show`, `audit`) should cost little
more than `spendpilot --help` (the floor: Python, Typer and the CLI module); the composition
root builds LangGraph, Chroma, DuckDB and boto3 only for commands that use them.

The home is seeded with N pending proposals (default 10,000, as ``tui_queue.py`` seeds them:
real ``Proposal`` JSON in one transaction), so ``proposals`` is measured at the scale issue 10
asks for (``proposals`` at 10,000 in at most 1 s). Each command runs RUNS times in a fresh
process; the table shows the median wall time and the median CPU time (user + system of the
child: what the command costs, whatever else the machine is running).

Python's bytecode cache matters here: with ``PYTHONDONTWRITEBYTECODE=1`` in the environment (as
on the shared development machine) every run compiles spendpilot's own modules again, which an
installed package never does. ``--warm-bytecode`` measures the installed case: the commands run
with a bytecode cache in a temporary folder (``PYTHONPYCACHEPREFIX``), filled by one untimed run.

Usage: python benchmarks/command_latency.py [RUNS] [N] [--warm-bytecode]   (see --help)
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tui_queue import seed

HEAVY = ("langgraph", "langchain_core", "chromadb", "duckdb", "pyarrow", "boto3", "textual", "sqlalchemy", "pydantic_settings",
         "spendpilot.config", "pydantic")


def _time(args: list[str], runs: int, env: dict[str, str]) -> tuple[float, float]:
    """Median wall and median CPU seconds of ``spendpilot ARGS`` over ``runs`` fresh processes."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "spendpilot.cli", *args], capture_output=True, check=False, env=env)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return statistics.median(walls), statistics.median(cpus)


def _heavy_imports(args: list[str], env: dict[str, str]) -> list[str]:
    code = (
        "import sys, runpy; sys.argv = ['spendpilot', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('spendpilot.cli', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False, env=env)
    line = next((ln for ln in proc.stderr.splitlines() if ln.startswith("HEAVY=")), "HEAVY=?")
    return [m for m in line.removeprefix("HEAVY=").split(",") if m]


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time everyday spendpilot commands in fresh processes against a home seeded with N pending "
        "proposals (real Proposal JSON in a real SQLite state file), and list the heavy libraries each one "
        "imports. Per command: the median wall time, the median CPU time (user + system of the child process: "
        "what the command costs whatever else the machine runs) and the wall time over `--help` (the floor: "
        "Python, Typer and the CLI module). Issue 10's target: `proposals` at 10,000 in at most 1 s.",
        epilog="The load average is printed before and after: on a shared machine compare CPU times, and wall "
        "times only at low load. The environment is the caller's: a SPENDPILOT_CONFIG, SPENDPILOT_* settings or "
        "a ./spendpilot.toml make `proposals` load the full settings (see spendpilot.state_location).",
    )
    parser.add_argument("runs", nargs="?", type=int, default=5, help="fresh processes per command (default 5)")
    parser.add_argument("count", nargs="?", type=int, default=10_000, help="pending proposals to seed (default 10000)")
    parser.add_argument(
        "--warm-bytecode", action="store_true",
        help="read compiled bytecode, as an installed package does: a cache in a temporary folder "
        "(PYTHONPYCACHEPREFIX), filled by one untimed run of each command. Default: the environment as it is "
        "(with PYTHONDONTWRITEBYTECODE=1, spendpilot's modules are compiled on every run).",
    )
    parser.add_argument(
        "--listing-only", action="store_true", help="time only --help and the three `proposals` rows (issue 10's target)"
    )
    return parser.parse_args()


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    options = _arguments()
    runs, count = options.runs, options.count
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        if options.warm_bytecode:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        home = Path(tmp) / "home"
        seed(home, count)
        h = str(home)
        floor = 0.0
        bytecode = "warm bytecode cache" if options.warm_bytecode else (
            "no bytecode cache (PYTHONDONTWRITEBYTECODE)" if env.get("PYTHONDONTWRITEBYTECODE") else "bytecode as the environment has it"
        )
        print(f"{count:,} pending proposals; median of {runs} runs; {bytecode}; load average {_load()} on {os.cpu_count()} CPUs")
        print(f"{'command':<28} {'wall':>7} {'CPU':>7} {'wall over --help':>17}  heavy libraries imported")
        commands = [["--help"], ["proposals", "--home", h], ["proposals", "--json", "--home", h],
                    ["proposals", "--limit", "50", "--home", h], ["audit", "--home", h],
                    ["show", "sp-00000000", "--home", h], ["checks"], ["policy"]]
        for args in commands[:4] if options.listing_only else commands:
            if options.warm_bytecode:
                _time(args, 1, env)
            wall, cpu = _time(args, runs, env)
            floor = floor or wall  # the first row, --help
            heavy = _heavy_imports(args, env)
            label = " ".join(a for a in args if a not in (h, "--home"))
            print(f"{label:<28} {wall:>6.2f}s {cpu:>6.2f}s {wall - floor:>+16.2f}s  {', '.join(heavy) or '-'}")
        print(f"load average at the end: {_load()}")


if __name__ == "__main__":
    main()
