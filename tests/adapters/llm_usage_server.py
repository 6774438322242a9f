"""A local stand-in for the OpenAI and Anthropic organization usage/cost APIs, on 127.0.0.1.

It speaks the real paths, checks the key header the way the provider does (a wrong or missing
key is a 401 with the provider's error envelope) and the required query parameters, and serves
the pages a test gives it with the documented pagination: ``has_more`` and an opaque
``next_page`` token that the next request must send back as ``page``. Replies queued in
``first`` (a 429 with ``retry-after``, a 500, unreadable bytes) are served before the pages.
Every request is recorded, so a test can assert what the adapter asked for.
"""

from __future__ import annotations

import base64
import copy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

DATA = Path(__file__).resolve().parents[1] / "data"
OPENAI_DATA = DATA / "openai-usage"
ANTHROPIC_DATA = DATA / "anthropic-usage"


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass
class Canned:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    """Header names lower-cased."""


@dataclass(frozen=True)
class Dialect:
    """How one provider authenticates, requires parameters and answers errors."""

    key_header: str
    key_prefix: str
    required: tuple[str, ...]
    extra_headers: dict[str, str]
    unauthorized: bytes
    bad_request: bytes


OPENAI = Dialect(
    key_header="authorization", key_prefix="Bearer ", required=("start_time",), extra_headers={},
    unauthorized=(OPENAI_DATA / "error_invalid_key.json").read_bytes(),
    bad_request=json.dumps({"error": {"message": "start_time is required", "type": "invalid_request_error",
                                      "param": "start_time", "code": None}}).encode(),
)
ANTHROPIC = Dialect(
    key_header="x-api-key", key_prefix="", required=("starting_at",),
    extra_headers={"anthropic-version": "2023-06-01"},
    unauthorized=(ANTHROPIC_DATA / "error_authentication.json").read_bytes(),
    bad_request=json.dumps({"type": "error", "error": {"type": "invalid_request_error",
                                                       "message": "starting_at: Field required"}}).encode(),
)


def page_token(index: int) -> str:
    return "page_" + base64.b64encode(f"cursor-{index}".encode()).decode()


@dataclass
class UsageApiServer:
    dialect: Dialect
    key: str
    pages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Path -> page bodies in order; ``has_more`` and ``next_page`` are filled in when served."""
    first: dict[str, list[Canned]] = field(default_factory=dict)
    """Path -> replies served (and used up) before its pages."""
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def answer(self, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> Canned:
        self.seen.append(Seen(path, query, headers))
        d = self.dialect
        if headers.get(d.key_header) != d.key_prefix + self.key:
            return Canned(401, d.unauthorized)
        if any(headers.get(k) != v for k, v in d.extra_headers.items()):
            return Canned(400, d.bad_request)
        if path in self.first and self.first[path]:
            return self.first[path].pop(0)
        if path not in self.pages:
            return Canned(404, b'{"error": {"message": "not found", "type": "not_found_error"}}')
        if any(name not in query for name in d.required):
            return Canned(400, d.bad_request)
        tokens = [page_token(i) for i in range(len(self.pages[path]))]
        token = query.get("page", [None])[0]
        if token is not None and token not in tokens:
            return Canned(400, d.bad_request)
        index = tokens.index(token) if token else 0
        body = copy.deepcopy(self.pages[path][index])
        more = index + 1 < len(tokens)
        body["has_more"], body["next_page"] = more, (tokens[index + 1] if more else None)
        return Canned(200, json.dumps(body).encode())


def _handler(state: UsageApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as two writes: with Nagle on, each reply waits ~40 ms for a delayed ACK

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
            pass

        def do_GET(self) -> None:  # noqa: N802 - the http.server hook
            parts = urlsplit(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = state.answer(parts.path, parse_qs(parts.query), headers)
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

    return Handler


@contextmanager
def usage_api_server(dialect: Dialect, key: str, *, prefix: str = "") -> Iterator[UsageApiServer]:
    """A server for one provider; ``prefix`` is the path its base URL carries (OpenAI's ``/v1``)."""
    state = UsageApiServer(dialect=dialect, key=key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}{prefix}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              name="usage-api-server", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
