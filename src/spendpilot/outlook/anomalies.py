"""Spend anomalies within hours: a seasonal baseline, a robust z-score, and the driver named.

**Series.** Hourly cost per product feature from the per-request LLM table (``llm_requests``,
GenAI spans; priced with the price book because spans carry no prices), hourly cost of Amazon
Bedrock per AWS source from CloudWatch (``AWS/Bedrock`` ``Invocations``, ``InputTokenCount``,
``OutputTokenCount`` by ``ModelId``, the metrics the AWS source already reads per day, here at
one-hour periods and priced the same way), and daily cost per service from the FOCUS bill. Each is checked on its own, so a spike in one feature is not
diluted by the rest of the bill. The bill is read as billed (``lake.k8s_replaced``): Kubernetes
allocation rows re-label node cost that is on the bill already, and they begin on the day
``allocate --write`` first ran, so read as a service they would be "new spend" with no history.
A Kubernetes node is counted once, in its EC2 rows.

**Baseline** (``detect``, pure numpy, causal). The expected value of a bucket is the median of
the same hour of the week (or the same weekday, for days) over the previous ``baseline_weeks``
weeks: a Monday 9:00 is compared with earlier Mondays at 9:00, never with a Sunday night (nor
with 8:00 or 10:00: a nightly batch hour would look like a spike next to its quiet neighbours).
Residuals are relative, ``(y - e) / (e + floor)`` (noise grows
with the level), and scaled by their median absolute deviation over the two weeks before the
bucket, so the threshold adapts to how noisy a series is. A bucket is anomalous when its robust
z exceeds ``z_threshold`` **and** it exceeds the baseline by ``min_excess`` and by a factor of
``min_ratio`` (a tiny series' noise is not worth a page). Only data up to a bucket is used to
judge it, so a bucket is flagged as soon as it is complete: detection delay is at most one
bucket plus the time the data takes to arrive.

**Anomaly.** Consecutive flagged buckets form one anomaly: its start, its last bucket, whether
it is still going on, the excess cost so far (observed - expected, summed), and its drivers:
the model, provider, or resource whose excess over its own baseline is largest.

Public API (also for the TUI): ``detect``, ``find_anomalies``, and the models ``Flag``,
``Driver``, ``Anomaly``, ``AnomalyReport``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from spendpilot.domain.money import DecimalStr
from spendpilot.outlook.settings import AnomalySettings

HOURS_PER_WEEK = 168
_MAD_TO_SIGMA = 1.4826
MONEY_PLACES = Decimal("0.01")


class Flag(BaseModel):
    """One bucket judged anomalous by ``detect``."""

    index: int
    observed: float
    expected: float
    z: float


def _baselines(y: np.ndarray, period: int, weeks: int, neighbours: int) -> np.ndarray:
    """Expected value per index from the same phase in earlier periods (NaN without history)."""
    n = len(y)
    expected = np.full(n, np.nan)
    for t in range(period, n):
        picks = [t - k * period + d for k in range(1, weeks + 1) for d in range(-neighbours, neighbours + 1)
                 if 0 <= t - k * period + d < t]
        if picks:
            expected[t] = float(np.median(y[picks]))
    return expected


def detect(values: Sequence[float] | np.ndarray, *, period: int = HOURS_PER_WEEK, neighbours: int = 0,
           settings: AnomalySettings | None = None, min_excess: float | None = None,
           start: int = 0) -> list[Flag]:
    """Anomalous buckets of an evenly spaced series whose seasonal cycle is ``period`` buckets
    (168 for hourly data, 7 for daily). Buckets before ``start`` are only history."""
    cfg = settings or AnomalySettings()
    y = np.asarray(values, dtype=float)
    expected = _baselines(y, period, cfg.baseline_weeks, neighbours)
    positive = y[y > 0]
    floor = 0.1 * float(np.median(positive)) if len(positive) else 1e-9
    residual = (y - expected) / (np.nan_to_num(expected, nan=0.0) + floor)
    excess_floor = float(cfg.min_excess) if min_excess is None else min_excess
    window = 2 * period
    flags: list[Flag] = []
    for t in range(max(start, period), len(y)):
        if np.isnan(expected[t]):
            continue
        past = residual[max(0, t - window):t]
        past = past[~np.isnan(past)]
        if len(past) < period // 2:
            continue  # not enough history to know what normal looks like
        centre = float(np.median(past))
        spread = _MAD_TO_SIGMA * float(np.median(np.abs(past - centre)))
        spread = max(spread, 0.05)  # a perfectly flat past must not make every wiggle infinite
        z = (residual[t] - centre) / spread
        excess = y[t] - expected[t]
        if z > cfg.z_threshold and excess >= excess_floor and y[t] >= cfg.min_ratio * max(expected[t], 0.0):
            flags.append(Flag(index=t, observed=float(y[t]), expected=float(expected[t]), z=round(float(z), 2)))
    return flags


def group_flags(flags: Sequence[Flag], gap: int = 1) -> list[list[Flag]]:
    """Runs of flags no more than ``gap`` buckets apart."""
    runs: list[list[Flag]] = []
    for f in flags:
        if runs and f.index - runs[-1][-1].index <= gap:
            runs[-1].append(f)
        else:
            runs.append([f])
    return runs


# --- result models ---------------------------------------------------------------------------


class Driver(BaseModel):
    dimension: str = Field(description="model, provider, resource, ...")
    value: str
    excess: DecimalStr = Field(description="Its cost over its own baseline during the anomaly.")


class Anomaly(BaseModel):
    source: str = Field(description="'llm_requests' or 'cloudwatch' (hourly), or 'billing' (daily).")
    granularity: str = Field(description="'hour' or 'day'.")
    dimension: str = Field(description="What the series is: feature or service.")
    value: str
    start: datetime
    last: datetime = Field(description="Start of the last anomalous bucket.")
    ongoing: bool = Field(description="The last bucket of data is anomalous.")
    observed: DecimalStr
    expected: DecimalStr
    excess: DecimalStr = Field(description="Observed - expected, summed over the anomaly so far.")
    currency: str
    peak_z: float
    ratio: float = Field(description="Observed / expected over the anomaly.")
    drivers: list[Driver] = Field(default_factory=list)

    @property
    def key(self) -> str:
        """Stable identity, for de-duplicating notifications."""
        return f"{self.source}:{self.dimension}={self.value}:{self.start.isoformat()}"

    def summary(self) -> str:
        top = f"; driver {self.drivers[0].dimension} {self.drivers[0].value}" if self.drivers else ""
        return (f"{self.dimension} {self.value}: {self.observed} {self.currency} vs {self.expected} expected "
                f"since {self.start:%Y-%m-%d %H:%M} UTC (x{self.ratio:.1f}, excess {self.excess}){top}")


class AnomalyReport(BaseModel):
    checked: list[str] = Field(default_factory=list, description="Which series were checked, over which range.")
    anomalies: list[Anomaly] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


# --- from the lake ---------------------------------------------------------------------------


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(MONEY_PLACES)


def _request_cost(row: Any, prices: Any) -> float | None:
    """What the tokens of ``row`` (one request or an hour's sum) cost at the price book's rates."""
    price = prices.token_price(row.model)
    if price is None:
        return None
    cached = price.cached_input_per_token if price.cached_input_per_token is not None else price.input_per_token
    write = price.cache_write_per_token if price.cache_write_per_token is not None else price.input_per_token
    uncached = max(row.uncached_input_tokens - row.cache_creation_input_tokens, 0)
    return float(uncached * price.input_per_token + row.cache_read_input_tokens * cached
                 + row.cache_creation_input_tokens * write + row.output_tokens * price.output_per_token)


def _hour(moment: datetime) -> datetime:
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.replace(minute=0, second=0, microsecond=0)


def _runs_to_anomalies(runs: list[list[Flag]], *, first: datetime, step: timedelta, n: int, source: str,
                       granularity: str, dimension: str, value: str, currency: str,
                       breakdown: dict[tuple[str, str], np.ndarray], period: int, neighbours: int,
                       weeks: int) -> list[Anomaly]:
    found = []
    for run in runs:
        observed = sum(f.observed for f in run)
        expected = sum(f.expected for f in run)
        drivers = []
        for (dim, part), series in breakdown.items():
            base = _baselines(series, period, weeks, neighbours)
            excess = sum(series[f.index] - (0.0 if np.isnan(base[f.index]) else base[f.index]) for f in run)
            if excess > 0:
                drivers.append(Driver(dimension=dim, value=part, excess=_money(excess)))
        # The most specific dimension first (model before provider): "openai" explains less
        # than "gpt-4.1" even when its excess is as large. Two values per dimension at most.
        order = {dim: i for i, dim in enumerate(dict.fromkeys(dim for dim, _ in breakdown))}
        drivers.sort(key=lambda d: (order[d.dimension], -d.excess))
        drivers = [d for d in drivers if sum(x.dimension == d.dimension for x in drivers[:drivers.index(d)]) < 2]
        found.append(Anomaly(
            source=source, granularity=granularity, dimension=dimension, value=value,
            start=first + step * run[0].index, last=first + step * run[-1].index, ongoing=run[-1].index == n - 1,
            observed=_money(observed), expected=_money(expected), excess=_money(observed - expected),
            currency=currency, peak_z=max(f.z for f in run),
            ratio=round(observed / expected, 2) if expected > 0 else float("inf"), drivers=drivers,
        ))
    return found


def hourly_llm_anomalies(lake_dir: Path, prices: Any, settings: AnomalySettings, *,
                         now: datetime | None = None) -> AnomalyReport:
    """Hourly cost per feature from the per-request table; drivers by model and provider."""
    from spendpilot.lake.otlp.store import hourly_request_usage

    report = AnomalyReport()
    history = (settings.baseline_weeks + 2) * HOURS_PER_WEEK
    since = _hour(now) - timedelta(hours=history - 1) if now else None
    usage = hourly_request_usage(lake_dir, since)
    if not usage:
        report.notes.append("no per-request LLM data (GenAI spans): hourly LLM anomalies not checked")
        return report
    end = _hour(now) if now else max(u.hour for u in usage)
    first = end - timedelta(hours=history - 1)
    n = history
    series: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(n))
    parts: dict[str, dict[tuple[str, str], np.ndarray]] = defaultdict(dict)
    unpriced: set[str] = set()
    for u in usage:
        i = int((u.hour - first) / timedelta(hours=1))
        if not 0 <= i < n:
            continue
        cost = _request_cost(u, prices)
        if cost is None:
            unpriced.add(u.model)
            continue
        series[u.feature][i] += cost
        for dim in ("model", "provider"):
            key = (dim, str(getattr(u, dim)))
            parts[u.feature].setdefault(key, np.zeros(n))[i] += cost
    if unpriced:
        report.notes.append(f"no price for {', '.join(sorted(unpriced))}: their requests are not in the hourly cost")
    start = n - settings.lookback_hours
    for feature, values in sorted(series.items()):
        report.checked.append(f"hourly LLM cost of feature {feature}, {first:%Y-%m-%d %H:00} to {end:%Y-%m-%d %H:00} UTC")
        flags = detect(values, period=HOURS_PER_WEEK, neighbours=0, settings=settings, start=start)
        report.anomalies += _runs_to_anomalies(
            group_flags(flags), first=first, step=timedelta(hours=1), n=n, source="llm_requests",
            granularity="hour", dimension="feature", value=feature, currency="USD", breakdown=parts[feature],
            period=HOURS_PER_WEEK, neighbours=0, weeks=settings.baseline_weeks)
    return report


def cloudwatch_sources(settings: Any) -> list[Any]:
    """The configured sources that read hourly LLM usage from CloudWatch (AWS sources: Bedrock),
    when ``[anomalies] cloudwatch_hourly`` is on; none otherwise."""
    from spendpilot.adapters.base import build_sources

    if not settings.anomalies.cloudwatch_hourly:
        return []
    return [s for s in build_sources(settings.source_configs(), settings.home) if hasattr(s, "hourly_llm_usage")]


def hourly_cloudwatch_anomalies(sources: Sequence[Any], prices: Any, settings: AnomalySettings, *,
                                now: datetime | None = None) -> AnomalyReport:
    """Hourly Bedrock cost per AWS source (CloudWatch metrics by ModelId); drivers by model.

    Only whole hours are judged (the current hour is still filling), so a spike's first hour is
    flagged once it has ended. A source that cannot be read is a note naming it, never "no
    anomalies"; a model without a list price is a note, its hours left out of the cost."""
    from spendpilot.errors import SpendpilotError

    report = AnomalyReport()
    history = (settings.baseline_weeks + 2) * HOURS_PER_WEEK
    end = _hour(now or datetime.now(UTC))
    first = end - timedelta(hours=history)
    for source in sources:
        try:
            feature, rows = source.hourly_llm_usage(end=end, hours=history, prices=prices)
        except SpendpilotError as exc:
            report.notes.append(f"{source.name}: hourly Bedrock usage not read from CloudWatch: "
                                f"{' '.join(str(exc).split())}")
            continue
        if not rows:
            report.notes.append(f"{source.name}: no Bedrock usage in CloudWatch (AWS/Bedrock) in the last {history} h")
            continue
        values = np.zeros(history)
        parts: dict[tuple[str, str], np.ndarray] = {}
        unpriced = sorted({r.model_id for r in rows if r.cost is None})
        if unpriced:
            report.notes.append(f"{source.name}: no price for Bedrock {', '.join(unpriced)}: "
                                "their hours are not in the hourly cost")
        for r in rows:
            i = int((r.hour - first) / timedelta(hours=1))
            if r.cost is None or not 0 <= i < history:
                continue
            values[i] += float(r.cost)
            parts.setdefault(("model", r.model), np.zeros(history))[i] += float(r.cost)
        report.checked.append(f"hourly Bedrock cost ({source.name}, feature {feature}) from CloudWatch, "
                              f"{first:%Y-%m-%d %H:00} to {end - timedelta(hours=1):%Y-%m-%d %H:00} UTC")
        flags = detect(values, period=HOURS_PER_WEEK, neighbours=0, settings=settings,
                       start=history - settings.lookback_hours)
        report.anomalies += _runs_to_anomalies(
            group_flags(flags), first=first, step=timedelta(hours=1), n=history, source="cloudwatch",
            granularity="hour", dimension="feature", value=feature, currency="USD", breakdown=parts,
            period=HOURS_PER_WEEK, neighbours=0, weeks=settings.baseline_weeks)
    return report


def daily_billing_anomalies(lake_dir: Path, settings: AnomalySettings, *, lookback_days: int = 7) -> AnomalyReport:
    """Daily cost per service from the FOCUS bill; drivers by resource.

    Detection reads the bill per service and day (a few hundred rows); the per-resource
    breakdown that names drivers is read only for a service that has a flag, and only for that
    service. Reading every resource of every service up front returned ~840,000 rows for a
    million-row lake and took a minute and 1.8 GB on the dashboard's worker
    (benchmarks/tui_dashboard.py). Both read the bill as billed, without the Kubernetes
    allocation rows (module docstring)."""
    from spendpilot.errors import NoSpendData
    from spendpilot.lake.spend import Counting, SpendFilter, build_query, run_spend_query

    report = AnomalyReport()
    history = (settings.baseline_weeks + 2) * 7
    try:
        result = run_spend_query(lake_dir, build_query(group_by=["service"], last_days=history, granularity="day",
                                                           counting=Counting.BILLED))
    except NoSpendData:
        report.notes.append("no billing data: daily billing anomalies not checked")
        return report
    n = (result.end - result.start).days + 1
    totals: dict[tuple[str, str], np.ndarray] = defaultdict(lambda: np.zeros(n))
    for row in result.rows:
        if row.bucket is not None:
            totals[(row.keys["service"], row.currency)][(row.bucket - result.start).days] += float(row.amount)
    first = datetime.combine(result.start, datetime.min.time(), tzinfo=UTC)
    for (service, currency), values in sorted(totals.items()):
        report.checked.append(f"daily {currency} cost of service {service}, {result.start} to {result.end}")
        flags = detect(values, period=7, neighbours=0, settings=settings, start=n - lookback_days)
        if not flags:
            continue
        parts: dict[tuple[str, str], np.ndarray] = {}
        by_resource = run_spend_query(lake_dir, build_query(
            group_by=["resource"], start=result.start, end=result.end, granularity="day",
            where=[SpendFilter(key="service", values=(service,))], counting=Counting.BILLED))
        for row in by_resource.rows:
            if row.bucket is not None and row.currency == currency:
                parts.setdefault(("resource", row.keys["resource"]), np.zeros(n))[
                    (row.bucket - result.start).days] += float(row.amount)
        report.anomalies += _runs_to_anomalies(
            group_flags(flags), first=first, step=timedelta(days=1), n=n, source="billing", granularity="day",
            dimension="service", value=service, currency=currency, breakdown=parts,
            period=7, neighbours=0, weeks=settings.baseline_weeks)
    return report


def find_anomalies(lake_dir: Path, prices: Any, settings: AnomalySettings | None = None, *,
                   now: datetime | None = None, sources: Sequence[Any] = ()) -> AnomalyReport:
    """Hourly LLM anomalies (spans in the lake; CloudWatch through ``sources``, see
    ``cloudwatch_sources``) and daily billing anomalies, largest excess first."""
    cfg = settings or AnomalySettings()
    parts = [hourly_llm_anomalies(lake_dir, prices, cfg, now=now)]
    if sources:
        parts.append(hourly_cloudwatch_anomalies(sources, prices, cfg, now=now))
    parts.append(daily_billing_anomalies(lake_dir, cfg, lookback_days=max(1, cfg.lookback_hours // 24)))
    report = AnomalyReport(checked=[c for p in parts for c in p.checked], notes=[n for p in parts for n in p.notes],
                           anomalies=sorted((a for p in parts for a in p.anomalies), key=lambda a: -a.excess))
    if not sources:
        report.notes.append("hourly Bedrock usage from CloudWatch not read: set [anomalies] cloudwatch_hourly = true "
                            "(with an AWS source) to judge it")
    return report
