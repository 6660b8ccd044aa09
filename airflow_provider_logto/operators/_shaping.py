"""Shared by the operators: user callables (with Airflow's context-aware calling) and XCom-safe results."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from airflow_provider_logto.exceptions import LogtoUsageError


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


def shaped(response_filter: Callable[..., Any] | None, result: Any, context: Any) -> Any:
    """The XCom value of an operator: ``result``, or what ``response_filter`` makes of it (checked for XCom)."""
    if response_filter is None:
        return result
    return xcom_safe(call_with_context(response_filter, result, context), "response_filter's result")
