"""HTTP details shared by the token client and the hook: the session, how ``Authorization`` is set, and how an
answer is read for error messages."""

from __future__ import annotations

from typing import Any

import requests

USER_AGENT = "airflow-provider-logto"
REQUEST_ID_HEADER = "Logto-Core-Request-Id"


def keep_alive_session() -> requests.Session:
    """The hook's session. It never follows redirects by itself: the hook follows only those that stay under the
    configured base (see ``LogtoHook``), so neither a token nor a request body is sent anywhere else."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


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
    """Content type and the first 200 characters of a body, whitespace collapsed and passed through Airflow's
    secret masker (an error page may echo request headers), for error messages."""
    from airflow.providers.common.compat.sdk import redact

    text = " ".join(response.text.split())[:200]
    return f"{response.headers.get('Content-Type', 'no content type')}: {redact(text)}"
