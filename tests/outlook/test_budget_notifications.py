"""A budget crossing 80 % is announced once by webhook and once by e-mail, through the daemon's
scheduled-sweep path (``spendpilot daemon --once``); a second sweep (``spendpilot sweep``) sends
nothing new. Receivers listen on 127.0.0.1."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from tests.conftest import run_cli
from tests.demo_fixtures import DemoOrg
from tests.outlook.receivers import SmtpReceiver, WebhookReceiver

from spendpilot.outlook.budgets import evaluate_budget
from spendpilot.outlook.settings import BudgetSettings


def _month_to_date(org: DemoOrg) -> Decimal:
    probe = evaluate_budget(org.settings.lake_dir, BudgetSettings(name="probe", amount=Decimal("1e12")))
    assert probe.actual > 0, "the demo lake has spend this month"
    return probe.actual


def test_budget_crossing_80_percent_sends_one_webhook_and_one_email(demo_org: DemoOrg, tmp_path: Path) -> None:
    actual = _month_to_date(demo_org)
    amount = (actual / Decimal("0.85")).quantize(Decimal("0.01"))  # 85 % spent: 80 % crossed, 100 % not
    config = tmp_path / "spendpilot.toml"
    with WebhookReceiver(fail_first=1) as hook, SmtpReceiver() as smtp:
        config.write_text(f"""
[aws]
enabled = false

[[budgets]]
name = "whole-bill"
amount = {amount}
thresholds = [0.8, 1.0]

[notifications]
webhook_url = "{hook.url}"
smtp_host = "127.0.0.1"
smtp_port = {smtp.port}
email_to = ["finops@example.com"]
min_proposal_saving = 1000000000
# Not "anomaly": the demo's zombie SageMaker training job is a real spend jump in the ML
# account's CUR export, and would rightly be announced too; this test is about the budget.
events = ["proposal", "budget", "gap", "failed_execution"]
backoff_seconds = 0.05
""")
        where = ("--config", str(config), "--home", str(demo_org.home))
        first = run_cli("daemon", "--once", *where, env=demo_org.env())
        assert first.returncode == 0, first.stderr
        assert len(hook.bodies) == 1, hook.bodies
        assert hook.attempts == 2, "the first delivery got a 503 and was retried"
        assert len(smtp.messages) == 1
        payload = hook.bodies[0]
        assert set(payload) == {"text", "blocks"} and payload["blocks"][0]["type"] == "header"
        assert "whole-bill passed 80%" in payload["text"]
        assert "whole-bill passed 80%" in smtp.messages[0]["Subject"]
        assert "finops@example.com" in smtp.messages[0]["To"]
        assert hook.url not in json.dumps(payload)

        second = run_cli("sweep", "--json", *where, env=demo_org.env())
        assert second.returncode == 0, second.stderr
        assert len(hook.bodies) == 1 and hook.attempts == 2
        assert len(smtp.messages) == 1
