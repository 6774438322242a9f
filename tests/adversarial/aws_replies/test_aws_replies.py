"""Standing adversarial suite: AWS answers that are not answers.

``reply_server`` plays the AWS endpoint (boto3 reaches it over HTTP through ``endpoint_url``)
and replies with garbage, truncated or empty bodies, the wrong content type, HTML error pages,
5xx, throttling with Retry-After, access denied, a reset or silent connection, or nothing in
time. Each case asserts the invariants: one ``AdapterError`` line (exit code 6) naming the call
and the endpoint, never the whole body, never a traceback; through the CLI, an approval is kept
for ``resume`` and no change request (``StopInstances``) is ever sent.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
from tests.adapters.reply_server import FAST_AWS, Reply, reply_server
from tests.config.helpers import invoke, one_error_line
from tests.conftest import run_cli

from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.config import Settings
from spendpilot.domain import (
    ActionPlan,
    Estimate,
    Evidence,
    Money,
    Proposal,
    ProposalStatus,
    ResourceRef,
    Risk,
)
from spendpilot.errors import AdapterError, ExitCode
from spendpilot.state import StateStore

XML = "text/xml;charset=UTF-8"
PAGE = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>" + b"<p>upstream</p>" * 6000 + b"</body></html>"


def _ec2_error(code: str, message: str) -> bytes:
    return (f"<?xml version='1.0' encoding='UTF-8'?><Response><Errors><Error><Code>{code}</Code>"
            f"<Message>{message}</Message></Error></Errors><RequestID>r-1</RequestID></Response>").encode()  # fmt: skip


@dataclass(frozen=True)
class BadReply:
    id: str
    reply: Reply
    says: str
    """A fragment the error line must contain (after "ec2:DescribeInstances")."""


BAD_REPLIES = [
    BadReply("garbage", Reply(body=b"\x00\x01\x02 \xff\xfe binary garbage"), "unreadable reply (HTTP 200, text/xml;charset=UTF-8, 21 bytes"),
    BadReply("truncated-xml", Reply(body=b"<DescribeInstancesResponse><reservationSet><item><instancesSet>"), "unreadable reply (HTTP 200"),
    BadReply("cut-short-connection", Reply(body=b"<DescribeInstancesResponse><reservationSet>", behaviour="truncate"), "cut short: 43 of 4139 bytes"),
    BadReply("empty-body", Reply(body=b""), "unreadable reply (HTTP 200, text/xml;charset=UTF-8, 0 bytes: empty body)"),
    BadReply("no-content-type", Reply(body=b"", content_type=None), "unreadable reply (HTTP 200, no content type, 0 bytes"),
    BadReply("json-instead-of-xml", Reply(body=b'{"Reservations": []}', content_type="application/json"), "HTTP 200, application/json"),
    BadReply("html-page-200", Reply(body=b"<html><body>Captive portal: sign in</body></html>", content_type="text/html"), "KeyError: 'Reservations'"),
    BadReply("huge-html-page-200", Reply(body=PAGE, content_type="text/html"), "502 Bad Gateway"),
    BadReply("xml-of-another-api", Reply(body=b"<ListBucketResult><Name>b</Name></ListBucketResult>"), "lacks what an AWS answer has"),
    BadReply("500-html", Reply(status=500, body=PAGE, content_type="text/html"), "failed with HTTP 500 and no AWS error in the reply (HTTP 500, text/html"),
    BadReply("500-empty", Reply(status=500, body=b""), "failed with HTTP 500 and no AWS error in the reply"),
    BadReply("500-garbage", Reply(status=500, body=b"Internal error; see logs"), "unreadable reply (HTTP 500"),
    BadReply("500-aws-error", Reply(status=500, body=_ec2_error("InternalError", "An internal error has occurred")), "failed: InternalError: An internal error has occurred"),
    BadReply("503-throttled-retry-after", Reply(status=503, body=_ec2_error("RequestLimitExceeded", "Request limit exceeded."), headers={"Retry-After": "30"}),
             "throttled or unavailable (RequestLimitExceeded) after retries; the server asked to wait 30 s"),
    BadReply("503-html-retry-after", Reply(status=503, body=b"<html>Service Unavailable</html>", content_type="text/html", headers={"Retry-After": "120"}),
             "throttled or unavailable (503) (HTTP 503, text/html"),
    BadReply("429-empty", Reply(status=429, body=b""), "throttled or unavailable (HTTP 429"),
    BadReply("429-garbage-retry-after", Reply(status=429, body=b"slow down", headers={"Retry-After": "5"}), "throttled or unavailable (HTTP 429, text/xml;charset=UTF-8, 9 bytes: 'slow down'); the server asked to wait 5 s"),
    BadReply("403-empty", Reply(status=403, body=b""), "— run `spendpilot policy` for the least-privilege policy (no AWS error document; HTTP 403"),
    BadReply("403-access-denied", Reply(status=403, body=_ec2_error("UnauthorizedOperation", "You are not authorized to perform this operation.")),
             "denied in us-east-1"),
    BadReply("403-html", Reply(status=403, body=b"<html>Forbidden by proxy</html>", content_type="text/html"), "denied in us-east-1"),
    BadReply("401-expired-token", Reply(status=400, body=_ec2_error("RequestExpired", "Request has expired.")), "AWS rejected the credentials (RequestExpired"),
    BadReply("400-garbage", Reply(status=400, body=b"Bad Request"), "unreadable reply (HTTP 400"),
    BadReply("302-redirect", Reply(status=302, body=b"", headers={"Location": "http://127.0.0.1:9/login"}), "unreadable reply (HTTP 302"),
    BadReply("connection-reset", Reply(behaviour="reset"), "closed the connection without answering"),
    BadReply("connection-closed-silently", Reply(behaviour="close"), "closed the connection without answering"),
    BadReply("slow-reply-timeout", Reply(behaviour="slow", delay=4, body=b"<x/>"), "did not answer in time"),
]  # fmt: skip


@pytest.fixture(scope="module")
def session() -> boto3.session.Session:
    """One boto3 session for the module: loading botocore's models once keeps each case fast."""
    return boto3.session.Session(region_name="us-east-1")


@pytest.mark.parametrize("bad", BAD_REPLIES, ids=lambda b: b.id)
def test_bad_reply_is_one_adapter_error_line(bad: BadReply, session: boto3.session.Session) -> None:
    with reply_server(bad.reply) as server:
        aws = AwsAdapter(endpoint_url=server.url, config=FAST_AWS, session=session)
        with pytest.raises(AdapterError) as raised:
            aws.ec2.list_instances()
    message = str(raised.value)
    assert message.startswith("ec2:DescribeInstances"), message
    assert server.url in message and bad.says in message, message
    assert "\n" not in message and len(message) <= 600, (len(message), message)
    assert message.count("<p>upstream</p>") <= 14  # at most ~200 characters of any body
    assert raised.value.exit_code is ExitCode.UNAVAILABLE
    assert server.operations == ["DescribeInstances"]  # no retries with FAST_AWS, nothing else sent


# --- through the CLI: approving against a bad endpoint keeps the approval, changes nothing --------

PID = "sp-0000cafe"


def _seed(home: Path) -> StateStore:
    settings = Settings(home=home)
    settings.ensure_home()
    store = StateStore(settings.state_db_url)
    ref = ResourceRef(provider="aws", kind="ec2_instance", id="i-0123456789abcdef0", region="us-east-1", name="gpu-a")
    plan = ActionPlan(
        action="stop_instance", target=ref, change={"state": "stopped"}, expected_pre_state={"state": "running"},
        rollback_description="start it again", description="Stop gpu-a.",
    )
    amount = Money.usd(Decimal("100"))
    store.upsert_proposal(Proposal(
        id=PID, rule="idle_gpu_instance", action="stop_instance", target=ref, summary="gpu-a idle",
        estimate=Estimate(low=amount, expected=amount, high=amount, formula="x", inputs=[]), plan=plan,
        risk=Risk.LOW, evidence=[Evidence(label="GPU p95", value="0.4%", source="CloudWatch")],
        fingerprint="fp", evidence_digest="d",
    ))  # fmt: skip
    return store


NOT_RETRIED = [b for b in BAD_REPLIES if b.id in ("garbage", "cut-short-connection", "html-page-200", "huge-html-page-200", "403-access-denied")]


@pytest.mark.parametrize("bad", NOT_RETRIED, ids=lambda b: b.id)
def test_approve_against_a_bad_reply_keeps_the_approval_and_sends_no_change(
    bad: BadReply, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In this process: botocore does not retry these replies, so the default retries cost nothing."""
    store = _seed(tmp_path / "home")
    with reply_server(bad.reply) as server:
        monkeypatch.setenv("SPENDPILOT_AWS__ENDPOINT_URL", server.url)
        result = invoke("approve", PID, "--by", "alice", "--home", str(tmp_path / "home"))
    assert result.exit_code == ExitCode.UNAVAILABLE, result.output
    line = one_error_line(result.stderr)
    assert line.startswith("error: ec2:DescribeInstances") and bad.says in line, line
    assert len(line) <= 620
    assert store.get_proposal(PID).status is ProposalStatus.APPROVED  # kept for `spendpilot resume`
    assert "StopInstances" not in server.operations
    assert store.count_audit("executed", PID) == 0


def test_a_retried_throttle_in_a_real_process(tmp_path: Path) -> None:
    """503 with Retry-After, retried by botocore: AWS_MAX_ATTEMPTS keeps the test fast."""
    store = _seed(tmp_path / "home")
    bad = next(b for b in BAD_REPLIES if b.id == "503-throttled-retry-after")
    with reply_server(bad.reply) as server:
        env = {"SPENDPILOT_HOME": str(tmp_path / "home"), "SPENDPILOT_AWS__ENDPOINT_URL": server.url,
               "AWS_MAX_ATTEMPTS": "2", "SPENDPILOT_CONFIG": os.devnull}  # fmt: skip
        approved = run_cli("approve", PID, "--by", "alice", env=env)
    assert approved.returncode == ExitCode.UNAVAILABLE, approved.stdout + approved.stderr
    assert bad.says in one_error_line(approved.stderr)
    assert server.operations == ["DescribeInstances", "DescribeInstances"]  # retried once, as asked
    assert store.get_proposal(PID).status is ProposalStatus.APPROVED


@pytest.mark.parametrize("bad", [b for b in BAD_REPLIES if b.id in ("garbage", "huge-html-page-200")], ids=lambda b: b.id)
def test_a_sweep_against_a_bad_reply_says_so_in_one_short_line(bad: BadReply, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with reply_server(bad.reply) as server:
        monkeypatch.setenv("SPENDPILOT_AWS__ENDPOINT_URL", server.url)
        result = invoke("sweep", "--home", str(tmp_path / "home"))
    out = result.output
    assert "Traceback" not in out
    # 0 today (the lake was read); the sweep's own rule for a source it could not read decides.
    assert result.exit_code in (ExitCode.OK, ExitCode.UNAVAILABLE), out
    said = " ".join(out.split())  # rich wraps long lines at spaces when piped
    assert f"ec2:DescribeInstances in us-east-1 ({server.url}):" in said and bad.says in said
    assert len(out) < 4000, out[:2000]
    assert server.operations == ["DescribeInstances"]  # no retries: these are not retried
