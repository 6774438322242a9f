"""The scenario file format, validated with pydantic so a typo names the file and field."""

from __future__ import annotations

from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from spendpilot.errors import ScenarioError


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


class Resources(BaseModel):
    instances: list[InstanceSpec] = Field(default_factory=list)
    autoscaling_groups: list[AutoScalingGroupSpec] = Field(default_factory=list)
    llm_features: list[LlmFeatureRoute] = Field(default_factory=list)
    sagemaker_endpoints: list[SageMakerEndpointSpec] = Field(default_factory=list)
    ebs_volumes: list[EbsVolumeSpec] = Field(default_factory=list)


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


class LlmTrafficPattern(BaseModel):
    """One generated per-request pattern (``spendpilot.scenarios.llm_traffic``), sent as GenAI spans."""

    kind: Literal["repeated_questions", "conversations", "runaway_loop", "busy_varied"]
    feature: str
    model: str
    provider: str = "openai"
    seed: int = 0
    count: int = Field(100, ge=1, description="Prompts (repeated_questions), conversations, or calls.")
    duplicate_share: float = Field(0.0, ge=0, lt=1)
    intents: list[str] | None = None
    turns: int = Field(10, ge=1)
    first_input: int = Field(1000, ge=1)
    growth_per_turn: int = Field(0, ge=0)
    per_minute: int = Field(60, ge=1)
    callers: int = Field(50, ge=1)
    hours_ago: float = Field(24.0, ge=0, description="When a burst (runaway_loop, busy_varied) starts.")


class LlmRequestsSpec(BaseModel):
    """Per-request LLM traffic the scenario sends as OTLP JSON spans through ``ingest``."""

    store_prompt_text: bool = Field(False, description="Ingest with [otel] store_prompt_text (the user's opt-in).")
    days: int = Field(7, ge=1, description="Days the generated requests spread over, ending now.")
    patterns: list[LlmTrafficPattern] = Field(default_factory=list)


class ExpectedProposal(BaseModel):
    rule: str
    action: str
    target: str


class Trap(BaseModel):
    target: str
    why: str


class Expected(BaseModel):
    must_propose: list[ExpectedProposal] = Field(default_factory=list)
    must_not_propose: list[Trap] = Field(default_factory=list)


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
    llm_requests: LlmRequestsSpec = Field(default_factory=LlmRequestsSpec)
    expected: Expected = Field(default_factory=Expected)

    def aws_settings(self, endpoint_url: str | None) -> dict[str, object]:
        """``[aws]`` settings that sweep this scenario in an emulator at ``endpoint_url``.

        The look-back is as long as the history the scenario publishes: reading further back
        finds nothing, and costs the emulator (moto scans every datapoint per query and period).
        """
        return {"region": self.region, "endpoint_url": endpoint_url, "metric_lookback_days": self.metric_days}


_FILES = {
    "resources": "resources.yaml",
    "metrics": "metrics.yaml",
    "billing": "billing.yaml",
    "llm_usage": "llm_usage.yaml",
    "llm_requests": "llm_requests.yaml",
    "expected": "expected.yaml",
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
