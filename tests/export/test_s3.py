"""Exports to S3 against a real S3-compatible server (moto in server mode, on 127.0.0.1, started here).

Needs the ``s3`` extra (apache-airflow-providers-amazon, s3fs) and moto[server] from the ``dev`` extra:
``pip install -e '.[test,dev,s3]'`` (what ``make test`` installs).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_logto.exceptions import (
    LogtoConnectionError,
    LogtoError,
    LogtoUsageError,
)
from airflow_provider_logto.operators.export import LogtoExportOperator
from airflow_provider_logto.storage import writer as storage
from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.export.conftest import add_users
from tests.helpers import HookFactory

INSTALL = "install the s3 and dev extras: pip install -e '.[test,dev,s3]'"
ThreadedMotoServer = pytest.importorskip("moto.server", reason=INSTALL).ThreadedMotoServer
boto3 = pytest.importorskip("boto3", reason=INSTALL)
pytest.importorskip("s3fs", reason=INSTALL)

BUCKET = "landing"


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    """An S3 server on a free loopback port for this module (Airflow caches a connection's file system, so the
    endpoint behind ``aws_moto`` stays the same while the module runs)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An empty bucket ``landing``, an ``aws_moto`` connection to the server, and a boto3 client for asserting."""
    monkeypatch.setenv("AIRFLOW_CONN_AWS_MOTO", json.dumps({
        "conn_type": "aws", "login": "moto-access-key", "password": "moto-secret-key-7d1e",
        "extra": {"endpoint_url": s3_server, "region_name": "us-east-1"}}))
    client = boto3.client("s3", endpoint_url=s3_server, aws_access_key_id="moto-access-key",
                          aws_secret_access_key="moto-secret-key-7d1e", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    yield client
    for upload in uploads(client):
        client.abort_multipart_upload(Bucket=BUCKET, Key=upload["Key"], UploadId=upload["UploadId"])
    for key in keys(client):
        client.delete_object(Bucket=BUCKET, Key=key)
    client.delete_bucket(Bucket=BUCKET)


def keys(client: Any) -> list[str]:
    return [entry["Key"] for entry in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def uploads(client: Any) -> list[dict[str, Any]]:
    return client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])


def read_ids(client: Any, key: str) -> list[str]:
    body = client.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    return [json.loads(line)["id"] for line in body.splitlines()]


def big_users(emulator: LogtoEmulator, count: int) -> list[str]:
    """Users of about 20 KB each, so a few pages fill a multipart part."""
    return [emulator.add_user(f"big{number}", custom_data={"notes": "x" * 20_000})["id"] for number in range(count)]


def test_small_export_is_one_object_at_the_plain_url(emulator: LogtoEmulator, default_conn: None,
                                                     s3: Any) -> None:
    ids = add_users(emulator, 250)
    result = LogtoExportOperator(task_id="x", destination=f"s3://{BUCKET}/logto/users.jsonl",
                                 destination_conn_id="aws_moto").execute({})
    assert result["location"] == f"s3://{BUCKET}/logto/users.jsonl"
    assert result["destination_conn_id"] == "aws_moto" and result["count"] == 250
    assert keys(s3) == ["logto/users.jsonl"] and uploads(s3) == []
    assert read_ids(s3, "logto/users.jsonl") == ids[::-1]


def test_large_export_is_a_multipart_upload_of_fixed_parts(emulator: LogtoEmulator, default_conn: None,
                                                           s3: Any) -> None:
    ids = big_users(emulator, 900)  # about 18 MB: three parts
    result = LogtoExportOperator(task_id="x", destination=f"s3://{BUCKET}/users.jsonl",
                                 destination_conn_id="aws_moto").execute({})
    assert result["count"] == 900 and keys(s3) == ["users.jsonl"] and uploads(s3) == []
    head = s3.head_object(Bucket=BUCKET, Key="users.jsonl", PartNumber=1)
    assert head["ContentLength"] == storage.PART_SIZE and head["PartsCount"] == 3
    assert read_ids(s3, "users.jsonl") == ids[::-1]


@pytest.mark.parametrize("previous", [None, b"previous export\n"])
def test_a_failure_after_page_5_leaves_no_object_and_no_upload(emulator: LogtoEmulator, management_app: M2MApp,
                                                               connect: HookFactory, s3: Any,
                                                               previous: bytes | None) -> None:
    connect(management_app, max_attempts=1)
    big_users(emulator, 1500)
    if previous is not None:
        s3.put_object(Bucket=BUCKET, Key="users.jsonl", Body=previous)
    emulator.set_latency(0.01)
    failing = threading_fault_after(emulator, pages=5)
    with pytest.raises(LogtoError):
        LogtoExportOperator(task_id="x", destination=f"s3://{BUCKET}/users.jsonl", destination_conn_id="aws_moto",
                            max_concurrency=1).execute({})
    failing.join()
    pages_read = sum(1 for entry in emulator.journal.entries(path="/api/users") if entry.status == 200)
    assert pages_read >= 5  # at least 10 MB were read: a part had been uploaded before the failure
    assert uploads(s3) == []  # the multipart upload (one 8 MiB part sent) was aborted
    if previous is None:
        assert keys(s3) == []
    else:  # an earlier export at the key is untouched
        assert keys(s3) == ["users.jsonl"]
        assert s3.get_object(Bucket=BUCKET, Key="users.jsonl")["Body"].read() == previous


def threading_fault_after(emulator: LogtoEmulator, pages: int) -> threading.Thread:
    """A thread that makes every users request fail with 500 once ``pages`` pages were answered."""

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if len(emulator.journal.entries(path="/api/users")) >= pages:
                emulator.add_fault("status", "/api/users", status=500, count=None)
                return
            time.sleep(0.001)

    thread = threading.Thread(target=watch)
    thread.start()
    return thread


def test_a_missing_bucket_fails_before_any_logto_request(emulator: LogtoEmulator, default_conn: None,
                                                         s3: Any) -> None:
    with pytest.raises(LogtoUsageError, match="bucket 'no-such-bucket' does not exist"):
        LogtoExportOperator(task_id="x", destination="s3://no-such-bucket/users.jsonl",
                            destination_conn_id="aws_moto").execute({})
    assert emulator.journal.entries() == []


def test_an_object_storage_path_destination_returns_its_plain_url(emulator: LogtoEmulator, default_conn: None,
                                                                  s3: Any) -> None:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    add_users(emulator, 3)
    path = ObjectStoragePath(f"s3://{BUCKET}/exports/u.jsonl", conn_id="aws_moto")
    result = LogtoExportOperator(task_id="x", destination=path).execute({})
    assert result["location"] == f"s3://{BUCKET}/exports/u.jsonl" and keys(s3) == ["exports/u.jsonl"]


def test_a_key_naming_no_file_is_refused(emulator: LogtoEmulator, default_conn: None, s3: Any) -> None:
    with pytest.raises(LogtoUsageError, match="names no file"):
        LogtoExportOperator(task_id="x", destination=f"s3://{BUCKET}/exports/",
                            destination_conn_id="aws_moto").execute({})
    assert emulator.journal.entries() == [] and uploads(s3) == []


def test_a_broken_logto_connection_fails_before_s3_is_touched(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_LOGTO_DEFAULT", json.dumps({"conn_type": "logto", "host": "",
                                                                 "login": "app", "password": "an-app-secret-4f9c2e"}))
    with pytest.raises(LogtoConnectionError, match="host"):  # not the missing bucket: S3 was never asked
        LogtoExportOperator(task_id="x", destination="s3://no-such-bucket/users.jsonl",
                            destination_conn_id="aws_moto").execute({})
    assert uploads(s3) == [] and keys(s3) == []
