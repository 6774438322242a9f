"""One object per account+region holding the boto3 clients, so every call shares config and retries.

It is also the one place botocore failures become ``AdapterError`` (messages in ``errors.py``),
in two ways because botocore reports them in two ways:

- transport and credential failures (unreachable endpoint, timeouts, no credentials) surface
  inside botocore after its retries, where the ``after-call-error`` event names the operation;
  a handler on every client raises ``AdapterError`` there;
- an error *response* (AccessDenied, ValidationError, …) is a ``ClientError`` that some API
  methods expect and handle (an unknown instance id means "gone"). So it is translated only when
  it escapes an API object's method: ``ec2``, ``autoscaling``, ``cloudwatch`` and
  ``llm_routing`` are wrapped in ``_Translated``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from functools import cached_property
from typing import Any, TypeVar, cast

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from spendpilot.adapters.aws.autoscaling import AutoScalingApi
from spendpilot.adapters.aws.cloudwatch import CloudWatchApi
from spendpilot.adapters.aws.ec2 import Ec2Api
from spendpilot.adapters.aws.errors import adapter_error
from spendpilot.adapters.aws.ssm_routing import LlmRoutingApi
from spendpilot.errors import AdapterError

_BOTO_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=30)
_Api = TypeVar("_Api")


def _translate(client: Any, exc: Exception, operation: str) -> AdapterError:
    meta = client.meta
    return adapter_error(
        exc, service=meta.service_model.service_name, operation=operation,
        region=meta.region_name, endpoint=meta.endpoint_url,
    )


def _raise_on_call_error(client: Any, exception: Exception, event_name: str, **_: Any) -> None:
    """botocore ``after-call-error`` handler: the call failed without an AWS response."""
    if isinstance(exception, BotoCoreError):
        raise _translate(client, exception, operation=event_name.rsplit(".", 1)[-1]) from exception


class _Translated:
    """An API object whose methods raise ``AdapterError`` for any botocore failure escaping them."""

    def __init__(self, api: object, client: Any) -> None:
        self._api = api
        self._client = client

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._api, name)
        if name.startswith("_") or not callable(attr):
            return attr
        return self._guard(attr, name)

    def _guard(self, method: Callable[..., Any], name: str) -> Callable[..., Any]:
        @functools.wraps(method)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except (ClientError, BotoCoreError) as exc:
                operation = getattr(exc, "operation_name", None) or name
                raise _translate(self._client, exc, operation) from exc

        return guarded


def _translated(api: _Api, client: Any) -> _Api:
    return cast(_Api, _Translated(api, client))


READ_PERMISSIONS: tuple[str, ...] = (
    "ec2:DescribeInstances",
    "ec2:DescribeSpotPriceHistory",
    "autoscaling:DescribeAutoScalingGroups",
    "cloudwatch:GetMetricData",
    "cloudwatch:ListMetrics",
    "ssm:GetParametersByPath",
)
"""What a sweep calls: read-only, the whole of what spendpilot needs when no action is approved."""


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
        config: Config | None = None,
    ) -> None:
        self.region = region
        self._config = config or _BOTO_CONFIG
        self.endpoint_url = endpoint_url
        self.routing_prefix = routing_prefix
        self._session = session or boto3.session.Session(region_name=region)

    def client(self, service: str) -> Any:
        kwargs: dict[str, Any] = {"region_name": self.region, "config": self._config}
        if self.endpoint_url:
            kwargs["endpoint_url"] = self.endpoint_url
        client = self._session.client(service, **kwargs)
        client.meta.events.register("after-call-error", functools.partial(_raise_on_call_error, client))
        return client

    @cached_property
    def ec2(self) -> Ec2Api:
        client = self.client("ec2")
        return _translated(Ec2Api(client, self.region), client)

    @cached_property
    def autoscaling(self) -> AutoScalingApi:
        client = self.client("autoscaling")
        return _translated(AutoScalingApi(client, self.ec2, self.region), client)

    @cached_property
    def cloudwatch(self) -> CloudWatchApi:
        client = self.client("cloudwatch")
        return _translated(CloudWatchApi(client), client)

    @cached_property
    def llm_routing(self) -> LlmRoutingApi:
        client = self.client("ssm")
        return _translated(LlmRoutingApi(client, self.routing_prefix, self.region), client)

    def account_id(self) -> str | None:
        try:
            return self.client("sts").get_caller_identity()["Account"]
        except Exception:  # an emulator or a restricted role may not answer; the id is cosmetic
            return None
