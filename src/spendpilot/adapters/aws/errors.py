"""Botocore failures as ``AdapterError``: one line naming the call, where it went and what to do.

``AwsAdapter`` routes every failure through ``adapter_error`` (see ``client.py``), so nothing
above the adapters meets a botocore exception or a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectionError,
    CredentialRetrievalError,
    EndpointConnectionError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ReadTimeoutError,
    SSOError,
    TokenRetrievalError,
)
from botocore.parsers import ResponseParserError

from spendpilot.errors import AdapterError

_DENIED = {
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Client.UnauthorizedOperation",
    "UnauthorizedAccess", "AuthorizationError", "AuthorizationErrorException",
}  # fmt: skip
_BAD_CREDENTIALS = {
    "InvalidClientTokenId", "UnrecognizedClientException", "AuthFailure", "SignatureDoesNotMatch",
    "ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidAccessKeyId",
}  # fmt: skip
_THROTTLED = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
_POLICY_HINT = "run `spendpilot policy` for the least-privilege policy"
_NO_CREDENTIALS = (
    NoCredentialsError, PartialCredentialsError, CredentialRetrievalError, SSOError, TokenRetrievalError,
)  # fmt: skip
UNREADABLE_REPLY = (ResponseParserError, UnicodeDecodeError, KeyError, IndexError, TypeError)
"""What a reply botocore could not parse, or one without the fields an AWS answer has, raises.
(``ResponseParserError`` is not a ``BotoCoreError``: it escaped the translation before; a JSON
service's body that is not UTF-8 fails inside botocore as a bare ``UnicodeDecodeError``.)"""
BODY_SHOWN = 200
"""Characters of an unreadable body an error message quotes: enough to recognise a proxy's
login page or an HTML error, never the whole ~100 KB of it."""


@dataclass(frozen=True)
class RawReply:
    """The HTTP reply to the last call, as it arrived, for describing one that made no sense."""

    status: int | None
    content_type: str
    body_head: bytes
    body_length: int
    promised_length: int | None = None
    retry_after: str | None = None

    def describe(self) -> str:
        """``HTTP 200, text/html, 46 bytes: '<html>…'`` on one line, the body cut at BODY_SHOWN."""
        parts = [f"HTTP {self.status}" if self.status is not None else "no HTTP status"]
        parts.append(self.content_type or "no content type")
        if self.promised_length is not None and self.promised_length > self.body_length:
            parts.append(f"cut short: {self.body_length} of {self.promised_length} bytes")
        else:
            parts.append(f"{self.body_length} bytes")
        text = " ".join(self.body_head.decode("utf-8", "replace").split())
        text = "".join(c if c.isprintable() else "?" for c in text)
        shown = f"{text[:BODY_SHOWN]}…" if len(text) > BODY_SHOWN or self.body_length > len(self.body_head) else text
        body = f": {shown!r}" if shown else ": empty body"
        return ", ".join(parts) + body

    def wait_hint(self) -> str:
        return f"; the server asked to wait {self.retry_after} s" if self.retry_after else ""


def adapter_error(
    exc: Exception, *, service: str, operation: str, region: str, endpoint: str, reply: RawReply | None = None
) -> AdapterError:
    """The ``AdapterError`` to raise (``from exc``) for a failed call of ``service:operation``.

    ``service`` is the boto3 client name, which is also the IAM prefix for the services
    spendpilot uses (ec2, autoscaling, cloudwatch, ssm, sts). ``reply`` is the raw HTTP reply,
    when one arrived: an answer that is not an AWS document is described by it (status, type,
    the first ``BODY_SHOWN`` characters), never quoted whole.
    """
    call = f"{service}:{operation}"
    where = f"{region} ({endpoint})"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        detail = " ".join(str(error.get("Message", "")).split())  # some services put newlines in it
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        # No AWS error document (an HTML page, an empty body): botocore names the status or nothing.
        generic = code in ("Unknown", "", str(status))
        seen = f" ({reply.describe()})" if generic and reply is not None else ""
        wait = reply.wait_hint() if reply is not None else ""
        # A 403 whose body the protocol parser could not read is still a denial.
        if code in _DENIED or "AccessDenied" in code or (generic and status == 403):
            said = f"AWS said: {code}" if not generic else (
                f"no AWS error document; {reply.describe()}" if reply is not None else f"HTTP {status}, no AWS error document"
            )
            return AdapterError(f"{call} denied in {where} — {_POLICY_HINT} ({said})")
        if code in _BAD_CREDENTIALS:
            return AdapterError(
                f"{call} in {where}: AWS rejected the credentials ({code}: {detail}) — "
                "check AWS_PROFILE / the access keys, or refresh an expired session"
            )
        if code in _THROTTLED or (generic and status in (429, 503)):
            return AdapterError(f"{call} in {where} was throttled or unavailable ({code}){seen} after retries{wait} — try again shortly")
        if generic:
            return AdapterError(f"{call} in {where} failed with HTTP {status} and no AWS error in the reply{seen}")
        return AdapterError(f"{call} in {where} failed: {code}: {detail}")
    if isinstance(exc, UNREADABLE_REPLY):
        seen = reply.describe() if reply is not None else "no reply recorded"
        status = reply.status if reply is not None else None
        if status == 403:  # the status says it all, whatever the body
            return AdapterError(f"{call} denied in {where} — {_POLICY_HINT} (no AWS error document; {seen})")
        if status in (429, 503):
            return AdapterError(f"{call} in {where} was throttled or unavailable ({seen}){reply.wait_hint() if reply else ''} — try again shortly")
        what = "botocore could not parse it" if isinstance(exc, ResponseParserError | UnicodeDecodeError) else (
            f"it lacks what an AWS answer has ({type(exc).__name__}: {str(exc)[:60]})"
        )
        return AdapterError(
            f"{call} in {where}: unreadable reply ({seen}); {what} — not an AWS API answer: check "
            "the endpoint (SPENDPILOT_AWS__ENDPOINT_URL), any proxy in between, then try again"
        )
    if isinstance(exc, _NO_CREDENTIALS):
        return AdapterError(
            f"{call} in {where}: no usable AWS credentials ({exc}) — set AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run `aws configure` / `aws sso login`"
        )
    if isinstance(exc, NoRegionError):
        return AdapterError(f"{call}: no AWS region — set SPENDPILOT_AWS__REGION or [aws] region")
    if isinstance(exc, ConnectionClosedError):
        return AdapterError(
            f"{call}: {endpoint} (region {region}) closed the connection without answering — check "
            "the network, any proxy in between and SPENDPILOT_AWS__ENDPOINT_URL, then try again"
        )
    if isinstance(exc, ReadTimeoutError):
        return AdapterError(f"{call}: {endpoint} (region {region}) did not answer in time ({exc}) — try again shortly")
    if isinstance(exc, ConnectionError | HTTPClientError):  # unreachable, timeouts, TLS, proxy
        why = "" if isinstance(exc, EndpointConnectionError) else f": {exc}"  # it only repeats the URL
        return AdapterError(
            f"{call}: cannot reach {endpoint} (region {region}){why} — check the network, the "
            "region and SPENDPILOT_AWS__ENDPOINT_URL"
        )
    return AdapterError(f"{call} in {where} failed: {type(exc).__name__}: {exc}")
