"""A failed HTTP attempt in plain words: what happened at the network level, without urllib3's nested repr
(``HTTPConnectionPool(host=..., port=...): Max retries exceeded ... (Caused by NewConnectionError(...))``).

The words name the host and port the call went to, so the user can compare them with the connection; the machine
the call ran on is named by the caller (a task's worker, the triggerer, or the api-server/webserver for the
connection's Test button all make calls)."""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

import requests


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, its causes and contexts, and the ``reason``/``args`` errors urllib3 nests them in."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        nested = [getattr(current, "reason", None), current.__cause__, current.__context__,
                  *(arg for arg in current.args if isinstance(arg, BaseException))]
        pending.extend(item for item in nested if isinstance(item, BaseException))


def _where(error: BaseException) -> str:
    request = getattr(error, "request", None)
    url = getattr(request, "url", None)
    if not isinstance(url, str):
        return "the server"
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


def plain_cause(error: BaseException) -> str:
    """What went wrong, in a sentence fragment without a final full stop (e.g. ``the connection to
    127.0.0.1:3001 was refused: nothing listens there``)."""
    where = _where(error)
    chain = list(_chain(error))
    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"the TLS certificate of {where} is not trusted ({cause.verify_message or 'verify failed'})"
    if isinstance(error, requests.exceptions.SSLError):
        return f"the TLS handshake with {where} failed"
    for cause in chain:
        if isinstance(cause, socket.gaierror):
            return f"the host name of {where} could not be resolved (DNS)"
        if isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == errno.ECONNREFUSED:
            return f"the connection to {where} was refused: nothing listens there"
        if isinstance(cause, ConnectionResetError):
            return f"{where} reset the connection"
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return f"no connection to {where} could be opened within the timeout"
    if isinstance(error, requests.exceptions.ReadTimeout) and type(error) is requests.exceptions.ReadTimeout:
        return f"{where} did not answer within the timeout"
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        return f"{where} broke off its answer"
    if isinstance(error, requests.exceptions.ConnectionError) and not str(error).startswith(("HTTP", "(")):
        return str(error).rstrip(".")  # the provider's own words (a deadline, a body that is too large)
    if isinstance(error, requests.exceptions.ConnectionError):
        return f"{where} closed the connection without an answer"
    text = str(error).rstrip(".")
    return text if len(text) <= 300 else f"{text[:300]}…"
