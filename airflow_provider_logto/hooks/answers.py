"""How the hook reads Logto's successful answers: the decoded body and ``Total-Number``, under the same size caps
for the synchronous and the async client."""

from __future__ import annotations

import json as jsonlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_logto.client.retrying import SAFE_METHODS
from airflow_provider_logto.client.transport import MAX_BODY_BYTES, MAX_ERROR_BODY_BYTES, BodyTooLargeError, excerpt
from airflow_provider_logto.exceptions import LogtoApiError, LogtoTransportError, LogtoWriteAppliedError


@dataclass(frozen=True)
class ManagementResult:
    """A Management API answer: the decoded body and, for paginated lists, Logto's ``Total-Number``."""

    body: Any
    total: int | None


async def read_async_body(response: Any) -> None:
    """Read an ``httpx`` streamed body under the same caps as
    :func:`~airflow_provider_logto.client.transport.read_body`."""
    cap = MAX_ERROR_BODY_BYTES if response.status_code >= 400 else MAX_BODY_BYTES
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            if response.status_code < 400:
                raise LogtoTransportError(f"Logto GET {response.url.path} failed: "
                                          f"{BodyTooLargeError.__name__}: the answer exceeds {cap} bytes")
            break
    response._content = b"".join(chunks)[:cap]


def management_result(response: Any) -> ManagementResult:
    """The decoded body and ``Total-Number`` (None when absent or not a plain whole number)."""
    total = response.headers.get("Total-Number", "").strip()
    return ManagementResult(decode(response, management=True),
                            int(total) if total.isascii() and total.isdigit() and len(total) < 16 else None)


def decode(response: Any, *, management: bool) -> Any:
    """The body of a successful answer (``requests`` or ``httpx`` response).

    A body that is not what it claims to be fails; for a write the error says what the 2xx means: JSON that does
    not parse still came from the API, which applied the write (``applied``: never "failed", which invites a
    retry that applies it twice); a page that is not JSON at all may come from a proxy (``outcome_unknown``)."""
    content_type = response.headers.get("Content-Type", "")
    if response.status_code == 204 or not response.content:
        return None
    method, path, status = str(response.request.method), urlsplit(str(response.url)).path, response.status_code
    write = method not in SAFE_METHODS
    if "json" in content_type:
        try:
            return jsonlib.loads(response.content.decode("utf-8-sig"))
        except UnicodeDecodeError:
            problem = "a body that is not valid UTF-8"
        except (ValueError, RecursionError):
            problem = "malformed JSON"
        if write:
            raise LogtoWriteAppliedError(
                f"{method} {path} took effect (answered HTTP {status}), but its answer is {problem} "
                f"({excerpt(response)}). It must not be sent again, so the task is not retried (that would apply it "
                "twice): read the target's current state for the result.", status=status, method=method, path=path)
        raise LogtoApiError(f"{method} {path} was answered with {problem} ({excerpt(response)})", status=status,
                            method=method, path=path)
    if not management:
        return response.text
    if content_type.startswith("text/plain"):
        return None  # Koa's status text ("Created", "OK") for routes without a body
    raise LogtoApiError(f"The Management API answered {method} {path} with {excerpt(response)} instead of JSON: is "
                        "the connection's host the Logto endpoint (not the Console or a proxy page)?",
                        status=status, method=method, path=path, outcome_unknown=write)
