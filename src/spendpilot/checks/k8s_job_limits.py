"""Jobs that run past a deadline (zombies), and Jobs/CronJobs with no limits set.

A *zombie* is a Job still active (``status.active`` > 0, not suspended) for longer than
``max_active_hours`` (default 24 h) with no ``activeDeadlineSeconds`` of its own (one with a
deadline is bounded: the Job controller stops it there): a training run stuck in a retry loop or a worker that
never exits keeps its pods' CPU, memory and GPUs reserved. The proposal sets
``activeDeadlineSeconds`` to that maximum, which makes the Job controller stop it
(``actions/k8s_set_job_limits``), and a TTL if it has none. Its saving is real: its pods'
requests priced at their nodes' rate (``savings/k8s_set_job_limits``).

*Hygiene*: a Job (not created by a CronJob: those are fixed at the CronJob) or a CronJob with no
``ttlSecondsAfterFinished`` gets one (default 24 h), and with ``default_active_deadline_hours``
set, a deadline too. Finished Jobs hold no requests, so this saves nothing measurable: the
estimate is $0 and says so; it is proposed because finished Jobs and their pods pile up in the
API and in every list a tool (this one included) makes.

Never touched: objects labelled as protected (``protected_labels``, default
``environment=production``) on the Job, its pod template or its namespace.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from spendpilot.actions._k8s import workload_resource
from spendpilot.actions.k8s_facts import JobLimitsFacts, WorkloadRef
from spendpilot.checks.registry import register_check
from spendpilot.domain import Evidence, Finding, Snapshot
from spendpilot.domain.kubernetes import ClusterState, KubePod, KubeWorkload
from spendpilot.savings._k8s import PodCharge, pod_charges
from spendpilot.savings.pricebook import PriceBook

JOB_NAME_LABELS = ("batch.kubernetes.io/job-name", "job-name")
"""Labels the Job controller puts on a Job's pods (the older one kept for clusters before 1.27)."""


class JobLimitsCheckFacts(JobLimitsFacts):
    zombie: bool = False
    active_hours: float | None = None
    max_active_hours: float | None = None
    observed_at: datetime | None = None
    pods: list[PodCharge] = Field(default_factory=list)
    unpriced_pods: list[str] = Field(default_factory=list)
    """Active pods whose node or instance type is unknown (not priced: the estimate says so)."""


class JobLimitsSettings(BaseModel):
    enabled: bool = True
    max_active_hours: float = Field(
        24.0, gt=0, description="A Job active for longer than this is a zombie."
    )
    ttl_hours: float = Field(
        24.0, gt=0, description="ttlSecondsAfterFinished proposed where none is set."
    )
    default_active_deadline_hours: float | None = Field(
        None,
        gt=0,
        description="Also propose this activeDeadlineSeconds for Jobs/CronJobs without one (unset: only zombies get one).",
    )
    protected_labels: dict[str, str] = Field(
        default_factory=lambda: {"environment": "production"},
        description="Objects (or namespaces) with any of these labels are never proposed.",
    )
    ignore_label: str = Field(
        "spendpilot.io/ignore", description="Objects with this label are skipped."
    )


def _protected(w: KubeWorkload, cluster: ClusterState, s: JobLimitsSettings) -> bool:
    labels = {**cluster.namespaces.get(w.namespace, {}), **w.pod_template_labels, **w.labels}
    return s.ignore_label in labels or any(
        labels.get(k) == v for k, v in s.protected_labels.items()
    )


def _pods_of_job(cluster: ClusterState, job: KubeWorkload) -> list[KubePod]:
    def belongs(p: KubePod) -> bool:
        if p.namespace != job.namespace:
            return False
        if any(p.labels.get(label) == job.name for label in JOB_NAME_LABELS):
            return True
        return p.owner is not None and p.owner.kind == "Job" and p.owner.name == job.name

    return [p for p in cluster.pods if belongs(p) and p.phase in ("Running", "Pending")]


@register_check(
    "k8s_job_limits",
    action_kind="k8s_set_job_limits",
    settings=JobLimitsSettings,
    facts=JobLimitsCheckFacts,
    description="Kubernetes Jobs active past a deadline (zombies), and Jobs/CronJobs without a TTL after finishing.",
)
def find_job_limits(
    snapshot: Snapshot, settings: JobLimitsSettings, prices: PriceBook
) -> list[Finding[JobLimitsCheckFacts]]:
    findings: list[Finding[JobLimitsCheckFacts]] = []
    ttl = int(settings.ttl_hours * 3600)
    default_deadline = (
        int(settings.default_active_deadline_hours * 3600)
        if settings.default_active_deadline_hours
        else None
    )
    for cluster in snapshot.clusters:
        for w in cluster.workloads:
            if w.kind not in ("Job", "CronJob") or _protected(w, cluster, settings):
                continue
            ref = WorkloadRef(
                cluster=cluster.cluster, kind=w.kind, namespace=w.namespace, name=w.name
            )
            from_cronjob = w.kind == "Job" and w.owner is not None and w.owner.kind == "CronJob"
            active_hours = (
                (snapshot.taken_at - w.started_at).total_seconds() / 3600
                if w.kind == "Job" and w.started_at
                else None
            )
            zombie = (
                w.kind == "Job"
                and w.active > 0
                and not w.suspended
                and active_hours is not None
                and active_hours > settings.max_active_hours
                and w.active_deadline_seconds is None
            )  # fmt: skip  (a Job with its own deadline is bounded: the Job controller enforces it)
            evidence = [
                Evidence(
                    label="Cluster",
                    value=f"{cluster.cluster} ({w.namespace}/{w.name})",
                    source="Kubernetes API",
                )
            ]
            if zombie:
                assert active_hours is not None
                pods = _pods_of_job(cluster, w)
                charges, unpriced = pod_charges(cluster, pods)
                facts = JobLimitsCheckFacts(
                    workload=ref, current_ttl_seconds=w.ttl_seconds_after_finished,
                    current_active_deadline_seconds=w.active_deadline_seconds,
                    ttl_seconds=None if w.ttl_seconds_after_finished is not None else ttl,
                    active_deadline_seconds=int(settings.max_active_hours * 3600),
                    zombie=True, active_hours=round(active_hours, 2), max_active_hours=settings.max_active_hours,
                    observed_at=snapshot.taken_at, pods=charges, unpriced_pods=unpriced,
                )  # fmt: skip
                evidence += [
                    Evidence(label="Active for", value=f"{active_hours:.1f} h (started {w.started_at:%Y-%m-%d %H:%M} UTC; "
                             f"limit {settings.max_active_hours:g} h)", source="Job status.startTime, status.active"),
                    Evidence(label="Pods holding requests", value=", ".join(p.name for p in pods) or "none found",
                             source="pods labelled job-name"),
                ]  # fmt: skip
                summary = (
                    f"Job {w.namespace}/{w.name} in {cluster.cluster} has been active {active_hours:.0f} h "
                    f"(more than {settings.max_active_hours:g} h): set activeDeadlineSeconds to stop it"
                )
                findings.append(
                    Finding(
                        resource=workload_resource(ref, w.labels),
                        summary=summary,
                        facts=facts,
                        evidence=evidence,
                    )
                )
                continue
            if from_cronjob:
                continue  # its limits come from the CronJob's jobTemplate: proposed there
            set_ttl = ttl if w.ttl_seconds_after_finished is None else None
            set_deadline = default_deadline if w.active_deadline_seconds is None else None
            if set_ttl is None and set_deadline is None:
                continue
            facts = JobLimitsCheckFacts(
                workload=ref, current_ttl_seconds=w.ttl_seconds_after_finished,
                current_active_deadline_seconds=w.active_deadline_seconds,
                ttl_seconds=set_ttl, active_deadline_seconds=set_deadline, observed_at=snapshot.taken_at,
            )  # fmt: skip
            missing = [
                n
                for n, v in (
                    ("ttlSecondsAfterFinished", set_ttl),
                    ("activeDeadlineSeconds", set_deadline),
                )
                if v is not None
            ]
            evidence.append(
                Evidence(label="Not set", value=", ".join(missing), source=f"{w.kind} spec")
            )
            findings.append(Finding(
                resource=workload_resource(ref, w.labels),
                summary=f"{w.kind} {w.namespace}/{w.name} in {cluster.cluster} has no {' or '.join(missing)}",
                facts=facts, evidence=evidence,
            ))  # fmt: skip
    return findings
