"""The provider in a real Airflow 3 deployment: api-server, scheduler (LocalExecutor), dag-processor and
triggerer as separate processes, a PostgreSQL metadata database, every task in a process of its own, DAG runs
triggered through the REST API without a logical date — as a platform team runs it, unlike ``dag.test()``.

One module-scoped deployment serves every test here: it runs each example DAG twice and the 20-task DAG once per
token cache mode, and the tests then check what happened: run and task states, the sensor's deferral, token
requests counted at the emulator, and that no secret shows in what the deployment exposes.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from airflow_provider_logto.testing.seed import seed_demo
from tests.conftest import EXAMPLE_DAGS
from tests.deployment.airflow_deployment import AirflowDeployment, postgres_bin

pytestmark = pytest.mark.timeout(900)

HERE = Path(__file__).resolve().parent
EXAMPLES = ("example_logto_list_users", "example_logto_shopping_api", "example_logto_user_lifecycle",
            "example_logto_export_users", "example_logto_export_large_tenant", "example_logto_user_sync",
            "example_logto_audit_logs")
AUDIT_DOWNSTREAM = "example_logto_audit_logs_arrived"
PARALLEL = "logto_parallel_tokens"
RUN_TIMEOUT = 300  # seconds for one round of DAG runs
MEMBER_DELAY = 20  # seconds before the lifecycle example adds the member the sensor waits for


@dataclass
class Run:
    dag_id: str
    run_id: str
    state: str = "queued"
    tasks: dict[str, str] = field(default_factory=dict)
    deferred: set[str] = field(default_factory=set)  # tasks seen in state "deferred"


@dataclass
class Outcome:
    deployment: AirflowDeployment
    emulator: LogtoEmulator
    apps: dict[str, M2MApp]
    runs: list[Run]
    audit_folder: Path
    audit_credentials: dict[str, str]  # what the audit log holds: the posted secret, its internal form, a token


def _wait(deployment: AirflowDeployment, runs: list[Run]) -> None:
    """Poll until every run finished, noting each task seen deferred (the REST API's TI state)."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        deployment.check_alive()
        pending = [run for run in runs if run.state not in ("success", "failed")]
        if not pending:
            return
        for run in pending:
            instances = deployment.task_instances(run.dag_id, run.run_id)
            run.tasks = {ti["task_id"]: str(ti["state"]) for ti in instances}
            run.deferred |= {task for task, state in run.tasks.items() if state == "deferred"}
            run.state = deployment.run_state(run.dag_id, run.run_id)
            if run.state in ("success", "failed"):
                run.tasks = {ti["task_id"]: str(ti["state"])
                             for ti in deployment.task_instances(run.dag_id, run.run_id)}
        time.sleep(0.5)
    raise TimeoutError(f"runs still going after {RUN_TIMEOUT} s: "
                       f"{[(r.dag_id, r.state, r.tasks) for r in runs if r.state not in ('success', 'failed')]}"
                       f"\n{deployment.logs_tail()}")


def _round(deployment: AirflowDeployment, triggers: list[tuple[str, dict[str, Any]]]) -> list[Run]:
    runs = [Run(dag_id, deployment.trigger(dag_id, conf)) for dag_id, conf in triggers]
    _wait(deployment, runs)
    return runs


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    if postgres_bin() is None:
        pytest.skip("needs PostgreSQL server binaries for the metadata database: apt-get install postgresql-15")
    pytest.importorskip("psycopg2", reason="needs psycopg2-binary for the PostgreSQL metadata database")
    pytest.importorskip("asyncpg", reason="Airflow 3.3's async engine needs asyncpg with PostgreSQL")
    with LogtoEmulator() as emulator:
        environment = seed_demo(emulator, users=3)
        apps = {"parallel": emulator.add_m2m_app("Airflow parallel (worker cache)"),
                "deployment": emulator.add_m2m_app("Airflow parallel (deployment cache)")}
        environment["AIRFLOW_CONN_LOGTO_PARALLEL"] = emulator.airflow_connection(apps["parallel"])
        environment["AIRFLOW_CONN_LOGTO_PARALLEL_DEPLOYMENT"] = emulator.airflow_connection(
            apps["deployment"], cache_sharing="deployment")
        export_to = tmp_path_factory.mktemp("export") / "users.jsonl"
        large_export_to = tmp_path_factory.mktemp("large-export")
        hr_exports = tmp_path_factory.mktemp("hr-exports")
        audit_folder = tmp_path_factory.mktemp("audit-log")
        environment["LOGTO_AUDIT_EXPORT_URI"] = f"file://{audit_folder}"
        apps["poster"] = emulator.add_m2m_app("Posts its secret")
        audit_credentials = _credentials_in_the_audit_log(emulator, apps["poster"])
        dags = [*sorted(EXAMPLE_DAGS.glob("*.py")), HERE / "dags" / f"{PARALLEL}.py"]
        with AirflowDeployment(dags, environment) as deployment:
            deployment.wait_for_dags([*EXAMPLES, AUDIT_DOWNSTREAM, PARALLEL])
            # the large-tenant export runs its Logto tasks in this pool, as its docstring asks users to create
            deployment.rest("POST", "/pools", json={"name": "logto_api", "slots": 4})
            # runs on the audit export's asset events (created paused, as every DAG here)
            deployment.rest("PATCH", f"/dags/{AUDIT_DOWNSTREAM}", json={"is_paused": False})
            conf: dict[str, dict[str, Any]] = {"example_logto_user_lifecycle": {"member_delay": MEMBER_DELAY},
                    "example_logto_export_users": {"destination": str(export_to)},
                    "example_logto_export_large_tenant": {"folder": str(large_export_to), "pages_per_task": 1},
                    "example_logto_user_sync": {"export_base": f"file://{hr_exports}"}}
            examples = [(dag_id, conf.get(dag_id, {})) for dag_id in EXAMPLES]
            runs = _round(deployment, [*examples, (PARALLEL, {"conn_id": "logto_parallel"})])
            runs += _round(deployment, [*examples, (PARALLEL, {"conn_id": "logto_parallel_deployment",
                                                               "separate_cache_dir": True})])
            runs += _asset_triggered_runs(deployment, AUDIT_DOWNSTREAM)
            parallel_tokens = sum(emulator.tokens_issued(client_id=app.id) for app in apps.values())
            print(f"\nreal deployment: {len(runs)} runs, token requests: management (examples) "
                  f"{emulator.tokens_issued(resource='https://default.logto.app/api') - parallel_tokens}, shopping "
                  f"{emulator.tokens_issued(resource='https://shopping.api')}, 20 tasks/worker cache "
                  f"{emulator.tokens_issued(client_id=apps['parallel'].id)}, 20 tasks/fresh dirs+deployment "
                  f"{emulator.tokens_issued(client_id=apps['deployment'].id)}")
            yield Outcome(deployment, emulator, apps, runs, audit_folder, audit_credentials)


def _asset_triggered_runs(deployment: AirflowDeployment, dag_id: str) -> list[Run]:
    """The runs the scheduler created for ``dag_id`` from asset events, once finished."""
    deadline = time.monotonic() + 60
    while True:
        found = deployment.rest("GET", f"/dags/{dag_id}/dagRuns")["dag_runs"]
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    runs = [Run(dag_id, run["dag_run_id"]) for run in found]
    _wait(deployment, runs)
    return runs


def _credentials_in_the_audit_log(emulator: LogtoEmulator, app: M2MApp) -> dict[str, str]:
    """A ``client_secret_post`` token request (its audit entry holds Logto's internal form of the secret, which
    authenticates as the app) and an entry echoing the token it got: what the audit export must not copy."""
    answer = requests.post(f"{emulator.endpoint}/oidc/token", timeout=10, data={
        "grant_type": "client_credentials", "client_id": app.id, "client_secret": app.secret,
        "resource": emulator.management_api_resource, "scope": "all"}).json()
    token = answer["access_token"]
    requests.get(f"{emulator.endpoint}/api/logs", headers={"Authorization": f"Bearer {token}"}, timeout=10,
                 params={"page": 1, "page_size": 100}).raise_for_status()  # a token in use, as the scan expects
    emulator.add_log("Interaction.SubmitInteraction", payload={
        "params": {"access_token": token}, "error": f"upstream echoed Authorization: Bearer {token}"})
    internal = [entry["payload"]["params"]["client_secret"] for entry in requests.get(
        f"{emulator.endpoint}/api/logs", headers={"Authorization": f"Bearer {token}"}, timeout=10,
        params={"page": 1, "page_size": 100, "applicationId": app.id}).json()
        if "client_secret" in entry["payload"].get("params", {})]
    assert internal, "the emulator records the posted secret as Logto does"
    return {"posted secret": app.secret, "echoed access token (audit log)": token,
            **{f"internal form of the secret #{number}": value for number, value in enumerate(internal)}}


def test_every_example_dag_succeeds_twice_when_triggered_without_a_logical_date(outcome: Outcome) -> None:
    assert outcome.emulator.internal_errors == []
    for dag_id in EXAMPLES:
        runs = [run for run in outcome.runs if run.dag_id == dag_id]
        assert len(runs) == 2
        for run in runs:
            assert run.state == "success" and set(run.tasks.values()) == {"success"}, (dag_id, run.tasks)


def test_the_lifecycle_sensor_really_defers(outcome: Outcome) -> None:
    for run in outcome.runs:
        if run.dag_id == "example_logto_user_lifecycle":
            assert run.deferred == {"wait_for_membership"}, run


def test_one_token_per_app_for_all_runs_with_the_worker_cache(outcome: Outcome) -> None:
    emulator = outcome.emulator
    # two rounds of the examples: dozens of task processes and a trigger per round, one management token
    assert emulator.tokens_issued(resource="https://default.logto.app/api") - \
        emulator.tokens_issued(client_id=outcome.apps["parallel"].id) - \
        emulator.tokens_issued(client_id=outcome.apps["deployment"].id) - \
        emulator.tokens_issued(client_id=outcome.apps["poster"].id) == 1
    assert emulator.tokens_issued(resource="https://shopping.api") == 1


def test_twenty_parallel_tasks_one_token_in_each_cache_mode(outcome: Outcome) -> None:
    parallel = [run for run in outcome.runs if run.dag_id == PARALLEL]
    assert [run.state for run in parallel] == ["success", "success"]
    assert all(len(run.tasks) == 20 for run in parallel)
    assert outcome.emulator.tokens_issued(client_id=outcome.apps["parallel"].id) == 1  # worker cache
    assert outcome.emulator.tokens_issued(client_id=outcome.apps["deployment"].id) == 1  # 20 fresh dirs, Variables
    names = [v["key"] for v in outcome.deployment.rest("GET", "/variables", params={"limit": 100})["variables"]]
    assert any(name.startswith("logto_token_cache_") for name in names), names


def test_the_audit_export_wrote_each_window_and_announced_it(outcome: Outcome) -> None:
    runs = [run for run in outcome.runs if run.dag_id == "example_logto_audit_logs"]
    files = sorted(outcome.audit_folder.glob("audit-*.jsonl"))  # the two triggered runs' and scheduled ones'
    assert len(runs) == 2 and len(files) >= 2 and not list(outcome.audit_folder.glob("*.part"))
    entries = [json.loads(line) for path in files for line in path.read_text().splitlines()]
    assert any(entry["payload"].get("applicationId") == outcome.apps["poster"].id for entry in entries)
    arrived = [run for run in outcome.runs if run.dag_id == AUDIT_DOWNSTREAM]
    assert arrived and all(run.state == "success" for run in arrived), arrived  # scheduled on the asset events
    windows = [window for run in arrived for window in outcome.deployment.rest(
        "GET", f"/dags/{AUDIT_DOWNSTREAM}/dagRuns/{run.run_id}/taskInstances/windows_arrived/xcomEntries/return_value",
        params={"deserialize": "true"})["value"]]
    assert windows and all(set(window) == {"start", "end", "count", "possibly_missed", "location"}
                           for window in windows), windows


def _secrets(outcome: Outcome) -> dict[str, str]:
    """The app secrets, every token the emulator saw in use, the Basic credentials sent for tokens, and the
    credentials the audit log holds."""
    found: dict[str, str] = dict(outcome.audit_credentials)
    for entry in outcome.emulator.journal.entries():
        authorization = {k.lower(): v for k, v in entry.headers.items()}.get("authorization", "")
        scheme, _, credential = authorization.partition(" ")
        if scheme == "Bearer":
            found[f"token …{credential[-6:]}"] = credential
        elif scheme == "Basic":
            app_id, _, secret = base64.b64decode(credential).decode().partition(":")
            found[f"Basic credential of {app_id}"] = credential
            found[f"secret of {app_id}"] = secret
    return found


def test_no_secret_in_logs_xcom_rendered_fields_or_variables(outcome: Outcome) -> None:
    deployment = outcome.deployment
    secrets = _secrets(outcome)
    tokens = [name for name in secrets if name.startswith("token …")]
    assert len(tokens) == outcome.emulator.tokens_issued()  # every issued token was used, so it is in the list
    assert len([name for name in secrets if name.startswith("secret of")]) == 4
    exposed: list[tuple[str, str]] = []
    for run in outcome.runs:
        base = f"/dags/{run.dag_id}/dagRuns/{run.run_id}/taskInstances"
        for ti in deployment.task_instances(run.dag_id, run.run_id):
            task = ti["task_id"]
            mapped = {"map_index": ti["map_index"]} if ti.get("map_index", -1) >= 0 else {}  # mapped tasks
            where = f"{run.dag_id}.{task}" + (f"[{ti['map_index']}]" if mapped else "")
            exposed.append((f"{where} rendered fields", json.dumps(ti.get("rendered_fields"))))
            for attempt in range(1, int(ti["try_number"]) + 1):
                log = deployment.rest("GET", f"{base}/{task}/logs/{attempt}",
                                      params={"full_content": "true", **mapped},
                                      headers={"Accept": "application/json"})
                exposed.append((f"{where} log #{attempt}", json.dumps(log)))
            for xcom in deployment.rest("GET", f"{base}/{task}/xcomEntries", params=mapped)["xcom_entries"]:
                value = deployment.rest("GET", f"{base}/{task}/xcomEntries/{xcom['key']}", params=mapped)
                exposed.append((f"{where} XCom {xcom['key']}", json.dumps(value)))
    exposed.append(("variables", json.dumps(deployment.rest("GET", "/variables", params={"limit": 100}))))
    # what the exports put on their outlet asset events, and what the triggerer logged (the sensor's trigger)
    exposed.append(("asset events", json.dumps(deployment.rest("GET", "/assets/events", params={"limit": 100}))))
    exposed.append(("triggerer log", (deployment.root / "triggerer.log").read_text(errors="replace")))
    exposed += [(f"audit export {path.name}", path.read_text()) for path in outcome.audit_folder.iterdir()]
    assert sum(len(text) for _, text in exposed) > 10_000  # logs were really read
    texts = "\n".join(text for _, text in exposed)
    assert "Fetched a Logto access token" in texts and "Reusing a Logto access token from the worker" in texts
    assert "from the deployment token cache" in texts  # the mode's name is not masked in task logs
    rendered = [text for where, text in exposed if where.endswith("create_user rendered fields")]
    assert len(rendered) == 2 and all("airflow_demo_20" in text for text in rendered), rendered  # really read
    print(f"\nscanned {len(exposed)} documents ({sum(len(t) for _, t in exposed)} chars) for {len(secrets)} secrets")
    leaks = [(where, name) for where, text in exposed for name, secret in secrets.items() if secret in text]
    assert leaks == []
