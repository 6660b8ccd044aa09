"""The audit-log trigger on every Airflow line: it imports everywhere; Airflow 3 makes it a BaseEventTrigger
(an AssetWatcher accepts it); Airflow 2.x, which has no event-driven scheduling, says so when it is created."""

from __future__ import annotations

import pytest

from airflow_provider_logto.compat import EVENT_DRIVEN_SCHEDULING


def test_the_trigger_module_imports_on_every_line() -> None:
    from airflow_provider_logto.triggers.audit_logs import LogtoAuditLogTrigger

    assert LogtoAuditLogTrigger.__name__ == "LogtoAuditLogTrigger"


@pytest.mark.skipif(EVENT_DRIVEN_SCHEDULING, reason="Airflow 2.x only")
def test_creating_it_on_airflow_2_says_event_driven_scheduling_needs_airflow_3() -> None:
    from airflow_provider_logto.exceptions import LogtoUnsupportedAirflowError
    from airflow_provider_logto.triggers.audit_logs import LogtoAuditLogTrigger

    with pytest.raises(LogtoUnsupportedAirflowError, match="event-driven scheduling needs Airflow 3.0 or newer"):
        LogtoAuditLogTrigger(log_key="ExchangeTokenBy.ClientCredentials", result="Error")


@pytest.mark.skipif(not EVENT_DRIVEN_SCHEDULING, reason="Airflow 3 only")
def test_on_airflow_3_an_asset_watcher_accepts_it() -> None:
    from airflow.sdk import Asset, AssetWatcher
    from airflow.triggers.base import BaseEventTrigger

    from airflow_provider_logto.triggers.audit_logs import LogtoAuditLogTrigger

    trigger = LogtoAuditLogTrigger(log_key="ExchangeTokenBy.ClientCredentials", result="Error", min_entries=3)
    assert isinstance(trigger, BaseEventTrigger)
    asset = Asset("failed_tokens", watchers=[AssetWatcher(name="failed_tokens", trigger=trigger)])
    assert asset.watchers[0].trigger is trigger
