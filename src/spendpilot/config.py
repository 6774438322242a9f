"""Settings from ``spendpilot.toml`` and ``SPENDPILOT_*`` variables; every default works offline.

Precedence (highest first): explicit arguments, ``SPENDPILOT_*`` environment variables
(nested with ``__``, e.g. ``SPENDPILOT_LLM__MODEL``), the TOML file, defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_CONFIG_FILE = "spendpilot.toml"


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


class LlmSettings(BaseModel):
    model: str | None = Field(
        None,
        description='Chat model as "provider:model" (e.g. "openai:gpt-4.1-mini"). '
        "None: offline mode; sweeps are unaffected, chat answers from tools only.",
    )
    temperature: float = 0.0


class ScheduleSettings(BaseModel):
    sweep_cron: str = Field("0 * * * *", description="Cron expression (UTC) for scheduled sweeps.")


class Settings(BaseSettings):
    """All configuration. ``home`` holds every local store (lake, state, checkpoints, memory)."""

    model_config = SettingsConfigDict(
        env_prefix="SPENDPILOT_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    home: Path = Field(Path(".spendpilot"), description="Directory for local stores.")
    aws: AwsSettings = Field(default_factory=AwsSettings)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
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

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = os.environ.get("SPENDPILOT_CONFIG", DEFAULT_CONFIG_FILE)
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )

    def source_configs(self) -> list[dict[str, Any]]:
        """The configured sources, or the defaults: [aws] (if enabled), the lake, LLM usage."""
        if self.sources:
            return [dict(s) for s in self.sources]
        defaults: list[dict[str, Any]] = []
        if self.aws.enabled:
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
        return self.database_url or f"sqlite:///{(self.home / 'state.sqlite').resolve()}"

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
    def sweep_lock_path(self) -> Path:
        return self.home / "sweep.lock"

    def ensure_home(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Load settings, optionally from an explicit TOML file."""
    if config_file is not None:
        os.environ["SPENDPILOT_CONFIG"] = str(config_file)
    return Settings(**overrides)
