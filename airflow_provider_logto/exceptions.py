"""The provider's errors. All are ``AirflowException`` subclasses, so Airflow's task retries apply, and none ever
carries an app secret or an access token: messages are built only from codes, ids and Logto's descriptions."""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import AirflowException

# Statuses that say "not now" rather than "no": retried for reads, and a waiting sensor just asks again.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


class LogtoError(AirflowException):
    """Base class of every error raised by airflow-provider-logto."""


class LogtoConnectionError(LogtoError, ValueError):
    """The ``logto`` connection (or an argument standing in for it) is unusable; the message names the field."""


class LogtoUsageError(LogtoError, ValueError):
    """A call's arguments are invalid (unknown method, page size out of range, missing resource, …)."""


class LogtoUnsafeUrlError(LogtoUsageError):
    """An endpoint would send the bearer token somewhere other than the configured Logto endpoint or API base."""


class LogtoTransportError(LogtoError):
    """Logto could not be reached (connection error, timeout, broken body) within the retry budget."""


class LogtoTokenError(LogtoError):
    """The token endpoint refused to issue a token.

    :ivar status: HTTP status (0 when no answer came).
    :ivar error: OAuth ``error`` (e.g. ``invalid_client``), or Logto's ``code`` when it sent no OAuth error.
    :ivar error_description: OAuth ``error_description``.
    :ivar code: Logto's ``code`` (e.g. ``oidc.invalid_target``, ``auth.exceed_token_limit``).
    :ivar request_id: the ``Logto-Core-Request-Id`` header, to quote to Logto support.
    """

    def __init__(self, message: str, *, status: int = 0, error: str | None = None,
                 error_description: str | None = None, code: str | None = None,
                 request_id: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.error_description = error_description
        self.code = code
        self.request_id = request_id


class LogtoScopeError(LogtoTokenError):
    """Logto issued a token without some requested scopes (it drops scopes the app's M2M roles lack).

    :ivar missing_scopes: the requested scopes that were not granted.
    """

    def __init__(self, message: str, *, missing_scopes: list[str], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.missing_scopes = missing_scopes


class LogtoApiError(LogtoError):
    """A Management API or resource API call failed.

    :ivar status: HTTP status.
    :ivar code: Logto's error ``code`` (e.g. ``entity.not_found``), or None when the body had none.
    :ivar message: Logto's message (or the start of a non-JSON body).
    :ivar request_id: the ``Logto-Core-Request-Id`` header.
    :ivar data: Logto's ``data`` (e.g. ``{"code": "ERR_JWT_EXPIRED", ...}``), when present.
    :ivar method: HTTP method; :ivar path: the path that was called (no host, no query).
    """

    def __init__(self, text: str, *, status: int, code: str | None = None, message: str | None = None,
                 request_id: str | None = None, data: Any = None, method: str = "", path: str = "") -> None:
        super().__init__(text)
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.data = data
        self.method = method
        self.path = path
