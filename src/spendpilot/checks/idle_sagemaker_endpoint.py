"""A SageMaker real-time endpoint billed by the instance-hour that nobody calls."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, Field

from spendpilot.actions.delete_sagemaker_endpoint import DeleteEndpointFacts, EndpointVariant
from spendpilot.adapters.aws.sagemaker import ENDPOINT
from spendpilot.checks.registry import register_check
from spendpilot.domain import Evidence, Finding, Snapshot
from spendpilot.domain.metrics import SAGEMAKER_ENDPOINT_CPU, SAGEMAKER_INVOCATIONS
from spendpilot.savings.pricebook import PriceBook


class IdleEndpointFacts(DeleteEndpointFacts):
    """A deletion whose case is no traffic: what was counted, and since when it was watched."""

    created_at: AwareDatetime | None = None


class IdleEndpointSettings(BaseModel):
    enabled: bool = True
    max_invocations: int = Field(
        0, ge=0,
        description="Invocations (all variants, the whole window) at or below this count as idle. 0: not one "
        "request; raise it only if health checks go through InvokeEndpoint.",
    )
    min_observed_hours: float = Field(
        168.0, gt=0,
        description="Hours the endpoint's instances must have reported (/aws/sagemaker/Endpoints CPUUtilization, "
        "every variant) before it can be called idle: a week, so a weekly job's endpoint is seen working, and an "
        "endpoint deployed yesterday whose callers are not live yet is not waste yet.",
    )
    ignore_tag: str = Field("spendpilot:ignore", description="Endpoints with this tag are skipped.")


@register_check(
    "idle_sagemaker_endpoint",
    action_kind="delete_sagemaker_endpoint",
    settings=IdleEndpointSettings,
    facts=IdleEndpointFacts,
    description="SageMaker real-time endpoints in service that received no invocations over the metric window.",
)
def find_idle_sagemaker_endpoints(
    snapshot: Snapshot, settings: IdleEndpointSettings, prices: PriceBook
) -> list[Finding[IdleEndpointFacts]]:
    findings: list[Finding[IdleEndpointFacts]] = []
    for res in snapshot.of_kind(ENDPOINT):
        attrs = res.attributes
        if attrs.get("status") != "InService" or settings.ignore_tag in res.tags:
            continue
        variants = [EndpointVariant.model_validate(v) for v in attrs.get("variants", [])]
        billed = [v for v in variants if v.instance_type and v.instance_count > 0]
        if not billed:
            continue  # serverless (or scaled to zero): nothing billed by the hour
        series = snapshot.metrics.get(res.ref.id, [])
        watched = {
            s.dimensions.get("VariantName"): s for s in series
            if (s.namespace, s.name) == tuple(SAGEMAKER_ENDPOINT_CPU)
        }
        # Each billed variant must have been watched long enough: a variant added yesterday
        # has had no time to be called.
        if any(v.variant not in watched for v in billed):
            continue
        hours = min(watched[v.variant].hours_covered() for v in billed)
        if hours < settings.min_observed_hours:
            continue
        calls = [s for s in series if (s.namespace, s.name) == tuple(SAGEMAKER_INVOCATIONS)]
        invocations = int(round(sum(sum(s.values()) for s in calls)))
        if invocations > settings.max_invocations:
            continue
        first = min(watched[v.variant].points[0].at for v in billed)
        last = max(watched[v.variant].points[-1].at for v in billed)
        created = datetime.fromisoformat(attrs["created_at"]) if attrs.get("created_at") else None
        shape = ", ".join(f"{v.instance_count} x {v.instance_type} ({v.variant})" for v in billed)
        config = attrs["endpoint_config_name"]
        evidence = [
            Evidence(
                label="Invocations (Sum, every variant)",
                value=f"{invocations} over {hours:.0f} h ({first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC); "
                f"idle means at most {settings.max_invocations}",
                source=f"CloudWatch {SAGEMAKER_INVOCATIONS} by EndpointName, VariantName "
                "(SageMaker publishes no datapoint for an hour without requests)",
            ),
            Evidence(
                label="Watched for",
                value=f"{hours:.0f} h of instance metrics on every billed variant (at least "
                f"{settings.min_observed_hours:g} h required)",
                source=f"CloudWatch {SAGEMAKER_ENDPOINT_CPU}, hourly averages",
            ),
            Evidence(
                label="Instances billed by the hour",
                value=shape,
                source=f"SageMaker DescribeEndpoint + DescribeEndpointConfig '{config}'",
            ),
        ]
        if created is not None:
            later = " (after its first instance metric: recreated under this name since)" if created > first else ""
            evidence.append(Evidence(label="Created", value=f"{created:%Y-%m-%d %H:%M} UTC{later}",
                                     source="SageMaker DescribeEndpoint CreationTime"))
        findings.append(
            Finding(
                resource=res,
                summary=(
                    f"SageMaker endpoint '{res.ref.id}' ({shape}) had {invocations or 'no'} invocations "
                    f"in {hours / 24:.0f} days"
                ),
                facts=IdleEndpointFacts(
                    endpoint_config_name=config,
                    variants=tuple(variants),
                    region=res.ref.region,
                    invocations=invocations,
                    max_invocations=settings.max_invocations,
                    window_hours=hours,
                    measured_until=snapshot.taken_at,
                    created_at=created,
                ),
                evidence=evidence,
            )
        )
    return findings
