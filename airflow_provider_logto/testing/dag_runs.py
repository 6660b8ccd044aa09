"""Run DAGs end to end in this process with Airflow's ``dag.test()`` and a real metadata database, and report
what happened — used by the example-DAG tests and by ``make demo``, and handy for testing your own DAGs against
the emulator.

Airflow reads its configuration when first imported, so call :func:`configure_airflow` before anything imports
``airflow``; then :func:`migrate_database` once, then :func:`run_dag` per DAG. DAGs of another folder than the
configured one: :func:`add_dags_folder` first. The same calls work on every supported Airflow line (2.11–3.3);
what differs is in :mod:`airflow_provider_logto.compat`.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class DagRunReport:
    """The outcome of one run: its state, each task's state and return value (XCom), and how long it took."""

    dag_id: str
    state: str
    task_states: dict[str, str] = field(default_factory=dict)
    return_values: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.state == "success" and all(state == "success" for state in self.task_states.values())


def configure_airflow(home: Path, dags_folder: Path) -> None:
    """Point Airflow at ``home`` (config, SQLite database) and ``dags_folder``; no example DAGs.

    Also gives the throw-away deployment a JWT signing secret when none is configured: the in-process Execution
    API that ``dag.test()`` starts on Airflow 3.0–3.2 refuses to start without one (3.3 stubs it out).
    """
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags_folder)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_urlsafe(32))
    home.mkdir(parents=True, exist_ok=True)


def add_dags_folder(folder: Path) -> None:
    """Let :func:`run_dag` run DAGs of ``folder`` besides those of the configured DAGs folder.

    Airflow 3's ``dag.test()`` runs only DAGs held by a configured DAG bundle, so ``folder`` becomes a local bundle
    next to the default ``dags-folder`` one; Airflow 2.11 runs any DAG object and needs nothing.
    """
    from airflow_provider_logto.compat import DAG_TEST_NEEDS_A_BUNDLE

    if not DAG_TEST_NEEDS_A_BUNDLE:
        return
    variable = "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"
    local = "airflow.dag_processing.bundles.local.LocalDagBundle"
    bundles = json.loads(os.environ.get(variable) or
                         json.dumps([{"name": "dags-folder", "classpath": local, "kwargs": {}}]))
    if not any(bundle.get("kwargs", {}).get("path") == str(folder) for bundle in bundles):
        bundles.append({"name": f"folder-{len(bundles)}", "classpath": local, "kwargs": {"path": str(folder)}})
    os.environ[variable] = json.dumps(bundles)


def migrate_database() -> None:
    """``airflow db migrate`` for the configured home (in a subprocess, as an operator would run it)."""
    airflow = Path(sys.executable).with_name("airflow")
    result = subprocess.run([str(airflow), "db", "migrate"], capture_output=True, text=True, env=os.environ.copy(),
                            timeout=600, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")


def load_dags(dags_folder: Path) -> dict[str, Any]:
    """The DAGs of a folder by id; an import error raises with Airflow's message."""
    from airflow_provider_logto.compat import dag_bag_class

    bag = dag_bag_class()(dag_folder=str(dags_folder))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    return dict(bag.dags)


def run_dag(dag: Any, run_conf: dict[str, Any] | None = None) -> DagRunReport:
    """Run ``dag`` once with ``dag.test()`` and read back task states and return values from the database."""
    from airflow.utils.session import create_session

    from airflow_provider_logto.compat import DAG_TEST_SKIPS_THE_DATABASE, return_values, sync_dag_to_db

    started = time.monotonic()
    try:
        if DAG_TEST_SKIPS_THE_DATABASE:
            sync_dag_to_db(dag)
        dag_run = dag.test(run_conf=run_conf)
    except Exception as error:
        return DagRunReport(dag.dag_id, "crashed", seconds=time.monotonic() - started,
                            error=f"{type(error).__name__}: {error}")
    with create_session() as session:
        states = {ti.task_id: str(getattr(ti.state, "value", ti.state))
                  for ti in dag_run.get_task_instances(session=session)}
        values = return_values(session, dag.dag_id, dag_run.run_id)
    return DagRunReport(dag.dag_id, str(getattr(dag_run.state, "value", dag_run.state)), states, values,
                        time.monotonic() - started)
