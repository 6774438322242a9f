"""What the SageMaker readers (endpoints, training jobs, notebook instances) share.

All three describe one resource by name, treat "no such resource" as None rather than an error
(a resource deleted between the list and the describe is not a failed sweep), read tags with the
same paginated ``ListTags``, and take the account from the resource's ARN.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

ABSENT = "Absent"
"""The status reported for a resource that does not exist (deleted, or never was)."""


def iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


def not_found(exc: ClientError) -> bool:
    """AWS and moto word it differently ("RecordNotFound", "Requested resource not found.",
    "Could not find endpoint ..."); all are a ValidationException or ResourceNotFound."""
    error = exc.response.get("Error", {})
    message = str(error.get("Message", "")).lower().replace(" ", "")
    return error.get("Code") in ("ValidationException", "ResourceNotFound") and any(
        word in message for word in ("notfound", "notfind", "doesnotexist")
    )


def describe_or_none(call: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any] | None:
    """``call(**kwargs)``, or None when SageMaker says the named resource does not exist."""
    try:
        return call(**kwargs)
    except ClientError as exc:
        if not_found(exc):
            return None
        raise


def account_of(arn: str) -> str | None:
    """``arn:aws:sagemaker:us-east-1:111122223333:endpoint/x`` → ``111122223333``."""
    parts = arn.split(":")
    return (parts[4] or None) if len(parts) > 4 else None


def list_tags(client: Any, arn: str) -> dict[str, str]:
    """Every tag of the resource, following ``NextToken``."""
    tags: dict[str, str] = {}
    kwargs: dict[str, Any] = {"ResourceArn": arn}
    while True:
        page = client.list_tags(**kwargs)
        tags.update({t["Key"]: t["Value"] for t in page.get("Tags", [])})
        if not page.get("NextToken"):
            return tags
        kwargs["NextToken"] = page["NextToken"]
