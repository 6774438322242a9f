"""An HTTP proxy in front of the AWS emulator that refuses whole regions, as AWS does for an
opt-in region the account has not enabled (every call: ``AuthFailure`` / ``InvalidClientTokenId``,
HTTP 401/403) or a region an SCP denies.

The region is read from the request's SigV4 credential scope (``Credential=KEY/DATE/REGION/
SERVICE/aws4_request``), as AWS itself scopes a signature, so boto3 is used unmodified: point a
source's ``endpoint_url`` at ``gate.url`` and its calls in a refused region fail there, the rest
reach the emulator. ``seen`` records (region, service) of every request for the test to assert on.
"""

from __future__ import annotations

import http.client
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/([^/]+)/([^/]+)/")


@dataclass
class RegionGate:
    upstream: str
    refused: set[str]
    seen: list[tuple[str, str]] = field(default_factory=list)
    operations: list[str] = field(default_factory=list)
    """The Query-protocol ``Action`` of each request (EC2, Auto Scaling, STS), in arrival order."""
    url: str = ""
    after: Callable[[str, bytes], None] | None = None
    """Called with (operation, reply body) after a forwarded call's reply arrived, before the
    client gets it: a test's way to make something happen "at the same moment" in the emulator."""


def _refusal(service: str, json_protocol: bool) -> tuple[int, str, bytes]:
    message = "AWS was not able to validate the provided access credentials"
    if json_protocol:
        return 400, "application/x-amz-json-1.1", b'{"__type":"UnrecognizedClientException","message":"The security token included in the request is invalid."}'
    if service == "ec2":
        body = (f"<?xml version=\"1.0\"?><Response><Errors><Error><Code>AuthFailure</Code><Message>{message}"
                "</Message></Error></Errors><RequestID>gate</RequestID></Response>")
        return 401, "text/xml;charset=UTF-8", body.encode()
    body = ("<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token "
            "included in the request is invalid.</Message></Error><RequestId>gate</RequestId></ErrorResponse>")
    return 403, "text/xml", body.encode()


@contextmanager
def region_gate(upstream: str, refused: set[str]) -> Iterator[RegionGate]:
    gate = RegionGate(upstream=upstream, refused=refused)
    target = urlsplit(upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as two writes: with Nagle on, each reply waits ~40 ms for a delayed ACK

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            scope = _SCOPE.search(self.headers.get("Authorization", "") or "")
            region, service = scope.groups() if scope else ("?", "?")
            gate.seen.append((region, service))
            gate.operations.append(parse_qs(body.decode("utf-8", "replace")).get("Action", ["?"])[0])
            if region in gate.refused:
                status, ctype, payload = _refusal(service, bool(self.headers.get("X-Amz-Target")))
            else:
                conn = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body, headers=headers)
                answer = conn.getresponse()
                status, ctype, payload = answer.status, answer.getheader("Content-Type") or "", answer.read()
                conn.close()
                if gate.after is not None:
                    gate.after(gate.operations[-1], payload)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_PUT = do_DELETE = do_POST

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    gate.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield gate
    finally:
        server.shutdown()
        server.server_close()
