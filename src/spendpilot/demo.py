"""Bring a scenario to life: seed the emulator, write its billing and LLM usage, ingest them.

Shared by ``spendpilot demo``, ``spendpilot eval`` and the end-to-end tests, so all three
exercise the same ingest and sweep code a real user runs.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.config import Settings
from spendpilot.domain import LlmUsage
from spendpilot.lake import IngestReport, ingest_file, ingest_llm_usage_file
from spendpilot.savings.pricebook import PriceBook
from spendpilot.scenarios.model import Scenario
from spendpilot.scenarios.seed import SeededOrg, seed_scenario
from spendpilot.scenarios.spans import LlmRequestsSpec
from spendpilot.scenarios.synth import FOCUS_COLUMNS, focus_rows, llm_usage_records

LLM_USAGE_COLUMNS = [
    "day", "provider", "model", "feature", "project_id", "requests",
    "input_tokens", "cached_input_tokens", "output_tokens", "cost", "currency",
]  # fmt: skip


@dataclass
class PreparedScenario:
    org: SeededOrg
    focus_file: Path
    llm_usage_file: Path
    reports: list[IngestReport]


def write_llm_usage_csv(usage: Iterable[LlmUsage], path: Path) -> Path:
    """Usage records as a provider's daily usage export (``LLM_USAGE_COLUMNS``, empty for None):
    the file ``spendpilot ingest --llm-usage`` reads. The demo, the realized eval and the tests
    all write it here, so they cannot drift apart."""
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=LLM_USAGE_COLUMNS)
        writer.writeheader()
        for rec in usage:
            row = rec.model_dump(mode="json")
            writer.writerow({k: "" if row.get(k) is None else row[k] for k in LLM_USAGE_COLUMNS})
    return path


def prepare_scenario(
    settings: Settings,
    scenario: Scenario,
    endpoint_url: str,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> PreparedScenario:
    say = progress or (lambda _msg: None)
    now = now or datetime.now(UTC)
    prices = PriceBook.bundled()
    aws = AwsAdapter(
        region=scenario.region, endpoint_url=endpoint_url, routing_prefix=settings.aws.llm_routing_prefix
    )
    say(f"Creating organisation '{scenario.name}' in the emulator")
    org = seed_scenario(aws, scenario, now)
    say(f"  {len(org.instances)} instances, {len(org.groups)} Auto Scaling groups, {len(org.features)} LLM features")

    inputs = settings.home / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    usage = llm_usage_records(
        scenario.llm_usage, days=scenario.billing_days, now=now, prices=prices, seed=scenario.seed
    )
    usage_file = write_llm_usage_csv(usage, inputs / "llm_usage.csv")

    focus_file = inputs / "focus_billing.csv"
    instances = [(i.instance_id, i.name, i.instance_type, i.tags, i.launched_at) for i in org.instances]
    with focus_file.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FOCUS_COLUMNS)
        writer.writeheader()
        count = 0
        for row in focus_rows(scenario, instances=instances, usage=usage, now=now, prices=prices):
            writer.writerow(row)
            count += 1
    say(f"Wrote {count:,} FOCUS rows ({scenario.billing_days} days) and {len(usage):,} LLM usage rows")

    reports = [ingest_file(focus_file, settings.lake_dir), ingest_llm_usage_file(usage_file, settings.lake_dir)]
    from spendpilot.scenarios.demo_aws_ml import write_cur2_export

    # accounts.yaml's own billing, as the CUR 2.0 export those accounts deliver
    if (cur_file := write_cur2_export(scenario, org.accounts, now, inputs, prices)) is not None:
        reports.append(ingest_file(cur_file, settings.lake_dir))
    llm = scenario.llm_requests
    if llm is not None and llm.delivery == "otlp_http":  # the real OTel SDK exporter to a receiver on 127.0.0.1
        from spendpilot.scenarios.otlp_send import send_scenario_spans

        say(send_scenario_spans(llm, settings.lake_dir, settings.otel, now=now, seed=scenario.seed).summary())
        llm = None
    if llm is not None and llm.features:  # as an OTel collector's file export
        from spendpilot.lake.otlp import ingest_otlp_file
        from spendpilot.scenarios.spans import write_request_spans

        spans_file = inputs / "llm_spans.jsonl"
        write_request_spans(llm, spans_file, now=now, seed=scenario.seed)
        spans = ingest_otlp_file(spans_file, settings.lake_dir)
        say(f"Ingested {spans_file.name}: {spans.spans_read:,} spans read, {spans.spans_stored:,} stored")
    for r in reports:
        say(f"Ingested {r.file.name}: {r.rows_read:,} read, {r.rows_stored:,} stored, {r.rows_quarantined:,} quarantined")
    if llm is not None and llm.patterns:
        _send_llm_spans(settings, llm, inputs, now, say)
    return PreparedScenario(org=org, focus_file=focus_file, llm_usage_file=usage_file, reports=reports)


def _send_llm_spans(settings: Settings, spec: LlmRequestsSpec, inputs: Path, now: datetime,
                    say: Callable[[str], None]) -> None:
    """The scenario's per-request traffic as an OTLP JSON export, ingested like a user's collector file."""
    from spendpilot.lake.otlp import ingest_otlp_file
    from spendpilot.scenarios.llm_traffic import traffic_from_spec
    from spendpilot.scenarios.otlp_export import write_otlp_json

    spans = write_otlp_json(traffic_from_spec(spec, now), inputs / "llm_spans.otlp.json")
    otel = settings.otel.model_copy(update={"store_prompt_text": spec.store_prompt_text})
    report = ingest_otlp_file(spans, settings.lake_dir, otel)
    say(f"Ingested {spans.name}: {report.spans_read:,} spans read, {report.spans_stored:,} stored, "
        f"{report.spans_quarantined:,} quarantined")
