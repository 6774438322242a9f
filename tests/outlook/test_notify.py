"""Delivery rules: retries with backoff, no retry on a refusing 4xx, once per (alert, channel),
and nothing secret or model-written in a message. Receivers listen on 127.0.0.1."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from tests.outlook.receivers import SmtpReceiver, WebhookReceiver

from spendpilot.domain import Gap
from spendpilot.outlook.notify import Alert, Notifier, gap_alerts, scrub
from spendpilot.outlook.settings import NotificationSettings

ALERT = Alert(kind="budget", key="budget:ml:2026-11:0.8:actual", title="Budget ml passed 80%", lines=["Spent $2,000"])


def _notifier(tmp_path: Path, sleeps: list[float], **cfg: object) -> Notifier:
    settings = NotificationSettings(**{"backoff_seconds": 0.5, "retries": 3, **cfg})  # type: ignore[arg-type]
    return Notifier(settings, tmp_path / "notifications.sqlite", sleep=sleeps.append)


def test_a_failing_webhook_is_retried_with_doubling_waits_then_delivered(tmp_path: Path) -> None:
    sleeps: list[float] = []
    with WebhookReceiver(fail_first=2, fail_status=503) as hook:
        [delivery] = _notifier(tmp_path, sleeps, webhook_url=hook.url).send([ALERT])
    assert delivery.ok and delivery.attempts == 3
    assert sleeps == [0.5, 1.0]
    assert hook.bodies == [ALERT.slack_payload()]


def test_a_webhook_refusing_with_404_is_not_retried_and_is_tried_again_next_sweep(tmp_path: Path) -> None:
    sleeps: list[float] = []
    with WebhookReceiver(fail_first=1, fail_status=404) as hook:
        notifier = _notifier(tmp_path, sleeps, webhook_url=hook.url)
        [first] = notifier.send([ALERT])
        assert not first.ok and first.attempts == 1 and sleeps == []
        [second] = notifier.send([ALERT])
        assert second.ok
        assert notifier.send([ALERT]) == []
    assert len(hook.bodies) == 1


def test_an_unreachable_channel_does_not_repeat_the_other(tmp_path: Path) -> None:
    """E-mail down, webhook up: the webhook is sent once; e-mail is retried at the next sweep."""
    sleeps: list[float] = []
    with WebhookReceiver() as hook:
        with SmtpReceiver() as smtp:
            down_port = smtp.port
        notifier = _notifier(tmp_path, sleeps, webhook_url=hook.url, smtp_host="127.0.0.1", smtp_port=down_port,
                             email_to=["ops@example.com"], retries=1)
        results = {d.channel: d.ok for d in notifier.send([ALERT])}
        assert results == {"webhook": True, "email": False}
        with SmtpReceiver() as smtp:
            notifier.cfg = notifier.cfg.model_copy(update={"smtp_port": smtp.port})
            again = notifier.send([ALERT])
            assert [(d.channel, d.ok) for d in again] == [("email", True)]
            assert len(smtp.messages) == 1
    assert len(hook.bodies) == 1


def test_webhook_url_from_the_environment(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    with WebhookReceiver() as hook:
        monkeypatch.setenv("TEST_HOOK_URL", hook.url)
        notifier = _notifier(tmp_path, [], webhook_url_env="TEST_HOOK_URL")
        assert notifier.channels() == ["webhook"]
        assert notifier.send([ALERT])[0].ok


def test_secrets_and_urls_are_masked() -> None:
    text = ("failed with key sk-proj-abcdefghijklmnop and AKIAABCDEFGHIJKLMNOP via "
            "https://hooks.slack.com/services/T000/B000/XXXXXXXX Bearer abc.def.ghi")
    cleaned = scrub(text)
    for secret in ("sk-proj-abcdefghijklmnop", "AKIAABCDEFGHIJKLMNOP", "hooks.slack.com", "abc.def.ghi"):
        assert secret not in cleaned
    assert cleaned.startswith("failed with key [redacted]")


def test_a_gap_alert_keeps_only_the_first_line_and_masks_secrets() -> None:
    gap = Gap(source="openai", error="401 from https://api.openai.com/v1/x for key sk-abcdefghijklmnopqrst\nreply body")
    [alert] = gap_alerts([gap], "2026-11-20")
    payload = json.dumps(alert.slack_payload()) + alert.text()
    assert "sk-abcdefghijklmnopqrst" not in payload and "api.openai.com" not in payload
    assert "reply body" not in payload
    assert alert.key == "gap:openai:2026-11-20"


def test_proposal_alerts_carry_no_model_written_text(swept_org) -> None:  # noqa: ANN001
    from spendpilot.outlook.notify import proposal_alerts
    from spendpilot.runtime import build_services

    services = build_services(swept_org.settings)
    proposals = services.list_proposals()
    secret = "SYSTEM PROMPT: you are a secret sk-live-abcdefghijklmnop"
    tainted = [p.model_copy(update={"narrative": secret, "note": secret}) for p in proposals]
    alerts = proposal_alerts(tainted, Decimal("850"))
    assert len(alerts) == 3, "three of the demo's proposals save over $850/month (routing saves $839.60, eval-g5-idle $734.38)"
    for alert in alerts:
        assert "SYSTEM PROMPT" not in alert.text() and "sk-live" not in json.dumps(alert.slack_payload())
