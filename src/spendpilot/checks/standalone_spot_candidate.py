"""A standalone on-demand instance doing interruption-tolerant work (training, batch, CI).

Training and batch jobs often run on single on-demand instances rather than Auto Scaling groups
(``spot_candidate`` covers groups). The tag says what the work is; the instance must also show
no sign of holding state a relaunch would lose or of serving production traffic:

- an EBS volume kept when the instance ends (``DeleteOnTermination=false``): data, not scratch;
- a database-ish tag (key or value: postgres, mysql, redis, …);
- ``env=prod`` together with a serving tag (inference, api, web, …).

Where the relaunch cannot reproduce the instance by API (an Elastic IP or extra network
interfaces, extra volumes with no launch template to recreate them) the finding is kept but its
plan is an advisory runbook (``RelaunchSpotFacts.advisory_reason`` says why).
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from spendpilot.actions.relaunch_on_spot import RelaunchSpotFacts
from spendpilot.adapters.aws.relaunch import TEMPLATE_ID_TAG, TEMPLATE_VERSION_TAG
from spendpilot.checks.registry import register_check
from spendpilot.domain import Evidence, Finding, Resource, Snapshot
from spendpilot.savings.pricebook import PriceBook


class StandaloneSpotSettings(BaseModel):
    enabled: bool = True
    workload_tag: str = Field("workload", description="Tag naming the instance's kind of work.")
    interruptible_workloads: list[str] = Field(
        default_factory=lambda: ["training", "batch", "ci"],
        description="Values of the workload tag for work that can restart from a checkpoint.",
    )
    deny_tag: str = Field("spendpilot:no-spot", description="Instances with this tag are skipped.")
    stateful_words: list[str] = Field(
        default_factory=lambda: ["db", "database", "postgres", "postgresql", "mysql", "mariadb", "mongo", "mongodb",
                                 "redis", "cassandra", "elasticsearch", "kafka", "zookeeper", "stateful"],
        description="A tag key or value containing one of these words marks the instance as holding state.",
    )
    prod_env_tag: str = Field("env", description="Tag naming the environment.")
    prod_env_values: list[str] = Field(default_factory=lambda: ["prod", "production"],
                                       description="Environment values that count as production.")
    serving_words: list[str] = Field(
        default_factory=lambda: ["serving", "inference", "api", "web", "frontend", "endpoint"],
        description="With a production environment, a tag value containing one of these means it serves traffic.",
    )


def _words(text: str) -> set[str]:
    return set(re.split(r"[^a-z0-9]+", text.lower())) - {""}


def _disqualified(res: Resource, s: StandaloneSpotSettings) -> str | None:
    """Why this instance must not be relaunched at all (None: it may be)."""
    kept = [v for v in res.attributes.get("volumes") or [] if not v.get("delete_on_termination", True)]
    if kept:
        return f"volume(s) kept on termination: {', '.join(str(v.get('volume_id')) for v in kept)}"
    stateful = set(s.stateful_words)
    if any(_words(k) & stateful or _words(v) & stateful for k, v in res.tags.items()):
        return "a database-ish tag"
    env = res.tags.get(s.prod_env_tag, "").lower()
    serving = set(s.serving_words)
    if env in s.prod_env_values and any(_words(v) & serving for k, v in res.tags.items() if k != s.prod_env_tag):
        return "serves production traffic"
    return None


def _advisory_reason(res: Resource, template: str | None) -> str | None:
    """Why spendpilot cannot relaunch it by API (None: it can)."""
    a = res.attributes
    if a.get("elastic_ip"):
        return "it holds an Elastic IP, which clients may use and a new instance would not have"
    if a.get("elastic_ip", False) is None:
        return "whether it holds an Elastic IP could not be read (ec2:DescribeAddresses)"
    if int(a.get("network_interfaces") or 1) > 1:
        return "it has several network interfaces, which a launch template from it would not reattach"
    root = a.get("root_device_name")
    extra = [v for v in a.get("volumes") or [] if v.get("device") != root]
    if extra and template is None:
        return f"it has {len(extra)} extra volume(s) and no launch template to recreate them from"
    return None


@register_check(
    "standalone_spot_candidate",
    action_kind="relaunch_on_spot",
    settings=StandaloneSpotSettings,
    facts=RelaunchSpotFacts,
    description="Standalone on-demand instances tagged for interruption-tolerant work (training, batch, CI) with no "
    "sign of state or production serving.",
)
def find_standalone_spot_candidates(
    snapshot: Snapshot, settings: StandaloneSpotSettings, prices: PriceBook
) -> list[Finding[RelaunchSpotFacts]]:
    findings: list[Finding[RelaunchSpotFacts]] = []
    for res in snapshot.of_kind("ec2_instance"):
        a = res.attributes
        workload = res.tags.get(settings.workload_tag, "").lower()
        if a.get("state") != "running" or a.get("lifecycle", "on-demand") != "on-demand":
            continue
        if a.get("autoscaling_group") or settings.deny_tag in res.tags or workload not in settings.interruptible_workloads:
            continue
        if _disqualified(res, settings) is not None:
            continue
        itype = a["instance_type"]
        template_id = res.tags.get(TEMPLATE_ID_TAG)
        template = f"{template_id} version {res.tags.get(TEMPLATE_VERSION_TAG, '$Default')}" if template_id else None
        reason = _advisory_reason(res, template)
        where = res.ref.location()
        evidence = [
            Evidence(label="Workload", value=f"{settings.workload_tag}={workload}", source="instance tags"),
            Evidence(label="Purchase option", value=f"on demand, standalone ({itype}{', ' + where if where else ''})",
                     source="EC2 DescribeInstances (no InstanceLifecycle, no Auto Scaling group)"),
            Evidence(
                label="State it would lose",
                value="none found: every EBS volume is deleted on termination; no database or production-serving tags",
                source="EC2 DescribeInstances BlockDeviceMappings; instance tags",
            ),
        ]
        if reason:
            evidence.append(Evidence(label="Why advisory", value=reason, source="EC2 DescribeInstances"))
        findings.append(
            Finding(
                resource=res,
                summary=(
                    f"{itype} '{res.ref.name or res.ref.id}' runs '{workload}' work on demand, alone; spot would do"
                    + (" (advisory: " + reason + ")" if reason else "")
                ),
                facts=RelaunchSpotFacts(
                    instance_type=itype, region=res.ref.region, workload=workload, launch_template=template,
                    live_spot_price=snapshot.live_spot_prices.get(itype), advisory_reason=reason,
                ),
                evidence=evidence,
            )
        )
    return findings
