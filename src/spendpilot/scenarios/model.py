"""The scenario file format, validated with pydantic so a typo names the file and field."""

from __future__ import annotations

from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from spendpilot.errors import ScenarioError
from spendpilot.outlook.settings import BudgetSettings
from spendpilot.scenarios.spans import LlmRequestsSpec


class InstanceSpec(BaseModel):
    name: str
    instance_type: str
    tags: dict[str, str] = Field(default_factory=dict)
    launched_hours_ago: float | None = None
    """None: running for the whole billing window."""


class AutoScalingGroupSpec(BaseModel):
    name: str
    instance_type: str
    desired_capacity: int
    min_size: int = 0
    max_size: int
    on_demand_percentage_above_base: int = 100
    tags: dict[str, str] = Field(default_factory=dict)


class LlmFeatureRoute(BaseModel):
    feature: str
    model: str


class EndpointVariantSpec(BaseModel):
    name: str = "AllTraffic"
    instance_type: str
    instance_count: int = 1


class SageMakerEndpointSpec(BaseModel):
    """A real-time endpoint, created with its own model and endpoint config (``<name>-config``)."""

    name: str
    variants: list[EndpointVariantSpec]
    tags: dict[str, str] = Field(default_factory=dict)
    created_hours_ago: float | None = None
    """None: up for the whole metric window. Its instances report CPU only for the hours it is up
    (moto stamps CreationTime with the seeding time either way)."""


class EbsVolumeSpec(BaseModel):
    """An EBS volume (``name`` becomes its Name tag). Its ``AWS/EBS VolumeIdleTime`` is published
    for the hours it is attached: while ``attached_to`` names a scenario instance (attached now),
    or until ``attached_until_hours_ago``, from its creation or the metric window's start."""

    name: str
    size_gb: int
    volume_type: str = "gp2"
    iops: int | None = None
    throughput: int | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    created_days_ago: float = 60.0
    """The emulator stamps CreateTime with the seeding time; the seeder backdates it (in-process moto)."""
    attached_to: str | None = None
    attached_until_hours_ago: float | None = None


class TrainingJobSpec(BaseModel):
    """A SageMaker training job (``scenarios/seed_ml.py``): ``InProgress`` since ``started_hours_ago``,
    or ``Completed`` after ``hours``. ``runs`` > 1 makes that many runs of one family, a day apart,
    named ``<name>-<timestamp>``, as a scheduled pipeline launches them."""

    name: str
    instance_type: str
    instance_count: int = 1
    status: Literal["InProgress", "Completed"] = "Completed"
    started_hours_ago: float
    hours: float = 1.0
    runs: int = 1
    max_runtime_hours: float = 24.0
    managed_spot: bool = False
    tags: dict[str, str] = Field(default_factory=dict)


class NotebookSpec(BaseModel):
    """A SageMaker notebook instance in service since ``started_hours_ago``, whose Jupyter log's
    last line was ``last_jupyter_hours_ago`` (None: no log stream)."""

    name: str
    instance_type: str
    started_hours_ago: float
    last_jupyter_hours_ago: float | None = None
    tags: dict[str, str] = Field(default_factory=dict)


class EbsSnapshotSpec(BaseModel):
    """An EBS snapshot of a volume of ``size_gb`` taken ``age_days`` ago; ``volume_kept``: its volume
    still exists; ``ami``: a registered AMI uses it."""

    name: str
    size_gb: int
    age_days: float
    volume_kept: bool = False
    ami: bool = False
    tags: dict[str, str] = Field(default_factory=dict)


class BedrockModelUsage(BaseModel):
    """Bedrock use of one model as CloudWatch reports it (AWS/Bedrock by ModelId), for ``days`` days."""

    model_id: str
    requests_per_day: int
    input_tokens_per_request: int
    output_tokens_per_request: int
    days: int = 7


class S3ReplicationSpec(BaseModel):
    """A versioned bucket replicating (one rule, ``rule``) into ``destination`` in
    ``destination_region``; with ``request_metrics`` the destination publishes S3 request metrics
    (FilterId EntireBucket) over the metric window: ``gb_per_day`` written by replication and
    ``gets_per_hour`` reads."""

    bucket: str
    destination: str
    destination_region: str = "us-west-2"
    rule: str = "replicate-all"
    request_metrics: bool = True
    gb_per_day: float = 0.0
    gets_per_hour: float = 0.0


class Resources(BaseModel):
    instances: list[InstanceSpec] = Field(default_factory=list)
    autoscaling_groups: list[AutoScalingGroupSpec] = Field(default_factory=list)
    llm_features: list[LlmFeatureRoute] = Field(default_factory=list)
    sagemaker_endpoints: list[SageMakerEndpointSpec] = Field(default_factory=list)
    ebs_volumes: list[EbsVolumeSpec] = Field(default_factory=list)
    sagemaker_training_jobs: list[TrainingJobSpec] = Field(default_factory=list)
    sagemaker_notebooks: list[NotebookSpec] = Field(default_factory=list)
    ebs_snapshots: list[EbsSnapshotSpec] = Field(default_factory=list)
    bedrock_usage: list[BedrockModelUsage] = Field(default_factory=list)
    s3_replications: list[S3ReplicationSpec] = Field(default_factory=list)


class MetricProfile(BaseModel):
    profile: Literal["flat", "diurnal"]
    mean: float = 0.0
    low: float = 0.0
    high: float = 0.0
    jitter: float = 0.0


class ResourceMetrics(BaseModel):
    cpu: MetricProfile | None = None
    gpu: MetricProfile | None = None
    """Every GPU of the instance (as many as its type has), unless ``gpus`` overrides one."""
    gpus: dict[int, MetricProfile] = Field(default_factory=dict)
    """GPU index -> its own profile (e.g. the one busy GPU of eight)."""
    agent_dimensions: Literal["instance_id", "host"] = "instance_id"
    """How the CloudWatch agent on this instance tags its GPU series: ``instance_id`` =
    ``append_dimensions`` adds InstanceId, InstanceType, ImageId (and AutoScalingGroupName in a
    group); ``host`` = no append_dimensions, only ``host`` (the private DNS name) ties a series to
    its instance."""
    invocations: dict[str, MetricProfile] = Field(default_factory=dict)
    """For a SageMaker endpoint: variant name -> invocations per hour (rounded; an hour with none
    publishes no datapoint, as SageMaker does). A variant not listed gets no invocations."""


class BillingLineItem(BaseModel):
    service: str
    category: str
    daily_cost: Decimal
    resource_id: str | None = None
    resource_name: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)


class Billing(BaseModel):
    provider: str = "AWS"
    billing_account_id: str
    billing_account_name: str
    currency: str = "USD"
    extra_line_items: list[BillingLineItem] = Field(default_factory=list)


class LlmFeatureUsage(BaseModel):
    feature: str
    model: str
    project_id: str | None = None
    requests_per_day: int
    input_tokens_per_request: int
    cached_input_share: float = 0.0
    output_tokens_per_request: int
    jitter: float = 0.0


class LlmUsageSpec(BaseModel):
    provider: str = "openai"
    features: list[LlmFeatureUsage] = Field(default_factory=list)


class ExpectedProposal(BaseModel):
    rule: str
    action: str
    target: str
    saving: Decimal | None = None
    """The true monthly saving (USD) of this proposal, worked out by hand from the scenario's planted
    facts and list prices, never copied from the estimator: ``spendpilot eval`` reports how far the
    estimate lands from it. None where the truth does not follow from the planted facts alone."""
    saving_basis: str | None = None
    """How ``saving`` follows from the planted facts (e.g. "730 h x $1.006 list price")."""

    @model_validator(mode="after")
    def _truth_has_a_basis(self) -> ExpectedProposal:
        if self.saving is not None and not (self.saving_basis or "").strip():
            raise ValueError("a ground-truth saving needs a saving_basis saying how it follows from the planted facts")
        if self.saving is not None and self.saving <= 0:
            raise ValueError("a ground-truth saving must be positive (leave it out where the truth is zero or unknown)")
        return self


class ExecuteSpec(BaseModel):
    """A planted proposal the runner approves and executes after the sweep (``realized.yaml``)."""

    target: str
    rule: str
    realized: Decimal | None = None
    """The true realized monthly saving (USD) the post-execution bill planted below must show,
    worked out by hand (0 for a trap whose bill does not drop)."""
    realized_basis: str | None = None

    @model_validator(mode="after")
    def _truth_has_a_basis(self) -> ExecuteSpec:
        if self.realized is not None and not (self.realized_basis or "").strip():
            raise ValueError("a realized truth needs a realized_basis saying how it follows from the planted bill")
        return self


class AfterExecution(BaseModel):
    """The bill of the days after the execution. Instances are billed as before while the emulator
    says they are running (a stopped one stops billing); ``billing.yaml``'s extra line items go on;
    ``llm_usage.yaml``'s features send the same traffic, on the model their route names then."""

    restarted: list[str] = Field(default_factory=list)
    """Instances someone starts again right after the execution (the trap: the bill does not drop)."""
    routed_back: list[str] = Field(default_factory=list)
    """LLM features whose owner sets the route back to its seeded model right after the execution
    (the token-lever trap: its traffic stays on the expensive model, the bill does not drop)."""
    extra_line_items: list[BillingLineItem] = Field(default_factory=list)
    """Lines billed only after the execution (e.g. the stopped instance's EBS volume, billed on)."""


class RealizedSpec(BaseModel):
    """``realized.yaml``: execute planted proposals, bill the days after, measure realized savings."""

    window_days: int = Field(7, ge=1, le=30)
    execute: list[ExecuteSpec] = Field(min_length=1)
    after_execution: AfterExecution = Field(default_factory=AfterExecution)


class Trap(BaseModel):
    target: str
    why: str
    rule: str | None = None
    """When set, only a proposal of this rule on the target springs the trap (a feature can be a
    look-alike for one check and a true positive for another)."""


class Expected(BaseModel):
    must_propose: list[ExpectedProposal] = Field(default_factory=list)
    must_not_propose: list[Trap] = Field(default_factory=list)


class ClusterSpec(BaseModel):
    """One emulated Kubernetes cluster: its kubeconfig context name and the objects it holds.

    ``manifests`` are Kubernetes objects exactly as the API serves them (``apiVersion``, ``kind``,
    ``metadata``, ``spec``, ``status``). A string ``now``, ``now-30h``, ``now-2d`` or ``now-15m``
    anywhere in them becomes that moment as an RFC 3339 timestamp when the scenario is seeded, so
    "a Job started 30 hours ago" stays 30 hours old whenever the scenario runs.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    manifests: list[dict[str, Any]] = Field(default_factory=list)


class KubernetesSpec(BaseModel):
    clusters: list[ClusterSpec] = Field(default_factory=list)


class AccountRegionSpec(BaseModel):
    """What one more (account, region) of the organisation holds, in the formats of resources.yaml
    and metrics.yaml."""

    resources: Resources = Field(default_factory=Resources)
    metrics: dict[str, ResourceMetrics] = Field(default_factory=dict)


class AccountSpec(BaseModel):
    """One more account of the organisation (``accounts.yaml``), reached by assuming ``role_name``
    in it from the scenario's own account, as a member account is; swept through ``[[aws.accounts]]``."""

    account_id: str = Field(pattern=r"^\d{12}$")
    name: str = ""
    role_name: str = "spendpilot"
    metric_days: int | None = None
    """CloudWatch history published and read in this account (None: the scenario's ``metric_days``).
    A SageMaker endpoint is called idle only after a full week of its own metrics, which a
    7-day look-back that starts minutes after the seeding cannot hold."""
    regions: dict[str, AccountRegionSpec]

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role/{self.role_name}"


class AccountsSpec(BaseModel):
    accounts: list[AccountSpec] = Field(default_factory=list)


class Scenario(BaseModel):
    name: str
    description: str = ""
    account_id: str
    account_name: str = ""
    region: str = "us-east-1"
    billing_days: int = 90
    metric_days: int = 14
    seed: int = 0
    path: Path
    resources: Resources
    metrics: dict[str, ResourceMetrics] = Field(default_factory=dict)
    billing: Billing
    llm_usage: LlmUsageSpec = Field(default_factory=LlmUsageSpec)
    kubernetes: KubernetesSpec = Field(default_factory=KubernetesSpec)
    """``cluster.yaml``: emulated Kubernetes clusters (``scenarios/kube_seed.py`` serves them)."""
    llm_requests: LlmRequestsSpec | None = None
    """Per-request traffic, sent as OpenTelemetry GenAI spans (``llm_requests.yaml``)."""
    expected: Expected = Field(default_factory=Expected)
    budgets: list[BudgetSettings] = Field(default_factory=list)
    """``budgets:`` in scenario.yaml: ``[[budgets]]`` entries the runner puts into the sweep's settings."""
    accounts: AccountsSpec = Field(default_factory=AccountsSpec)
    """``accounts.yaml``: more accounts and regions (``scenarios/demo_aws_ml.py`` seeds them)."""
    realized: RealizedSpec | None = None
    """``realized.yaml``: proposals to execute and the bill after them (``scenarios/realized_eval.py``)."""

    def aws_settings(self, endpoint_url: str | None) -> dict[str, object]:
        """``[aws]`` settings that sweep this scenario in an emulator at ``endpoint_url``.

        The look-back is as long as the history the scenario publishes: reading further back
        finds nothing, and costs the emulator (moto scans every datapoint per query and period).
        """
        aws: dict[str, object] = {"region": self.region, "endpoint_url": endpoint_url,
                                  "metric_lookback_days": self.metric_days}
        if self.accounts.accounts:  # every (account, region) as its own source, as [[aws.accounts]] reads them
            from spendpilot.scenarios.demo_aws_ml import accounts_config

            aws["accounts"] = accounts_config(self)
        return aws


_FILES = {
    "resources": "resources.yaml",
    "metrics": "metrics.yaml",
    "billing": "billing.yaml",
    "llm_usage": "llm_usage.yaml",
    "llm_requests": "llm_requests.yaml",
    "expected": "expected.yaml",
    "kubernetes": "cluster.yaml",
    "accounts": "accounts.yaml",
    "realized": "realized.yaml",
}


def _read_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from exc


def load_scenario(folder: Path) -> Scenario:
    """Load and validate a scenario folder; errors name the file and the field."""
    folder = Path(folder)
    head_path = folder / "scenario.yaml"
    if not head_path.is_file():
        raise ScenarioError(f"{folder}: not a scenario folder (no scenario.yaml)")
    data: dict[str, object] = dict(_read_yaml(head_path))  # type: ignore[call-overload]
    for key, filename in _FILES.items():
        part = folder / filename
        if part.is_file():
            data[key] = _read_yaml(part)
        elif key in ("resources", "billing"):
            raise ScenarioError(f"{folder}: missing {filename}")
    data["path"] = folder
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first["loc"]]
        filename = _FILES.get(loc[0], "scenario.yaml") if loc else "scenario.yaml"
        field = ".".join(loc[1:] if loc and loc[0] in _FILES else loc)
        raise ScenarioError(
            f"{folder / filename}: field '{field}': {first['msg']} ({exc.error_count()} error(s))"
        ) from exc


def scenarios_root() -> Path:
    """The repository's ``evals/scenarios`` when running from a checkout, else the bundled copy."""
    repo = Path(__file__).resolve().parents[3] / "evals" / "scenarios"
    if repo.is_dir():
        return repo
    return Path(str(resources.files("spendpilot") / "_bundled" / "scenarios"))


def locate_scenario(name_or_path: str) -> Path:
    candidate = Path(name_or_path)
    if (candidate / "scenario.yaml").is_file():
        return candidate
    bundled = scenarios_root() / name_or_path
    if (bundled / "scenario.yaml").is_file():
        return bundled
    raise ScenarioError(f"no scenario named or at '{name_or_path}' (looked in {scenarios_root()})")
