"""LogtoAuditLogTrigger against the emulator's audit log, in an asyncio loop as the triggerer runs it.

The position store stands in for Airflow 3.3's asset state store (in the triggerer it travels over the supervisor
channel; tests/deployment proves the real one across a triggerer restart). Sharing one poll goes through Airflow's
own SharedStreamManager.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import requests

from airflow_provider_logto.compat import AIRFLOW_V_3_3_PLUS
from airflow_provider_logto.testing import LogtoEmulator, M2MApp

pytestmark = pytest.mark.timeout(120)

FAILED = "ExchangeTokenBy.ClientCredentials"


class PositionStore:
    """One asset's state store: ``aget``/``aset`` of JSON values, as ``AssetStateStoreAccessor`` offers them."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.writes = 0

    async def aget(self, key: str, default: Any = None) -> Any:
        return json.loads(self.values[key]) if key in self.values else default

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = json.dumps(value)  # must be JSON
        self.writes += 1


@pytest.fixture
def watcher_app(emulator: LogtoEmulator, monkeypatch: pytest.MonkeyPatch) -> M2MApp:
    app = emulator.add_m2m_app("Airflow triggerer")
    monkeypatch.setenv("AIRFLOW_CONN_LOGTO_DEFAULT", emulator.airflow_connection(app, retry_backoff_ms=1))
    return app


def trigger(**options: Any) -> Any:
    from airflow_provider_logto.triggers.audit_logs import LogtoAuditLogTrigger

    options.setdefault("poll_interval", 1)
    return LogtoAuditLogTrigger(**options)


def fail_token(emulator: LogtoEmulator, app: M2MApp, secret: str = "wrong-secret-0123456789") -> None:
    """A token request with a wrong secret (client_secret_post): Logto logs it with result Error."""
    answer = requests.post(f"{emulator.endpoint}/oidc/token", timeout=10, data={
        "grant_type": "client_credentials", "client_id": app.id, "client_secret": secret,
        "resource": emulator.management_api_resource, "scope": "all"})
    assert answer.status_code == 401


def ok_token(emulator: LogtoEmulator, app: M2MApp) -> None:
    answer = requests.post(f"{emulator.endpoint}/oidc/token", timeout=10, data={
        "grant_type": "client_credentials", "client_id": app.id, "client_secret": app.secret,
        "resource": emulator.management_api_resource, "scope": "all"})
    assert answer.status_code == 200


class Events:
    """A trigger's run() driven in the background; ``next()`` waits for its next event."""

    def __init__(self, stream: AsyncIterator[Any]) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.task = asyncio.ensure_future(self._pump(stream))

    async def _pump(self, stream: AsyncIterator[Any]) -> None:
        async for event in stream:
            await self.queue.put(event.payload)

    async def next(self, timeout: float = 15) -> dict[str, Any]:
        return dict(await asyncio.wait_for(self.queue.get(), timeout))

    async def nothing_within(self, seconds: float) -> bool:
        await asyncio.sleep(seconds)
        return self.queue.empty()

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def started(watch: Any, emulator: LogtoEmulator) -> Events:
    """Run ``watch`` until it has read its starting position (one GET /api/logs)."""
    before = len(emulator.journal.entries(method="GET", path="/api/logs"))
    events = Events(watch.run())
    for _ in range(200):
        if len(emulator.journal.entries(method="GET", path="/api/logs")) > before:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)
    return events


def test_fires_once_min_entries_failures_arrived_and_reports_each_once(
        emulator: LogtoEmulator, watcher_app: M2MApp) -> None:
    victim = emulator.add_m2m_app("Billing sync")
    fail_token(emulator, victim)  # before the trigger starts: not reported

    async def scenario() -> list[dict[str, Any]]:
        events = await started(trigger(log_key=FAILED, result="Error", min_entries=3), emulator)
        try:
            fail_token(emulator, victim)
            fail_token(emulator, victim)
            ok_token(emulator, victim)  # a success: not counted
            assert await events.nothing_within(2.5)  # two failures: below min_entries
            fail_token(emulator, victim)
            first = await events.next()
            for _ in range(4):
                fail_token(emulator, victim)
            second = await events.next()
            assert await events.nothing_within(2.5)  # nothing reported twice
            return [first, second]
        finally:
            await events.stop()

    first, second = asyncio.run(scenario())
    assert (first["count"], len(first["entries"]), second["count"]) == (3, 3, 4)
    assert first["applications"] == {victim.id: 3} and second["applications"] == {victim.id: 4}
    assert set(first["ips"]) and all(entry["payload"]["result"] == "Error" for entry in first["entries"])
    assert first["first_created_at"] <= first["last_created_at"] < second["first_created_at"]
    ids = [entry["id"] for payload in (first, second) for entry in payload["entries"]]
    assert len(ids) == len(set(ids)) == 7
    text = json.dumps([first, second])
    assert "wrong-secret-0123456789" not in text and victim.secret not in text  # the posted secret is redacted


def test_entries_in_an_event_are_capped_but_the_count_is_exact(emulator: LogtoEmulator, watcher_app: M2MApp) -> None:
    from airflow_provider_logto.audit.watch import MAX_EVENT_ENTRIES

    async def scenario() -> dict[str, Any]:
        events = await started(trigger(log_key="Interaction.SignIn.Identifier.Password.Submit", result="Error",
                                       min_entries=30), emulator)
        try:
            for number in range(30):
                emulator.add_log("Interaction.SignIn.Identifier.Password.Submit", result="Error",
                                 payload={"ip": f"10.0.0.{number % 3}", "password": "hunter2-secret"})
            return await events.next()
        finally:
            await events.stop()

    payload = asyncio.run(scenario())
    assert payload["count"] == 30 and len(payload["entries"]) == MAX_EVENT_ENTRIES
    assert payload["entries_omitted"] == 30 - MAX_EVENT_ENTRIES
    assert payload["ips"] == {"10.0.0.0": 10, "10.0.0.1": 10, "10.0.0.2": 10}
    assert "hunter2-secret" not in json.dumps(payload)


def test_a_restart_with_the_stored_position_reports_nothing_twice_and_loses_nothing(
        emulator: LogtoEmulator, watcher_app: M2MApp) -> None:
    victim = emulator.add_m2m_app("Reports")
    store = PositionStore()

    async def scenario() -> list[dict[str, Any]]:
        first_watch = trigger(log_key=FAILED, result="Error", min_entries=2)
        first_watch.asset_state_store = store
        events = await started(first_watch, emulator)
        fail_token(emulator, victim)
        fail_token(emulator, victim)
        first = await events.next()
        await asyncio.sleep(0.3)
        await events.stop()  # the triggerer goes away...
        for _ in range(3):  # ...while these happen
            fail_token(emulator, victim)
        second_watch = trigger(log_key=FAILED, result="Error", min_entries=2)
        second_watch.asset_state_store = store
        events = Events(second_watch.run())
        try:
            second = await events.next()
            assert await events.nothing_within(2.5)
            return [first, second]
        finally:
            await events.stop()

    first, second = asyncio.run(scenario())
    assert (first["count"], second["count"]) == (2, 3)
    ids = [entry["id"] for payload in (first, second) for entry in payload["entries"]]
    assert len(set(ids)) == 5
    stored = json.dumps(store.values)
    assert "wrong-secret-0123456789" not in stored  # pending entries are stored redacted


def test_idle_costs_one_request_per_poll_and_no_state_writes(emulator: LogtoEmulator, watcher_app: M2MApp) -> None:
    store = PositionStore()

    async def scenario() -> int:
        watch = trigger(log_key=FAILED, result="Error")
        watch.asset_state_store = store
        events = await started(watch, emulator)
        writes = store.writes
        before = len(emulator.journal.entries(method="GET", path="/api/logs"))
        await asyncio.sleep(5.5)
        reads = len(emulator.journal.entries(method="GET", path="/api/logs")) - before
        await events.stop()
        assert store.writes == writes  # nothing new: the position is not rewritten
        return reads

    reads = asyncio.run(scenario())
    assert 5 <= reads <= 6  # one per second


@pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="Airflow 3.3's shared streams")
def test_five_watchers_with_the_same_logto_filters_share_one_poll(emulator: LogtoEmulator,
                                                                   watcher_app: M2MApp) -> None:
    from airflow.triggers.shared_stream import SharedStreamManager

    victim = emulator.add_m2m_app("Mobile backend")
    watches = [trigger(log_key=FAILED, result="Error" if n % 2 else None, min_entries=n) for n in range(1, 6)]
    assert len({watch.shared_stream_key() for watch in watches}) == 1

    async def scenario() -> tuple[list[list[dict[str, Any]]], int]:
        manager = SharedStreamManager()
        key = watches[0].shared_stream_key()
        streams = [Events(watch.filter_shared_stream(manager.subscribe(trigger_id=n, trigger=watch, key=key)))
                   for n, watch in enumerate(watches)]
        await asyncio.sleep(2)
        before = len(emulator.journal.entries(method="GET", path="/api/logs"))
        await asyncio.sleep(5)
        polls = len(emulator.journal.entries(method="GET", path="/api/logs")) - before
        for _ in range(5):
            fail_token(emulator, victim)
        got = [[await events.next()] for events in streams]
        for events in streams:
            await events.stop()
        for n in range(len(watches)):
            await manager.unsubscribe(n, key)
        return got, polls

    got, polls = asyncio.run(scenario())
    assert 4 <= polls <= 6  # one poll loop for five triggers, one request a second
    assert [events[0]["count"] for events in got] == [5, 5, 5, 5, 5]


def test_transient_failures_keep_polling_and_nothing_is_lost(emulator: LogtoEmulator, watcher_app: M2MApp,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    victim = emulator.add_m2m_app("Flaky")

    async def scenario() -> dict[str, Any]:
        events = await started(trigger(log_key=FAILED, result="Error"), emulator)
        try:
            emulator.add_fault("status", "/api/logs", method="GET", status=503, count=12)
            fail_token(emulator, victim)
            return await events.next(timeout=40)
        finally:
            await events.stop()

    with caplog.at_level(logging.WARNING, logger="airflow_provider_logto.triggers.audit_logs"):
        payload = asyncio.run(scenario())
    assert payload["count"] == 1
    assert "polling again in" in caplog.text


def test_a_wrong_secret_is_logged_with_the_fix_and_does_not_spin(emulator: LogtoEmulator, watcher_app: M2MApp,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_LOGTO_DEFAULT", emulator.airflow_connection(
        M2MApp(watcher_app.id, "not-the-secret", "x"), retry_backoff_ms=1))

    async def scenario() -> None:
        events = Events(trigger(log_key=FAILED).run())
        await asyncio.sleep(4)
        await events.stop()

    with caplog.at_level(logging.ERROR, logger="airflow_provider_logto.triggers.audit_logs"):
        asyncio.run(scenario())
    token_requests = emulator.journal.entries(method="POST", path="/oidc/token")
    assert 1 <= len(token_requests) <= 2  # not once per second
    assert "waiting will not fix it" in caplog.text and "Fix the connection 'logto_default'" in caplog.text
    assert "not-the-secret" not in caplog.text


def test_serialized_form_holds_plain_arguments_only(watcher_app: M2MApp) -> None:
    classpath, kwargs = trigger(log_key=FAILED, result="Error", min_entries=3).serialize()
    assert classpath == "airflow_provider_logto.triggers.audit_logs.LogtoAuditLogTrigger"
    assert kwargs == {"logto_conn_id": "logto_default", "log_key": FAILED, "application_id": None,
                      "user_id": None, "result": "Error", "poll_interval": 1.0, "min_entries": 3}
    assert trigger(**kwargs).serialize() == (classpath, kwargs)


@pytest.mark.parametrize(("options", "message"), [
    ({"result": "error"}, "result must be 'Success', 'Error' or None"),
    ({"min_entries": 0}, "min_entries must be a whole number >= 1"),
    ({"poll_interval": 0.1}, "poll_interval must be a number of seconds >= 1"),
    ({"log_key": ""}, "log_key must be a non-empty string"),
])
def test_wrong_arguments_fail_when_the_dag_is_parsed(options: dict[str, Any], message: str) -> None:
    from airflow_provider_logto.exceptions import LogtoUsageError

    with pytest.raises(LogtoUsageError, match=message):
        trigger(**options)


@pytest.fixture(autouse=True)
def no_leftover_polls() -> Iterator[None]:
    from airflow_provider_logto.triggers import audit_logs

    yield
    assert audit_logs._FLOORS == {}


def test_more_entries_than_one_page_between_polls_are_each_reported_once(emulator: LogtoEmulator,
                                                                          watcher_app: M2MApp) -> None:
    async def scenario() -> dict[str, Any]:
        events = await started(trigger(log_key="Interaction.Create", min_entries=250), emulator)
        try:
            now = int(time.time() * 1000)
            emulator.add_logs([{"key": "Interaction.Create", "created_at": now - 500 + number % 7}
                               for number in range(250)])  # many in the same milliseconds
            return await events.next()
        finally:
            await events.stop()

    payload = asyncio.run(scenario())
    assert payload["count"] == 250 and payload["entries_omitted"] == 230
