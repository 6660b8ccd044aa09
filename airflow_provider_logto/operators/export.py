"""``LogtoExportOperator``: stream a Management API list (users by default) to a JSON Lines file or object."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_logto.connection.form import DEFAULT_CONN_ID
from airflow_provider_logto.listing.concurrency import DEFAULT_MAX_CONCURRENCY

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context, ObjectStoragePath


class LogtoExportOperator(BaseOperator):
    """Write every item of a paginated Management API list as JSON Lines, fetching pages concurrently.

    Pages are read by :class:`~airflow_provider_logto.listing.paging.ConcurrentListing`: page 1 first, then up to
    ``max_concurrency`` requests at once (halved on each burst of 429s, growing back slowly), written in list
    order with at most ``2 × max_concurrency`` pages in memory; each item is written once, and the result counts
    the items that may be missing because the list changed during the export
    (:mod:`airflow_provider_logto.listing.consistency` states the guarantee). Progress is logged every 10 s.

    The destination is checked before any Logto request and written in bounded memory, all or nothing
    (:mod:`airflow_provider_logto.storage.writer`): a local file through ``<name>.part`` renamed when complete; S3 as
    one multipart upload in 8 MiB parts, aborted on failure, so a failed export leaves no object.

    Returns ``{"count", "location", "destination_conn_id", "pages", "seconds", "total_before", "total_after",
    "created_during_read", "deleted_during_read", "duplicates_skipped", "possibly_missed", "requests"}`` —
    ``location`` is the destination as given (``s3://bucket/key``), without the connection id.

    :param destination: a local path, a URL such as ``s3://bucket/users.jsonl`` or ``file:///tmp/u.jsonl``, or an
        ``ObjectStoragePath`` (templated).
    :param destination_conn_id: Airflow connection for the object store of a URL destination (templated).
    :param endpoint: the list to export, ``/users`` by default (templated).
    :param query_params: filters, e.g. ``{"search.primaryEmail": "%@example.com"}`` (templated).
    :param page_size: items per request (1–100).
    :param max_concurrency: the most page requests in flight at once (1–64, default 8).
    :param max_requests_per_second: pace requests when the tenant's limit is known (Logto Cloud: about 20 per
        second per tenant, shared by every task using it); None adapts to 429s only.
    :param first_page: export only pages ``first_page``..``last_page`` of the list (inclusive; for dynamic task
        mapping over page ranges). Default: the whole list.
    :param last_page: see ``first_page``.
    :param logto_conn_id: the ``logto`` connection (templated).

    Each ``Asset`` in ``outlets`` gets an event whose ``extra`` holds ``count``, ``location``, ``endpoint``,
    ``possibly_missed`` and ``requests``; with the OpenLineage provider installed, lineage shows the Logto
    collection (``logto://{host}``, e.g. ``users``) as input and the file or object as output.
    """

    template_fields: Sequence[str] = ("logto_conn_id", "endpoint", "query_params", "destination",
                                      "destination_conn_id")
    template_fields_renderers: ClassVar[dict[str, str]] = {"query_params": "json"}
    ui_color = "#e4e0f7"
    _lineage: tuple[list[tuple[str, str]], list[tuple[str, str]]] = ([], [])  # set by execute

    def __init__(self, *, destination: str | ObjectStoragePath, endpoint: str = "/users",
                 query_params: Mapping[str, Any] | None = None, page_size: int = 100,
                 max_concurrency: int = DEFAULT_MAX_CONCURRENCY, max_requests_per_second: float | None = None,
                 first_page: int | None = None, last_page: int | None = None,
                 destination_conn_id: str | None = None, logto_conn_id: str = DEFAULT_CONN_ID,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.destination = destination
        self.destination_conn_id = destination_conn_id
        self.endpoint = endpoint
        self.query_params = query_params
        self.page_size = page_size
        self.max_concurrency = max_concurrency
        self.max_requests_per_second = max_requests_per_second
        self.first_page = first_page
        self.last_page = last_page
        self.logto_conn_id = logto_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_logto.hooks.logto import LogtoHook
        from airflow_provider_logto.operators._lineage import attach_to_outlets, location_dataset, logto_dataset
        from airflow_provider_logto.storage.writer import open_export_writer

        hook = LogtoHook(logto_conn_id=self.logto_conn_id)
        _ = hook.settings  # a broken Logto connection fails here, before the destination is even touched
        listing = hook.management_paginate_concurrently(  # checks every argument; sends nothing yet
            self.endpoint, params=self.query_params, page_size=self.page_size,
            max_concurrency=self.max_concurrency, max_requests_per_second=self.max_requests_per_second,
            first_page=self.first_page, last_page=self.last_page, logger=self.log)
        writer = open_export_writer(self.destination, self.destination_conn_id)  # before any Logto request
        self._warn_if_on_this_worker_only(writer.location)
        try:
            lines: list[str] = []
            for item in listing:
                lines.append(json.dumps(item, ensure_ascii=False, separators=(",", ":")))
                if len(lines) >= self.page_size:
                    writer.write(("\n".join(lines) + "\n").encode())
                    lines.clear()
            if lines:
                writer.write(("\n".join(lines) + "\n").encode())
            writer.commit()
        except BaseException:
            writer.abort()
            raise
        summary = listing.summary()
        self.log.info("Exported %d item(s) of %s to %s in %.1f s (%d page(s), %s possibly missed)",
                      summary["count"], self.endpoint, writer.location, summary["seconds"], summary["pages"],
                      summary["possibly_missed"])
        self._lineage = ([logto_dataset(hook.settings.endpoint, self.endpoint)], [location_dataset(writer.location)])
        attach_to_outlets(self, context, {"count": summary["count"], "location": writer.location,
                                          "endpoint": self.endpoint, "possibly_missed": summary["possibly_missed"],
                                          "requests": summary["requests"]})
        return {"count": summary["count"], "location": writer.location,
                "destination_conn_id": self.destination_conn_id, **summary}

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage datasets of the finished export (called by the OpenLineage provider, when installed)."""
        from airflow_provider_logto.operators._lineage import operator_lineage

        return operator_lineage(*self._lineage)

    def _warn_if_on_this_worker_only(self, location: str) -> None:
        """A local destination is fine on one machine; with workers on many, say where the file is."""
        import socket

        from airflow_provider_logto.storage.locality import executors_beyond_one_machine, is_local

        elsewhere = executors_beyond_one_machine()
        if is_local(location) and elsewhere:
            self.log.warning("The export goes to %s on the disk of %s only: with %s, tasks on other workers or "
                             "pods cannot read it (and a pod's disk is gone when the task ends). To hand the "
                             "file on, export to object storage (s3://…, with destination_conn_id) or to a "
                             "folder mounted on every worker.", location, socket.gethostname(),
                             " and ".join(elsewhere))
