"""The worker tier: one encrypted file per cache key in a private directory, shared by the task processes of
one worker (one machine or container), with an exclusive file lock for single-flight fetching.

The directory is ``[logto] token_cache_dir`` of the Airflow configuration (``AIRFLOW__LOGTO__TOKEN_CACHE_DIR``),
by default ``airflow-provider-logto-<uid>`` under the OS temporary directory: per user, created with mode 0700.
It is used only while it is a real directory owned by this user with no group or other permissions; a directory
someone else owns (another user may have created the name first in a shared ``/tmp``) is refused. Files are
``<sha256>.token`` (the name reveals nothing of the app or its secret) written atomically with mode 0600, plus an
empty ``<sha256>.lock`` per key for the lock.

It is a cache, never a hand-over: each machine (Celery worker, Kubernetes pod) has its own directory, and a
task on a machine whose directory is empty, gone or unusable fetches a token and goes on. Across many workers
that means one token per worker per lifetime; ``cache_sharing = deployment`` shares one across all of them
(docs/multi-machine.md has the measured counts).
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from airflow_provider_logto.auth.token_cache.sealing import Sealer
from airflow_provider_logto.auth.token_cache.stored import StoredToken, warn_once

CONFIG_SECTION = "logto"
CONFIG_KEY = "token_cache_dir"
_MAX_ENTRY_BYTES = 64 * 1024


def configured_directory() -> Path:
    """``[logto] token_cache_dir`` if set, else a per-user directory under the OS temporary directory."""
    from airflow.providers.common.compat.sdk import conf

    configured = conf.get(CONFIG_SECTION, CONFIG_KEY, fallback="") or ""
    if configured.strip():
        return Path(configured.strip()).expanduser()
    return Path(tempfile.gettempdir()) / f"airflow-provider-logto-{os.geteuid()}"


class WorkerFileTier:
    """The token of one cache key in the worker's cache directory."""

    name = "worker"

    def __init__(self, directory: Path, ident: str, sealer: Sealer) -> None:
        self.directory = directory
        self.path = directory / f"{ident}.token"
        self.lock_path = directory / f"{ident}.lock"
        self._sealer = sealer
        self._problem = f"worker:{directory}"  # one warning per process and directory, whatever goes wrong

    @classmethod
    def in_configured_directory(cls, ident: str, sealer: Sealer) -> WorkerFileTier:
        return cls(configured_directory(), ident, sealer)

    def _usable_directory(self) -> bool:
        """Create the directory (0700) if missing; refuse one that is not private to this user."""
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = os.lstat(self.directory)
        except OSError as error:
            warn_once(self._problem, "Logto token cache directory %s cannot be used (%s).",
                      self.directory, _reason(error))
            return False
        if not stat.S_ISDIR(info.st_mode):
            problem = "is not a directory (a symlink or file is never followed)"
        elif info.st_uid != os.geteuid():
            problem = f"belongs to uid {info.st_uid}, not to this user (uid {os.geteuid()})"
        elif info.st_mode & 0o077:
            problem = f"is open to other users (mode {stat.S_IMODE(info.st_mode):o}; it must be 700)"
        else:
            return True
        warn_once(self._problem, "Logto token cache directory %s %s; set [logto] token_cache_dir "
                  "to a private directory.", self.directory, problem)
        return False

    def read(self) -> StoredToken | None:
        if not self._usable_directory():
            return None
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return None
        except OSError as error:
            warn_once(self._problem, "Logto token cache entry %s cannot be read (%s).", self.path,
                      _reason(error))
            return None
        try:
            with os.fdopen(fd, "rb") as file:
                info = os.fstat(file.fileno())
                if info.st_uid != os.geteuid() or not stat.S_ISREG(info.st_mode):
                    warn_once(self._problem, "Logto token cache entry %s is not a file of this user.",
                              self.path)
                    return None
                blob = file.read(_MAX_ENTRY_BYTES)
        except OSError as error:
            warn_once(self._problem, "Logto token cache entry %s cannot be read (%s).", self.path,
                      _reason(error))
            return None
        try:
            token = self._sealer.open(blob)
        except ValueError as error:
            warn_once(self._problem, "Logto token cache entry %s is unusable (%s); it will be "
                      "replaced.", self.path, error)
            return None
        return token if token.fresh() else None

    def write(self, token: StoredToken) -> None:
        if not self._usable_directory():
            return
        temporary = None
        try:
            fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")  # mode 0600
            with os.fdopen(fd, "wb") as file:
                file.write(self._sealer.seal(token))
            os.replace(temporary, self.path)
        except OSError as error:
            warn_once(self._problem, "Logto token cache entry %s cannot be written (%s).",
                      self.path, _reason(error))
            if temporary is not None:
                with suppress(OSError):
                    os.unlink(temporary)

    def discard(self, value: str) -> None:
        token = self.read()
        if token is not None and token.value == value:
            with suppress(OSError):
                os.unlink(self.path)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """An exclusive ``flock`` on the key's lock file; without a usable lock, no single-flight (but no error)."""
        import fcntl

        fd = None
        if self._usable_directory():
            try:
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError as error:
                warn_once(self._problem, "Logto token cache lock %s cannot be taken (%s).",
                          self.lock_path, _reason(error))
                if fd is not None:
                    os.close(fd)
                    fd = None
        try:
            yield
        finally:
            if fd is not None:
                os.close(fd)  # closing releases the lock


def _reason(error: OSError) -> str:
    name = errno.errorcode.get(error.errno or 0, type(error).__name__)
    return f"{name}: {error.strerror or error}"
