"""Chargeback on the demo organisation, through the real commands a user runs.

The swept demo home (bills of two accounts, LLM usage, pending proposals) gets its Kubernetes
allocation from the cluster's API emulator (`spendpilot allocate --write`) and its token rows
(`spendpilot token-focus`); then `spendpilot chargeback` must reconcile with the spend explorer
to the cent, leave less than 5 % unallocated with the demo's owner rules, export FOCUS that
re-ingests into an empty home with the same totals, and `spendpilot report` must render.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from tests.allocation.test_report_html import chromium_binary, render_in_chromium
from tests.conftest import run_cli
from tests.demo_fixtures import DemoOrg

from spendpilot.lake.spend import build_query, run_spend_query
from spendpilot.scenarios.kube_seed import kubernetes_source_config, scenario_clusters

RULES = Path(__file__).resolve().parents[2] / "evals" / "scenarios" / "demo" / "chargeback.toml"


def _config(tmp_path: Path, sources: list[dict[str, object]]) -> Path:
    lines = []
    for source in sources:
        lines.append("[[sources]]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in source.items()]
    config = tmp_path / "spendpilot.toml"
    config.write_text("\n".join(lines) + "\n\n" + RULES.read_text())
    return config


def test_demo_chargeback_reconciles_exports_and_reports(swept_org: DemoOrg, tmp_path: Path) -> None:
    home, env = swept_org.home, swept_org.env()
    with scenario_clusters(swept_org.scenario, home, datetime.now(UTC)):
        config = _config(tmp_path, kubernetes_source_config(swept_org.scenario, home))
        run_cli("allocate", "--config", str(config), "--home", str(home), "--days", "2", "--write", env=env, check=True)
    run_cli("token-focus", "--home", str(home), env=env, check=True)
    focus_out = tmp_path / "export" / "demo-chargeback.csv"
    proc = run_cli("chargeback", "--json", "--config", str(config), "--home", str(home), "--focus-out", str(focus_out),
                   env=env, check=True)
    result = json.loads(proc.stdout)
    start, end = date.fromisoformat(result["start"]), date.fromisoformat(result["end"])
    lake = run_spend_query(home / "lake", build_query(group_by=[], start=start, end=end))
    [usd] = result["currencies"]
    assert [t.currency for t in lake.totals] == ["USD"]
    lines = sum((Decimal(x["effective_cost"]) for x in result["lines"]), Decimal(0))
    assert lines + Decimal(usd["replaced_effective"]) == lake.totals[0].amount == Decimal(usd["lake_effective"])
    assert {t["layer"] for t in result["layer_totals"]} == {"cloud", "kubernetes", "tokens"}
    share = Decimal(usd["unallocated_share"])
    assert Decimal(0) < share < Decimal("0.05"), share
    reasons = {x["basis"] for x in result["lines"] if x["owner"] == "(unallocated)"}
    assert "no team tag" in reasons and "Kubernetes idle capacity (acme-eks)" in reasons

    fresh = tmp_path / "fresh-home"
    run_cli("ingest", str(focus_out), "--home", str(fresh), env={"SPENDPILOT_HOME": str(fresh)}, check=True)
    again = json.loads(run_cli("chargeback", "--json", "--home", str(fresh), "--from", str(start), "--to", str(end),
                               env={"SPENDPILOT_HOME": str(fresh)}, check=True).stdout)
    [usd_again] = again["currencies"]
    for key in ("chargeback_effective", "chargeback_billed", "allocated_effective", "unallocated_effective"):
        assert Decimal(usd_again[key]) == Decimal(usd[key]), key

    report = tmp_path / "report.html"
    run_cli("report", "--html", str(report), "--config", str(config), "--home", str(home), env=env, check=True)
    html = report.read_text()
    assert "Top proposals" in html and "sp-" in html and 'id="realized-empty"' in html
    if chromium_binary() is None:
        return  # the rendering itself is covered (or skipped, saying why) in test_report_html.py
    dom = render_in_chromium(report, tmp_path, screenshot=tmp_path / "demo-report.png")
    assert f"${Decimal(usd['chargeback_effective']):,.2f}" in dom and dom.count("<svg") >= 4
