"""HTTP details shared by the token client and the hook: the session, how ``Authorization`` is set, how a body is
read (bounded in size and time), and how an answer is quoted in error messages."""

from __future__ import annotations

import os
import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError
from urllib3.exceptions import SSLError as Urllib3SSLError

USER_AGENT = "airflow-provider-logto"
REQUEST_ID_HEADER = "Logto-Core-Request-Id"
MAX_BODY_BYTES = 16 * 1024 * 1024  # a successful answer larger than this is refused (XCom is no place for it)
MAX_ERROR_BODY_BYTES = 64 * 1024  # of an error answer only this much is read, for the message
_CHUNK = 64 * 1024


class BodyTooLargeError(requests.exceptions.RequestException):
    """The answer's body exceeds :data:`MAX_BODY_BYTES`; it was not read further."""


class DeadlineExceededError(requests.exceptions.ReadTimeout):
    """The call's total time (``retry_deadline``) ran out while a body was still arriving."""


class KeepAliveSession(requests.Session):
    """The hook's session: keep-alive, never follows redirects by itself (the hook follows only those that stay
    under the configured base), and safe across ``fork()``: a child process gets fresh connection pools instead of
    sharing the parent's sockets — which would mix up the two processes' answers."""

    def __init__(self) -> None:
        super().__init__()
        self.headers["User-Agent"] = USER_AGENT
        self._pid = os.getpid()

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        if self._pid != os.getpid():
            self._pid = os.getpid()
            # the parent's pooled sockets are left untouched (closing them here would cut the parent's connections)
            self.adapters.clear()
            self.mount("https://", HTTPAdapter())
            self.mount("http://", HTTPAdapter())
        return super().request(*args, **kwargs)


def keep_alive_session() -> KeepAliveSession:
    """A new :class:`KeepAliveSession`."""
    return KeepAliveSession()


class HeaderAuth(requests.auth.AuthBase):
    """Sets ``Authorization`` to ``value`` (or leaves it out for None). Passing an auth object on every request
    also keeps ``requests`` from adding credentials it found in ``~/.netrc``."""

    def __init__(self, value: str | None) -> None:
        self.value = value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.value is not None:
            request.headers["Authorization"] = self.value
        return request


def read_body(response: requests.Response, *, deadline: float, limit: int = MAX_BODY_BYTES) -> requests.Response:
    """Read a ``stream=True`` response's body into it, chunk by chunk, bounded in size and in time.

    A successful answer over ``limit`` bytes raises :class:`BodyTooLargeError`; of an error answer (status >= 400)
    only the first :data:`MAX_ERROR_BODY_BYTES` are kept. When ``deadline`` (``time.monotonic()``) passes while
    the body is still arriving — a server dripping bytes never trips the per-read timeout — the connection is
    closed and :class:`DeadlineExceededError` raised. Broken bodies raise what ``requests`` itself would.
    """
    error_answer = response.status_code >= 400
    cap = MAX_ERROR_BODY_BYTES if error_answer else limit
    declared = response.headers.get("Content-Length", "")
    if not error_answer and declared.isdigit() and int(declared) > cap:
        response.close()
        raise BodyTooLargeError(f"the answer announces {int(declared)} bytes, more than the {cap} bytes accepted")
    raw = response.raw
    read = raw.read1 if hasattr(raw, "read1") else raw.read
    chunks: list[bytes] = []
    size = 0
    complete = False
    try:
        while size <= cap:
            if time.monotonic() > deadline:
                response.close()
                raise DeadlineExceededError(f"the body was still arriving when the call's time ran out "
                                            f"({size} bytes read)")
            chunk = read(_CHUNK, decode_content=True)
            if not chunk:
                complete = True
                break
            chunks.append(chunk)
            size += len(chunk)
    except ProtocolError as error:
        raise requests.exceptions.ChunkedEncodingError(error) from error
    except DecodeError as error:
        raise requests.exceptions.ContentDecodingError(error) from error
    except ReadTimeoutError as error:
        raise requests.exceptions.ReadTimeout(error) from error
    except Urllib3SSLError as error:
        raise requests.exceptions.SSLError(error) from error
    if not complete:
        response.close()  # the rest is never read: this connection cannot be reused
        if not error_answer:
            raise BodyTooLargeError(f"the answer's body exceeds the {cap} bytes accepted; stopped reading")
    content = b"".join(chunks)[:cap]
    response._content = content
    setattr(response, "_content_consumed", True)  # noqa: B010 - requests' own flag, absent from its stubs
    if complete:
        raw.release_conn()
    return response


def json_or_none(response: Any) -> Any:
    """The decoded JSON body, or None when it is not JSON (``requests`` and ``httpx`` responses alike)."""
    try:
        return response.json()
    except ValueError:
        return None


def excerpt(response: Any) -> str:
    """Content type and the first 200 characters of a body, whitespace collapsed and scrubbed of credentials and
    registered secrets (an error page may echo request headers), for error messages."""
    from airflow_provider_logto.exceptions import scrub

    text = " ".join(response.content[:4096].decode("utf-8", "replace").split())[:200]
    return f"{response.headers.get('Content-Type', 'no content type')}: {scrub(text)}"
