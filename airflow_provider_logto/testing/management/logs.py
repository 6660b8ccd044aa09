"""``GET /api/logs`` and ``GET /api/logs/{id}`` (Logto's ``routes/log.ts``): filters ``logKey``,
``applicationId``, ``userId``; paged newest first. A minimal stand-in written on the issue-17 branch until the
issue-16 emulator work lands (it owns this module)."""

from __future__ import annotations

from airflow_provider_logto.testing.errors import api_error
from airflow_provider_logto.testing.http import Request, Response
from airflow_provider_logto.testing.management.guard import page_of
from airflow_provider_logto.testing.management.routes import Routes
from airflow_provider_logto.testing.state import TenantState


def routes(state: TenantState) -> Routes:
    r = Routes()

    def list_logs(request: Request) -> Response:
        entries = state.audit_log.newest_first(request.param("logKey"), request.param("applicationId"),
                                               request.param("userId"))
        return page_of(entries, request)

    def get_log(request: Request, log_id: str) -> Response:
        entry = state.audit_log.get(log_id)
        if entry is None:
            raise api_error("entity.not_exists_with_id", name="log", id=log_id)
        return Response.json(200, entry)

    r.add("GET", "/logs", list_logs)
    r.add("GET", "/logs/{log_id}", get_log)
    return r
