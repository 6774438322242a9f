"""``spendpilot NAME …`` builds only the command NAME (``cli._only_the_command_named``): what it
prints must be what the whole application prints, for the command, its help and its errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from spendpilot import cli

_MAIN = "import sys\nsys.argv[0] = 'spendpilot'\nfrom spendpilot.cli import main\nmain()\n"
"""The console script's entry point, in a fresh process."""


@pytest.mark.parametrize(
    "args",
    [
        ["proposals", "--help"],
        ["prices", "show", "--help"],  # a group
        ["eval", "--help"],  # a command registered under another name than its function
        ["proposals", "--limit", "0"],  # a bad value: the same message and exit code
        ["propsals"],  # a typo: click's suggestion needs every command
        ["--help"],
    ],
)
def test_one_command_prints_what_the_whole_application_prints(args: list[str]) -> None:
    env = {**os.environ, "COLUMNS": "100", "TERM": "dumb"}
    alone = subprocess.run(
        [sys.executable, "-c", _MAIN, *args], capture_output=True, text=True, env=env, timeout=120
    )
    whole = CliRunner().invoke(cli.app, args, env={"COLUMNS": "100", "TERM": "dumb"}, prog_name="spendpilot")
    assert (alone.returncode, alone.stdout + alone.stderr) == (whole.exit_code, whole.output)


def test_the_registry_is_restored_after_a_run() -> None:
    before = (list(cli.app.registered_commands), list(cli.app.registered_groups))
    saved = cli._only_the_command_named(["proposals"])
    assert [c.callback for c in cli.app.registered_commands] == [cli.proposals]
    cli.app.registered_commands, cli.app.registered_groups = saved
    assert (cli.app.registered_commands, cli.app.registered_groups) == before
