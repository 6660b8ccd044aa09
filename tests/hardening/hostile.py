"""A tiny hostile HTTP server for tests: each request is answered by a Python function, and an answer can do what
the emulator cannot — echo credentials, send a token with CR/LF, drip a body byte by byte, stream megabytes,
send invalid UTF-8 or lie in its headers. It records what it received and how much of each body it sent."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    """An answer. ``chunks`` (an iterator of bytes) streams the body instead of ``body``; ``pause`` is slept before
    each chunk; ``length`` overrides Content-Length (None: close-delimited for streams)."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    chunks: Iterator[bytes] | None = None
    pause: float = 0.0
    length: int | None = None


class HostileServer:
    """``with HostileServer(answer) as server: server.url``; ``answer(Received) -> Reply``."""

    def __init__(self, answer: Callable[[Received], Reply]) -> None:
        self.answer = answer
        self.received: list[Received] = []
        self.bytes_sent: list[int] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _serve(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                request = Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                                   self.rfile.read(size))
                outer.received.append(request)
                reply = outer.answer(request)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.chunks is None:
                    self.send_header("Content-Length", str(len(reply.body) if reply.length is None else reply.length))
                    self.end_headers()
                    self.wfile.write(reply.body)
                    outer.bytes_sent.append(len(reply.body))
                    return
                if reply.length is not None:
                    self.send_header("Content-Length", str(reply.length))
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                sent = 0
                try:
                    for chunk in reply.chunks:
                        if reply.pause:
                            time.sleep(reply.pause)
                        self.wfile.write(chunk)
                        self.wfile.flush()
                        sent += len(chunk)
                except OSError:
                    pass  # the client hung up: that is what some tests want to see
                outer.bytes_sent.append(sent)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def json_reply(status: int, text: str, **headers: str) -> Reply:
    return Reply(status, text.encode(), {"Content-Type": "application/json", **headers})


TOKEN = ("eyJhbGciOiJFUzM4NCIsInR5cCI6ImF0K2p3dCIsImtpZCI6Imhvc3RpbGUifQ."
         "eyJzdWIiOiJhcHAiLCJzY29wZSI6ImFsbCJ9.c2lnbmF0dXJlLW9mLXRoZS1ob3N0aWxlLXNlcnZlcg")


def token_answer(**fields: Any) -> Reply:
    """A token endpoint answer: a valid Bearer JWT for scope ``all`` unless ``fields`` change it (None removes)."""
    import json

    body = {"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer", "scope": "all", **fields}
    return json_reply(200, json.dumps({k: v for k, v in body.items() if v is not None}))
