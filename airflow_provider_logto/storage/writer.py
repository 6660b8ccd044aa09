"""Write an export to a local file or object storage in bounded memory: the whole export, or nothing.

:func:`open_export_writer` checks the destination first (before any Logto request) and returns a writer with
``write(bytes)``, ``commit()`` and ``abort()``:

- **Local paths and** ``file://``: written to ``<name>.part`` through a 1 MiB buffer, renamed over the target by
  ``commit()`` (atomic on one file system); ``abort()`` deletes the ``.part``. The check opens the ``.part``.
  *Hard kill* (SIGKILL, OOM, lost node): a ``<name>.part`` file stays beside the target; delete it (the next
  run of the same export overwrites it).
- **S3** (``s3://``, ``s3a://``, through Airflow's object storage with ``apache-airflow-providers-amazon`` and
  ``s3fs``): one S3 multipart upload straight to the target key, in parts of ``PART_SIZE`` (8 MiB), so memory
  holds at most one part. The check *is* ``CreateMultipartUpload`` on the target: it fails at once for a missing
  bucket or missing ``s3:PutObject`` permission, and creates nothing visible. ``commit()`` completes the upload
  (the object appears whole, in one step; an export under 8 MiB is a single ``PutObject``), ``abort()`` aborts
  it: no object appears, at the target or elsewhere, and an earlier object at the key stays as it was.
  *Hard kill*: an incomplete multipart upload stays, invisible but billed, until it is aborted; add a bucket
  lifecycle rule that aborts incomplete multipart uploads after a day
  (``AbortIncompleteMultipartUpload: {DaysAfterInitiation: 1}``), or list and abort them with
  ``aws s3api list-multipart-uploads`` / ``abort-multipart-upload``.
- **Other object stores** (``gs://``, ``abfs://``, … through their fsspec filesystems): written to
  ``<name>.part`` with ``PART_SIZE`` write blocks, moved over the target by ``commit()``; ``abort()`` deletes the
  ``.part`` object (which such stores create when the stream closes). The check is that the bucket or container
  exists. *Hard kill*: GCS drops an unfinished resumable upload after a week, Azure drops uncommitted blocks
  after a week; a ``.part`` object already closed stays until deleted.

Storage failures become :class:`~airflow_provider_logto.exceptions.LogtoUsageError` (the destination cannot be
used as given: missing bucket or directory, no permission, missing package) or
:class:`~airflow_provider_logto.exceptions.LogtoError` (the store failed), naming the destination and the fix.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_logto.exceptions import LogtoError, LogtoUsageError

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import ObjectStoragePath

PART_SIZE = 8 * 1024 * 1024
LOCAL_BUFFER = 1024 * 1024
S3_PROTOCOLS = frozenset({"s3", "s3a", "s3n"})
LOCAL_PROTOCOLS = frozenset({"file", "local"})
INSTALL_HINTS = {
    "s3": "pip install 'airflow-provider-logto[s3]' (apache-airflow-providers-amazon and s3fs)",
    "gs": "pip install apache-airflow-providers-google gcsfs",
    "gcs": "pip install apache-airflow-providers-google gcsfs",
    "abfs": "pip install apache-airflow-providers-microsoft-azure adlfs",
    "az": "pip install apache-airflow-providers-microsoft-azure adlfs",
}
log = logging.getLogger(__name__)


class ExportWriter(Protocol):
    """Where an export goes: ``write`` bytes, then exactly one of ``commit`` or ``abort``."""

    location: str

    def write(self, data: bytes) -> None: ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...


def open_export_writer(destination: Any, conn_id: str | None) -> ExportWriter:
    """A writer for ``destination`` (a local path, a URL or an ``ObjectStoragePath``), checked to be writable."""
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    conn_id = conn_id or None  # a template rendering to "" means no connection
    if isinstance(destination, str):
        if not destination.strip():
            raise LogtoUsageError("destination is empty: give a file path or a URL such as s3://bucket/users.jsonl")
        if "://" not in destination:
            return LocalFileWriter(Path(destination).expanduser().absolute(), destination)
        scheme = destination.split("://", 1)[0].lower()
        if scheme in LOCAL_PROTOCOLS:
            return LocalFileWriter(Path(destination.split("://", 1)[1]), destination)
        path = ObjectStoragePath(destination, conn_id=conn_id)
        location = destination
    elif isinstance(destination, Path):
        return LocalFileWriter(destination.expanduser().absolute(), str(destination))
    elif isinstance(destination, ObjectStoragePath):
        path = destination
        location = f"{path.protocol}://{path.path}" if path.protocol else str(path.path)
        conn_id = getattr(path, "conn_id", None) or conn_id
    else:
        raise LogtoUsageError(f"destination must be a path, a URL or an ObjectStoragePath, not "
                              f"{type(destination).__name__}")
    protocol = str(path.protocol or "file").lower()
    if protocol in LOCAL_PROTOCOLS:
        return LocalFileWriter(Path(path.path), location)
    try:
        fs = path.fs  # Airflow resolves the scheme's file system (and the connection) here
    except (ImportError, ValueError) as error:
        hint = INSTALL_HINTS.get(protocol, f"install the Airflow provider and fsspec package for {protocol}://")
        raise LogtoUsageError(f"cannot write the export to {location}: {error}. For {protocol}:// destinations, "
                              f"{hint}") from None
    if not path.name or location.endswith("/"):
        raise LogtoUsageError(f"destination {location} names no file; give the object's key, e.g. "
                              f"{location.rstrip('/')}/users.jsonl")
    if protocol in S3_PROTOCOLS and hasattr(fs, "call_s3"):
        return S3MultipartWriter(fs, str(path.path), location, conn_id)
    return FileSystemWriter(path, location, conn_id)


class LocalFileWriter:
    """``<name>.part`` beside the target, renamed over it on commit."""

    def __init__(self, target: Path, location: str) -> None:
        self.location = location
        if not target.name or target.is_dir():
            raise LogtoUsageError(f"destination {location} is a directory; name the file to write")
        self.target = target
        self.partial = target.with_name(f"{target.name}.part")
        try:
            self._stream = self.partial.open("wb", buffering=LOCAL_BUFFER)
        except FileNotFoundError:
            raise LogtoUsageError(f"cannot write the export to {location}: directory {target.parent} does not "
                                  "exist; create it or fix the destination") from None
        except OSError as error:
            raise LogtoUsageError(f"cannot write the export to {location}: {error.strerror or error}; check the "
                                  f"directory's permissions and free space") from None

    def write(self, data: bytes) -> None:
        self._stream.write(data)

    def commit(self) -> None:
        self._stream.close()
        os.replace(self.partial, self.target)

    def abort(self) -> None:
        self._stream.close()
        self.partial.unlink(missing_ok=True)


class S3MultipartWriter:
    """One S3 multipart upload to the target key, ``PART_SIZE`` parts, aborted on failure."""

    def __init__(self, fs: Any, path: str, location: str, conn_id: str | None) -> None:
        self.fs = fs
        self.location = location
        self.bucket, _, self.key = path.partition("/")
        self.conn_id = conn_id
        self._chunks: list[bytes] = []
        self._size = 0
        self._parts: list[dict[str, Any]] = []
        self._upload_id: str | None = None
        answer = self._call("create_multipart_upload", Bucket=self.bucket, Key=self.key)
        self._upload_id = answer["UploadId"]

    def write(self, data: bytes) -> None:
        self._chunks.append(data)
        self._size += len(data)
        if self._size >= PART_SIZE:
            body = b"".join(self._chunks)  # the chunks go at once: at most two part-sized buffers at a time
            self._chunks.clear()
            while len(body) >= PART_SIZE:
                part, body = body[:PART_SIZE], body[PART_SIZE:]
                self._upload_part(part)
                del part
            self._chunks, self._size = [body], len(body)

    def commit(self) -> None:
        body = b"".join(self._chunks)
        self._chunks.clear()
        if not self._parts:  # small export: one PutObject, and no upload left behind
            self._abort_upload()
            self._call("put_object", Bucket=self.bucket, Key=self.key, Body=body)
        else:
            if body:
                self._upload_part(body)
            self._call("complete_multipart_upload", Bucket=self.bucket, Key=self.key, UploadId=self._upload_id,
                       MultipartUpload={"Parts": self._parts})
            self._upload_id = None

    def abort(self) -> None:
        self._chunks.clear()
        try:
            self._abort_upload()
        except LogtoError as error:
            log.warning("Could not abort the multipart upload %s of %s (%s); nothing is visible, but S3 keeps the "
                        "uploaded parts until the upload is aborted: add a lifecycle rule aborting incomplete "
                        "multipart uploads, or run aws s3api abort-multipart-upload --bucket %s --key %s "
                        "--upload-id %s", self._upload_id, self.location, error, self.bucket, self.key,
                        self._upload_id)

    def _upload_part(self, body: bytes) -> None:
        number = len(self._parts) + 1
        answer = self._call("upload_part", Bucket=self.bucket, Key=self.key, UploadId=self._upload_id,
                            PartNumber=number, Body=body)
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def _abort_upload(self) -> None:
        if self._upload_id is not None:
            self._call("abort_multipart_upload", Bucket=self.bucket, Key=self.key, UploadId=self._upload_id)
            self._upload_id = None

    def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return self.fs.call_s3(method, **kwargs)
        except FileNotFoundError:
            raise LogtoUsageError(f"cannot write the export to {self.location}: bucket {self.bucket!r} does not "
                                  f"exist (S3 {method}); create it or fix the destination") from None
        except PermissionError:
            raise LogtoUsageError(f"cannot write the export to {self.location}: access denied (S3 {method}); "
                                  f"give the credentials of connection {self.conn_id!r} s3:PutObject and "
                                  "s3:AbortMultipartUpload on the key") from None
        except Exception as error:
            raise LogtoError(f"S3 {method} for {self.location} failed: {type(error).__name__}: {error}") from None


class FileSystemWriter:
    """Any other fsspec object store: ``<name>.part`` written in ``PART_SIZE`` blocks, moved over the target."""

    def __init__(self, path: ObjectStoragePath, location: str, conn_id: str | None) -> None:
        self.location = location
        self.target = path
        self.partial = path.with_name(f"{path.name}.part")
        bucket = str(path.path).lstrip("/").split("/", 1)[0]
        try:
            exists = path.fs.exists(bucket)
        except Exception as error:
            raise LogtoUsageError(f"cannot check the destination {location}: {type(error).__name__}: {error}; "
                                  f"check connection {conn_id!r}") from None
        if not exists:
            raise LogtoUsageError(f"cannot write the export to {location}: bucket or container {bucket!r} does not "
                                  "exist; create it or fix the destination")
        try:
            self._stream = self.partial.open("wb", block_size=PART_SIZE)
        except Exception as error:
            raise LogtoUsageError(f"cannot write the export to {location}: {type(error).__name__}: {error}") from None

    def write(self, data: bytes) -> None:
        self._stream.write(data)

    def commit(self) -> None:
        self._stream.close()
        self.partial.rename(self.target)

    def abort(self) -> None:
        try:
            self._stream.close()
        finally:
            self.partial.unlink(missing_ok=True)
