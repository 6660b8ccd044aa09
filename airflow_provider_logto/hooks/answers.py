"""How the hook reads Logto's successful answers: the decoded body and ``Total-Number``, under the same size caps
for the synchronous and the async client."""

from __future__ import annotations

import json as jsonlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_logto.client.transport import MAX_BODY_BYTES, MAX_ERROR_BODY_BYTES, BodyTooLargeError, excerpt
from airflow_provider_logto.exceptions import LogtoApiError, LogtoTransportError


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
    """The body of a successful answer (``requests`` or ``httpx`` response)."""
    content_type = response.headers.get("Content-Type", "")
    if response.status_code == 204 or not response.content:
        return None
    if "json" in content_type:
        try:
            return jsonlib.loads(response.content.decode("utf-8-sig"))
        except UnicodeDecodeError:
            problem = "a body that is not valid UTF-8"
        except (ValueError, RecursionError):
            problem = "malformed JSON"
        raise LogtoApiError(f"{response.request.method} {urlsplit(str(response.url)).path} was answered with "
                            f"{problem} ({excerpt(response)})", status=response.status_code,
                            method=str(response.request.method), path=urlsplit(str(response.url)).path)
    if not management:
        return response.text
    if content_type.startswith("text/plain"):
        return None  # Koa's status text ("Created", "OK") for routes without a body
    raise LogtoApiError(f"The Management API answered {excerpt(response)} instead of JSON: is the connection's "
                        "host the Logto endpoint (not the Console or a proxy page)?", status=response.status_code,
                        method=str(response.request.method), path=urlsplit(str(response.url)).path)
