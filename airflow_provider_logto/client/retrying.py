"""The one retry rule for every HTTP call the provider makes (token endpoint, Management API, resource APIs).

Retried, within the connection's budget (``max_attempts`` and ``retry_deadline``):

- **reads** (GET, HEAD, OPTIONS, and token requests, which change nothing): connection errors, timeouts, broken
  or truncated bodies, HTTP 429, 500, 502, 503 and 504;
- **writes** (POST, PUT, PATCH, DELETE): only what proves the request was not processed — the connection could
  not be opened (refused, connect timeout) or HTTP 429. A timeout, a dropped connection or a 5xx after sending
  may have taken effect, so a write is never repeated then.

A 429 with Logto's ``auth.exceed_token_limit`` is not retried: the monthly token quota does not come back in
seconds. The wait honours ``Retry-After`` (seconds or an HTTP date) and otherwise backs off exponentially
(``retry_backoff_ms``, doubling, with jitter); no retry starts that would end after the deadline.

``retry_deadline`` also bounds the whole call: every attempt's read timeout is cut to the time left, and a body
still arriving when it runs out (a server dripping bytes) is abandoned. A URL, scheme or header that can never
work is a :class:`LogtoConnectionError` at once, never retried. A write that failed after it may have reached the
server raises an error with ``outcome_unknown=True``.
"""

from __future__ import annotations

import email.utils
import logging
import random
import socket
import time
from collections.abc import Callable

import requests
import tenacity
from urllib3.exceptions import LocationParseError, NewConnectionError

from airflow_provider_logto.client.failures import plain_cause
from airflow_provider_logto.client.transport import BodyTooLargeError
from airflow_provider_logto.connection.settings import RetrySettings
from airflow_provider_logto.exceptions import (
    OUTCOME_UNKNOWN_NOTE,
    TRANSIENT_STATUSES,
    LogtoConnectionError,
    LogtoError,
    LogtoTransportError,
    LogtoUnsafeUrlError,
)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_QUOTA_CODE = "auth.exceed_token_limit"
MAX_BACKOFF = 30.0
# requests' errors for a request that can never be sent as configured: retrying or waiting cannot help
PERMANENT_ERRORS = (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
                    requests.exceptions.MissingSchema, requests.exceptions.InvalidHeader,
                    requests.exceptions.URLRequired, LocationParseError)

log = logging.getLogger(__name__)


def _never_sent(error: BaseException) -> bool:
    """True when the connection could not even be opened, so the server cannot have seen the request."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, NewConnectionError):
            return True
        reason = getattr(cause, "reason", None)
        cause = reason if isinstance(reason, BaseException) else (cause.__cause__ or cause.__context__)
    return False


def is_transient(error: BaseException, *, idempotent: bool) -> bool:
    if isinstance(error, (requests.exceptions.SSLError, BodyTooLargeError, *PERMANENT_ERRORS)):
        return False  # a certificate problem does not heal by itself
    if not idempotent:
        return _never_sent(error)
    return isinstance(error, (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                              requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError))


def is_retryable_response(response: requests.Response, *, idempotent: bool) -> bool:
    if response.status_code == 429:
        return TOKEN_QUOTA_CODE not in response.text[:500]
    return idempotent and response.status_code in TRANSIENT_STATUSES


def retry_after(response: requests.Response) -> float | None:
    """Seconds asked by ``Retry-After`` (delta-seconds or HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class RetryingSender:
    """Runs a request-sending callable under the retry rule above, logging each retry at INFO."""

    def __init__(self, settings: RetrySettings) -> None:
        self.settings = settings

    def send(self, describe: str, send: Callable[[float], requests.Response], *,
             idempotent: bool) -> requests.Response:
        """The final response (which may still be an error status), or :class:`LogtoTransportError`.

        ``describe`` names the call in messages (``"Logto GET /api/users"``, ``"API https://shopping.api POST
        /products"``); ``send(deadline)`` makes one attempt and must finish reading by ``deadline``
        (``time.monotonic()``), the end of the call's ``retry_deadline``.
        """
        settings = self.settings
        started = time.monotonic()
        deadline = started + settings.deadline
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(settings.max_attempts) | tenacity.stop_before_delay(settings.deadline),
            wait=self._wait,
            retry=(tenacity.retry_if_exception(lambda error: is_transient(error, idempotent=idempotent))
                   | tenacity.retry_if_result(lambda response: is_retryable_response(response,
                                                                                    idempotent=idempotent))),
            before_sleep=lambda state: self._log_retry(describe, state),
            retry_error_callback=_last_outcome,
            reraise=True,
        )
        try:
            return retrying(send, deadline)
        except PERMANENT_ERRORS as error:
            raise LogtoConnectionError(
                f"{describe} cannot be sent: {type(error).__name__}: {plain_cause(error)}. Fix the connection's "
                "host, api_base_url or the headers passed; waiting or retrying will not help.") from error
        except ValueError as error:
            if isinstance(error, (LogtoError, requests.exceptions.RequestException)):
                raise
            # requests parses a redirect's Location even when it does not follow it: a hostile one lands here
            refused = LogtoUnsafeUrlError(f"{describe} got an answer that cannot be processed ({error}), e.g. a "
                                          "redirect to an invalid URL; nothing was followed"
                                          + ("" if idempotent else OUTCOME_UNKNOWN_NOTE))
            refused.outcome_unknown = not idempotent
            raise refused from None
        except requests.exceptions.RequestException as error:
            attempts = retrying.statistics.get("attempt_number", 1)
            if isinstance(error, BodyTooLargeError):
                fix = "ask for less (filter or paginate)"
            else:
                fix = (f"check the connection's host and port, and that they are reachable from this machine "
                       f"({socket.gethostname()}); the retry budget is the connection's max_attempts and "
                       "retry_deadline")
            raise LogtoTransportError(
                f"{describe} failed after {attempts} attempt(s) in {time.monotonic() - started:.1f} s: "
                f"{type(error).__name__}: {plain_cause(error)}. Fix: {fix}.",
                outcome_unknown=not idempotent and not _never_sent(error)) from error

    def _wait(self, state: tenacity.RetryCallState) -> float:
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            asked = retry_after(outcome.result())
            if asked is not None:
                return asked
        backoff = min(MAX_BACKOFF, self.settings.backoff * 2 ** (state.attempt_number - 1))
        return backoff * random.uniform(0.5, 1.0)

    def _log_retry(self, describe: str, state: tenacity.RetryCallState) -> None:
        outcome = state.outcome
        assert outcome is not None
        if outcome.failed:
            error = outcome.exception()
            assert error is not None
            reason = f"{type(error).__name__}: {plain_cause(error)}"
        else:
            reason = f"answered HTTP {outcome.result().status_code}"
        wait = state.upcoming_sleep
        log.info("%s: %s; retrying in %.2f s (attempt %d of %d)", describe, reason, wait,
                 state.attempt_number + 1, self.settings.max_attempts)


def _last_outcome(state: tenacity.RetryCallState) -> requests.Response:
    """When the budget is spent: the last answer (e.g. a 503 to report), or the last exception raised again."""
    assert state.outcome is not None
    response: requests.Response = state.outcome.result()
    return response


def attempt_timeout(timeout: float, deadline: float) -> float:
    """The read timeout of one attempt: the connection's ``timeout``, cut to what is left of the call's deadline."""
    return max(0.001, min(timeout, deadline - time.monotonic()))
