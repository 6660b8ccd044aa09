"""Export a very large tenant's users with Airflow's own scale-out: one mapped task per page range, one join.

``baseline`` reads ``Total-Number`` and the newest users (one request), ``plan`` cuts the list into ranges of
``pages_per_task`` pages; each range becomes a mapped ``LogtoExportOperator`` task writing its own part (the
last range reads on to the end, so users created meanwhile are not cut off); ``join`` streams the parts in order
into the final file, drops users two neighbouring parts both saw, adds up what each part may have missed plus
what changed between the parts' reads, and deletes the parts. A failed range is retried alone.

**Where the parts live.** The parts go from the mapped tasks to ``join`` through ``params.folder``. A local
folder works when every task runs on one machine (LocalExecutor). With CeleryExecutor or KubernetesExecutor the
tasks land on different workers or pods, so ``baseline`` fails at once unless ``params.folder`` is object storage
every worker reaches (``s3://bucket/prefix`` with ``params.storage_conn_id``) or ``params.mounted_on_every_worker``
says the folder is a shared mount (docs/multi-machine.md).

**Concurrency.** At most 4 parts run at once (``max_active_tis_per_dag=4``: the scheduler enforces it across every
worker and run), and it needs no setup, so the DAG runs on a fresh deployment. When other DAGs call the same
tenant, put all their Logto tasks in one pool instead (``pool="logto_api"``), created *before* the DAG runs:
``airflow pools set logto_api 4 "Logto Management API requests"`` — a task in a pool that does not exist is never
scheduled, and its run waits for ever with no error (only a DAG warning in the UI).

**Sizing for Logto Cloud** (about 200 requests per 10 s per tenant = 20 requests/s, shared by everything that
calls the tenant; a page is 100 users, one request):

- the tenant's budget, not Airflow, sets the floor: 1M users = 10,000 pages ≥ 500 s ≈ 8.5 min at 20 requests/s;
- give each task ``max_requests_per_second = 20 / parts at once`` (4 → 5 requests/s each), minus what other
  DAGs use, so the tasks together stay under the limit instead of provoking 429s (which are still absorbed:
  each task halves its concurrency on a burst of 429s and honours ``Retry-After``);
- ``pages_per_task = 500`` (50,000 users) makes a task of about 100 s at 5 requests/s — short enough to retry
  cheaply, long enough that the scheduling overhead stays small; 1M users → 20 mapped tasks;
- each task holds at most ``2 × max_concurrency`` pages (≈ 100 KB each) in memory, and a part goes to S3 in
  8 MiB multipart parts, so a worker slot needs tens of MiB, not the size of the export.

Connection ``logto_default``: an M2M app with the "Logto Management API access" role. ``params.folder`` is a
local directory or an object-storage URL (``s3://bucket/prefix``; set ``params.storage_conn_id``).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pendulum
from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_logto.operators.export import LogtoExportOperator

PAGE_SIZE = 100
PARTS_AT_ONCE = 4
REQUESTS_PER_SECOND_PER_TASK = 5  # Logto Cloud's ~20 requests/s divided by the parts running at once



def _path(location: str, conn_id: str | None) -> Any:
    """A part as a path object: local paths as they are, URLs through Airflow's object storage."""
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    return ObjectStoragePath(location, conn_id=conn_id) if "://" in location else Path(location)


def _open(location: str, conn_id: str | None) -> Any:
    """A part opened for reading; object stores read ahead 8 MiB at a time (s3fs would buffer 50 MiB)."""
    path = _path(location, conn_id)
    return path.open("rb", block_size=8 * 1024 * 1024) if "://" in location else path.open("rb")


with DAG(
    dag_id="example_logto_export_large_tenant",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["logto", "example"],
    doc_md=__doc__,
    params={
        "folder": Param(f"{tempfile.gettempdir()}/logto-export", type="string",
                        description="directory or s3://bucket/prefix for the parts and the final file"),
        "storage_conn_id": Param(None, type=["null", "string"], description="object storage connection"),
        "pages_per_task": Param(500, type="integer", minimum=1, description="pages of 100 users per task"),
        "mounted_on_every_worker": Param(False, type="boolean",
                                         description="a local folder that every worker mounts (NFS, a volume)"),
    },
) as dag:

    @task
    def baseline(params: dict[str, Any]) -> dict[str, Any]:
        """The list's size and its newest users now: where the ranges end, and what counts as created later.
        First, before any work: a local folder must be one that every task of the run can reach."""
        from airflow_provider_logto.hooks.logto import LogtoHook
        from airflow_provider_logto.storage.locality import require_shared_location

        if not params["mounted_on_every_worker"]:
            require_shared_location(params["folder"], "params.folder", (
                "Give params.folder object storage every worker reaches (s3://bucket/prefix, with "
                "params.storage_conn_id), or set params.mounted_on_every_worker to true if the folder is a mount "
                "that every worker shares."))

        head = LogtoHook().management_get("/users", params={"page": 1, "page_size": PAGE_SIZE})
        return {"total": head.total, "newest": [{"id": user["id"], "createdAt": user["createdAt"]}
                                                for user in head.body]}

    @task
    def plan(start: dict[str, Any], params: dict[str, Any]) -> list[dict[str, Any]]:
        """One range of ``pages_per_task`` pages per mapped task; the last one reads on to the end."""
        pages = max(1, -(-(start["total"] or 0) // PAGE_SIZE))
        size = params["pages_per_task"]
        folder = params["folder"].rstrip("/")
        if "://" not in folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
        return [{"first_page": first, "last_page": None if first + size > pages else first + size - 1,
                 "destination": f"{folder}/part-{number:05d}.jsonl"}
                for number, first in enumerate(range(1, pages + 1, size))]

    start = baseline()
    exported = LogtoExportOperator.partial(
        task_id="export_part",
        max_active_tis_per_dag=PARTS_AT_ONCE,
        page_size=PAGE_SIZE,
        max_concurrency=4,
        max_requests_per_second=REQUESTS_PER_SECOND_PER_TASK,
        destination_conn_id="{{ params.storage_conn_id or '' }}",
        retries=2,
    ).expand_kwargs(plan(start))

    @task
    def join(parts: list[dict[str, Any]], start: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        """The parts, in order and without repeats, as ``users.jsonl``; then the parts are deleted."""
        from airflow_provider_logto.hooks.logto import LogtoHook
        from airflow_provider_logto.listing.consistency import ListingConsistency
        from airflow_provider_logto.storage.writer import open_export_writer

        # read the mapped results by index: iterating Airflow 3's lazy XCom sequence probes one past its end, which
        # the Task SDK client logs as an error ("XCom not found") in the task log
        parts = [parts[index] for index in range(len(parts))]
        conn_id = params["storage_conn_id"] or None
        folder = params["folder"].rstrip("/")
        hook = LogtoHook()
        # the window is every part boundary: each was open from one part's read to the next one's
        consistency = ListingConsistency(start["newest"], start["total"], window=max(0, len(parts) - 1),
                                         newest_first=True)
        writer = open_export_writer(f"{folder}/users.jsonl", conn_id)
        count = 0
        try:
            for part in parts:
                with _open(part["location"], conn_id) as stream:
                    for line in iter(stream.readline, b""):  # Airflow 2's storage wrapper cannot be iterated
                        if consistency.accept(json.loads(line)):
                            writer.write(line)
                            count += 1
            writer.commit()
        except BaseException:
            writer.abort()
            raise

        def recount(page: int) -> tuple[list[Any], int | None]:
            answer = hook.management_get("/users", params={"page": page, "page_size": PAGE_SIZE})
            return answer.body, answer.total

        report = consistency.finish(recount, PAGE_SIZE)
        for part in parts:
            _path(part["location"], conn_id).unlink(missing_ok=True)
        within_parts = sum(part["possibly_missed"] or 0 for part in parts)
        return {"count": count, "location": writer.location, "parts": len(parts),
                "duplicates_skipped": report.duplicates_skipped + sum(part["duplicates_skipped"] for part in parts),
                "possibly_missed": (report.possibly_missed or 0) + within_parts,
                "summary": f"Exported {count} user(s) in {len(parts)} part(s) to {writer.location}"}

    join(exported.output, start)
