"""HTTP details shared by the token client and the hook: the session, how ``Authorization`` is set, and how an
answer is read for error messages."""

from __future__ import annotations

from typing import Any

import requests

from airflow_provider_logto.urls import origin

USER_AGENT = "airflow-provider-logto"
REQUEST_ID_HEADER = "Logto-Core-Request-Id"


class OriginBoundSession(requests.Session):
    """A keep-alive session that drops ``Authorization`` on every redirect changing scheme, host or port.

    (``requests`` itself keeps it on an http→https upgrade of the same host.)
    """

    def __init__(self) -> None:
        super().__init__()
        self.headers["User-Agent"] = USER_AGENT

    def should_strip_auth(self, old_url: str, new_url: str) -> bool:
        return origin(old_url) != origin(new_url)


class HeaderAuth(requests.auth.AuthBase):
    """Sets ``Authorization`` to ``value`` (or leaves it out for None). Passing an auth object on every request
    also keeps ``requests`` from adding credentials it found in ``~/.netrc``."""

    def __init__(self, value: str | None) -> None:
        self.value = value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.value is not None:
            request.headers["Authorization"] = self.value
        return request


def json_or_none(response: Any) -> Any:
    """The decoded JSON body, or None when it is not JSON (``requests`` and ``httpx`` responses alike)."""
    try:
        return response.json()
    except ValueError:
        return None


def excerpt(response: Any) -> str:
    """Content type and the first 200 characters of a body, whitespace collapsed, for error messages."""
    text = " ".join(response.text.split())
    return f"{response.headers.get('Content-Type', 'no content type')}: {text[:200]}"
