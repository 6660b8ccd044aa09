"""The emulator's HTTP plumbing: a threaded HTTP/1.1 keep-alive server that hands parsed requests to an app.

Each response is written in a single ``send`` and every accepted socket has ``TCP_NODELAY`` set: with
keep-alive, Nagle's algorithm plus the client's delayed ACK would otherwise stall every request by ~40 ms.
Faults (dropped connections, truncated bodies, delays) are expressed as response flags so that the apps stay
plain functions from :class:`Request` to :class:`Response`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import socket
import ssl
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass(frozen=True)
class Request:
    """One parsed HTTP request, as the emulator's apps see it."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    raw_target: str
    client_ip: str = ""

    def param(self, name: str) -> str | None:
        """First value of a query parameter, or None."""
        values = self.query.get(name)
        return values[0] if values else None

    def header(self, name: str) -> str | None:
        """A request header, case-insensitively."""
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """The body decoded as JSON (``ValueError`` when it is not)."""
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, list[str]]:
        """The body as ``application/x-www-form-urlencoded`` or JSON, both as lists of strings."""
        content_type = (self.header("content-type") or "").split(";")[0].strip().lower()
        if content_type == "application/json":
            decoded = self.json()
            if not isinstance(decoded, dict):
                return {}
            return {
                key: [str(item) for item in value] if isinstance(value, list) else [str(value)]
                for key, value in decoded.items()
                if value is not None
            }
        return parse_qs(self.body.decode("latin-1"), keep_blank_values=True)


@dataclass
class Response:
    """What an app answers. ``drop`` and ``truncate`` make the server misbehave on purpose (fault injection)."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    drop: bool = False
    truncate: bool = False

    @classmethod
    def json(cls, status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> Response:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        return cls(status, body, [("Content-Type", "application/json; charset=utf-8"), *headers])

    @classmethod
    def text(
        cls, status: int, text: str, content_type: str = "text/plain; charset=utf-8",
        headers: Iterable[tuple[str, str]] = (),
    ) -> Response:
        return cls(status, text.encode(), [("Content-Type", content_type), *headers])

    @classmethod
    def empty(cls, status: int = 204, headers: Iterable[tuple[str, str]] = ()) -> Response:
        return cls(status, b"", list(headers))

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)


App = Callable[[Request], Response]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LogtoEmulator/1"
    sys_version = ""
    server: _AppServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if len(body) < length:  # the client hung up mid-request (a killed worker): as for a server, no request
            self.close_connection = True
            return
        split = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=unquote(split.path),
            query=parse_qs(split.query, keep_blank_values=True),
            headers={key.lower(): value for key, value in self.headers.items()},
            body=body,
            raw_target=self.path,
            client_ip=str(self.client_address[0]),
        )
        try:
            response = self.server.app(request)
        except Exception as error:
            self.server.internal_errors.append(f"{request.method} {request.path}: {error!r}")
            response = Response.json(500, {"message": "Internal server error."})
        self._write(response)

    def _write(self, response: Response) -> None:
        if response.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        reason = HTTPStatus(response.status).phrase if response.status in HTTPStatus._value2member_map_ else ""
        head = [f"HTTP/1.1 {response.status} {reason}"]
        head.extend(f"{key}: {value}" for key, value in response.headers)
        head.append(f"Content-Length: {len(response.body)}")
        if self.close_connection:
            head.append("Connection: close")
        payload = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        if self.command != "HEAD":
            payload += response.body[: len(response.body) // 2] if response.truncate else response.body
        self.wfile.write(payload)
        if response.truncate:
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the emulator keeps a journal instead of printing one line per request."""


class _AppServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        self.internal_errors: list[str] = []
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up or rejects our certificate is not a server bug; anything else is recorded."""
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            self.internal_errors.append(f"{client_address}: {error!r}")

    def track(self, sock: socket.socket) -> None:
        with self._open_lock:
            self._open.add(sock)

    def untrack(self, sock: socket.socket) -> None:
        with self._open_lock:
            self._open.discard(sock)

    def close_open_connections(self) -> None:
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class PortInUseError(OSError):
    """The port is taken by another process (``EADDRINUSE``)."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(errno.EADDRINUSE, f"port {port} on {host} is already in use")
        self.host = host
        self.port = port


class AppServer:
    """An app served on ``host:port`` (port 0 picks a free one) from a background thread."""

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 0,
                 tls: ssl.SSLContext | None = None) -> None:
        try:
            self._server = _AppServer((host, port), app)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUseError(host, port) from None
            raise
        self.scheme = "https" if tls else "http"
        if tls is not None:  # the handshake happens in the connection's thread, not in the accept loop
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True,
                                                  do_handshake_on_connect=False)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"logto-emulator-{self.port}", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def internal_errors(self) -> list[str]:
        """Exceptions the app raised (each answered with a 500): emulator bugs that tests should surface."""
        return self._server.internal_errors

    @property
    def url(self) -> str:
        host = self._server.server_address[0]
        return f"{self.scheme}://{host if isinstance(host, str) else host.decode()}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.close_open_connections()
        self._server.server_close()
        self._thread.join(timeout=5)

    def close(self) -> None:
        """Release the port of a server that was never started."""
        self._server.server_close()
