"""DAGs started by Logto activity in a real Airflow 3.3 deployment: the triggerer as a process of its own runs
LogtoAuditLogTrigger, failed token requests at the emulator start ``example_logto_failed_token_requests``, the
triggerer is killed and restarted between two bursts, and six watchers share one poll.

Figures (printed): seconds from the first failing token request to the DAG run's start (median of 5,
``poll_interval=5``), events reported twice / lost across the restart, requests to ``/api/logs`` per poll.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_logto.compat import AIRFLOW_V_3_3_PLUS
from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from airflow_provider_logto.testing.seed import seed_demo
from tests.conftest import EXAMPLE_DAGS
from tests.deployment.airflow_deployment import AirflowDeployment, postgres_bin

pytestmark = [pytest.mark.timeout(1200),
              pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="shared polls and the asset state store: 3.3")]

HERE = Path(__file__).resolve().parent
EXAMPLE = "example_logto_failed_token_requests"
WATCHERS = [f"logto_audit_watch_{number}" for number in range(1, 6)]
WRONG_SECRET = "wrong-secret-{}-Zq8xPw3LmN0vRt5Y"
POLL_INTERVAL = 5
BURST = 3  # the example's min_entries


@dataclass
class Outcome:
    deployment: AirflowDeployment
    emulator: LogtoEmulator
    victim: M2MApp
    latencies: list[float] = field(default_factory=list)
    failures_sent: int = 0
    requests_per_poll: float = 0.0
    example_runs: list[dict[str, Any]] = field(default_factory=list)
    asset_events: list[dict[str, Any]] = field(default_factory=list)
    wrong_secrets: list[str] = field(default_factory=list)


def _token(emulator: LogtoEmulator, app: M2MApp, secret: str) -> int:
    return requests.post(f"{emulator.endpoint}/oidc/token", timeout=10, data={
        "grant_type": "client_credentials", "client_id": app.id, "client_secret": secret,
        "resource": emulator.management_api_resource, "scope": "all"}).status_code


def _runs(deployment: AirflowDeployment, dag_id: str) -> list[dict[str, Any]]:
    return list(deployment.rest("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100})["dag_runs"])


def _next_run(deployment: AirflowDeployment, dag_id: str, known: set[str], timeout: float = 120) -> dict[str, Any]:
    """The first run of ``dag_id`` not in ``known`` once it has started (it has a start_date)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deployment.check_alive()
        for run in _runs(deployment, dag_id):
            if run["dag_run_id"] not in known and run.get("start_date"):
                return run
        time.sleep(0.2)
    raise TimeoutError(deployment.failure(f"no new run of {dag_id} within {timeout:.0f} s", chars=6000))


def _burst(outcome: Outcome, size: int = BURST) -> float:
    """``size`` token requests with wrong secrets; returns when the first was sent (epoch seconds)."""
    started = time.time()
    for _ in range(size):
        secret = WRONG_SECRET.format(outcome.failures_sent)
        outcome.wrong_secrets.append(secret)
        assert _token(outcome.emulator, outcome.victim, secret) == 401
        outcome.failures_sent += 1
    return started


def _wait_for_polls(emulator: LogtoEmulator, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(emulator.journal.entries(method="GET", path="/api/logs")) >= 3:
            return
        time.sleep(1)
    raise TimeoutError("the triggerer never polled /api/logs")


def _finished(deployment: AirflowDeployment, dag_id: str, run_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = deployment.rest("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
        if run["state"] in ("success", "failed"):
            return dict(run)
        time.sleep(0.5)
    raise TimeoutError(f"{dag_id} {run_id} did not finish")


@pytest.fixture(scope="module")
def outcome() -> Iterator[Outcome]:
    if postgres_bin() is None:
        pytest.skip("needs PostgreSQL server binaries for the metadata database: apt-get install postgresql-15")
    pytest.importorskip("psycopg2", reason="needs psycopg2-binary for the PostgreSQL metadata database")
    pytest.importorskip("asyncpg", reason="Airflow 3.3's async engine needs asyncpg with PostgreSQL")
    with LogtoEmulator() as emulator:
        environment = seed_demo(emulator, users=1)
        environment.update({"AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",  # watchers of active DAGs only
                            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "10"})
        victim = emulator.add_m2m_app("Billing export (leaked secret)")
        dags = [EXAMPLE_DAGS / f"{EXAMPLE}.py", HERE / "dags" / "logto_audit_watchers.py"]
        with AirflowDeployment(dags, environment) as deployment:
            result = Outcome(deployment, emulator, victim)
            deployment.wait_for_dags([EXAMPLE, *WATCHERS])
            _wait_for_polls(emulator)
            time.sleep(3 * POLL_INTERVAL)  # every trigger started and joined the shared poll
            before = len(emulator.journal.entries(method="GET", path="/api/logs"))
            time.sleep(12 * POLL_INTERVAL)
            result.requests_per_poll = (len(emulator.journal.entries(method="GET", path="/api/logs")) - before) / 12

            known = {run["dag_run_id"] for run in _runs(deployment, EXAMPLE)}
            for _ in range(5):
                sent = _burst(result)
                run = _next_run(deployment, EXAMPLE, known)
                known.add(run["dag_run_id"])
                result.latencies.append(datetime.fromisoformat(run["start_date"]).timestamp() - sent)
                time.sleep(2)

            deployment.kill_component("triggerer")  # between two bursts
            time.sleep(2)
            _burst(result)  # while no triggerer runs
            time.sleep(2)
            deployment.start_component("triggerer")
            run = _next_run(deployment, EXAMPLE, known, timeout=180)
            known.add(run["dag_run_id"])
            time.sleep(4 * POLL_INTERVAL)  # anything reported twice would arrive now

            # a successful client_secret_post request: Logto logs the app secret's internal form, which the
            # Success watchers pick up into their events — it must not get there
            assert _token(emulator, victim, victim.secret) == 200
            time.sleep(3 * POLL_INTERVAL)
            result.example_runs = [_finished(deployment, EXAMPLE, run_id) for run_id in sorted(known)
                                   if run_id.startswith("asset_triggered")]
            result.asset_events = list(deployment.rest("GET", "/assets/events",
                                                       params={"limit": 100})["asset_events"])
            print(f"\nevents deployment: first failing token request → DAG run start: median "
                  f"{statistics.median(result.latencies):.1f} s of {[round(x, 1) for x in result.latencies]} "
                  f"(poll_interval={POLL_INTERVAL}); /api/logs requests per poll with 6 watchers: "
                  f"{result.requests_per_poll:.2f}")
            yield result


def _example_events(outcome: Outcome) -> list[dict[str, Any]]:
    return [event for event in outcome.asset_events if event["name"] == "logto_failed_token_requests"]


def test_failed_token_requests_start_the_example_dag(outcome: Outcome) -> None:
    assert outcome.emulator.internal_errors == []
    assert len(outcome.latencies) == 5 and statistics.median(outcome.latencies) < 4 * POLL_INTERVAL
    assert len(outcome.example_runs) == 6
    assert all(run["state"] == "success" for run in outcome.example_runs), outcome.example_runs
    deployment = outcome.deployment
    run_id = outcome.example_runs[0]["dag_run_id"]
    xcom = deployment.rest("GET", f"/dags/{EXAMPLE}/dagRuns/{run_id}/taskInstances/report_failed_apps/"
                                  "xcomEntries/return_value")
    report = xcom["value"] if isinstance(xcom["value"], dict) else json.loads(xcom["value"])
    assert report["failures"] == BURST and report["applications"] == {outcome.victim.id: BURST}
    assert report["ips"]


def test_a_triggerer_killed_between_bursts_reports_nothing_twice_and_loses_nothing(outcome: Outcome) -> None:
    events = _example_events(outcome)
    reported = [entry["id"] for event in events for entry in event["extra"]["payload"]["entries"]]
    counted = sum(event["extra"]["payload"]["count"] for event in events)
    twice = len(reported) - len(set(reported))
    lost = outcome.failures_sent - len(set(reported))
    print(f"\ntriggerer killed and restarted between bursts: {outcome.failures_sent} failures sent, "
          f"{len(events)} events, reported twice {twice}, lost {lost}")
    assert (counted, twice, lost) == (outcome.failures_sent, 0, 0)
    assert all(event["extra"]["payload"]["count"] == BURST for event in events)


def test_six_watchers_of_the_same_entries_share_one_poll(outcome: Outcome) -> None:
    # the example's watcher and five others: one GET /api/logs per poll, not six
    assert 0.7 <= outcome.requests_per_poll <= 1.5, outcome.requests_per_poll
    success_events = [event for event in outcome.asset_events if event["name"].startswith("logto_token_successes_")]
    assert success_events  # the Success watchers did fire


def test_no_secret_in_trigger_events_asset_extras_or_logs(outcome: Outcome) -> None:
    deployment = outcome.deployment
    # what Logto (the emulator) logged in full: the posted secrets, the internal form of the app secret
    internal = {entry["payload"]["params"]["client_secret"] for entry in _raw_logs(outcome)
                if isinstance(entry.get("payload", {}).get("params", {}).get("client_secret"), str)}
    assert internal  # the successful client_secret_post request logged the secret's internal form
    secrets = {outcome.victim.secret, *outcome.wrong_secrets, *internal}
    exposed = [("asset events", json.dumps(outcome.asset_events)),
               ("triggerer log", (deployment.root / "triggerer.log").read_text(errors="replace"))]
    for run in outcome.example_runs:
        base = f"/dags/{EXAMPLE}/dagRuns/{run['dag_run_id']}/taskInstances/report_failed_apps"
        exposed.append((f"{run['dag_run_id']} log", json.dumps(deployment.rest(
            "GET", f"{base}/logs/1", params={"full_content": "true"}, headers={"Accept": "application/json"}))))
    assert "Logto audit log: reporting" in exposed[1][1]  # the triggerer log was really read
    leaks = [(where, secret[:12]) for where, text in exposed for secret in secrets if secret in text]
    print(f"\nleak scan: {len(exposed)} documents, {len(secrets)} secrets, {len(leaks)} found")
    assert leaks == []


def _raw_logs(outcome: Outcome) -> list[dict[str, Any]]:
    """Every audit-log entry as Logto serves it, unredacted, read with a token of an app of its own."""
    emulator = outcome.emulator
    admin = emulator.add_m2m_app("Leak scan")
    token = requests.post(f"{emulator.endpoint}/oidc/token", timeout=10, auth=(admin.id, admin.secret), data={
        "grant_type": "client_credentials", "resource": emulator.management_api_resource, "scope": "all"})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    entries: list[dict[str, Any]] = []
    for page in range(1, 100):
        answer = requests.get(f"{emulator.endpoint}/api/logs", params={"page": page, "page_size": 100},
                              headers=headers, timeout=10)
        answer.raise_for_status()
        entries += answer.json()
        if len(answer.json()) < 100:
            return entries
    return entries
