"""Fault injection and the Logto-Cloud-like rate limiter, applied in front of the emulator's apps.

A fault matches requests by server, method and a shell-style path pattern (``/api/users*``), fires a given
number of times (``count``) or with a probability (``rate``), and then makes the server answer with a status,
an HTML error page, a non-JSON or truncated body, a dropped connection, a redirect, or a delay before the
normal answer — or (``garbled``) handle the request normally, a write included, and then garble its answer's JSON.
"""

from __future__ import annotations

import fnmatch
import random
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Literal, get_args

from airflow_provider_logto.testing.http import Request, Response

FaultKind = Literal["status", "html", "non_json", "truncated", "drop", "delay", "redirect", "garbled"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
SERVERS: tuple[str, ...] = ("logto", "resource")

_HTML_PAGE = (
    "<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


@dataclass
class Fault:
    """One injected misbehaviour. ``fired`` counts how often it has struck."""

    kind: FaultKind
    path: str = "*"
    method: str | None = None
    server: str | None = None
    count: int | None = 1
    rate: float | None = None
    status: int | None = None
    retry_after: str | None = None
    delay: float = 0.0
    location: str | None = None
    fired: int = field(default=0)

    def matches(self, server: str, request: Request) -> bool:
        return (
            (self.server is None or self.server == server)
            and (self.method is None or self.method.upper() == request.method)
            and fnmatch.fnmatchcase(request.path, self.path)
        )

    def exhausted(self) -> bool:
        return self.count is not None and self.fired >= self.count

    def response(self, request: Request) -> Response | None:
        """The answer this fault forces, or None for a pure delay (the normal answer follows)."""
        headers = [("Retry-After", self.retry_after)] if self.retry_after is not None else []
        status = self.status or _DEFAULT_STATUS[self.kind]
        if self.kind == "status":
            return Response.json(status, _status_body(status, request.path), headers)
        if self.kind == "html":
            page = _HTML_PAGE.format(status=status, phrase=HTTPStatus(status).phrase)
            return Response.text(status, page, "text/html", headers)
        if self.kind == "non_json":
            return Response.text(status, "upstream said: not json {", "application/json", headers)
        if self.kind == "truncated":
            response = Response.json(status, {"message": "this body is cut in the middle", "padding": "x" * 64})
            response.truncate = True
            return response
        if self.kind == "drop":
            return Response(0, drop=True)
        if self.kind == "redirect":
            return Response.empty(status, [("Location", self.location or "/")])
        return None


_DEFAULT_STATUS: dict[str, int] = {
    "status": 503, "html": 502, "non_json": 200, "truncated": 200, "drop": 0, "delay": 0, "redirect": 302,
    "garbled": 0,
}
_GARBLED = b"upstream said: not json {"


def _status_body(status: int, path: str) -> dict[str, str]:
    """Bodies seen from Logto and its proxies: the OIDC provider's and the core's own 500, else generic."""
    if status == 500 and path.startswith("/oidc/"):
        return {"code": "oidc.server_error", "message": "An unknown OIDC error occurred. Please try again later.",
                "error": "server_error", "error_description": "oops! something went wrong"}
    if status == 500:
        return {"message": "Internal server error."}
    if status == 404:
        return {"code": "entity.not_found", "message": "The resource does not exist."}
    if status == 429:
        return {"code": "request.too_many_requests", "message": "Too many requests. Please try again later."}
    return {"message": HTTPStatus(status).phrase}


class FaultInjector:
    """The list of active faults; thread-safe, first match wins."""

    def __init__(self, seed: int = 0) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._random = random.Random(seed)

    def add(self, kind: FaultKind, path: str = "*", *, method: str | None = None, server: str | None = None,
            count: int | None = 1, rate: float | None = None, status: int | None = None,
            retry_after: float | str | None = None, delay: float = 0.0,
            location: str | None = None) -> Fault:
        """Register a fault. ``count=None`` keeps it forever; ``rate`` fires it on that share of matches."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; choose one of {', '.join(FAULT_KINDS)}")
        if server is not None and server not in SERVERS:
            raise ValueError(f"unknown server {server!r}; choose 'logto' or 'resource'")
        if count is not None and count < 1:
            raise ValueError("count must be a positive number of requests, or None for every request")
        if rate is not None and not 0 < rate <= 1:
            raise ValueError("rate must be a probability in (0, 1]")
        if kind == "delay" and delay <= 0:
            raise ValueError("a delay fault needs delay=<seconds> greater than 0")
        if kind == "redirect" and not location:
            raise ValueError("a redirect fault needs location=<url>")
        fault = Fault(kind=kind, path=path, method=method, server=server, count=count, rate=rate, status=status,
                      retry_after=None if retry_after is None else str(retry_after), delay=delay,
                      location=location)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def _fire(self, server: str, request: Request, *, after: bool) -> Fault | None:
        """The first matching fault of its phase (``garbled`` acts after the app answered), counted as fired."""
        with self._lock:
            fault = next((f for f in self._faults if not f.exhausted() and (f.kind == "garbled") == after
                          and f.matches(server, request)), None)
            if fault is None or (fault.rate is not None and self._random.random() >= fault.rate):
                return None
            fault.fired += 1
        return fault

    def strike(self, server: str, request: Request) -> Response | None:
        """Apply the first matching fault: sleep for delays, return a forced answer for the others."""
        fault = self._fire(server, request, after=False)
        if fault is None:
            return None
        if fault.delay:
            time.sleep(fault.delay)
        return fault.response(request)

    def garble(self, server: str, request: Request, response: Response) -> Response:
        """The app's answer, or — under a ``garbled`` fault — the same status and headers with a body that is not
        the JSON its content type claims (the request took effect; only its answer is broken)."""
        if response.status < 200 or self._fire(server, request, after=True) is None:
            return response
        response.body = _GARBLED
        return response


class Latency:
    """Per-request network latency: every request waits ``seconds`` plus a uniform ``[-jitter, +jitter]``.

    The wait happens in the thread serving that connection, so concurrent requests (each on its own keep-alive
    connection) overlap as they would over a real network; nothing is serialized.
    """

    def __init__(self, seconds: float = 0.0, jitter: float = 0.0, seed: int = 0) -> None:
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.seconds = 0.0
        self.jitter = 0.0
        self.set(seconds, jitter)

    def set(self, seconds: float, jitter: float = 0.0) -> None:
        """Change the latency; ``jitter`` may not exceed ``seconds`` (a wait is never negative)."""
        if seconds < 0 or jitter < 0:
            raise ValueError("latency and jitter are durations in seconds and cannot be negative")
        if jitter > seconds:
            raise ValueError(f"jitter ({jitter} s) cannot exceed the latency ({seconds} s): a request cannot "
                             "arrive before it was sent")
        self.seconds, self.jitter = float(seconds), float(jitter)

    def wait(self) -> None:
        """Sleep for one request's latency (no-op when none is set)."""
        seconds, jitter = self.seconds, self.jitter
        if jitter:
            with self._lock:
                seconds += self._random.uniform(-jitter, jitter)
        if seconds > 0:
            time.sleep(seconds)


class RateLimiter:
    """A token bucket like Logto Cloud's per-tenant limit (about 200 requests per 10 s)."""

    def __init__(self, capacity: int = 200, per_seconds: float = 10.0, send_retry_after: bool = True) -> None:
        if capacity < 1 or per_seconds <= 0:
            raise ValueError("a rate limit needs capacity >= 1 and per_seconds > 0")
        self.capacity = capacity
        self.refill_per_second = capacity / per_seconds
        self.send_retry_after = send_retry_after
        self._tokens = float(capacity)
        self._updated = time.monotonic()
        self._lock = threading.Lock()

    def admit(self) -> Response | None:
        """None when the request may pass, else the 429 to answer."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.refill_per_second)
            self._updated = now
            if self._tokens >= 1:
                self._tokens -= 1
                return None
            wait = (1 - self._tokens) / self.refill_per_second
        headers = [("Retry-After", str(max(1, round(wait))))] if self.send_retry_after else []
        return Response.json(429, _status_body(429, ""), headers)
