"""Settings of budgets, anomaly detection and notifications (``[[budgets]]``, ``[anomalies]``,
``[notifications]`` in ``spendpilot.toml``).

Kept apart from ``spendpilot.config`` so that module only gains three fields, and so these models
import nothing heavy: the config is read by every command, most of which never look at a budget.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field, field_validator, model_validator

BUDGET_SCOPE_KEYS = ("team", "feature", "account", "model", "service", "region", "provider", "subaccount")
"""A budget's scope keys, besides ``tag:<key>``; they mean what ``spendpilot spend --where`` means."""


class BudgetSettings(BaseModel):
    """One budget: an amount per calendar month for the spend its scope selects.

    ``scope`` maps a key (team, feature, account, model, service, region, provider, subaccount or
    ``tag:<key>``) to one value or a list of alternatives; an empty scope is the whole bill.
    Scoped by feature or model alone, a budget reads LLM usage (as ``spendpilot spend`` does).
    """

    name: str = Field(min_length=1, description="Shown in alerts and used to de-duplicate them.")
    amount: Decimal = Field(gt=0, description="Budget per period, in `currency`.")
    currency: str = Field("USD", description="ISO 4217; only spend in this currency counts.")
    period: str = Field("monthly", description="Only `monthly` (calendar month, UTC) is supported.")
    scope: dict[str, str | list[str]] = Field(default_factory=dict, description="KEY = value(s) filter.")
    thresholds: list[float] = Field([0.8, 1.0], description="Shares of the amount that raise an alert.")
    notify_forecast: bool = Field(
        False, description="Also alert when the forecast (not yet the actual) crosses a threshold."
    )
    kill_switch: bool = Field(
        False, description="Past its top threshold, propose stopping the non-production GPU instances in its "
        "scope (check `budget_kill_switch`) and, with a non-production `environment`, lowering its teams' LiteLLM "
        "budgets (check `budget_gateway_kill_switch`); every change waits for approval and re-checks the budget."
    )
    environment: str | None = Field(
        None, description="The environment this budget's spend is (e.g. dev, staging). A non-production value "
        "lets its kill switch lower the team's budget in the LiteLLM config (check `budget_gateway_kill_switch`)."
    )

    @field_validator("period")
    @classmethod
    def _monthly(cls, period: str) -> str:
        if period.strip().lower() != "monthly":
            raise ValueError(f"period {period!r} is not supported; use \"monthly\"")
        return "monthly"

    @field_validator("currency")
    @classmethod
    def _iso(cls, currency: str) -> str:
        code = currency.strip().upper()
        if len(code) != 3 or not code.isalpha():
            raise ValueError(f"currency {currency!r} is not an ISO 4217 code (e.g. USD, EUR)")
        return code

    @field_validator("thresholds")
    @classmethod
    def _thresholds(cls, values: list[float]) -> list[float]:
        if not values or any(not 0 < v <= 10 for v in values):
            raise ValueError("thresholds are shares of the amount, e.g. [0.8, 1.0] (each > 0 and <= 10)")
        return sorted(set(values))

    @field_validator("scope")
    @classmethod
    def _scope(cls, scope: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        for key in scope:
            if key not in BUDGET_SCOPE_KEYS and not (key.startswith("tag:") and key[4:].strip()):
                raise ValueError(f"scope key {key!r} is unknown; use one of {', '.join(BUDGET_SCOPE_KEYS)} or tag:KEY")
        return scope


class AwsBudgetsSettings(BaseModel):
    """Budgets read from AWS Budgets (``budgets:DescribeBudgets``) besides the ones in this file."""

    enabled: bool = Field(False, description="Read the account's monthly cost budgets from AWS Budgets.")
    account_id: str | None = Field(None, description="Account whose budgets to read; default: STS caller.")
    endpoint_url: str | None = Field(None, description="API endpoint override; default: [aws] endpoint_url.")


class AnomalySettings(BaseModel):
    """How unusual an hour or a day must be to be an anomaly (``spendpilot anomalies``)."""

    z_threshold: float = Field(6.0, gt=0, description="Robust z-score (MAD units) an hour must exceed.")
    min_excess: Decimal = Field(Decimal("1"), ge=0, description="Smallest excess cost per hour/day worth a flag.")
    min_ratio: float = Field(1.5, ge=1, description="An hour must also be this many times its baseline.")
    baseline_weeks: int = Field(4, ge=1, le=12, description="Past weeks the hour-of-week baseline reads.")
    lookback_hours: int = Field(48, ge=1, description="Recent hours `spendpilot anomalies` reports on.")
    cloudwatch_hourly: bool = Field(
        False, description="Also judge hourly Bedrock cost read from CloudWatch (AWS/Bedrock by ModelId) through "
        "the AWS sources: calls cloudwatch:ListMetrics and GetMetricData each time anomalies are looked for."
    )


class NotificationSettings(BaseModel):
    """Where alerts go. Nothing is sent unless a webhook or an e-mail recipient is set.

    Secrets are never written here: a webhook URL that embeds a token (Slack's do) and the SMTP
    password are read from the environment variables named by ``webhook_url_env`` and
    ``smtp_password_env``.
    """

    webhook_url: str | None = Field(None, description="Slack-compatible incoming webhook (JSON text + blocks).")
    webhook_url_env: str | None = Field(None, description="Env var holding the webhook URL instead.")
    smtp_host: str | None = Field(None, description="SMTP server for e-mail alerts.")
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_user: str | None = None
    smtp_password_env: str | None = Field(None, description="Env var holding the SMTP password.")
    email_from: str = Field("spendpilot@localhost", description="Sender address.")
    email_to: list[str] = Field(default_factory=list, description="Recipients; empty: no e-mail.")
    min_proposal_saving: Decimal = Field(
        Decimal("100"), ge=0, description="New proposals saving at least this much a month are announced."
    )
    events: list[str] = Field(
        ["proposal", "budget", "anomaly", "gap", "failed_execution"], description="Which alerts to send."
    )
    retries: int = Field(3, ge=0, le=10, description="Extra attempts per message after a failure.")
    backoff_seconds: float = Field(1.0, ge=0, description="First wait between attempts; doubles each time.")
    timeout_seconds: float = Field(10.0, gt=0)

    @model_validator(mode="after")
    def _known_events(self) -> NotificationSettings:
        unknown = set(self.events) - {"proposal", "budget", "anomaly", "gap", "failed_execution"}
        if unknown:
            raise ValueError(f"unknown notification events {sorted(unknown)}")
        return self

    @property
    def configured(self) -> bool:
        return bool(self.webhook_url or self.webhook_url_env or (self.smtp_host and self.email_to))
