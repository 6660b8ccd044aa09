"""``LogtoManagementApiOperator``: any Logto Management API call as a task."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_logto.connection.form import DEFAULT_CONN_ID
from airflow_provider_logto.exceptions import LogtoUsageError
from airflow_provider_logto.operators._shaping import check_callable, shaped

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class LogtoManagementApiOperator(BaseOperator):
    """Call the Logto Management API and return the decoded JSON (to XCom).

    :param endpoint: a Management API path such as ``/users`` or ``/api/users`` (templated).
    :param method: GET, POST, PUT, PATCH or DELETE (templated).
    :param query_params: query parameters, e.g. ``{"search": "%@example.com"}``; a list value repeats the key
        (templated). Named so because ``params`` is Airflow's own task-params argument.
    :param json: request body (templated).
    :param paginate: GET every page of a list endpoint and return all items (for very large lists, stream them
        to storage with :class:`~airflow_provider_logto.operators.export.LogtoExportOperator` instead).
    :param page_size: page size when paginating (1–100).
    :param response_filter: shapes the XCom value: ``response_filter(result, **context)``; must return
        JSON-serialisable data.
    :param redact_secrets: before the result reaches ``response_filter`` and XCom, values under keys Airflow
        deems sensitive (``secret``, ``password``, ``token``, …), any registered secret and any bearer/Basic
        credential or JWT in text become ``***`` — Logto returns application secrets in ``/applications``. Turn
        off only to hand a new app's secret on.

    A write that failed after it was sent raises with ``outcome_unknown=True`` (see "Writes and their outcome" in
    docs/hook.md): a retried task sends it again, so make writes safe to repeat or check the target's state first.
    :param logto_conn_id: the ``logto`` connection (templated).
    """

    template_fields: Sequence[str] = ("logto_conn_id", "method", "endpoint", "query_params", "json")
    template_fields_renderers = {"query_params": "json", "json": "json"}
    ui_color = "#e4e0f7"

    def __init__(self, *, endpoint: str, method: str = "GET", query_params: Mapping[str, Any] | None = None,
                 json: Any = None, paginate: bool = False, page_size: int = 100,
                 response_filter: Callable[..., Any] | None = None, redact_secrets: bool = True,
                 logto_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.endpoint = endpoint
        self.method = method
        self.query_params = query_params
        self.json = json
        self.paginate = paginate
        self.page_size = page_size
        self.response_filter = response_filter
        self.redact_secrets = redact_secrets
        self.logto_conn_id = logto_conn_id

    def execute(self, context: Context) -> Any:
        from airflow_provider_logto.hooks.logto import LogtoHook

        method = str(self.method).upper()
        check_callable("response_filter", self.response_filter)
        if self.paginate and method != "GET":
            raise LogtoUsageError(f"paginate=True needs method GET, not {method}: only lists can be paginated")
        if self.paginate and self.json is not None:
            raise LogtoUsageError("paginate=True sends no body; remove json")
        hook = LogtoHook(logto_conn_id=self.logto_conn_id)
        if self.paginate:
            result: Any = list(hook.management_paginate_concurrently(self.endpoint, params=self.query_params,
                                                                     page_size=self.page_size, count_misses=False))
        else:
            result = hook.management_request(method, self.endpoint, params=self.query_params, json=self.json)
        return shaped(self.response_filter, result, context, redact_secrets=self.redact_secrets)
