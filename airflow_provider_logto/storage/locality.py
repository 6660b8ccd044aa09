"""Whether a file a task writes can be seen by the tasks after it: local folders versus deployments whose
executor runs tasks on more than one machine.

LocalExecutor (and the Sequential and Debug executors) run every task on the scheduler's machine, so a task can
hand a file in a local folder to the next. CeleryExecutor runs each task on whichever worker takes it,
KubernetesExecutor in a fresh pod whose disk is gone when the task ends, and so on for every other executor: a
file on one worker's disk is not there for a task on another. Object storage (``s3://``, ``gs://``, ...) and a
folder mounted on every worker are. :func:`require_shared_location` turns the silent break (a missing file
later, or a result left on a disk nobody reads) into an immediate error naming the fix.
"""

from __future__ import annotations

import os

from airflow_provider_logto.exceptions import LogtoUsageError
from airflow_provider_logto.storage.writer import LOCAL_PROTOCOLS

SINGLE_MACHINE_EXECUTORS = frozenset({"LocalExecutor", "SequentialExecutor", "DebugExecutor"})


def is_local(location: str) -> bool:
    """A plain path or a ``file://`` URL: this machine's disk."""
    return "://" not in location or location.split("://", 1)[0].lower() in LOCAL_PROTOCOLS


def executors_beyond_one_machine() -> list[str]:
    """The configured executors that may run a task on another machine than the one before it (empty when
    every task runs here). ``[core] executor`` may list several (``LocalExecutor,CeleryExecutor``, with
    ``alias:module.Class`` entries); a KubernetesExecutor pod is recognised by the variable Airflow sets in it."""
    from airflow.providers.common.compat.sdk import conf

    if os.environ.get("AIRFLOW_IS_K8S_EXECUTOR_POD"):
        return ["KubernetesExecutor"]
    configured = conf.get("core", "executor", fallback="") or ""
    names = [entry.split(":")[-1].rsplit(".", 1)[-1].strip() for entry in configured.split(",") if entry.strip()]
    return [name for name in names if name not in SINGLE_MACHINE_EXECUTORS]


def require_shared_location(location: str, what: str, fix: str) -> None:
    """Raise :class:`LogtoUsageError` when ``location`` is a local folder and tasks may run on other machines."""
    elsewhere = executors_beyond_one_machine()
    if is_local(location) and elsewhere:
        raise LogtoUsageError(f"{what} {location} is on this worker's disk, but this deployment runs tasks with "
                              f"{' and '.join(elsewhere)}: a task on another worker or pod would not find it. "
                              f"{fix}")
