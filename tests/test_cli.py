"""The command as a user runs it: exit codes, messages, nothing written on bad input."""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import FOCUS_SAMPLE, run_cli


def test_ingest_real_focus_sample_accounts_for_every_row(tmp_path: Path) -> None:
    proc = run_cli("ingest", str(FOCUS_SAMPLE), "--home", str(tmp_path), check=True)
    line = next(ln for ln in proc.stdout.splitlines() if "read" in ln)
    counts = dict(part.strip().split(" ", 1) for part in line.split(":", 1)[1].split("·"))
    assert counts["read"] == "1,000"
    stored, quarantined = (int(counts[k].replace(",", "")) for k in ("stored", "quarantined"))
    assert stored + quarantined == 1000


def test_not_focus_is_refused_with_exit_2_and_nothing_written(tmp_path: Path) -> None:
    bad = tmp_path / "invoice.csv"
    bad.write_text("date,amount,customer\n2024-01-01,12.50,acme\n")
    home = tmp_path / "home"
    proc = run_cli("ingest", str(bad), "--home", str(home))
    assert proc.returncode == 2
    assert "invoice.csv" in proc.stderr and "BilledCost" in proc.stderr
    lake = home / "lake"
    assert not lake.exists() or not any(p.is_file() for p in lake.rglob("*"))


def test_missing_file_and_unknown_proposal_have_meaningful_exit_codes(tmp_path: Path) -> None:
    assert run_cli("ingest", str(tmp_path / "nope.csv"), "--home", str(tmp_path)).returncode == 2
    proc = run_cli("approve", "sp-00000000", "--by", "x", "--home", str(tmp_path))
    assert proc.returncode == 4 and "no proposal" in proc.stderr


def test_sweep_with_nothing_configured_exits_zero(tmp_path: Path) -> None:
    proc = run_cli("sweep", "--home", str(tmp_path), env={"SPENDPILOT_AWS__ENABLED": "false"})
    assert proc.returncode == 0, proc.stderr
    assert "0 finding(s)" in proc.stdout


def _ctrl_c_reaches_it() -> None:
    """Start the demo as a terminal does: Ctrl-C (SIGINT) at its default disposition.

    A test run launched in the background (``nohup … &`` in a script) ignores SIGINT, and a child
    inherits that: Python then installs no KeyboardInterrupt handler and the demo, rightly, never
    hears the Ctrl-C this test sends.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_headless_demo_runs_the_whole_loop_and_can_keep_its_emulator_for_the_cli(tmp_path: Path) -> None:
    """`make demo`, then the README's CLI loop on the demo data: the printed export line is enough."""
    demo = subprocess.Popen(
        [sys.executable, "-m", "spendpilot.cli", "demo", "--headless", "--keep-emulator", "--home", str(tmp_path / "demo")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_ctrl_c_reaches_it,
    )
    try:
        out = []
        assert demo.stdout is not None
        for line in demo.stdout:  # the demo blocks after printing the export line
            out.append(line)
            if line.strip().startswith("export "):
                break
        text = "".join(out)
        for name in ("train-idle-p4d", "notebook-g5-idle", "embedding-batch-workers", "ticket-classifier"):
            assert name in text
        assert "inference-g5-busy" not in text
        assert "Pending expected savings: $" in text
        # chargeback across cloud, Kubernetes and tokens, with the demo's owner rules: under 5 % unallocated
        share = re.search(r"Chargeback report: (\S+) \(last 30 days: ([0-9.]+) % of USD", text)
        assert share is not None, text
        assert float(share.group(2)) < 5 and "<svg" in Path(share.group(1)).read_text()
        # the command it suggests (the rules copied into the home) gives the same share in another process
        hint = re.search(r"`spendpilot (chargeback [^`]+)`", text)
        assert hint is not None, text
        again = json.loads(run_cli(*shlex.split(hint.group(1)), "--json", check=True).stdout)
        assert f"{float(again['currencies'][0]['unallocated_share']) * 100:.1f}" == share.group(2)
        exports = dict(kv.split("=", 1) for kv in shlex.split(out[-1].strip())[1:])
        assert exports["SPENDPILOT_AWS__ENDPOINT_URL"].startswith("http://127.0.0.1:")

        listed = json.loads(run_cli("proposals", "--json", env=exports, check=True).stdout)
        # The product features' GenAI spans went through the OTLP/HTTP receiver: their token levers are listed.
        assert {"enable_prompt_caching", "set_max_tokens", "use_batch_api", "trim_system_prompt"} <= {
            p["action"] for p in listed}
        assert "weekly-report-chat" not in {p["target"]["name"] for p in listed}
        route = next(p for p in listed if p["action"] == "route_to_model")
        approved = run_cli("approve", route["id"], "--by", "alice", env=exports)
        assert approved.returncode == 0 and "verified" in approved.stdout.lower(), approved.stdout + approved.stderr
        # the export line carries the demo's second account: a change there goes out with its role
        assert json.loads(exports["SPENDPILOT_AWS__ACCOUNTS"])[1]["role_arn"].endswith(":210987654321:role/spendpilot")
        notebook = next(p for p in listed if p["target"]["name"] == "research-sandbox")
        assert (notebook["target"]["account"], notebook["target"]["region"]) == ("210987654321", "us-east-1")
        stopped = run_cli("approve", notebook["id"], "--by", "alice", env=exports)
        assert stopped.returncode == 0 and "verified" in stopped.stdout.lower(), stopped.stdout + stopped.stderr
    finally:
        demo.send_signal(signal.SIGINT)
        _, stderr = demo.communicate(timeout=30)
    assert demo.returncode == 0, stderr
    assert "Emulator stopped" in stderr


def test_help_teaches_the_loop() -> None:
    proc = run_cli("--help", check=True)
    for command in ("demo", "ingest", "sweep", "proposals", "approve", "reject", "tui", "daemon"):
        assert command in proc.stdout


def test_demo_refuses_to_wipe_a_folder_it_did_not_create(tmp_path: Path) -> None:
    precious = tmp_path / "work"
    precious.mkdir()
    (precious / "notes.txt").write_text("not the demo's")
    proc = run_cli("demo", "--headless", "--home", str(precious))
    assert proc.returncode == 2 and "not created by `spendpilot demo`" in proc.stderr
    assert (precious / "notes.txt").read_text() == "not the demo's"


def test_checks_lists_every_threshold_with_a_real_default() -> None:
    proc = run_cli("checks", check=True)
    assert "PydanticUndefined" not in proc.stdout
    assert "interruptible_workloads = " in proc.stdout
