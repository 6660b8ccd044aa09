"""What a data-moving operator reports about what it moved: the extra of its outlet asset events (counts, window,
location — read downstream from ``triggering_asset_events``) and its OpenLineage datasets.

Datasets are plain ``(namespace, name)`` pairs until OpenLineage asks for them: its classes are imported only in
:func:`operator_lineage`, which the OpenLineage provider's listener calls through an operator's
``get_openlineage_facets_on_complete`` — so without that provider nothing here imports it. Naming follows
OpenLineage's conventions where they exist (``file`` + absolute path; ``s3://bucket`` + key; ``gs://bucket`` +
key …) and, for Logto, namespace ``logto://{host}`` of the connection's endpoint with the Management API
collection as name (``users``, ``logs``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

Dataset = tuple[str, str]  # (namespace, name)


def logto_dataset(endpoint: str, collection: str) -> Dataset:
    """The Logto tenant behind ``endpoint`` (its URL) and one of its Management API collections."""
    parts = urlsplit(endpoint)
    name = collection.split("?", 1)[0].strip("/") or "users"
    return f"logto://{parts.netloc or parts.path}", name


def location_dataset(location: str) -> Dataset:
    """A file or object: ``/tmp/u.jsonl`` or ``file:///tmp/u.jsonl`` → (``file``, ``/tmp/u.jsonl``);
    ``s3://bucket/a/b.jsonl`` → (``s3://bucket``, ``a/b.jsonl``)."""
    parts = urlsplit(location)
    if not parts.scheme or parts.scheme == "file" or len(parts.scheme) == 1:  # len 1: a Windows drive letter
        path = parts.path if parts.scheme == "file" else location
        return "file", str(Path(path).expanduser().absolute())
    return f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/")


def attach_to_outlets(operator: Any, context: Mapping[str, Any], extra: Mapping[str, Any],
                      holding: str | None = None) -> int:
    """Put ``extra`` (JSON) on the asset event of each ``Asset`` outlet of ``operator``; returns how many. With
    ``holding``, only outlets whose URI is that location or a folder above it (the export's own destination).

    Airflow records the events when the task succeeds (2.11: datasets, same ``outlet_events`` accessor); a
    downstream DAG reads ``extra`` from ``triggering_asset_events``. Aliases are left to the DAG author.
    """
    from airflow.providers.common.compat.sdk import Asset

    events = context.get("outlet_events")
    if events is None:
        return 0
    attached = 0
    for outlet in getattr(operator, "outlets", None) or []:
        if isinstance(outlet, Asset) and (holding is None or _holds(str(outlet.uri), holding)):
            events[outlet].extra.update(extra)
            attached += 1
    return attached


def operator_lineage(inputs: list[Dataset], outputs: list[Dataset]) -> Any:
    """An OpenLineage ``OperatorLineage`` with these datasets (needs apache-airflow-providers-openlineage)."""
    from airflow.providers.common.compat.openlineage.facet import Dataset as OpenLineageDataset
    from airflow.providers.openlineage.extractors import OperatorLineage

    return OperatorLineage(inputs=[OpenLineageDataset(namespace=ns, name=name) for ns, name in inputs],
                           outputs=[OpenLineageDataset(namespace=ns, name=name) for ns, name in outputs])


def _holds(uri: str, location: str) -> bool:
    """``location`` is the asset ``uri`` or lies under it (a folder asset); local paths match ``file://`` URIs."""
    if "://" not in location:
        location = f"file://{location}"
    uri = uri.rstrip("/")
    return location == uri or location.startswith(uri + "/")
