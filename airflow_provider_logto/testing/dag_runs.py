"""Run DAGs end to end in this process with Airflow's ``dag.test()`` and a real metadata database, and report
what happened — used by the example-DAG tests and by ``make demo``, and handy for testing your own DAGs against
the emulator.

Airflow reads its configuration when first imported, so call :func:`configure_airflow` before anything imports
``airflow``; then :func:`migrate_database` once, then :func:`run_dag` per DAG.
"""

from __future__ import annotations

import os
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
    """Point Airflow at ``home`` (config, SQLite database) and ``dags_folder``; no example DAGs."""
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags_folder)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    home.mkdir(parents=True, exist_ok=True)


def migrate_database() -> None:
    """``airflow db migrate`` for the configured home (in a subprocess, as an operator would run it)."""
    airflow = Path(sys.executable).with_name("airflow")
    result = subprocess.run([str(airflow), "db", "migrate"], capture_output=True, text=True, env=os.environ.copy(),
                            timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")


def load_dags(dags_folder: Path) -> dict[str, Any]:
    """The DAGs of a folder by id; an import error raises with Airflow's message."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dags_folder))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    return dict(bag.dags)


def run_dag(dag: Any, run_conf: dict[str, Any] | None = None) -> DagRunReport:
    """Run ``dag`` once with ``dag.test()`` and read back task states and return values from the database."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    started = time.monotonic()
    try:
        dag_run = dag.test(run_conf=run_conf)
    except Exception as error:  # a crash of the run itself, not of a task
        return DagRunReport(dag.dag_id, "crashed", seconds=time.monotonic() - started,
                            error=f"{type(error).__name__}: {error}")
    with create_session() as session:
        states = {ti.task_id: str(getattr(ti.state, "value", ti.state))
                  for ti in dag_run.get_task_instances(session=session)}
        rows = session.scalars(XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag.dag_id,
                                                  key="return_value")).all()
        values = {row.task_id: XComModel.deserialize_value(row) for row in rows}
    return DagRunReport(dag.dag_id, str(getattr(dag_run.state, "value", dag_run.state)), states, values,
                        time.monotonic() - started)
