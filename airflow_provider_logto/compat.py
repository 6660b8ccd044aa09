"""The named points where Airflow 2.11, 3.0, 3.1, 3.2 and 3.3 differ for this provider — the only place that asks
which Airflow is installed.

Most names come through ``airflow.providers.common.compat.sdk`` (``BaseHook``, ``BaseOperator``,
``BaseSensorOperator``, ``Context``, ``ObjectStoragePath``, ``mask_secret``, ``redact``, ``conf``, ``DAG``,
``task``, …), which maps them to ``airflow.sdk`` on Airflow 3 and to their Airflow 2 homes; import those from there.
This module holds what common-compat does not cover:

- :data:`AIRFLOW_V_3_0_PLUS`, :data:`AIRFLOW_V_3_1_PLUS`, :data:`AIRFLOW_V_3_2_PLUS`: the installed line, for the
  points below.
- :data:`CONNECTION_FORM_IS_DECLARATIVE`: Airflow 3.2+ builds the connection form from ``conn-fields`` in
  ``get_provider_info()`` and skips the hook's legacy classmethods; earlier lines call those classmethods.
- :data:`CONNECTION_FORM_NEEDS_FAB`: Airflow 3.0's API server calls them only when ``wtforms`` and
  ``flask_appbuilder`` are importable (e.g. with apache-airflow-providers-fab installed); 3.1 mocks them itself.
- :data:`DAG_TEST_NEEDS_A_BUNDLE`: Airflow 3 ``dag.test()`` runs only DAGs that a configured DAG bundle holds.
- :func:`dag_bag_class`: where ``DagBag`` lives (``airflow.dag_processing.dagbag`` from 3.2).
- :func:`return_values`: the tasks' return values (XCom) of a DAG run, read from the metadata database (Airflow 3
  stores serialized rows in ``XComModel``; 2.11's ``XCom`` rows deserialize themselves when loaded).
- :class:`BaseTrigger`, :class:`TriggerEvent`: deferrable triggers (``airflow.triggers.base`` on every line).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from airflow import __version__ as _airflow_version
from airflow.triggers.base import BaseTrigger, TriggerEvent
from packaging.version import Version

AIRFLOW_VERSION = Version(Version(_airflow_version).base_version)
AIRFLOW_V_3_0_PLUS = Version("3.0.0") <= AIRFLOW_VERSION
AIRFLOW_V_3_1_PLUS = Version("3.1.0") <= AIRFLOW_VERSION
AIRFLOW_V_3_2_PLUS = Version("3.2.0") <= AIRFLOW_VERSION

CONNECTION_FORM_IS_DECLARATIVE = AIRFLOW_V_3_2_PLUS
CONNECTION_FORM_NEEDS_FAB = AIRFLOW_V_3_0_PLUS and not AIRFLOW_V_3_1_PLUS
DAG_TEST_NEEDS_A_BUNDLE = AIRFLOW_V_3_0_PLUS


def dag_bag_class() -> Any:
    """Airflow's ``DagBag`` (imported when asked: it loads the scheduler side of Airflow)."""
    module = "airflow.dag_processing.dagbag" if AIRFLOW_V_3_2_PLUS else "airflow.models.dagbag"
    return import_module(module).DagBag


def return_values(session: Any, dag_id: str, run_id: str) -> dict[str, Any]:
    """Each task's return value (the ``return_value`` XCom) of one DAG run, deserialized."""
    from sqlalchemy import select

    xcom_module = import_module("airflow.models.xcom")
    model = xcom_module.XComModel if AIRFLOW_V_3_0_PLUS else xcom_module.XCom
    rows = session.scalars(select(model).where(model.dag_id == dag_id, model.run_id == run_id,
                                               model.key == "return_value")).all()
    if AIRFLOW_V_3_0_PLUS:
        return {row.task_id: model.deserialize_value(row) for row in rows}
    return {row.task_id: row.value for row in rows}  # Airflow 2 rows deserialize themselves when loaded


__all__ = [
    "AIRFLOW_VERSION",
    "AIRFLOW_V_3_0_PLUS",
    "AIRFLOW_V_3_1_PLUS",
    "AIRFLOW_V_3_2_PLUS",
    "CONNECTION_FORM_IS_DECLARATIVE",
    "CONNECTION_FORM_NEEDS_FAB",
    "DAG_TEST_NEEDS_A_BUNDLE",
    "BaseTrigger",
    "TriggerEvent",
    "dag_bag_class",
    "return_values",
]
