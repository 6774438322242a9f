"""`spendpilot policy` allows reading AWS Budgets exactly when the configuration reads them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli


def _statements(tmp_path: Path, toml: str) -> dict[str, dict[str, object]]:
    config = tmp_path / "spendpilot.toml"
    config.write_text(toml)
    proc = run_cli("policy", "--config", str(config), "--home", str(tmp_path / "home"), check=True)
    return {s["Sid"]: s for s in json.loads(proc.stdout)["Statement"]}


def test_aws_budgets_enabled_adds_view_budget_and_the_caller_lookup(tmp_path: Path) -> None:
    statements = _statements(tmp_path, "[aws_budgets]\nenabled = true\n")
    budgets = statements["SpendpilotAwsBudgetsRead"]
    assert budgets["Action"] == ["budgets:ViewBudget", "sts:GetCallerIdentity"]
    assert budgets["Resource"] == "*"


def test_a_named_account_needs_no_caller_lookup(tmp_path: Path) -> None:
    statements = _statements(tmp_path, '[aws_budgets]\nenabled = true\naccount_id = "123456789012"\n')
    assert statements["SpendpilotAwsBudgetsRead"]["Action"] == ["budgets:ViewBudget"]


def test_without_aws_budgets_the_policy_does_not_allow_reading_them(tmp_path: Path) -> None:
    statements = _statements(tmp_path, "")
    assert "SpendpilotAwsBudgetsRead" not in statements
    assert not any("budgets:ViewBudget" in s["Action"] for s in statements.values())  # type: ignore[operator]


def test_file_permissions_of_gateway_actions_are_not_iam_actions(tmp_path: Path) -> None:
    statements = _statements(tmp_path, "")
    assert "SpendpilotActionLowerGatewayBudget" not in statements
    assert not any(str(a).startswith("file:") for s in statements.values() for a in s["Action"])  # type: ignore[attr-defined]


def test_live_ec2_prices_add_the_price_list_read_and_only_then(tmp_path: Path) -> None:
    live = _statements(tmp_path, "[prices]\nec2_live = true\n")
    assert live["SpendpilotPriceListRead"]["Action"] == ["pricing:GetProducts"]
    assert "SpendpilotPriceListRead" not in _statements(tmp_path, "")
