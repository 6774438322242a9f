"""Botocore failures as ``AdapterError``: one line naming the call, where it went and what to do.

``AwsAdapter`` routes every failure through ``adapter_error`` (see ``client.py``), so nothing
above the adapters meets a botocore exception or a traceback.
"""

from __future__ import annotations

from botocore.exceptions import (
    ClientError,
    ConnectionError,
    CredentialRetrievalError,
    EndpointConnectionError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    SSOError,
    TokenRetrievalError,
)

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


def adapter_error(exc: Exception, *, service: str, operation: str, region: str, endpoint: str) -> AdapterError:
    """The ``AdapterError`` to raise (``from exc``) for a failed call of ``service:operation``.

    ``service`` is the boto3 client name, which is also the IAM prefix for the services
    spendpilot uses (ec2, autoscaling, cloudwatch, ssm, sts).
    """
    call = f"{service}:{operation}"
    where = f"{region} ({endpoint})"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        detail = " ".join(str(error.get("Message", "")).split())  # some services put newlines in it
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        # A 403 whose body the protocol parser could not read (code "403") is still a denial.
        if code in _DENIED or "AccessDenied" in code or (code == "403" and status == 403):
            return AdapterError(f"{call} denied in {where} — {_POLICY_HINT} (AWS said: {code})")
        if code in _BAD_CREDENTIALS:
            return AdapterError(
                f"{call} in {where}: AWS rejected the credentials ({code}: {detail}) — "
                "check AWS_PROFILE / the access keys, or refresh an expired session"
            )
        if code in _THROTTLED:
            return AdapterError(f"{call} in {where} was throttled ({code}) after retries — try again shortly")
        return AdapterError(f"{call} in {where} failed: {code}: {detail}")
    if isinstance(exc, _NO_CREDENTIALS):
        return AdapterError(
            f"{call} in {where}: no usable AWS credentials ({exc}) — set AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run `aws configure` / `aws sso login`"
        )
    if isinstance(exc, NoRegionError):
        return AdapterError(f"{call}: no AWS region — set SPENDPILOT_AWS__REGION or [aws] region")
    if isinstance(exc, ConnectionError | HTTPClientError):  # unreachable, timeouts, TLS, proxy
        why = "" if isinstance(exc, EndpointConnectionError) else f": {exc}"  # it only repeats the URL
        return AdapterError(
            f"{call}: cannot reach {endpoint} (region {region}){why} — check the network, the "
            "region and SPENDPILOT_AWS__ENDPOINT_URL"
        )
    return AdapterError(f"{call} in {where} failed: {type(exc).__name__}: {exc}")
