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
- :class:`BaseEventTrigger`: triggers that start DAGs through an ``AssetWatcher`` (Airflow 3.0+). Airflow 2.11 has
  no event-driven scheduling: there it is a stand-in whose constructor raises
  :class:`~airflow_provider_logto.exceptions.LogtoUnsupportedAirflowError`,
  so a module defining such a trigger still imports.
- :data:`EVENT_DRIVEN_SCHEDULING`: DAGs scheduled on an ``Asset`` with ``watchers`` (Airflow 3.0+).
- :data:`ASSET_STATE_STORE`: Airflow 3.3 gives an event trigger ``asset_state_store`` (a watermark that survives
  a triggerer restart) and lets sibling triggers share one poll (``shared_stream_key``); 3.0–3.2 have neither.
- :func:`asset_state_accessors`: the per-asset accessors of a 3.3 trigger's ``asset_state_store``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from airflow import __version__ as _airflow_version
from airflow.triggers.base import BaseTrigger, TriggerEvent
from packaging.version import Version

from airflow_provider_logto.exceptions import LogtoUnsupportedAirflowError

AIRFLOW_VERSION = Version(Version(_airflow_version).base_version)
AIRFLOW_V_3_0_PLUS = Version("3.0.0") <= AIRFLOW_VERSION
AIRFLOW_V_3_1_PLUS = Version("3.1.0") <= AIRFLOW_VERSION
AIRFLOW_V_3_2_PLUS = Version("3.2.0") <= AIRFLOW_VERSION
AIRFLOW_V_3_3_PLUS = Version("3.3.0") <= AIRFLOW_VERSION

CONNECTION_FORM_IS_DECLARATIVE = AIRFLOW_V_3_2_PLUS
CONNECTION_FORM_NEEDS_FAB = AIRFLOW_V_3_0_PLUS and not AIRFLOW_V_3_1_PLUS
DAG_TEST_NEEDS_A_BUNDLE = AIRFLOW_V_3_0_PLUS
# Airflow 3.0's dag.test() runs a DAG the metadata database has never seen, so its assets are not active and a task
# with outlets fails ("inactive assets in its inlets or outlets"); 3.1+ syncs the DAG's bundle first.
DAG_TEST_SKIPS_THE_DATABASE = AIRFLOW_V_3_0_PLUS and not AIRFLOW_V_3_1_PLUS
EVENT_DRIVEN_SCHEDULING = AIRFLOW_V_3_0_PLUS
ASSET_STATE_STORE = AIRFLOW_V_3_3_PLUS


if TYPE_CHECKING or EVENT_DRIVEN_SCHEDULING:
    from airflow.triggers.base import BaseEventTrigger
else:
    class BaseEventTrigger(BaseTrigger):  # type: ignore[no-redef]
        """Airflow 2.x stand-in: defining a subclass works, creating one says what is missing."""

        def __init__(self, **kwargs: Any) -> None:
            raise LogtoUnsupportedAirflowError(
                f"{type(self).__name__} starts DAGs through an AssetWatcher: event-driven scheduling needs Airflow "
                f"3.0 or newer, and this is Airflow {_airflow_version}. Upgrade Airflow, or poll with a sensor or "
                "a scheduled DAG instead")


def asset_state_accessors(store: Any) -> list[Any]:
    """The per-asset accessors (``aget``/``aset``) of an Airflow 3.3 trigger's ``asset_state_store``, in a fixed
    order; empty for None. A trigger watching several assets (watchers with identical arguments are one trigger)
    has one accessor per asset: Airflow 3.3 offers no public way to list them, so they are read from the
    accessor map it builds (``AssetStateStoreAccessors``)."""
    if store is None:
        return []
    by_name: dict[str, Any] = getattr(store, "_by_name", {}) or {}
    by_uri: dict[str, Any] = getattr(store, "_by_uri", {}) or {}
    accessors = [by_name[name] for name in sorted(by_name)] + [by_uri[uri] for uri in sorted(by_uri)]
    return accessors or [store]


def dag_bag_class() -> Any:
    """Airflow's ``DagBag`` (imported when asked: it loads the scheduler side of Airflow)."""
    module = "airflow.dag_processing.dagbag" if AIRFLOW_V_3_2_PLUS else "airflow.models.dagbag"
    return import_module(module).DagBag


def sync_dag_to_db(dag: Any) -> None:
    """Record ``dag`` (already parsed) in the metadata database as a DAG processor does (Airflow 3.0), under the
    configured bundle that holds its file."""
    from pathlib import Path

    from airflow.dag_processing.bundles.manager import DagBundlesManager

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    fileloc = Path(dag.fileloc).resolve()
    for bundle in manager.get_all_dag_bundles():
        if fileloc.is_relative_to(Path(bundle.path).resolve()):
            bag = dag_bag_class()(include_examples=False, collect_dags=False)
            bag.bag_dag(dag)
            bag.sync_to_db(bundle.name, None)
            return
    raise RuntimeError(f"{fileloc} is in no configured DAG bundle (add_dags_folder() adds its folder)")


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
    "AIRFLOW_V_3_3_PLUS",
    "ASSET_STATE_STORE",
    "EVENT_DRIVEN_SCHEDULING",
    "CONNECTION_FORM_IS_DECLARATIVE",
    "CONNECTION_FORM_NEEDS_FAB",
    "DAG_TEST_NEEDS_A_BUNDLE",
    "DAG_TEST_SKIPS_THE_DATABASE",
    "BaseEventTrigger",
    "BaseTrigger",
    "TriggerEvent",
    "asset_state_accessors",
    "dag_bag_class",
    "return_values",
    "sync_dag_to_db",
]
