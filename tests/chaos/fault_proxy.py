"""An HTTP proxy in front of the AWS emulator that breaks chosen calls, and counts what landed.

Every chaos case points spendpilot at this proxy (``endpoint_url``), so it also serves as the
witness for "no change applied twice": it counts the mutating calls it forwarded to moto
(``landed``), whatever spendpilot believes happened.

A ``Rule`` picks calls by service and operation (``*`` for any) and, counting the calls it
matches from 1, breaks ``times`` of them starting at the ``nth``. Faults:

- ``500`` / ``503``: an AWS-shaped InternalError / ServiceUnavailable, nothing forwarded;
- ``throttle``: the service's throttling error (HTTP 400, or 429 for ``throttle429``);
- ``garbage``: HTTP 200 with random bytes; ``html``: HTTP 200 with a proxy's login page;
- ``truncated``: the real reply, cut in half (the Content-Length still promises all of it);
- ``timeout``: no answer until after the client's read timeout, then the connection closes;
- ``drop``: the connection closes without a reply;
- ``landed_500`` / ``landed_timeout`` / ``landed_garbage``: the call *is* forwarded (the change
  lands in moto), then the client gets a 500, no answer in time, or garbage.
"""

from __future__ import annotations

import http.client
import random
import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MUTATING = frozenset({"StopInstances", "StartInstances", "UpdateAutoScalingGroup", "PutParameter",
                      "CreateLaunchTemplateVersion", "ModifyInstanceAttribute"})
FAULTS = ("500", "503", "throttle", "throttle429", "garbage", "html", "truncated", "timeout", "drop",
          "landed_500", "landed_timeout", "landed_garbage")
_SERVICE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")


@dataclass
class Rule:
    service: str
    operation: str
    fault: str
    nth: int = 1
    times: int = 1
    seen: int = 0
    fired: int = 0

    def matches(self, service: str, operation: str) -> bool:
        return self.service in ("*", service) and self.operation in ("*", operation)


@dataclass
class Call:
    service: str
    operation: str
    fault: str | None
    landed: bool
    seconds: float = 0.0


@dataclass
class ProxyState:
    rules: list[Rule] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _operation(headers: object, body: bytes, path: str) -> tuple[str, str, str]:
    """(service, operation, protocol) of a botocore request."""
    get = headers.get  # type: ignore[attr-defined]
    found = _SERVICE.search(get("Authorization", "") or "")
    service = found.group(1) if found else "?"
    target = get("X-Amz-Target")
    if target:
        return service, target.rsplit(".", 1)[-1], "json"
    if "/operation/" in path:  # smithy rpc-v2-cbor
        return service, path.rsplit("/", 1)[-1], "cbor"
    action = parse_qs(body.decode("utf-8", "replace")).get("Action", ["?"])[0]
    return service, action, "query"


def _error(protocol: str, service: str, status: int, code: str, message: str) -> tuple[int, str, bytes]:
    if protocol == "json":
        return status, "application/x-amz-json-1.1", f'{{"__type":"{code}","message":"{message}"}}'.encode()
    if service == "ec2":
        body = (f"<?xml version=\"1.0\"?><Response><Errors><Error><Code>{code}</Code><Message>{message}"
                "</Message></Error></Errors><RequestID>chaos</RequestID></Response>")
    else:
        body = (f"<ErrorResponse><Error><Type>Receiver</Type><Code>{code}</Code><Message>{message}</Message>"
                "</Error><RequestId>chaos</RequestId></ErrorResponse>")
    return status, "text/xml", body.encode()


class FaultProxy:
    def __init__(self, upstream: str, stall_seconds: float) -> None:
        self.upstream = urlsplit(upstream)
        self.stall_seconds = stall_seconds
        self.state = ProxyState()
        self.rng = random.Random(6)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                proxy._handle(self)

            do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- the test's side ---------------------------------------------------------------------
    def set_rules(self, *rules: Rule) -> None:
        with self.state.lock:
            self.state.rules = list(rules)

    def clear(self) -> None:
        self.set_rules()

    def landed(self) -> Counter[str]:
        with self.state.lock:
            return Counter(c.operation for c in self.state.calls if c.landed and c.operation in MUTATING)

    def fired(self) -> int:
        with self.state.lock:
            return sum(r.fired for r in self.state.rules)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- the proxy ---------------------------------------------------------------------------
    def _pick(self, service: str, operation: str) -> str | None:
        with self.state.lock:
            for rule in self.state.rules:
                if rule.matches(service, operation):
                    rule.seen += 1
                    if rule.nth <= rule.seen < rule.nth + rule.times:
                        rule.fired += 1
                        return rule.fault
        return None

    def _forward(self, h: BaseHTTPRequestHandler, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
        try:
            headers = {k: v for k, v in h.headers.items() if k.lower() not in ("connection", "host")}
            conn.request(h.command, h.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            kept = [(k, v) for k, v in resp.getheaders()
                    if k.lower() not in ("connection", "transfer-encoding", "content-length", "server", "date")]
            return resp.status, kept, data
        finally:
            conn.close()

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        service, operation, protocol = _operation(h.headers, body, h.path)
        fault = None if h.path.startswith("/moto-api") else self._pick(service, operation)
        landed = False
        recorded = False
        started = time.monotonic()
        try:
            if fault is None or fault.startswith("landed_") or fault == "truncated":
                status, headers, data = self._forward(h, body)
                landed = 200 <= status < 300
                # Counted the moment the emulator has it: a stalled reply must not hide a change
                # that already landed from a test that reads the count while this thread sleeps.
                with self.state.lock:
                    self.state.calls.append(Call(service, operation, fault, landed, time.monotonic() - started))
                recorded = True
            if fault is None:
                self._reply(h, status, headers, data)
            elif fault in ("500", "landed_500"):
                self._reply(h, *self._err(protocol, service, 500, "InternalError", "We encountered an internal error."))
            elif fault == "503":
                self._reply(h, *self._err(protocol, service, 503, "ServiceUnavailable", "Service is unavailable."))
            elif fault in ("throttle", "throttle429"):
                code = "RequestLimitExceeded" if service == "ec2" else (
                    "ThrottlingException" if protocol == "json" else "Throttling")
                self._reply(h, *self._err(protocol, service, 429 if fault == "throttle429" else 400, code, "Rate exceeded"))
            elif fault in ("garbage", "landed_garbage"):
                self._reply(h, 200, [("Content-Type", "text/xml")], bytes(self.rng.randrange(256) for _ in range(300)))
            elif fault == "html":
                self._reply(h, 200, [("Content-Type", "text/html")], b"<html><body><h1>Proxy login</h1></body></html>")
            elif fault == "truncated":
                cut = data[: len(data) // 2]
                h.send_response(status)
                for k, v in headers:
                    h.send_header(k, v)
                h.send_header("Content-Length", str(len(data)))
                h.end_headers()
                h.wfile.write(cut)
                h.wfile.flush()
                h.connection.shutdown(socket.SHUT_RDWR)
            elif fault in ("timeout", "landed_timeout"):
                time.sleep(self.stall_seconds)
                h.close_connection = True
            elif fault == "drop":
                h.close_connection = True
                h.connection.shutdown(socket.SHUT_RDWR)
            else:
                raise ValueError(f"unknown fault {fault!r}")
        except OSError:
            pass  # the client went away (it timed out first): nothing to answer
        finally:
            if not recorded:
                with self.state.lock:
                    self.state.calls.append(Call(service, operation, fault, landed, time.monotonic() - started))

    @staticmethod
    def _err(protocol: str, service: str, status: int, code: str, message: str
             ) -> tuple[int, list[tuple[str, str]], bytes]:
        status, ctype, body = _error(protocol, service, status, code, message)
        return status, [("Content-Type", ctype)], body

    @staticmethod
    def _reply(h: BaseHTTPRequestHandler, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        h.send_response(status)
        for k, v in headers:
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)
        h.wfile.flush()
