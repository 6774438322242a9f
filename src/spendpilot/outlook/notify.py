"""Alerts to people: a Slack-compatible webhook and e-mail, each sent once.

**What is announced** (``collect_alerts``, each kind can be switched off in ``events``): new
proposals saving at least ``min_proposal_saving`` a month, budgets whose actual spend crossed a
threshold (or, with ``notify_forecast``, whose forecast will), anomalies, sources a sweep could
not read (gaps), and executions that failed.

**Sent once.** Every alert has a stable key (a budget's name, month and highest threshold
crossed; an anomaly's series and start; a proposal's id; a gap's source and day). A delivery
is recorded per (key, channel) in ``<home>/notifications.sqlite`` only after the receiver
accepted it, so a second sweep sends nothing new, and a channel that was down is tried again
at the next sweep without repeating the other channel.

**Retries.** A webhook answering 429 or 5xx, an unreachable host, or an SMTP error is retried
``retries`` times with doubling waits from ``backoff_seconds``; other 4xx replies are not
retried (they will not get better).

**No secret or prompt text.** A message is built only from structured fields: names, amounts,
dates, ids. It never includes a proposal's narrative (model-written), evidence details, span
text, URLs or error replies verbatim; gaps are named by source and reduced to their first
line, and every message passes ``scrub`` which masks anything shaped like a key or token.

Public API: ``Alert``, ``collect_alerts``, ``Notifier``, ``notify_after_sweep``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import smtplib
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from spendpilot.outlook.settings import NotificationSettings

log = logging.getLogger(__name__)

_SECRET_SHAPES = re.compile(
    r"(sk-[A-Za-z0-9_\-]{8,}|sk-ant-[A-Za-z0-9_\-]{8,}|AKIA[0-9A-Z]{12,}|ASIA[0-9A-Z]{12,}|xox[abprs]-[A-Za-z0-9\-]+"
    r"|gh[pousr]_[A-Za-z0-9]{20,}|(?i:bearer)\s+[A-Za-z0-9._\-]+|https?://\S+|[A-Za-z0-9+/]{40,}={0,2})"
)


def scrub(text: str) -> str:
    """Mask what looks like a credential, a token or a URL (which may embed one)."""
    return _SECRET_SHAPES.sub("[redacted]", text)


class Alert(BaseModel):
    kind: str = Field(description="proposal, budget, anomaly, gap or failed_execution.")
    key: str = Field(description="Stable identity: the same situation always has the same key.")
    title: str
    lines: list[str] = Field(default_factory=list)

    def text(self) -> str:
        return scrub("\n".join([self.title, *self.lines]))

    def slack_payload(self) -> dict[str, Any]:
        body = scrub("\n".join(self.lines)) or " "
        return {
            "text": scrub(self.title),
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": scrub(self.title)[:150]}},
                {"type": "section", "text": {"type": "mrkdwn", "text": body[:3000]}},
            ],
        }


# --- what to announce -------------------------------------------------------------------------


def _money(amount: Any, currency: str) -> str:
    from spendpilot.domain import format_money

    return format_money(amount, currency)


def proposal_alerts(proposals: Sequence[Any], minimum: Any) -> list[Alert]:
    alerts = []
    for p in proposals:
        expected = p.estimate.expected
        if expected.amount < minimum:
            continue
        alerts.append(Alert(
            kind="proposal", key=f"proposal:{p.id}",
            title=f"New proposal: {p.action} on {p.target.label()} saves {_money(expected.amount, expected.currency)}/month",
            lines=[f"Proposal {p.id} (rule {p.rule}, risk {p.risk.value if hasattr(p.risk, 'value') else p.risk}).",
                   f"Review: spendpilot show {p.id}"],
        ))
    return alerts


def budget_alerts(statuses: Sequence[Any], budgets_by_name: dict[str, Any]) -> list[Alert]:
    from spendpilot.outlook.budgets import Crossing

    alerts = []
    for s in statuses:
        crossed = s.highest_crossed
        forecast_ok = getattr(budgets_by_name.get(s.name), "notify_forecast", False)
        upcoming = s.next_forecast
        if crossed is None and not (forecast_ok and upcoming is not None):
            continue
        month = s.period_start.strftime("%Y-%m")
        if crossed is not None:
            key = f"budget:{s.name}:{month}:{crossed.threshold}:actual"
            title = (f"Budget {s.name} passed {int(crossed.threshold * 100)}%: "
                     f"{_money(s.actual, s.currency)} of {_money(s.amount, s.currency)} in {month}")
        else:
            assert upcoming is not None
            key = f"budget:{s.name}:{month}:{upcoming.threshold}:forecast"
            title = f"Budget {s.name} is forecast to pass {int(upcoming.threshold * 100)}% on {upcoming.on}"
        lines = [f"Spent {_money(s.actual, s.currency)} by {s.as_of} ({float(s.burn) * 100:.0f}%); projected "
                 f"{_money(s.projected, s.currency)} by {s.period_end} ({float(s.projected_burn) * 100:.0f}%)."]
        for t in s.thresholds:
            if t.state is Crossing.FORECAST:
                lines.append(f"{int(t.threshold * 100)}% ({_money(t.amount, s.currency)}) forecast to be crossed on {t.on}.")
        alerts.append(Alert(kind="budget", key=key, title=title, lines=lines))
    return alerts


def anomaly_alerts(anomalies: Sequence[Any]) -> list[Alert]:
    alerts = []
    for a in anomalies:
        unit = "hour" if a.granularity == "hour" else "day"
        lines = [f"{_money(a.observed, a.currency)} vs {_money(a.expected, a.currency)} expected since "
                 f"{a.start:%Y-%m-%d %H:%M} UTC (per-{unit} baseline; x{a.ratio:.1f}); excess so far "
                 f"{_money(a.excess, a.currency)}{' and still going' if a.ongoing else ''}."]
        lines += [f"Driver: {d.dimension} {d.value} (+{_money(d.excess, a.currency)})" for d in a.drivers]
        alerts.append(Alert(kind="anomaly", key=f"anomaly:{a.key}",
                            title=f"Spend anomaly in {a.dimension} {a.value}: +{_money(a.excess, a.currency)}",
                            lines=lines))
    return alerts


def gap_alerts(gaps: Sequence[Any], day: str) -> list[Alert]:
    return [Alert(kind="gap", key=f"gap:{g.label()}:{day}", title=f"Sweep could not read {g.label()}",
                  lines=[str(g.error).splitlines()[0][:200] if g.error else "unreadable",
                         "Findings from this source are missing until it is readable again."]) for g in gaps]


def failed_alerts(proposals: Sequence[Any]) -> list[Alert]:
    return [Alert(kind="failed_execution", key=f"failed:{p.id}",
                  title=f"Execution failed: {p.action} on {p.target.label()}",
                  lines=[f"Proposal {p.id} is FAILED; see spendpilot audit --proposal {p.id}."]) for p in proposals]


def collect_alerts(settings: Any, store: Any, report: Any | None = None, *, prices: Any = None,
                   now: datetime | None = None) -> list[Alert]:
    """Every alert the current state warrants (de-duplication happens when sending)."""
    from spendpilot.domain import ProposalStatus
    from spendpilot.outlook.anomalies import cloudwatch_sources, find_anomalies
    from spendpilot.outlook.budgets import evaluate_budgets

    cfg: NotificationSettings = settings.notifications
    events = set(cfg.events)
    alerts: list[Alert] = []
    if "proposal" in events and report is not None and report.new_proposals:
        new = [store.get_proposal(pid) for pid in report.new_proposals]
        alerts += proposal_alerts(new, cfg.min_proposal_saving)
    if "budget" in events and (settings.budgets or settings.aws_budgets.enabled):
        statuses, _ = evaluate_budgets(settings)
        alerts += budget_alerts(statuses, {b.name: b for b in settings.budgets})
    if "anomaly" in events:
        if prices is None:
            from spendpilot.savings.pricebook import PriceBook

            prices = PriceBook.bundled()
        alerts += anomaly_alerts(find_anomalies(settings.lake_dir, prices, settings.anomalies, now=None,
                                                sources=cloudwatch_sources(settings)).anomalies)
    if "gap" in events and report is not None:
        alerts += gap_alerts(report.gaps, (now or datetime.now(UTC)).strftime("%Y-%m-%d"))
    if "failed_execution" in events:
        alerts += failed_alerts(store.list_proposals([ProposalStatus.FAILED]))
    return alerts


# --- delivery ---------------------------------------------------------------------------------


class Delivery(BaseModel):
    key: str
    channel: str
    ok: bool
    attempts: int
    error: str | None = None


class Notifier:
    """Sends alerts to the configured channels, once per (alert key, channel)."""

    def __init__(self, cfg: NotificationSettings, db_path: Path, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.cfg, self.db_path, self._sleep = cfg, Path(db_path), sleep
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as con:
            con.execute("CREATE TABLE IF NOT EXISTS sent (key TEXT NOT NULL, channel TEXT NOT NULL, "
                        "sent_at TEXT NOT NULL, PRIMARY KEY (key, channel))")

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.db_path, timeout=30)

    def channels(self) -> list[str]:
        found = []
        if self._webhook_url():
            found.append("webhook")
        if self.cfg.smtp_host and self.cfg.email_to:
            found.append("email")
        return found

    def _webhook_url(self) -> str | None:
        if self.cfg.webhook_url_env:
            return os.environ.get(self.cfg.webhook_url_env) or None
        return self.cfg.webhook_url

    def already_sent(self, key: str, channel: str) -> bool:
        with self._db() as con:
            return con.execute("SELECT 1 FROM sent WHERE key = ? AND channel = ?", (key, channel)).fetchone() is not None

    def _record(self, key: str, channel: str) -> None:
        with self._db() as con:
            con.execute("INSERT OR IGNORE INTO sent VALUES (?, ?, ?)", (key, channel, datetime.now(UTC).isoformat()))

    def send(self, alerts: Sequence[Alert]) -> list[Delivery]:
        deliveries = []
        for alert in alerts:
            for channel in self.channels():
                if self.already_sent(alert.key, channel):
                    continue
                delivery = self._with_retries(alert, channel)
                if delivery.ok:
                    self._record(alert.key, channel)
                else:
                    log.warning("notification %s via %s failed after %d attempts: %s", alert.key, channel,
                                delivery.attempts, delivery.error)
                deliveries.append(delivery)
        return deliveries

    def _with_retries(self, alert: Alert, channel: str) -> Delivery:
        wait = self.cfg.backoff_seconds
        error = ""
        for attempt in range(1, self.cfg.retries + 2):
            try:
                (self._post if channel == "webhook" else self._mail)(alert)
                return Delivery(key=alert.key, channel=channel, ok=True, attempts=attempt)
            except _Permanent as exc:
                return Delivery(key=alert.key, channel=channel, ok=False, attempts=attempt, error=str(exc))
            except (OSError, smtplib.SMTPException, _Retryable) as exc:
                error = f"{type(exc).__name__}: {exc}"
            if attempt <= self.cfg.retries:
                self._sleep(wait)
                wait *= 2
        return Delivery(key=alert.key, channel=channel, ok=False, attempts=self.cfg.retries + 1, error=scrub(error))

    def _post(self, alert: Alert) -> None:
        url = self._webhook_url()
        assert url is not None
        request = urllib.request.Request(url, data=json.dumps(alert.slack_payload()).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.cfg.timeout_seconds) as reply:
                reply.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 429 or exc.code >= 500:
                raise _Retryable(f"webhook answered {exc.code}") from exc
            raise _Permanent(f"webhook answered {exc.code}") from exc

    def _mail(self, alert: Alert) -> None:
        message = EmailMessage()
        message["Subject"] = f"[spendpilot] {scrub(alert.title)}"
        message["From"] = self.cfg.email_from
        message["To"] = ", ".join(self.cfg.email_to)
        message.set_content(alert.text() + "\n")
        assert self.cfg.smtp_host is not None
        with smtplib.SMTP(self.cfg.smtp_host, self.cfg.smtp_port, timeout=self.cfg.timeout_seconds) as smtp:
            if self.cfg.smtp_starttls:
                smtp.starttls()
            if self.cfg.smtp_user:
                smtp.login(self.cfg.smtp_user, os.environ.get(self.cfg.smtp_password_env or "", ""))
            smtp.send_message(message)


class _Retryable(Exception):
    pass


class _Permanent(Exception):
    pass


def notify_after_sweep(settings: Any, store: Any, report: Any) -> list[Delivery]:
    """The sweep's hook: announce what this sweep found. Never raises: an alert that cannot be
    built or sent is logged, and the sweep's own result stands."""
    if not settings.notifications.configured:
        return []
    try:
        alerts = collect_alerts(settings, store, report)
        return Notifier(settings.notifications, settings.notifications_db_path).send(alerts)
    except Exception:
        log.exception("notifications after sweep %s failed", getattr(report, "sweep_id", "?"))
        return []
