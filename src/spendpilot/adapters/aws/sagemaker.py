"""SageMaker real-time endpoints: what runs behind each one, and how busy it was.

An endpoint is billed per instance-hour of every instance-backed production variant for as long
as it exists, whether or not anything calls it. What a sweep needs, and where it comes from
(SageMaker API Reference and the "SageMaker metrics in CloudWatch" pages of the Developer Guide):

- ``ListEndpoints`` (paginated) names the endpoints; ``DescribeEndpoint`` gives the status, the
  endpoint config it runs and, per variant, ``CurrentInstanceCount`` (what autoscaling left it
  at); ``DescribeEndpointConfig`` gives each variant's ``InstanceType`` and
  ``InitialInstanceCount`` (a serverless variant has a ``ServerlessConfig`` and no instance
  type: it is not billed per hour); ``ListTags`` the tags.
- ``AWS/SageMaker Invocations`` with dimensions ``EndpointName`` and ``VariantName``: the
  number of InvokeEndpoint requests, read with the ``Sum`` statistic. SageMaker publishes no
  datapoint for an hour without requests, so no datapoints means no invocations, and querying
  without ``VariantName`` returns nothing at all (hence one query per variant).
- ``/aws/sagemaker/Endpoints CPUUtilization`` with the same dimensions: the endpoint's instances
  report it every minute whether or not they serve traffic, so its datapoints show for how many
  hours the endpoint was up and being watched. That, not ``CreationTime`` alone, is the window an
  "it had no invocations" claim covers.

Deleting an endpoint keeps its endpoint config and model (Developer Guide, "Delete Endpoints and
Resources"), so ``CreateEndpoint`` with the same config name brings it back. What the emulator
(moto 5.2.5) does differently is listed in ``docs/architecture.md`` under SageMaker.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from spendpilot.adapters.aws.sagemaker_common import (
    ABSENT,
    account_of,
    describe_or_none,
    iso,
    list_tags,
)
from spendpilot.domain import MetricSeries, Resource, ResourceRef
from spendpilot.domain.metrics import HOURLY, SAGEMAKER_ENDPOINT_CPU, SAGEMAKER_INVOCATIONS

if TYPE_CHECKING:
    from spendpilot.adapters.aws.cloudwatch import CloudWatchApi

ENDPOINT = "sagemaker_endpoint"
"""The ``ResourceRef.kind`` of a SageMaker real-time endpoint; its id is the endpoint name."""


class SageMakerApi:
    def __init__(self, client: Any, region: str) -> None:
        self._client = client
        self.region = region

    # -- reading -------------------------------------------------------------------------

    def list_endpoints(self) -> list[Resource]:
        names: list[str] = []
        for page in self._client.get_paginator("list_endpoints").paginate():
            names.extend(e["EndpointName"] for e in page.get("Endpoints", []))
        found = [self.describe_endpoint(name) for name in names]
        return [r for r in found if r is not None]

    def describe_endpoint(self, name: str) -> Resource | None:
        """The endpoint with its variants' instance types and counts, or None when it is gone."""
        ep = describe_or_none(self._client.describe_endpoint, EndpointName=name)
        if ep is None:
            return None
        config_name = ep["EndpointConfigName"]
        config = self.endpoint_config(config_name)
        configured = {v["variant"]: v for v in (config or {}).get("variants", [])}
        variants = []
        for summary in ep.get("ProductionVariants", []):
            planned = configured.get(summary["VariantName"], {})
            count = summary.get("CurrentInstanceCount", planned.get("instance_count", 0))
            variants.append({
                "variant": summary["VariantName"],
                "instance_type": planned.get("instance_type"),
                "instance_count": int(count or 0),
            })
        arn = ep["EndpointArn"]
        created = ep.get("CreationTime")
        return Resource(
            ref=ResourceRef(provider="aws", kind=ENDPOINT, id=name, name=name, region=self.region,
                            account=account_of(arn)),
            tags=self.tags(arn),
            attributes={
                "status": ep["EndpointStatus"],
                "endpoint_config_name": config_name,
                "arn": arn,
                "created_at": iso(created),
                "variants": variants,
            },
        )

    def endpoint_config(self, name: str) -> dict[str, Any] | None:
        """The config's variants (instance type, initial count), or None when it is gone."""
        cfg = describe_or_none(self._client.describe_endpoint_config, EndpointConfigName=name)
        if cfg is None:
            return None
        return {
            "name": cfg["EndpointConfigName"],
            "variants": [
                {
                    "variant": v["VariantName"],
                    "instance_type": v.get("InstanceType"),
                    "instance_count": int(v.get("InitialInstanceCount") or 0),
                }
                for v in cfg.get("ProductionVariants", [])
            ],
        }

    def tags(self, arn: str) -> dict[str, str]:
        return list_tags(self._client, arn)

    # -- writing -------------------------------------------------------------------------

    def delete_endpoint(self, name: str) -> str:
        """Delete the endpoint (its config and model stay); the status right after the call."""
        self._client.delete_endpoint(EndpointName=name)
        after = self.describe_endpoint(name)
        return after.attributes["status"] if after is not None else ABSENT

    def create_endpoint(self, name: str, config_name: str, tags: dict[str, str]) -> str:
        """Create the endpoint from an existing config; the status right after the call."""
        kwargs: dict[str, Any] = {"EndpointName": name, "EndpointConfigName": config_name}
        if tags:
            kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        self._client.create_endpoint(**kwargs)
        after = self.describe_endpoint(name)
        return after.attributes["status"] if after is not None else ABSENT


def endpoint_activity(
    cloudwatch: CloudWatchApi, endpoints: Sequence[Resource], *, start: datetime, end: datetime,
) -> dict[str, list[MetricSeries]]:
    """Per endpoint, per variant: hourly ``Invocations`` sums and hourly instance CPU averages.

    A series with no datapoints is left out, as for EC2; for Invocations that means none were
    made in the window.
    """
    wanted: list[tuple[str, str, str, str]] = []  # endpoint, variant, namespace, metric
    for ep in endpoints:
        for v in ep.attributes.get("variants", []):
            wanted.append((ep.ref.id, v["variant"], *SAGEMAKER_INVOCATIONS))
            wanted.append((ep.ref.id, v["variant"], *SAGEMAKER_ENDPOINT_CPU))
    out: dict[str, list[MetricSeries]] = {ep.ref.id: [] for ep in endpoints}
    for stat in ("Sum", "Average"):
        mine = [w for w in wanted if (w[3] == SAGEMAKER_INVOCATIONS.name) == (stat == "Sum")]
        queries = [(ns, metric, (("EndpointName", name), ("VariantName", variant))) for name, variant, ns, metric in mine]
        for (name, variant, ns, metric), points in zip(
            mine, cloudwatch.metric_data(queries, start, end, HOURLY, stat), strict=True
        ):
            if points:
                out[name].append(MetricSeries(
                    resource_id=name, namespace=ns, name=metric, statistic=stat, period_seconds=HOURLY,
                    unit="Count" if stat == "Sum" else "Percent",
                    dimensions={"EndpointName": name, "VariantName": variant}, points=points,
                ))
    return out


def invocations_since(
    cloudwatch: CloudWatchApi, name: str, variants: Sequence[str], *, start: datetime, end: datetime,
) -> dict[str, int]:
    """Invocations per variant between ``start`` and ``end`` (0 where none were recorded)."""
    queries = [(*SAGEMAKER_INVOCATIONS, (("EndpointName", name), ("VariantName", v))) for v in variants]
    sums = cloudwatch.metric_data(queries, start, end, HOURLY, "Sum")
    return {v: int(round(sum(p.value for p in points))) for v, points in zip(variants, sums, strict=True)}
