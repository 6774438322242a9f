"""A guard on the CLI's start-up cost: ``spendpilot --help`` and the ``proposals`` listing must
not import the heavy libraries other commands need.

Importing is most of what these commands cost (``--help`` took 1.4 s when cli.py imported the
config and state modules eagerly; ``proposals`` at 10,000 proposals spent half its time importing
SQLAlchemy). One eager import in cli.py, ``services.py`` or ``runtime.py`` brings it back; this
test names the module that did.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.tui.fakes import make_proposal

from spendpilot.config import load_settings
from spendpilot.state import StateStore

HEAVY = (
    "langgraph", "langchain_core", "chromadb", "onnxruntime", "textual", "boto3", "botocore",
    "kubernetes", "duckdb", "pyarrow", "numpy", "pandas", "opentelemetry", "moto", "apscheduler",
    "sqlalchemy", "spendpilot.domain.snapshot",
)
"""Libraries no listing needs. SQLAlchemy too: a listing reads the SQLite state file with
sqlite3. And the snapshot models (Kubernetes, per-request usage): building their pydantic
classes is a tenth of a listing's cost (``spendpilot.domain`` imports them on first use)."""

HELP_ONLY = ("pydantic", "spendpilot.state", "spendpilot.runtime")
"""``--help`` reads no configuration, opens nothing and builds no model (Typer imports pydantic
only to convert an argument's value)."""

LISTING_WITHOUT_CONFIG = (
    "pydantic_settings", "spendpilot.config", "spendpilot._config_file", "spendpilot.runtime",
    "spendpilot.domain.plans", "spendpilot.domain.findings", "spendpilot.domain.money",
)
"""With no config file and no other setting in the environment, ``proposals`` builds neither the
settings models nor the domain's pydantic models (``state_location``): a third of its cost.
``--json`` builds ``ResourceRef`` and ``Evidence`` (the stored bodies are checked against their
fields), never ``Proposal`` unless a body needs validating."""

JSON_NEEDS = ("spendpilot.domain.findings", "spendpilot.domain.money")

_RUN = (
    "import json, runpy, sys\n"
    "sys.argv = ['spendpilot', *sys.argv[1:]]\n"
    "try:\n"
    "    runpy.run_module('spendpilot.cli', run_name='__main__')\n"
    "except SystemExit as exc:\n"
    "    code = exc.code\n"
    "else:\n"
    "    code = 0\n"
    "sys.stdout.flush()\n"
    "print('\\nMODULES=' + json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _imported(*args: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("SPENDPILOT_")}
    proc = subprocess.run([sys.executable, "-c", _RUN, *args], capture_output=True, text=True, env=env, timeout=300)
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("MODULES="))
    return set(json.loads(line.removeprefix("MODULES="))), proc


def _heavy(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if any(m == n or m.startswith(n + ".") for m in modules))


def test_help_imports_no_heavy_library(tmp_path: Path) -> None:
    modules, proc = _imported("--help")
    assert proc.returncode == 0 and "proposals" in proc.stdout, proc.stderr
    assert _heavy(modules, HEAVY + HELP_ONLY + LISTING_WITHOUT_CONFIG) == []


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    store = StateStore(load_settings(None, home=home).state_db_url)
    store.upsert_proposal(make_proposal("sp-00000001", "120"))
    store.upsert_proposal(make_proposal("sp-00000002", "900"))
    return home


@pytest.mark.parametrize("extra", [(), ("--json",), ("--limit", "1")])
def test_proposals_imports_no_heavy_library(home: Path, extra: tuple[str, ...]) -> None:
    modules, proc = _imported("proposals", "--home", str(home), *extra)
    assert proc.returncode == 0 and "sp-00000002" in proc.stdout, proc.stderr
    needed = JSON_NEEDS if "--json" in extra else ()
    assert _heavy(modules, HEAVY + tuple(n for n in LISTING_WITHOUT_CONFIG if n not in needed)) == []


def test_the_guard_sees_an_eager_import(home: Path) -> None:
    """The same probe on a command that does open the store reports SQLAlchemy: the guard is
    not blind."""
    modules, proc = _imported("show", "sp-00000001", "--home", str(home))
    assert proc.returncode == 0, proc.stderr
    assert "sqlalchemy" in _heavy(modules, HEAVY)
