"""``LogtoExportOperator``: stream a Management API list (users by default) to a JSON Lines file."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_logto.connection_form import DEFAULT_CONN_ID
from airflow_provider_logto.exceptions import LogtoUsageError

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context, ObjectStoragePath


class LogtoExportOperator(BaseOperator):
    """Write every item of a paginated Management API list as JSON Lines, one page in memory at a time.

    The file is written beside the target as ``<name>.part`` and renamed when complete, so a failed export
    leaves no truncated file behind (the ``.part`` is removed). Returns ``{"count": n, "location": "..."}``.

    :param destination: a local path, a URL such as ``s3://bucket/users.jsonl`` or ``file:///tmp/u.jsonl``, or an
        ``ObjectStoragePath`` (templated).
    :param destination_conn_id: Airflow connection for the object store of a URL destination (templated).
    :param endpoint: the list to export, ``/users`` by default (templated).
    :param query_params: filters, e.g. ``{"search.primaryEmail": "%@example.com"}`` (templated).
    :param page_size: items per request (1–100).
    :param logto_conn_id: the ``logto`` connection (templated).
    """

    template_fields: Sequence[str] = ("logto_conn_id", "endpoint", "query_params", "destination",
                                      "destination_conn_id")
    template_fields_renderers = {"query_params": "json"}
    ui_color = "#e4e0f7"

    def __init__(self, *, destination: str | ObjectStoragePath, endpoint: str = "/users",
                 query_params: Mapping[str, Any] | None = None, page_size: int = 100,
                 destination_conn_id: str | None = None, logto_conn_id: str = DEFAULT_CONN_ID,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.destination = destination
        self.destination_conn_id = destination_conn_id
        self.endpoint = endpoint
        self.query_params = query_params
        self.page_size = page_size
        self.logto_conn_id = logto_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_logto.hooks.logto import LogtoHook

        target = self._target()
        hook = LogtoHook(logto_conn_id=self.logto_conn_id)
        items = hook.management_paginate(self.endpoint, params=self.query_params, page_size=self.page_size)
        partial = target.with_name(f"{target.name}.part")
        try:
            stream = partial.open("w", encoding="utf-8")  # before any HTTP call: fail early if not writable
        except OSError as error:
            raise LogtoUsageError(f"cannot write the export to {target}: {error}") from None
        count = 0
        try:
            with stream:
                for item in items:
                    stream.write(json.dumps(item, ensure_ascii=False, separators=(",", ":")))
                    stream.write("\n")
                    count += 1
            partial.rename(target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        self.log.info("Exported %d item(s) of %s to %s", count, self.endpoint, target)
        return {"count": count, "location": str(target)}

    def _target(self) -> Path | ObjectStoragePath:
        """The destination as a path object with open/rename/unlink, refusing directories."""
        from airflow.providers.common.compat.sdk import ObjectStoragePath

        destination = self.destination
        if isinstance(destination, str):
            if not destination.strip():
                raise LogtoUsageError("destination is empty: give a file path or a URL such as s3://bucket/u.jsonl")
            destination = (ObjectStoragePath(destination, conn_id=self.destination_conn_id)
                           if "://" in destination else Path(destination).expanduser().absolute())
        elif not isinstance(destination, (Path, ObjectStoragePath)):
            raise LogtoUsageError(f"destination must be a path, a URL or an ObjectStoragePath, not "
                                  f"{type(destination).__name__}")
        if not destination.name or destination.is_dir():
            raise LogtoUsageError(f"destination {destination} is a directory; name the file to write")
        return destination
