"""The sync's source, streamed: a list of dicts (from XCom or a template), or a JSON Lines or CSV file at a local
path, a URL (any Airflow object storage scheme: ``s3://``, ``gs://``, ``file://``, …) or an ``ObjectStoragePath``.

A source can be read more than once (the sync reads it to plan and again to apply), one record at a time.
Each record comes with its line number (its 1-based position for a list); a line that is not a JSON object
comes as a :class:`~airflow_provider_logto.sync.rows.RowError` instead, so one bad line never stops the others.

CSV columns: the profile fields, ``isSuspended`` (``true``/``false``), ``roles`` and ``organizations``
(``;``-separated names) and ``customData.<key>`` columns; an empty cell means "leave alone".
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_logto.exceptions import LogtoUsageError
from airflow_provider_logto.sync.rows import RowError

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

FORMATS = ("jsonl", "csv")
Record = tuple[int, "Mapping[str, Any] | RowError"]


class SyncSource:
    """A re-readable stream of ``(line, record)``; built (and checked) before any HTTP call."""

    def __init__(self, source: Any, *, conn_id: str | None = None, source_format: str | None = None) -> None:
        if source_format is not None and source_format not in FORMATS:
            raise LogtoUsageError(f"source_format must be one of {', '.join(FORMATS)} or None (from the file "
                                  f"name), not {source_format!r}")
        self._rows: Sequence[Any] | None = None
        self._path: Path | ObjectStoragePath | None = None
        self.location: str | None = None  # the file or object as a URL or absolute path; None for inline rows
        if isinstance(source, (list, tuple)):
            self._rows = source
            self.description = f"{len(source)} row(s) given inline"
            return
        self._path = _path(source, conn_id)
        self.format = source_format or ("csv" if self._path.name.lower().endswith(".csv") else "jsonl")
        try:
            exists = self._path.is_file()
        except (OSError, ValueError, ImportError) as error:  # object stores: credentials, bucket, missing provider
            raise LogtoUsageError(f"cannot read the source {self._path}: {type(error).__name__}: {error}") from None
        if not exists:
            raise LogtoUsageError(f"the source {self._path} does not exist or is not a file")
        self.description = f"{self.format} file {self._path}"
        self.location = str(self._path.absolute()) if isinstance(self._path, Path) else \
            f"{self._path.protocol}://{self._path.path}"

    def __iter__(self) -> Iterator[Record]:
        if self._rows is not None:
            for position, record in enumerate(self._rows, start=1):
                yield position, record if isinstance(record, Mapping) else RowError(
                    position, None, f"expected an object, got {type(record).__name__}")
            return
        assert self._path is not None
        with self._path.open("r", encoding="utf-8", newline="") as stream:
            # line by line through readline: Airflow 2's object-storage file wrapper does not forward iteration
            lines = iter(stream.readline, "")
            yield from (_csv_records(lines) if self.format == "csv" else _jsonl_records(lines))


def _path(source: Any, conn_id: str | None) -> Path | ObjectStoragePath:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    if isinstance(source, (Path, ObjectStoragePath)):
        return source
    if isinstance(source, str) and source.strip():
        source = source.strip()
        if source.startswith(("[", "{")):
            raise LogtoUsageError("source looks like JSON text, not a path: pass the list itself (an XComArg, or "
                                  "render_template_as_native_obj=True for a template)")
        return ObjectStoragePath(source, conn_id=conn_id) if "://" in source else Path(source).expanduser()
    raise LogtoUsageError(f"source must be a list of dicts, a path, a URL or an ObjectStoragePath, not "
                          f"{type(source).__name__}")


def _jsonl_records(lines: Iterable[str]) -> Iterator[Record]:
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as error:
            yield line_number, RowError(line_number, None, f"not valid JSON: {error}")
            continue
        yield line_number, record if isinstance(record, dict) else RowError(
            line_number, None, f"expected a JSON object, got {type(record).__name__}")


def _csv_records(lines: Iterable[str]) -> Iterator[Record]:
    reader = csv.DictReader(lines)
    for row in reader:
        line = reader.line_num
        if None in row:
            yield line, RowError(line, None, f"{len(row[None])} more cell(s) than the header has columns")
            continue
        yield line, _csv_record(row)


def _csv_record(row: Mapping[str, str | None]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for column, cell in row.items():
        if cell is None or cell == "":
            continue
        if column in ("roles", "organizations"):
            record[column] = [name.strip() for name in cell.split(";") if name.strip()]
        elif column == "isSuspended":
            lowered = cell.strip().lower()
            record[column] = {"true": True, "false": False}.get(lowered, cell)
        elif column.startswith("customData."):
            record.setdefault("customData", {})[column[len("customData."):]] = cell
        else:
            record[column] = cell
    return record
