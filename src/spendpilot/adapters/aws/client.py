"""One object per account+region holding the boto3 clients, so every call shares config and retries."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config

from spendpilot.adapters.aws.autoscaling import AutoScalingApi
from spendpilot.adapters.aws.cloudwatch import CloudWatchApi
from spendpilot.adapters.aws.ec2 import Ec2Api
from spendpilot.adapters.aws.ssm_routing import LlmRoutingApi

_BOTO_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=30)


class AwsAdapter:
    """Read and write access to the AWS services spendpilot uses.

    ``endpoint_url=None`` leaves endpoint resolution to boto3, which honours ``AWS_ENDPOINT_URL``;
    tests and the demo point it at moto's server instead of patching anything.
    """

    def __init__(
        self,
        region: str = "us-east-1",
        endpoint_url: str | None = None,
        routing_prefix: str = "/spendpilot/features",
        session: boto3.session.Session | None = None,
    ) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self.routing_prefix = routing_prefix
        self._session = session or boto3.session.Session(region_name=region)

    def client(self, service: str) -> Any:
        kwargs: dict[str, Any] = {"region_name": self.region, "config": _BOTO_CONFIG}
        if self.endpoint_url:
            kwargs["endpoint_url"] = self.endpoint_url
        return self._session.client(service, **kwargs)

    @cached_property
    def ec2(self) -> Ec2Api:
        return Ec2Api(self.client("ec2"), self.region)

    @cached_property
    def autoscaling(self) -> AutoScalingApi:
        return AutoScalingApi(self.client("autoscaling"), self.ec2, self.region)

    @cached_property
    def cloudwatch(self) -> CloudWatchApi:
        return CloudWatchApi(self.client("cloudwatch"))

    @cached_property
    def llm_routing(self) -> LlmRoutingApi:
        return LlmRoutingApi(self.client("ssm"), self.routing_prefix, self.region)

    def account_id(self) -> str | None:
        try:
            return self.client("sts").get_caller_identity()["Account"]
        except Exception:  # an emulator or a restricted role may not answer; the id is cosmetic
            return None
