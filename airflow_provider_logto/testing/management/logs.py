"""Audit logs: ``routes/log.ts`` and ``queries/log.ts`` of Logto v1.37.1.

``GET /logs`` runs ``koaPagination`` first (``guard.invalid_pagination``), then the query guard; ``logKey`` is an
exact match, ``applicationId`` and ``userId`` compare ``payload->>'…'``, empty values filter nothing, other
parameters (``startTime``…) are ignored, only keys with Logto's audit prefixes are listed, newest first with no
tie-break. ``GET /logs/{id}`` finds any entry by id (``findEntityById``: 404 ``entity.not_exists_with_id``).
"""

from __future__ import annotations

from airflow_provider_logto.testing.http import Request, Response
from airflow_provider_logto.testing.management.guard import DEFAULT_PAGE_SIZE, Field, guard_query, paged, pagination
from airflow_provider_logto.testing.management.routes import Routes
from airflow_provider_logto.testing.state import TenantState

_FILTERS = tuple(Field(name, "string") for name in ("userId", "applicationId", "logKey"))


def routes(state: TenantState) -> Routes:
    r = Routes()

    def list_logs(request: Request) -> Response:
        offset, limit = pagination(request) or (0, DEFAULT_PAGE_SIZE)  # koaPagination runs before the guard
        query = guard_query(request, _FILTERS)
        total, page = state.logs_page(offset, limit, log_key=query.get("logKey") or None,
                                      application_id=query.get("applicationId") or None,
                                      user_id=query.get("userId") or None)
        return paged(request, total, lambda offset, limit: page)

    def get_log(request: Request, log_id: str) -> Response:
        return Response.json(200, state.log_entry(log_id))

    r.add("GET", "/logs", list_logs)
    r.add("GET", "/logs/{log_id}", get_log)
    return r
