"""Bedrock usage read from CloudWatch in its real shape (namespace AWS/Bedrock, dimension ModelId,
Sum per day) lands in the same per-model ``LlmUsage`` the LLM checks read, priced by the price
book, and a sweep proposes routing a Bedrock frontier model from it alone.

The metrics are put into the emulator's CloudWatch; the shape follows the Amazon Bedrock User
Guide ("Monitor bedrock-runtime inference using CloudWatch metrics").
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from spendpilot.adapters.aws.bedrock_usage import (
    BEDROCK_INPUT_TOKENS,
    BEDROCK_INVOCATIONS,
    BEDROCK_OUTPUT_TOKENS,
    model_name,
)
from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.config import Settings
from spendpilot.domain import ProposalStatus, utcnow
from spendpilot.runtime import build_services
from spendpilot.savings.pricebook import PriceBook

OPUS = "us.anthropic.claude-opus-4-6-v1"
APP_PROFILE = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6"


def _put(aws: AwsAdapter, model_id: str, *, days: int, requests: int, tokens_in: int, tokens_out: int,
         now: datetime, extra: dict[str, str] | None = None) -> None:
    """Hourly datapoints over ``days`` days: ``requests`` a day, each ``tokens_in``/``tokens_out``."""
    dims = {"ModelId": model_id, **(extra or {})}
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(days=days)
    hours = [start + timedelta(hours=h) for h in range(days * 24)]
    per_hour = requests / 24
    for metric, value in ((BEDROCK_INVOCATIONS, per_hour), (BEDROCK_INPUT_TOKENS, per_hour * tokens_in),
                          (BEDROCK_OUTPUT_TOKENS, per_hour * tokens_out)):
        aws.cloudwatch.put_utilisation(None, *metric, [(at, value) for at in hours], dimensions=dims, unit="Count")


def test_daily_usage_per_model_in_the_llm_usage_shape_priced_at_list(aws_endpoint: str) -> None:
    now = utcnow()
    aws = AwsAdapter(endpoint_url=aws_endpoint)
    _put(aws, OPUS, days=3, requests=4800, tokens_in=500, tokens_out=60, now=now)
    _put(aws, APP_PROFILE, days=2, requests=240, tokens_in=1000, tokens_out=100, now=now)
    _put(aws, OPUS, days=2, requests=999, tokens_in=1, tokens_out=1, now=now, extra={"Region": "us-west-2"})  # not a ModelId-only series
    read = aws.bedrock_usage.daily_usage(end=now, days=7, feature="support-bot", prices=PriceBook.bundled())
    opus = [u for u in read.usage if u.model == OPUS]
    assert {u.provider for u in read.usage} == {"bedrock"} and {u.feature for u in read.usage} == {"support-bot"}
    assert sum(u.requests for u in opus) == 3 * 4800
    assert sum(u.input_tokens for u in opus) == 3 * 4800 * 500
    assert sum(u.output_tokens for u in opus) == 3 * 4800 * 60
    price = PriceBook.bundled().token_price(OPUS)
    assert price is not None
    expected_cost = 3 * 4800 * (500 * price.input_per_token + 60 * price.output_per_token)
    assert abs(sum((u.cost for u in opus), Decimal(0)) - expected_cost) < Decimal("0.01")
    # An application inference profile names no model: kept as is, no price, said so.
    assert read.unpriced == [APP_PROFILE]
    assert {u.cost for u in read.usage if u.model == APP_PROFILE} == {Decimal(0)}


def test_model_ids_given_as_arns_are_reduced_to_the_id() -> None:
    assert model_name(f"arn:aws:bedrock:us-east-1::foundation-model/{OPUS}") == OPUS
    assert model_name(f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/{OPUS}") == OPUS
    assert model_name(APP_PROFILE) == APP_PROFILE
    assert model_name("anthropic.claude-3-5-sonnet-20240620-v1:0") == "anthropic.claude-3-5-sonnet-20240620-v1:0"


def test_a_sweep_proposes_routing_a_bedrock_frontier_model_from_cloudwatch_alone(aws_endpoint: str, tmp_path: Path) -> None:
    now = utcnow()
    aws = AwsAdapter(endpoint_url=aws_endpoint)
    aws.llm_routing.set_route("support-bot", OPUS)
    _put(aws, OPUS, days=5, requests=4800, tokens_in=500, tokens_out=60, now=now)
    # trap: a mid-tier model under another feature with the same short requests
    aws.llm_routing.set_route("summaries", "anthropic.claude-3-5-sonnet-20240620-v1:0")
    # bedrock_feature is a setting of the AWS source ([[sources]]); the short [aws] table does not carry it.
    services = build_services(Settings(home=tmp_path, sources=[
        {"kind": "aws", "endpoint_url": aws_endpoint, "bedrock_feature": "support-bot"}, {"kind": "llm_usage"}]))
    report = services.sweep()
    assert not [g for g in report.gaps if g.part == "Bedrock"]
    [proposal] = [p for p in services.list_proposals([ProposalStatus.PENDING]) if p.rule == "frontier_model_simple_tasks"]
    assert proposal.target.id == "support-bot"
    assert proposal.plan.change["model"] == "us.anthropic.claude-sonnet-4-6"
    evidence = {e.label: e.value for e in proposal.evidence}
    assert evidence["Requests"].startswith("2") and "bedrock" in " ".join(e.source for e in proposal.evidence)
