"""The Kubernetes eval scenarios through `spendpilot eval`'s runner (AWS emulator, cluster
emulators, ingest, sweep, score): every planted proposal made, no trap hit. Slow (a whole
scenario each), so outside the default run; CI's slow job runs them."""

from __future__ import annotations

import pytest

from spendpilot.scenarios.runner import run_scenario


@pytest.mark.slow
@pytest.mark.parametrize("name", ["k8s_job_limits", "k8s_spot_placement"])
def test_kubernetes_scenarios_pass(name: str) -> None:
    result = run_scenario(name)
    assert result.passed and result.recall == 1.0 and result.unexpected == [], result
    assert result.expected_monthly_total > 0
