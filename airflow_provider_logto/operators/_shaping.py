"""Shared by the operators, the sensor and the trigger: user callables (with Airflow's context-aware calling) and
the one path by which an answer leaves the provider (XCom, trigger events): JSON-checked and redacted."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from airflow_provider_logto.exceptions import LogtoUsageError, scrub

REDACTION_DEPTH = 64  # Airflow's own default stops at 5 levels and would pass deeper secrets through


def check_callable(name: str, value: Any) -> None:
    if value is not None and not callable(value):
        raise LogtoUsageError(f"{name} must be a callable, not {type(value).__name__}")


def call_with_context(function: Callable[..., Any], value: Any, context: Any) -> Any:
    """``function(value)``, plus any Airflow context keys it names (``ti``, ``logical_date``, ...)."""
    from airflow.providers.common.compat.sdk import determine_kwargs

    return function(value, **determine_kwargs(function, [value], context))


def xcom_safe(value: Any, what: str) -> Any:
    """``value`` if it is JSON-serialisable (what XCom stores), else a clear error naming ``what``."""
    try:
        json.dumps(value)
    except (TypeError, ValueError) as error:
        raise LogtoUsageError(f"{what} is not JSON-serialisable and cannot go to XCom: {error}") from None
    return value


def redacted(value: Any) -> Any:
    """``value`` with secrets replaced by ``***``: values under keys Airflow deems sensitive (``secret``,
    ``password``, ``token``, …; Logto returns application secrets in ``/applications``), every registered secret
    (app secrets, access tokens) and any ``Bearer``/``Basic`` credential or JWT inside text."""
    from airflow.providers.common.compat.sdk import redact

    return _scrub_strings(redact(value, max_depth=REDACTION_DEPTH))


def _scrub_strings(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {key: _scrub_strings(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub_strings(item) for item in value]
    return value


def outgoing(value: Any, what: str, *, redact_secrets: bool = True) -> Any:
    """The one exit of an answer from the provider — operator results, the sensor's XCom value, the trigger's
    event: checked to be JSON-serialisable and, unless ``redact_secrets`` is off, :func:`redacted`."""
    return xcom_safe(redacted(value) if redact_secrets else value, what)


def shaped(response_filter: Callable[..., Any] | None, result: Any, context: Any, *,
           redact_secrets: bool = True) -> Any:
    """The XCom value of an operator: the (redacted) ``result``, or what ``response_filter`` makes of it."""
    result = outgoing(result, "the answer", redact_secrets=redact_secrets)
    if response_filter is None:
        return result
    return xcom_safe(call_with_context(response_filter, result, context), "response_filter's result")
