"""GET paginated JSON from a provider's admin API, with the manners a shared org key needs.

The OpenAI and Anthropic usage/cost reports share a protocol: bearer-like admin key in a
header, ``has_more`` + ``next_page`` pagination, 429 with ``retry-after``, transient 5xx (and
Anthropic's 529). This module owns that protocol once, on the standard library (no HTTP client
dependency is added for two GET endpoints).

**The key.** It is read from the environment at the moment of the request, passed only into
the request's headers, and never stored on an object, logged or put into an error: a 401/403
message names the environment variable, not the key, and never quotes the provider's reply
(OpenAI echoes part of a rejected key back). Other error texts from the provider are quoted with
any occurrence of the key masked.

**Waiting.** ``sleep`` is injected so tests do not wait; a ``retry-after`` longer than
``max_wait`` is not slept through (a sweep should not hang for an hour) but reported.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, Field, ValidationError

from spendpilot.adapters.base import SourceSettings
from spendpilot.errors import AdapterError

log = logging.getLogger(__name__)

QueryValue = str | int | Sequence[str]


class PageShape(Protocol):
    has_more: bool
    next_page: str | None


P = TypeVar("P", bound=BaseModel)


@dataclass(frozen=True)
class AdminApi:
    provider: str
    """Shown in errors ("OpenAI", "Anthropic")."""
    base_url: str
    key_env: str
    """The environment variable holding the admin key."""
    auth_headers: Callable[[str], dict[str, str]]
    """key -> the headers that carry it (and any fixed headers such as an API version)."""
    array_style: Literal["repeat", "brackets"] = "repeat"
    """``group_by=a&group_by=b`` (OpenAPI form arrays, OpenAI) or ``group_by[]=a`` (Anthropic)."""
    timeout: float = 30.0
    max_retries: int = 4
    """Retries after a 429, a 5xx/529 or a connection failure, per request."""
    max_wait: float = 60.0
    """Longest single wait honoured; a longer ``retry-after`` ends the read with an error."""
    max_pages: int = 500
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def pages(self, path: str, params: Mapping[str, QueryValue], shape: type[P]) -> Iterator[P]:
        """Every page of ``path``, validated as ``shape``, following ``next_page``."""
        key = os.environ.get(self.key_env, "").strip()
        if not key:
            raise AdapterError(
                f"{self.provider} usage not read: set {self.key_env} to an organization admin key"
            )
        page: str | None = None
        seen: set[str] = set()
        for number in range(1, self.max_pages + 1):
            query = dict(params) | ({"page": page} if page else {})
            raw = self._get(path, query, key)
            try:
                parsed = shape.model_validate(raw)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "the page"
                raise AdapterError(
                    f"{self.provider} {path} page {number} is not the documented shape: "
                    f"{where}: {first['msg']}"
                ) from None
            yield parsed
            more: PageShape = parsed  # type: ignore[assignment]
            if not more.has_more:
                return
            if not more.next_page or more.next_page in seen:
                raise AdapterError(
                    f"{self.provider} {path} page {number} says has_more but gives "
                    + ("no next_page" if not more.next_page else "a next_page already read")
                )
            page = more.next_page
            seen.add(page)
        raise AdapterError(f"{self.provider} {path}: more than {self.max_pages} pages; narrow the lookback")

    def _url(self, path: str, query: Mapping[str, QueryValue]) -> str:
        pairs: list[tuple[str, str]] = []
        for name, value in query.items():
            if isinstance(value, str | int):
                pairs.append((name, str(value)))
            else:
                pairs.extend((f"{name}[]" if self.array_style == "brackets" else name, v) for v in value)
        return f"{self.base_url.rstrip('/')}/{path.lstrip('/')}?{urllib.parse.urlencode(pairs)}"

    def _get(self, path: str, query: Mapping[str, QueryValue], key: str) -> Any:
        url = self._url(path, query)
        headers = {"Accept": "application/json", "User-Agent": "spendpilot"} | self.auth_headers(key)
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                with urllib.request.urlopen(
                    urllib.request.Request(url, headers=headers), timeout=self.timeout
                ) as reply:
                    body = reply.read()
            except urllib.error.HTTPError as exc:
                status, reply_body = exc.code, exc.read()
                retry_after = exc.headers.get("retry-after")
                exc.close()
                if status in (401, 403):
                    raise AdapterError(
                        f"{self.provider} refused the admin key in {self.key_env} (HTTP {status}) "
                        f"for {path}: set {self.key_env} to an organization admin key with usage access"
                    ) from None
                if status == 429 or status >= 500:
                    wait = self._wait(status, retry_after, attempt, path)
                    if not last:
                        log.info("%s %s answered %s; retrying in %.1fs", self.provider, path, status, wait)
                        self.sleep(wait)
                        continue
                    raise AdapterError(
                        f"{self.provider} {path} still answered HTTP {status} after "
                        f"{self.max_retries} retries{self._said(reply_body, key)}"
                    ) from None
                raise AdapterError(
                    f"{self.provider} {path} answered HTTP {status}{self._said(reply_body, key)}"
                ) from None
            except (urllib.error.URLError, http.client.HTTPException, TimeoutError, ConnectionError) as exc:
                reason = getattr(exc, "reason", exc)
                if not last:
                    self.sleep(min(2.0**attempt, self.max_wait))
                    continue
                raise AdapterError(
                    f"{self.provider} could not be reached at {self.base_url} ({reason}); "
                    "check base_url and the network"
                ) from None
            try:
                return json.loads(body, parse_float=Decimal)
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise AdapterError(f"{self.provider} {path} answered something that is not JSON") from None
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _wait(self, status: int, retry_after: str | None, attempt: int, path: str) -> float:
        """Seconds to wait before the next attempt: the server's ``retry-after`` when it gives one
        in seconds, else exponential backoff (1, 2, 4, … s)."""
        wait = 2.0**attempt
        if retry_after:
            with contextlib.suppress(ValueError):  # an HTTP-date: backoff rather than parse clocks
                wait = max(0.0, float(retry_after))
        if wait > self.max_wait:
            raise AdapterError(
                f"{self.provider} {path} answered HTTP {status} asking to retry after {wait:.0f}s "
                f"(more than max_retry_wait_seconds = {self.max_wait:.0f}); try again later"
            )
        return wait

    def _said(self, body: bytes, key: str) -> str:
        """``: <the provider's error message>``, with the key masked, or nothing."""
        try:
            doc = json.loads(body)
            message = doc["error"]["message"] if isinstance(doc.get("error"), dict) else None
        except (ValueError, TypeError, KeyError, AttributeError):
            message = None
        if not isinstance(message, str) or not message.strip():
            return ""
        text = " ".join(message.replace(key, "***").split())
        return f": {text[:200]}"


class AdminApiSettings(SourceSettings):
    """What every provider usage source shares: where its admin key is, how far back, retries."""

    admin_key_env: str = Field(description="Environment variable holding the provider's admin key.")
    lookback_days: int = Field(30, ge=1, le=180, description="Days of daily buckets read, ending today (UTC).")
    feature_by_api_key: dict[str, str] = Field(default_factory=dict, description="API key id -> feature name; wins over the project's / workspace's. Adds api_key_id to the grouping.")
    costs: bool = Field(True, description="Also read the provider's cost report and put its amounts on the usage rows.")
    timeout_seconds: float = Field(30.0, gt=0, description="Per request.")
    max_retries: int = Field(4, ge=0, le=10, description="Retries after a 429, a 5xx (Anthropic: 529) or a connection failure.")
    max_retry_wait_seconds: float = Field(60.0, ge=0, description="Longest retry-after honoured; longer ends the read.")
