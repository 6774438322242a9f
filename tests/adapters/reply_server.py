"""A tiny HTTP server that answers every AWS call with one scripted reply.

boto3 is pointed at it with ``endpoint_url``, exactly as at AWS or the emulator, so the real
botocore parsers, retries and our error translation all run; nothing is patched. A reply can
be any status, headers and body, or a misbehaving connection: reset, cut short, or too slow.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs

from botocore.config import Config

FAST_AWS = Config(retries={"total_max_attempts": 1}, connect_timeout=1, read_timeout=2)
"""No retries, short timeouts: a test meets each reply once and never waits for backoff."""

Behaviour = Literal["answer", "reset", "truncate", "slow", "close"]


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str | None = "text/xml;charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)
    behaviour: Behaviour = "answer"
    """answer: as given · reset: TCP RST instead of a reply · truncate: promise more bytes than
    sent, then close · slow: wait ``delay`` seconds first · close: close without a byte."""
    delay: float = 0.0


@dataclass
class ReplyServer:
    reply: Reply = field(default_factory=Reply)
    """What every operation gets, unless ``by_operation`` names it."""
    by_operation: dict[str, Reply] = field(default_factory=dict)
    """Replies for particular operations ("DescribeInstances", "GetParametersByPath", …)."""
    operations: list[str] = field(default_factory=list)
    """The operation of each request received, in order."""
    url: str = ""


def _operation(path: str, headers: Any, body: str) -> str:
    """The AWS operation a request calls, whichever protocol carries it (query, JSON, CBOR)."""
    if target := headers.get("X-Amz-Target"):
        return str(target).rsplit(".", 1)[-1]
    if "/operation/" in path:
        return path.rsplit("/", 1)[-1]
    action = parse_qs(body).get("Action")
    return action[0] if action else "?"


def _handler(state: ReplyServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: without it each reply waits ~40 ms for a delayed ACK

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            operation = _operation(self.path, self.headers, body)
            state.operations.append(operation)
            reply = state.by_operation.get(operation, state.reply)
            if reply.behaviour == "reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True
                return
            if reply.behaviour == "close":
                self.close_connection = True
                return
            if reply.behaviour == "slow":
                time.sleep(reply.delay)
            self.send_response(reply.status)
            if reply.content_type is not None:
                self.send_header("Content-Type", reply.content_type)
            for key, value in reply.headers.items():
                self.send_header(key, value)
            promised = len(reply.body) + (4096 if reply.behaviour == "truncate" else 0)
            self.send_header("Content-Length", str(promised))
            self.end_headers()
            try:
                self.wfile.write(reply.body)
                self.wfile.flush()
            except OSError:  # the client gave up (a timeout test): nothing to tell it
                pass
            if reply.behaviour == "truncate":
                self.close_connection = True

        do_POST = _answer
        do_GET = _answer

    return Handler


@contextmanager
def reply_server(reply: Reply | None = None, **by_operation: Reply) -> Iterator[ReplyServer]:
    state = ReplyServer(reply=reply or Reply(), by_operation=by_operation)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="reply-server", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
