"""``spendpilot eval``: run scenarios with planted waste and traps, score what the sweep found.

Each scenario runs in a fresh emulator and a temporary home, through the same ingest, sweep
and proposal code a user runs.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from spendpilot.domain import ProposalStatus
from spendpilot.scenarios.model import load_scenario, locate_scenario, scenarios_root
from spendpilot.scenarios.score import ScenarioScore, score


def bundled_scenarios() -> list[str]:
    return sorted(p.name for p in scenarios_root().iterdir() if (p / "scenario.yaml").is_file())


def run_scenario(name: str) -> ScenarioScore:
    from spendpilot.demo import prepare_scenario
    from spendpilot.runtime import build_services
    from spendpilot.scenarios.emulator import local_emulator
    from spendpilot.scenarios.kube_seed import scenario_clusters, scenario_settings
    from spendpilot.scenarios.litellm_seed import scenario_litellm
    from spendpilot.scenarios.prometheus_seed import scenario_prometheus

    spec = load_scenario(locate_scenario(name))
    now = datetime.now(UTC)
    with (
        tempfile.TemporaryDirectory() as tmp,
        local_emulator() as emulator,
        scenario_clusters(spec, Path(tmp), now),  # the scenario's Kubernetes clusters, if any
        scenario_prometheus(spec.path, Path(tmp), now) as usage_sources,  # and their usage.yaml
    ):
        # moto keeps its backends per process, not per server: without this, the scenarios
        # before this one (the demo's week of metrics, eight-GPU boxes) are still there, and
        # ListMetrics over all of them times out on a busy machine.
        emulator.reset()
        gateway = scenario_litellm(spec.path, Path(tmp))  # its LiteLLM config.yaml, if any
        settings = scenario_settings(spec, Path(tmp), emulator.endpoint_url, extra_sources=[*usage_sources, *gateway])
        prepared = prepare_scenario(settings, spec, emulator.endpoint_url or "", now=now)
        services = build_services(settings)
        services.sweep()
        result = score(spec.name, spec.expected, services.list_proposals([ProposalStatus.PENDING]))
        if spec.realized is not None:  # realized.yaml: execute, bill the days after, measure
            from spendpilot.adapters.aws.client import AwsAdapter
            from spendpilot.scenarios.realized_eval import execute_and_measure

            aws = AwsAdapter(region=spec.region, endpoint_url=emulator.endpoint_url,
                             routing_prefix=settings.aws.llm_routing_prefix)
            result.add_realized(execute_and_measure(spec, services, settings, prepared.org, aws, prepared.focus_file))
        return result
