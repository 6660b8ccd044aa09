"""The export writers for local files and generic fsspec stores (``memory://`` stands in for gs://, abfs://)."""

from __future__ import annotations

import json
from pathlib import Path

import fsspec
import pytest

from airflow_provider_logto.exceptions import LogtoError, LogtoUsageError
from airflow_provider_logto.operators.export import LogtoExportOperator
from airflow_provider_logto.storage.writer import (
    FileSystemWriter,
    LocalFileWriter,
    open_export_writer,
)
from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.export.conftest import add_users
from tests.helpers import HookFactory


@pytest.fixture
def memory_bucket() -> str:
    """An fsspec in-memory store attached to Airflow's object storage, with an empty bucket ``landing``."""
    from airflow.sdk.io import attach

    fs = fsspec.filesystem("memory")
    for entry in fs.ls("/", detail=False):
        fs.rm(entry, recursive=True)
    fs.mkdir("/landing")
    attach("memory", fs=fs)
    return "memory://landing"


def test_local_writer_commits_by_rename_and_aborts_without_a_trace(tmp_path: Path) -> None:
    target = tmp_path / "u.jsonl"
    target.write_text("previous\n")
    writer = open_export_writer(str(target), None)
    assert isinstance(writer, LocalFileWriter)
    writer.write(b"half\n")
    writer.abort()
    assert target.read_text() == "previous\n" and list(tmp_path.iterdir()) == [target]
    writer = open_export_writer(f"file://{target}", None)
    writer.write(b"new\n")
    writer.commit()
    assert target.read_text() == "new\n" and writer.location == f"file://{target}"


def test_object_store_export_through_a_part_object(emulator: LogtoEmulator, default_conn: None,
                                                   memory_bucket: str) -> None:
    ids = add_users(emulator, 120)
    result = LogtoExportOperator(task_id="x", destination=f"{memory_bucket}/u.jsonl").execute({})
    fs = fsspec.filesystem("memory")
    assert result["location"] == f"{memory_bucket}/u.jsonl"
    assert [json.loads(line)["id"] for line in fs.cat("/landing/u.jsonl").splitlines()] == ids[::-1]
    assert fs.ls("/landing", detail=False) == ["/landing/u.jsonl"]


def test_object_store_failure_removes_the_part_object(emulator: LogtoEmulator, management_app: M2MApp,
                                                      connect: HookFactory, memory_bucket: str) -> None:
    connect(management_app, max_attempts=1)
    add_users(emulator, 250)
    emulator.add_fault("status", "/api/users", status=500, count=None)
    with pytest.raises(LogtoError):
        LogtoExportOperator(task_id="x", destination=f"{memory_bucket}/u.jsonl").execute({})
    assert fsspec.filesystem("memory").ls("/landing", detail=False) == []


def test_object_store_missing_bucket_fails_before_any_request(emulator: LogtoEmulator, default_conn: None,
                                                              memory_bucket: str) -> None:
    with pytest.raises(LogtoUsageError, match="'nowhere' does not exist"):
        LogtoExportOperator(task_id="x", destination="memory://nowhere/u.jsonl").execute({})
    assert emulator.journal.entries() == []


def test_generic_writer_is_used_for_other_protocols(memory_bucket: str) -> None:
    writer = open_export_writer(f"{memory_bucket}/w.jsonl", "")
    assert isinstance(writer, FileSystemWriter)
    writer.abort()


def test_an_unknown_scheme_says_what_to_install() -> None:
    with pytest.raises(LogtoUsageError, match="gcsfs"):
        open_export_writer("gs://bucket/u.jsonl", None)
