"""Audit logs: ``routes/log.ts`` — ``GET /logs`` (paged, newest first, ``logKey``/``applicationId``/``userId``
filters; other parameters such as ``startTime`` ignored, as Logto ignores them) and ``GET /logs/{id}``."""

from __future__ import annotations

from airflow_provider_logto.testing.errors import api_error
from airflow_provider_logto.testing.http import Request, Response
from airflow_provider_logto.testing.management.guard import paged, pagination
from airflow_provider_logto.testing.management.routes import Routes
from airflow_provider_logto.testing.state import TenantState


def routes(state: TenantState) -> Routes:
    r = Routes()

    def list_logs(request: Request) -> Response:
        offset, limit = pagination(request) or (0, 0)
        total, rows = state.audit_log.page(offset, limit, key=request.param("logKey") or None,
                                           application_id=request.param("applicationId") or None,
                                           user_id=request.param("userId") or None)
        return paged(request, total, lambda _offset, _limit: rows)

    def get_log(request: Request, log_id: str) -> Response:
        entry = state.audit_log.get(log_id)
        if entry is None:
            raise api_error("entity.not_exists_with_id", name="logs", id=log_id)
        return Response.json(200, entry)

    r.add("GET", "/logs", list_logs)
    r.add("GET", "/logs/{log_id}", get_log)
    return r
