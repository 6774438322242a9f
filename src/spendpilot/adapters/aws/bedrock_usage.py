"""Amazon Bedrock usage from CloudWatch: per model and day, requests and tokens, as ``LlmUsage``.

Bedrock's runtime publishes, in namespace ``AWS/Bedrock`` with the dimension ``ModelId``
(Amazon Bedrock User Guide, "Monitor bedrock-runtime inference using CloudWatch metrics"):
``Invocations`` (requests to Converse, ConverseStream, InvokeModel and
InvokeModelWithResponseStream), ``InputTokenCount`` and ``OutputTokenCount``; each is read with
the ``Sum`` statistic over one-day periods. The ``ModelId`` is what the caller named: a model id
(``anthropic.claude-3-5-sonnet-20240620-v1:0``), a cross-region inference profile id
(``us.anthropic.…``) or an ARN of either; an ARN is reduced to the id after its last ``/``. An
application inference profile or a provisioned model ARN names no model: it is kept as is, no
price resolves for it, and the source says so in a warning.

The metrics carry no product feature, so every row gets the configured default feature (the
LLM checks join usage to a feature's route by that name). A day with no datapoints had no
invocations. Cost is not in the metrics: each row's cost is its tokens at the price book's list
price (litellm's Bedrock keys), or zero with a warning when the model has no price; a provider
discount or a Savings Plan is not known here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from spendpilot.domain import LlmUsage
from spendpilot.domain.metrics import MetricId

if TYPE_CHECKING:
    from spendpilot.adapters.aws.cloudwatch import CloudWatchApi
    from spendpilot.savings.pricebook import PriceBook

NAMESPACE = "AWS/Bedrock"
BEDROCK_INVOCATIONS = MetricId(NAMESPACE, "Invocations")
BEDROCK_INPUT_TOKENS = MetricId(NAMESPACE, "InputTokenCount")
BEDROCK_OUTPUT_TOKENS = MetricId(NAMESPACE, "OutputTokenCount")
DAY = 86400
HOUR = 3600


def model_name(model_id: str) -> str:
    """``arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-…`` → ``anthropic.claude-…``."""
    if model_id.startswith("arn:") and ("foundation-model/" in model_id or "/inference-profile/" in model_id
                                        or ":inference-profile/" in model_id):
        return model_id.rsplit("/", 1)[-1]
    return model_id


@dataclass
class BedrockUsage:
    usage: list[LlmUsage] = field(default_factory=list)
    unpriced: list[str] = field(default_factory=list)
    """Model ids whose rows have no list price (their cost is 0)."""


@dataclass(frozen=True)
class BedrockHour:
    """One model's Bedrock use in one UTC hour (``hourly_usage``); ``cost`` None: no list price."""

    hour: datetime
    model_id: str
    model: str
    requests: int
    input_tokens: int
    output_tokens: int
    cost: Decimal | None


class BedrockUsageApi:
    def __init__(self, client: Any, cloudwatch: CloudWatchApi, region: str) -> None:
        self._client = client
        self._cloudwatch = cloudwatch
        self.region = region

    def model_ids(self) -> list[str]:
        """Every ``ModelId`` with an ``Invocations`` series of that one dimension."""
        found: set[str] = set()
        kwargs: dict[str, Any] = {"Namespace": NAMESPACE, "MetricName": BEDROCK_INVOCATIONS.name}
        while True:
            page = self._client.list_metrics(**kwargs)
            for metric in page.get("Metrics", []):
                dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
                if set(dims) == {"ModelId"}:
                    found.add(dims["ModelId"])
            if not page.get("NextToken"):
                return sorted(found)
            kwargs["NextToken"] = page["NextToken"]

    def daily_usage(self, *, end: datetime, days: int, feature: str, prices: PriceBook) -> BedrockUsage:
        ids = self.model_ids()
        out = BedrockUsage()
        if not ids:
            return out
        stop = end.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        start = stop - timedelta(days=days)
        metrics = (BEDROCK_INVOCATIONS, BEDROCK_INPUT_TOKENS, BEDROCK_OUTPUT_TOKENS)
        queries: list[tuple[str, str, tuple[tuple[str, str], ...]]] = [
            (m.namespace, m.name, (("ModelId", mid),)) for mid in ids for m in metrics
        ]
        series = self._cloudwatch.metric_data(queries, start, stop, DAY, "Sum")
        for n, mid in enumerate(ids):
            requests, inputs, outputs = (_by_day(series[3 * n + k]) for k in range(3))
            model = model_name(mid)
            price = prices.token_price(model)
            if price is None:
                out.unpriced.append(mid)
            for day in sorted(set(requests) | set(inputs) | set(outputs)):
                tokens_in, tokens_out = int(inputs.get(day, 0)), int(outputs.get(day, 0))
                cost = (Decimal(tokens_in) * price.input_per_token + Decimal(tokens_out) * price.output_per_token
                        if price is not None else Decimal(0))
                out.usage.append(LlmUsage(
                    day=day, provider="bedrock", model=model, feature=feature, project_id=self.region,
                    requests=int(requests.get(day, 0)), input_tokens=tokens_in, output_tokens=tokens_out, cost=cost,
                ))
        return out


    def hourly_usage(self, *, end: datetime, hours: int, prices: PriceBook) -> list[BedrockHour]:
        """The same three metrics per model at one-hour periods, for the ``hours`` whole hours
        before ``end`` (the hour ``end`` falls in is still filling and is left out): the series
        ``outlook.anomalies`` judges hour by hour. CloudWatch keeps one-hour data for 455 days."""
        ids = self.model_ids()
        if not ids:
            return []
        stop = end.replace(minute=0, second=0, microsecond=0)
        start = stop - timedelta(hours=hours)
        metrics = (BEDROCK_INVOCATIONS, BEDROCK_INPUT_TOKENS, BEDROCK_OUTPUT_TOKENS)
        queries = [(m.namespace, m.name, (("ModelId", mid),)) for mid in ids for m in metrics]
        series = self._cloudwatch.metric_data(queries, start, stop, HOUR, "Sum")
        out: list[BedrockHour] = []
        for n, mid in enumerate(ids):
            requests, inputs, outputs = (_by_hour(series[3 * n + k]) for k in range(3))
            model = model_name(mid)
            price = prices.token_price(model)
            for hour in sorted(set(requests) | set(inputs) | set(outputs)):
                tokens_in, tokens_out = int(inputs.get(hour, 0)), int(outputs.get(hour, 0))
                cost = (Decimal(tokens_in) * price.input_per_token + Decimal(tokens_out) * price.output_per_token
                        if price is not None else None)
                out.append(BedrockHour(hour=hour, model_id=mid, model=model, requests=int(requests.get(hour, 0)),
                                       input_tokens=tokens_in, output_tokens=tokens_out, cost=cost))
        return out


def _by_hour(points: Sequence[Any]) -> dict[datetime, float]:
    out: dict[datetime, float] = {}
    for p in points:
        hour = p.at.replace(minute=0, second=0, microsecond=0)
        out[hour] = out.get(hour, 0.0) + p.value
    return out


def _by_day(points: Sequence[Any]) -> dict[Any, float]:
    out: dict[Any, float] = {}
    for p in points:
        out[p.at.date()] = out.get(p.at.date(), 0.0) + p.value
    return out
