"""Settings from ``spendpilot.toml`` and ``SPENDPILOT_*`` variables; every default works offline.

Precedence (highest first): explicit arguments, ``SPENDPILOT_*`` environment variables
(nested with ``__``, e.g. ``SPENDPILOT_LLM__MODEL``), the TOML file, defaults.

Which TOML file, whether it is trusted, and the one-line errors for a file that is malformed,
misspelt or wrongly typed live in ``spendpilot._config_file``. Every mistake is a
``ConfigError`` (exit code 2), never a traceback and never silently ignored.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from spendpilot._config_file import (
    CONFIG_ENV,
    DEFAULT_CONFIG_FILE,
    check_environment,
    describe_validation_error,
    locate_config_file,
    origin_of,
    read_config_file,
)
from spendpilot.allocation.settings import ChargebackSettings
from spendpilot.errors import ConfigError
from spendpilot.outlook.settings import (
    AnomalySettings,
    AwsBudgetsSettings,
    BudgetSettings,
    NotificationSettings,
)
from spendpilot.savings.realized import RealizedSettings
from spendpilot.state_location import DEFAULT_HOME, check_home, ensure_home, state_db_url

__all__ = ["DEFAULT_CONFIG_FILE", "Settings", "load_settings"]

MAX_METRIC_LOOKBACK_DAYS = 455
"""CloudWatch keeps hourly data for 455 days (15 months); older history does not exist."""


class AwsSettings(BaseModel):
    """The default AWS source, used when ``[[sources]]`` is not set (one account, one region)."""

    enabled: bool = Field(True, description="Read EC2, Auto Scaling, CloudWatch and SSM from AWS.")
    region: str = Field("us-east-1", description="Region to sweep.")
    endpoint_url: str | None = Field(
        None,
        description="API endpoint override (an emulator). Unset: boto3's own resolution, "
        "which honours AWS_ENDPOINT_URL.",
    )
    metric_lookback_days: int = Field(14, description="How much CloudWatch history a sweep reads.")
    llm_routing_prefix: str = Field(
        "/spendpilot/features",
        description="SSM Parameter Store prefix holding each product feature's model "
        "(<prefix>/<feature>/model); the route_to_model action writes here.",
    )

    accounts: list[dict[str, Any]] = Field(
        default_factory=list,
        description="[[aws.accounts]]: one entry per account, each with `profile` or `role_arn` (+ `external_id`, "
        "`role_session_name`), `regions` and any other key of the `aws` source kind; every (account, region) is "
        "read as its own source. Unset: one account, `region`.",
    )

    @field_validator("metric_lookback_days")
    @classmethod
    def _lookback_in_range(cls, days: int) -> int:
        if not 1 <= days <= MAX_METRIC_LOOKBACK_DAYS:
            raise ValueError(f"must be between 1 and {MAX_METRIC_LOOKBACK_DAYS} days (CloudWatch's retention)")
        return days


class LlmSettings(BaseModel):
    model: str | None = Field(
        None,
        description='Chat model as "provider:model" (e.g. "openai:gpt-4.1-mini"). '
        "None: offline mode; sweeps are unaffected, chat answers from tools only.",
    )
    temperature: float = 0.0


class ScheduleSettings(BaseModel):
    sweep_cron: str = Field("0 * * * *", description="Cron expression (UTC) for scheduled sweeps.")


class OtelSettings(BaseModel):
    """OpenTelemetry GenAI spans: who a request is attributed to, and what of it is kept.

    Each attribution list is tried in order; a name is looked up on the span, then on its
    ancestors in the same delivery, then on the resource (``service.name`` lives there).
    """

    feature_attributes: list[str] = Field(
        ["spendpilot.feature", "gen_ai.agent.name", "traceloop.workflow.name", "service.name"],
        description="Attributes naming a request's product feature, first found wins.",
    )
    team_attributes: list[str] = Field(["spendpilot.team"], description="Attributes naming the team.")
    customer_attributes: list[str] = Field(
        ["spendpilot.customer"], description="Attributes naming the customer."
    )
    store_prompt_text: bool = Field(
        False,
        description="Keep system instructions and input messages in the per-request table. "
        "Off: only a SHA-256 of the system instructions is stored.",
    )
    receiver_port: int = Field(4318, ge=1, le=65535, description="Port of the OTLP/HTTP receiver on 127.0.0.1.")
    receiver_enabled: bool = Field(False, description="Run the OTLP/HTTP receiver inside `spendpilot daemon`.")


class PricesSettings(BaseModel):
    """Where EC2 on-demand prices come from: the packaged, dated table, or AWS's Price List API."""

    ec2_live: bool = Field(
        False,
        description="Ask pricing:GetProducts for the on-demand price of each instance type a sweep estimates; "
        "where it fails, the packaged table is used and the estimate says why. Needs pricing:GetProducts.",
    )
    pricing_endpoint_url: str | None = Field(
        None, description="Price List API endpoint override (a local server). Unset: AWS's, in pricing_region."
    )
    pricing_region: str = Field("us-east-1", description="Price List API region (us-east-1, eu-central-1 or ap-south-1).")


class Settings(BaseSettings):
    """All configuration. ``home`` holds every local store (lake, state, checkpoints, memory)."""

    model_config = SettingsConfigDict(
        env_prefix="SPENDPILOT_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    home: Path = Field(DEFAULT_HOME, description="Directory for local stores.")
    aws: AwsSettings = Field(default_factory=AwsSettings)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    otel: OtelSettings = Field(default_factory=OtelSettings)
    prices: PricesSettings = Field(default_factory=PricesSettings)
    sources: list[dict[str, Any]] = Field(
        default_factory=list,
        description="[[sources]] entries, each with a `kind` (`spendpilot sources` lists the kinds) and its "
        "settings. Unset: the [aws] account and region, the FOCUS lake and the stored LLM usage.",
    )
    source_concurrency: int = Field(4, ge=1, le=64, description="How many sources a sweep reads at once.")
    checks: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per-check threshold overrides, keyed by rule name."
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy URL for operational state; default: SQLite under home."
    )
    budgets: list[BudgetSettings] = Field(default_factory=list, description="[[budgets]]: monthly budgets.")
    aws_budgets: AwsBudgetsSettings = Field(default_factory=AwsBudgetsSettings)
    anomalies: AnomalySettings = Field(default_factory=AnomalySettings)
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    chargeback: ChargebackSettings = Field(default_factory=ChargebackSettings, description="[chargeback]: owner tags and rules.")
    realized: RealizedSettings = Field(default_factory=RealizedSettings)
    """[realized]: how realized savings are measured (``savings.realized``)."""

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:  # a bad value from the environment or an argument
            raise ConfigError(describe_validation_error(exc)) from exc
        except SettingsError as exc:  # e.g. SPENDPILOT_AWS='{bad': a section that is not valid JSON
            field = re.search(r'field "(\w+)"', str(exc))
            name = f"SPENDPILOT_{field.group(1).upper()}" if field else "a SPENDPILOT_* variable"
            raise ConfigError(
                f"environment variable {name} is not valid JSON for a table; set its keys one by one "
                f"instead (e.g. {name}__KEY=value)"
            ) from exc

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        check_environment(settings_cls)
        return (init_settings, env_settings, _TomlFileSource(settings_cls))

    def source_configs(self) -> list[dict[str, Any]]:
        """The configured sources, or the defaults: [aws] (if enabled), the lake, LLM usage."""
        if self.sources:
            return [dict(s) for s in self.sources]
        defaults: list[dict[str, Any]] = []
        if self.aws.enabled and self.aws.accounts:
            # The [aws] values are each account's defaults; the `aws` source kind validates the rest.
            shared = {
                "kind": "aws", "regions": [self.aws.region], "endpoint_url": self.aws.endpoint_url,
                "metric_lookback_days": self.aws.metric_lookback_days, "llm_routing_prefix": self.aws.llm_routing_prefix,
            }
            defaults += [{**shared, **account} for account in self.aws.accounts]
        elif self.aws.enabled:
            defaults.append(
                {
                    "kind": "aws", "regions": [self.aws.region], "endpoint_url": self.aws.endpoint_url,
                    "metric_lookback_days": self.aws.metric_lookback_days,
                    "llm_routing_prefix": self.aws.llm_routing_prefix,
                }
            )
        defaults += [{"kind": "focus_lake"}, {"kind": "llm_usage"}]
        return defaults

    # Where each store lives. Derived, so one ``home`` moves everything.
    @property
    def lake_dir(self) -> Path:
        return self.home / "lake"

    @property
    def state_db_url(self) -> str:
        return state_db_url(self.home, self.database_url)

    @property
    def checkpoint_path(self) -> Path:
        return self.home / "checkpoints.sqlite"

    @property
    def chroma_dir(self) -> Path:
        return self.home / "chroma"

    @property
    def jobstore_url(self) -> str:
        return f"sqlite:///{(self.home / 'jobs.sqlite').resolve()}"

    @property
    def notifications_db_path(self) -> Path:
        return self.home / "notifications.sqlite"

    @property
    def sweep_lock_path(self) -> Path:
        return self.home / "sweep.lock"

    def check_home(self) -> None:
        """Refuse a home that is a file, lies below a file, or cannot be written (nothing is created)."""
        check_home(self.home)

    def ensure_home(self) -> Path:
        """Create home if needed and prove it writable, so a bad home is one line, not a traceback."""
        return ensure_home(self.home)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Load settings, optionally from an explicit TOML file (which is then trusted, and must exist).

    The file is handed on through ``SPENDPILOT_CONFIG`` so that processes started from this one
    (the scheduler's jobs) read the same file.
    """
    if config_file is not None:
        if not config_file.exists() or config_file.is_dir():
            state = "is a folder, not a TOML file" if config_file.exists() else "does not exist"
            raise ConfigError(f"config file {config_file} {state}")
        os.environ[CONFIG_ENV] = str(config_file)
    settings = Settings(**overrides)
    settings.check_home()
    _check_cron(settings.schedule.sweep_cron)
    return settings


def _check_cron(cron: str) -> None:
    """A cron the scheduler cannot read is a config mistake now, not when the daemon starts.

    Checked here rather than on ``ScheduleSettings`` so code may still build one with any string
    (the scheduler refuses it again when it builds its trigger).
    """
    if cron == ScheduleSettings.model_fields["sweep_cron"].default:
        return  # no need to import the scheduler for the default
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(cron)
    except ValueError as exc:
        where = origin_of(("schedule", "sweep_cron"))
        raise ConfigError(f"{where}schedule.sweep_cron = {cron!r}: not a 5-field cron expression ({exc})") from exc


class _TomlFileSource(PydanticBaseSettingsSource):
    """The TOML file ``locate_config_file`` picks, read by ``read_config_file`` (checked, trusted)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ returns the whole file

    def __call__(self) -> dict[str, Any]:
        config = locate_config_file()
        return {} if config is None else read_config_file(config, self.settings_cls)
