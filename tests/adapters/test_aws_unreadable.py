"""Issue 6, item 9: an AWS reply botocore cannot read is an AdapterError, never "nothing found".

Before, a garbage reply escaped as botocore's ``ResponseParserError`` (not a ``BotoCoreError``),
which the sweep turned into "0 findings" with the whole ~100 KB body as a warning line; an HTML
page with status 200 parsed to nothing and failed inside the adapter as ``KeyError``.
boto3 talks HTTP to ``reply_server`` exactly as it would to AWS.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.parsers import ResponseParserError
from tests.adapters.reply_server import FAST_AWS, Reply, reply_server
from tests.conftest import run_cli

from spendpilot.adapters.aws import client as aws_client
from spendpilot.adapters.aws.client import AwsAdapter
from spendpilot.errors import AdapterError, ExitCode

BIG_XML = b"<DescribeInstancesResponse><reservationSet>" + b"<item><x>" * 12_000  # ~100 KB, cut off
SSM_JSON = "application/x-amz-json-1.1"
NO_INSTANCES = Reply(body=b'<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
                          b"<requestId>r</requestId><reservationSet/></DescribeInstancesResponse>")  # fmt: skip
NO_GROUPS = Reply(body=b'<DescribeAutoScalingGroupsResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">'
                       b"<DescribeAutoScalingGroupsResult><AutoScalingGroups/></DescribeAutoScalingGroupsResult>"
                       b"<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeAutoScalingGroupsResponse>")  # fmt: skip


def test_an_unparseable_reply_is_one_line_naming_call_endpoint_status_and_the_start_of_the_body() -> None:
    with reply_server(Reply(body=BIG_XML)) as server:
        aws = AwsAdapter(region="eu-west-1", endpoint_url=server.url, config=FAST_AWS)
        with pytest.raises(AdapterError) as raised:
            aws.ec2.list_instances()
    message = str(raised.value)
    assert message.startswith(f"ec2:DescribeInstances in eu-west-1 ({server.url}): unreadable reply (HTTP 200")
    assert "\n" not in message and len(message) < 600, len(message)
    assert "'<DescribeInstancesResponse><reservationSet><item><x>" in message
    assert f"{len(BIG_XML)} bytes" in message
    assert isinstance(raised.value.__cause__, ResponseParserError)
    assert raised.value.exit_code is ExitCode.UNAVAILABLE


def test_an_html_page_with_status_200_is_not_an_empty_inventory() -> None:
    page = b"<html><head><title>Proxy login</title></head><body>Sign in</body></html>"
    with reply_server(Reply(body=page, content_type="text/html")) as server:
        aws = AwsAdapter(endpoint_url=server.url, config=FAST_AWS)
        with pytest.raises(AdapterError, match=r"^ec2:DescribeInstances in us-east-1 .*HTTP 200, text/html.*Proxy login"):
            aws.ec2.list_instances()


@pytest.mark.parametrize(
    ("broken", "call", "read"),
    [
        ("DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingGroups", lambda aws: aws.autoscaling.list_groups()),
        ("GetParametersByPath", "ssm:GetParametersByPath", lambda aws: aws.llm_routing.list_routes()),
    ],
)
def test_every_service_translates_unreadable_replies(broken: str, call: str, read: Callable[[AwsAdapter], object]) -> None:
    garbage = Reply(body=b"<html>maintenance</html>", content_type="text/html")
    good = {"DescribeInstances": NO_INSTANCES, "DescribeAutoScalingGroups": NO_GROUPS,
            "GetParametersByPath": Reply(body=b'{"Parameters": []}', content_type=SSM_JSON)}  # fmt: skip
    with reply_server(**{**good, broken: garbage}) as server:
        aws = AwsAdapter(endpoint_url=server.url, config=FAST_AWS)
        assert aws.ec2.list_instances() == []  # the good replies are read as such
        with pytest.raises(AdapterError, match=rf"^{call} in us-east-1 .*unreadable reply \(HTTP 200, text/html"):
            read(aws)


def test_the_adapter_takes_a_botocore_config_and_defaults_to_the_module_one() -> None:
    assert AwsAdapter().client("ec2").meta.config.retries == {"total_max_attempts": 6, "mode": "standard"}
    assert AwsAdapter(config=FAST_AWS).client("ec2").meta.config.retries["total_max_attempts"] == 1
    assert AwsAdapter(config=Config(read_timeout=7)).client("ec2").meta.config.read_timeout == 7


def test_aws_max_attempts_and_retry_mode_from_the_environment_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    assert aws_client._default_retries() == {"max_attempts": 5, "mode": "standard"}
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
    assert aws_client._default_retries() == {}  # botocore then reads both variables itself
    client = AwsAdapter(config=Config(retries=aws_client._default_retries())).client("ec2")
    assert client.meta.config.retries == {"total_max_attempts": 1, "mode": "adaptive"}


def test_a_sweep_against_an_unreadable_endpoint_says_so_in_one_short_line(tmp_path: Path) -> None:
    with reply_server(Reply(body=BIG_XML)) as server:
        swept = run_cli(
            "sweep", env={"SPENDPILOT_HOME": str(tmp_path / "home"), "SPENDPILOT_AWS__ENDPOINT_URL": server.url,
                          "AWS_MAX_ATTEMPTS": "1"},
        )  # fmt: skip
    out = swept.stdout + swept.stderr
    assert "Traceback" not in swept.stderr
    # 0 today (the lake was read); the sweep's own rule for a source it could not read decides.
    assert swept.returncode in (ExitCode.OK, ExitCode.UNAVAILABLE), out
    said = " ".join(out.split())  # rich wraps long lines at spaces when piped
    assert f"ec2:DescribeInstances in us-east-1 ({server.url}): unreadable reply (HTTP 200" in said
    assert len(out) < 4000 and max(len(line) for line in out.splitlines()) < 800, out[:2000]
