"""The provider's errors. All are ``AirflowException`` subclasses, so Airflow's task retries apply, and none ever
carries an app secret or an access token: every message passes :func:`scrub`, which removes ``Bearer``/``Basic``
credentials, JWTs, internal app secrets, credential form parameters and every value registered with Airflow's
secret masker — also when a server echoed them back."""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_logto.auth.scrubbing import scrub_text

# Statuses that say "not now" rather than "no": retried for reads, and a waiting sensor just asks again.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})

OUTCOME_UNKNOWN_NOTE = (
    " The request was sent, so it may or may not have taken effect (outcome unknown): check the target's state "
    "before repeating it; a retried task sends it again.")


def scrub(text: str) -> str:
    """``text`` without credentials: ``Bearer``/``Basic`` values, JWTs, internal app secrets and credential
    parameters become ``***``, and so does every secret registered with Airflow's masker (app secrets, access
    tokens); see :mod:`airflow_provider_logto.auth.scrubbing`."""
    return scrub_text(text)[0]


def _scrubbed(value: Any) -> Any:
    return scrub(value) if isinstance(value, str) else value


class LogtoError(AirflowException):
    """Base class of every error raised by airflow-provider-logto; its message is always scrubbed.

    :ivar outcome_unknown: True when a write (POST, PUT, PATCH, DELETE) failed *after* it was sent — a timeout, a
        dropped connection, a 5xx or a redirect answered it — so it may or may not have taken effect. False means
        the request certainly changed nothing (refused before sending, or a 4xx).
    """

    outcome_unknown: bool = False
    applied: bool = False  # a write Logto answered 2xx (it took effect) whose answer could not be read

    def __init__(self, message: str = "", *args: Any) -> None:
        super().__init__(scrub(str(message)), *args)


class LogtoConnectionError(LogtoError, ValueError):
    """The ``logto`` connection (or an argument standing in for it) is unusable; the message names the field."""


class LogtoUsageError(LogtoError, ValueError):
    """A call's arguments are invalid (unknown method, page size out of range, missing resource, …)."""


class LogtoUnsupportedAirflowError(LogtoUsageError):
    """A feature needs a newer Airflow than the one installed (e.g. event-driven scheduling needs Airflow 3)."""


class LogtoUnsafeUrlError(LogtoUsageError):
    """An endpoint would send the bearer token somewhere other than the configured Logto endpoint or API base."""


class LogtoTransportError(LogtoError):
    """Logto or your API could not be reached (connection error, timeout, broken or oversized body) within the
    retry budget. ``outcome_unknown`` is True for a write whose request may have reached the server."""

    def __init__(self, message: str, *, outcome_unknown: bool = False) -> None:
        super().__init__(message + (OUTCOME_UNKNOWN_NOTE if outcome_unknown else ""))
        self.outcome_unknown = outcome_unknown


class LogtoTokenError(LogtoError):
    """The token endpoint refused to issue a token, or answered something that is not a usable token.

    :ivar status: HTTP status (0 when no answer came).
    :ivar error: OAuth ``error`` (e.g. ``invalid_client``), or Logto's ``code`` when it sent no OAuth error.
    :ivar error_description: OAuth ``error_description``.
    :ivar code: Logto's ``code`` (e.g. ``oidc.invalid_target``, ``auth.exceed_token_limit``).
    :ivar request_id: the ``Logto-Core-Request-Id`` header, to quote to Logto support.
    :ivar definitive: True for a refusal that asking again cannot change (a 4xx with an OAuth error, a used-up
        token quota, a dropped scope); only those are remembered for a while and end a sensor's wait. A 5xx or a
        garbled answer is transient.
    """

    def __init__(self, message: str, *, status: int = 0, error: str | None = None,
                 error_description: str | None = None, code: str | None = None,
                 request_id: str | None = None, definitive: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.error = _scrubbed(error)
        self.error_description = _scrubbed(error_description)
        self.code = _scrubbed(code)
        self.request_id = request_id
        self.definitive = definitive


class LogtoScopeError(LogtoTokenError):
    """Logto issued a token without some requested scopes (it drops scopes the app's M2M roles lack).

    :ivar missing_scopes: the requested scopes that were not granted.
    """

    def __init__(self, message: str, *, missing_scopes: list[str], **kwargs: Any) -> None:
        super().__init__(message, definitive=True, **kwargs)
        self.missing_scopes = missing_scopes


class LogtoApiError(LogtoError):
    """A Management API or resource API call failed.

    :ivar status: HTTP status.
    :ivar code: Logto's error ``code`` (e.g. ``entity.not_found``), or None when the body had none.
    :ivar message: Logto's message (or the start of a non-JSON body), scrubbed.
    :ivar request_id: the ``Logto-Core-Request-Id`` header.
    :ivar data: Logto's ``data`` (e.g. ``{"code": "ERR_JWT_EXPIRED", ...}``), when present, scrubbed.
    :ivar method: HTTP method; :ivar path: the path that was called (no host, no query).
    :ivar outcome_unknown: True for a write answered by a 5xx or a redirect (see :class:`LogtoError`).
    :ivar applied: True for a write answered 2xx — so it took effect — whose answer is unreadable (malformed
        JSON): repeating it would apply it twice.
    """

    def __init__(self, text: str, *, status: int, code: str | None = None, message: str | None = None,
                 request_id: str | None = None, data: Any = None, method: str = "", path: str = "",
                 outcome_unknown: bool = False, applied: bool = False) -> None:
        super().__init__(text + (OUTCOME_UNKNOWN_NOTE if outcome_unknown else ""))
        self.status = status
        self.code = _scrubbed(code)
        self.message = _scrubbed(message)
        self.request_id = request_id
        self.data = scrub_structure(data)
        self.method = method
        self.path = path
        self.outcome_unknown = outcome_unknown
        self.applied = applied


class LogtoWriteAppliedError(LogtoApiError, AirflowFailException):
    """A write answered 2xx — it took effect — whose answer could not be read (``applied`` is True). An
    ``AirflowFailException``: Airflow does not retry the task, which would apply the write twice."""

    def __init__(self, text: str, *, status: int, method: str, path: str) -> None:
        super().__init__(text, status=status, method=method, path=path, applied=True)


def scrub_structure(value: Any) -> Any:
    """A JSON-like value with every string scrubbed (keys kept), for data carried by an error."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {key: scrub_structure(item) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub_structure(item) for item in value]
    return value
