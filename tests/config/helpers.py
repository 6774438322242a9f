"""Running the CLI as a user would, and checking it said one clear line."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from click.testing import Result
from tests.conftest import spendpilot_process
from typer.testing import CliRunner

from spendpilot.cli import app


def spendpilot(
    *args: str, cwd: Path, env: dict[str, str] | None = None, drop: Sequence[str] = ("SPENDPILOT_CONFIG",)
) -> subprocess.CompletedProcess[str]:
    """The real command in a fresh process started in ``cwd``, without the suite's
    SPENDPILOT_CONFIG (so ./spendpilot.toml is discovered there, as for a user)."""
    full = {k: v for k, v in os.environ.items() if k not in drop}
    full.update(env or {})
    return spendpilot_process(args, full, cwd=cwd, timeout=120)


def invoke(*args: str) -> Result:
    """The CLI in this process (the suite's environment; tests isolate SPENDPILOT_CONFIG)."""
    return CliRunner().invoke(app, list(args))


def one_error_line(stderr: str) -> str:
    """The single line a refused command prints: no traceback, no wrapped continuation."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], stderr
    return errors[0]
