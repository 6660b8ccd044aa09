"""The provider in a real Airflow 3 deployment: api-server, scheduler, dag-processor and triggerer as separate
processes, a PostgreSQL metadata database, every task in a process of its own, DAG runs triggered through the
REST API without a logical date — as a platform team runs it, unlike ``dag.test()``.

The module runs once per executor. LocalExecutor: every task on one machine. CeleryExecutor: a Redis broker and
two Celery workers that share nothing but Airflow (own TMPDIR, token cache directory, working directory, host
name), with export parts and HR files on an S3-compatible server (moto) that both reach.

One module-scoped deployment per executor serves every test here: it runs each example DAG twice and the 20-task
DAG once per token cache mode (and on Celery: the examples with their local-folder defaults, and a worker killed
with SIGKILL in the middle of an export part and of the user sync), then the tests check what happened: run and
task states, the sensor's deferral, token requests counted at the emulator, which machine ran which try, the
exported file and the tenant's users, and that no secret shows in what the deployment exposes.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from airflow_provider_logto.testing.seed import seed_demo
from tests.conftest import EXAMPLE_DAGS
from tests.deployment.airflow_deployment import CELERY, LOCAL, AirflowDeployment, postgres_bin

pytestmark = pytest.mark.timeout(1200)

HERE = Path(__file__).resolve().parent
EXAMPLES = ("example_logto_list_users", "example_logto_shopping_api", "example_logto_user_lifecycle",
            "example_logto_export_users", "example_logto_export_large_tenant", "example_logto_user_sync",
            "example_logto_audit_logs")
AUDIT_DOWNSTREAM = "example_logto_audit_logs_arrived"
LARGE, SYNC = "example_logto_export_large_tenant", "example_logto_user_sync"
PARALLEL = "logto_parallel_tokens"
RUN_TIMEOUT = 300  # seconds for one round of DAG runs
MEMBER_DELAY = 20  # seconds before the lifecycle example adds the member the sensor waits for
BUCKET = "logto-deployment"
S3_SECRET = "moto-secret-key-5be2"  # the S3 connection's secret, scanned for like Logto's
# Celery leg: a task whose worker died is found within seconds (production defaults: a 300 s heartbeat timeout,
# and 300 s before the retry of a task without its own retry_delay); docs/multi-machine.md says what to expect.
FAST_FAILURE_DETECTION = {
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "15",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
    "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "2",
    "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "2",
    # a try the dead worker had received but not yet started never heartbeats: it stays queued until the
    # scheduler requeues it (production: 600 s, checked every 120 s — longer than RUN_TIMEOUT)
    "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "60",
    "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL": "5",
}
STUCK_IN_QUEUED = "stuck in queued reschedule"  # the event the scheduler logs when it requeues such a try
KILL_EXPORT_USERS = 3000  # 30 pages: 3 parts of 10 pages plus the rest
KILL_SYNC_EMPLOYEES = 150


@dataclass
class Run:
    dag_id: str
    run_id: str
    label: str = "example"  # "example": the twice-run examples; "defaults", "kill": the Celery leg's extra runs
    state: str = "queued"
    tasks: dict[str, str] = field(default_factory=dict)
    deferred: set[str] = field(default_factory=set)  # tasks seen in state "deferred"


@dataclass
class Kill:
    """A worker SIGKILLed while it ran ``task_id`` (mapped: ``map_index``), and what each try of it did."""

    run: Run
    task_id: str
    map_index: int | None
    machine: str
    seen_before_kill: int  # the emulator's count of the watched requests when the worker died
    killed_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    journal_from: int = 0  # the emulator's journal length when the run was triggered
    tries: list[dict[str, Any]] = field(default_factory=list)
    tenant_ids: set[str] = field(default_factory=set)  # the tenant's users when the run had ended
    # tries the dead machine had taken but not started: freed by task_queued_timeout, not by a heartbeat timeout
    requeued: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    executor: str
    deployment: AirflowDeployment
    emulator: LogtoEmulator
    apps: dict[str, M2MApp]
    runs: list[Run]
    audit_folder: Path
    audit_credentials: dict[str, str]  # what the audit log holds: the posted secret, its internal form, a token
    s3: Any = None  # the Celery leg's boto3 client
    kills: dict[str, Kill] = field(default_factory=dict)


def _wait(deployment: AirflowDeployment, runs: list[Run], on_poll: Callable[[], None] | None = None) -> None:
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
        if on_poll is not None:
            on_poll()
        time.sleep(0.5)
    raise TimeoutError(deployment.failure(
        f"runs still going after {RUN_TIMEOUT} s: "
        f"{[(r.dag_id, r.state, r.tasks) for r in runs if r.state not in ('success', 'failed')]}"))


def _round(deployment: AirflowDeployment, triggers: list[tuple[str, dict[str, Any]]],
           label: str = "example") -> list[Run]:
    runs = [Run(dag_id, deployment.trigger(dag_id, conf), label) for dag_id, conf in triggers]
    _wait(deployment, runs)
    return runs


@contextlib.contextmanager
def _s3_server() -> Iterator[tuple[str, Any]]:
    """moto's S3-compatible server on a free loopback port, with the bucket both Celery workers write to."""
    server_module = pytest.importorskip("moto.server", reason="the Celery leg needs moto[server] (dev extra)")
    boto3 = pytest.importorskip("boto3", reason="the Celery leg needs the s3 extra")
    pytest.importorskip("s3fs", reason="the Celery leg needs the s3 extra")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="moto-access-key",
                              aws_secret_access_key=S3_SECRET, region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield endpoint, client
    finally:
        server.stop()


@pytest.fixture(scope="module", params=[LOCAL, CELERY])
def outcome(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    executor = request.param
    if postgres_bin() is None:
        pytest.skip("needs PostgreSQL server binaries for the metadata database: apt-get install postgresql-15")
    pytest.importorskip("psycopg2", reason="needs psycopg2-binary for the PostgreSQL metadata database")
    pytest.importorskip("asyncpg", reason="Airflow 3.3's async engine needs asyncpg with PostgreSQL")
    if executor == CELERY:
        if shutil.which("redis-server") is None:
            pytest.skip("the CeleryExecutor leg needs a Redis broker: apt-get install redis-server")
        pytest.importorskip("airflow.providers.celery", reason="needs apache-airflow-providers-celery (dev extra)")
    with contextlib.ExitStack() as stack:
        emulator = stack.enter_context(LogtoEmulator())
        environment = seed_demo(emulator, users=3)
        apps = {"parallel": emulator.add_m2m_app("Airflow parallel (worker cache)"),
                "deployment": emulator.add_m2m_app("Airflow parallel (deployment cache)")}
        environment["AIRFLOW_CONN_LOGTO_PARALLEL"] = emulator.airflow_connection(apps["parallel"])
        environment["AIRFLOW_CONN_LOGTO_PARALLEL_DEPLOYMENT"] = emulator.airflow_connection(
            apps["deployment"], cache_sharing="deployment")
        export_to = tmp_path_factory.mktemp("export") / "users.jsonl"
        conf: dict[str, dict[str, Any]] = {"example_logto_user_lifecycle": {"member_delay": MEMBER_DELAY},
                                           "example_logto_export_users": {"destination": str(export_to)}}
        s3 = None
        if executor == LOCAL:  # one machine: parts and HR files in local folders
            conf[LARGE] = {"folder": str(tmp_path_factory.mktemp("large-export")), "pages_per_task": 1}
            conf[SYNC] = {"export_base": f"file://{tmp_path_factory.mktemp('hr-exports')}"}
        else:  # two machines: on object storage both reach
            endpoint, s3 = stack.enter_context(_s3_server())
            environment["AIRFLOW_CONN_AWS_MOTO"] = json.dumps({
                "conn_type": "aws", "login": "moto-access-key", "password": S3_SECRET,
                "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"}})
            environment.update(FAST_FAILURE_DETECTION)
            conf[LARGE] = {"folder": f"s3://{BUCKET}/large-export", "storage_conn_id": "aws_moto",
                           "pages_per_task": 1}
            conf[SYNC] = {"export_base": f"s3://{BUCKET}/hr", "export_conn_id": "aws_moto"}
        audit_folder = tmp_path_factory.mktemp("audit-log")
        environment["LOGTO_AUDIT_EXPORT_URI"] = f"file://{audit_folder}"
        apps["poster"] = emulator.add_m2m_app("Posts its secret")
        audit_credentials = _credentials_in_the_audit_log(emulator, apps["poster"])
        dags = [*sorted(EXAMPLE_DAGS.glob("*.py")), HERE / "dags" / f"{PARALLEL}.py"]
        started = time.monotonic()
        deployment = stack.enter_context(AirflowDeployment(dags, environment, executor=executor))
        deployment.wait_for_dags([*EXAMPLES, AUDIT_DOWNSTREAM, PARALLEL])  # no pool: the examples need no setup
        # runs on the audit export's asset events (created paused, as every DAG here)
        deployment.rest("PATCH", f"/dags/{AUDIT_DOWNSTREAM}", json={"is_paused": False})
        examples = [(dag_id, conf.get(dag_id, {})) for dag_id in EXAMPLES]
        runs = _round(deployment, [*examples, (PARALLEL, {"conn_id": "logto_parallel"})])
        runs += _round(deployment, [*examples, (PARALLEL, {"conn_id": "logto_parallel_deployment",
                                                           "separate_cache_dir": True})])
        runs += _asset_triggered_runs(deployment, AUDIT_DOWNSTREAM)
        kills: dict[str, Kill] = {}
        if executor == CELERY:
            runs += _round(deployment, [(LARGE, {}), (SYNC, {})], label="defaults")
            kills["export"] = _kill_during_export(deployment, emulator)
            deployment.restart_worker(kills["export"].machine)  # the machine is back, on the same disk
            kills["sync"] = _kill_during_sync(deployment, emulator, s3)
            runs += [kill.run for kill in kills.values()]
        parallel_tokens = sum(emulator.tokens_issued(client_id=app.id) for app in apps.values())
        print(f"\nreal deployment ({executor}): {len(runs)} runs in {time.monotonic() - started:.0f} s, token "
              f"requests: management (examples) "
              f"{emulator.tokens_issued(resource='https://default.logto.app/api') - parallel_tokens}, shopping "
              f"{emulator.tokens_issued(resource='https://shopping.api')}, 20 tasks/worker cache "
              f"{emulator.tokens_issued(client_id=apps['parallel'].id)}, 20 tasks/fresh dirs+deployment "
              f"{emulator.tokens_issued(client_id=apps['deployment'].id)}")
        yield Outcome(executor, deployment, emulator, apps, runs, audit_folder, audit_credentials, s3, kills)


def _tries(deployment: AirflowDeployment, kill: Kill) -> list[dict[str, Any]]:
    suffix = f"/{kill.map_index}" if kill.map_index is not None else ""
    path = f"/dags/{kill.run.dag_id}/dagRuns/{kill.run.run_id}/taskInstances/{kill.task_id}{suffix}/tries"
    return [{"try": entry["try_number"], "hostname": entry["hostname"], "state": entry["state"],
             "start_date": entry["start_date"], "end_date": entry["end_date"]}
            for entry in deployment.rest("GET", path)["task_instances"]]


def _kill_when(deployment: AirflowDeployment, run: Run, task_id: str,
               choose: Callable[[list[dict[str, Any]]], dict[str, Any] | None], seen: Callable[[], int]) -> Kill:
    """Poll the run's task instances until ``choose`` picks a running ``task_id`` instance, then SIGKILL the
    machine that runs it; wait for the run to end."""
    deadline = time.monotonic() + RUN_TIMEOUT
    kill: Kill | None = None
    while kill is None:
        assert time.monotonic() < deadline, deployment.failure(f"{task_id} never ran long enough to be killed")
        deployment.check_alive()
        victim = choose([ti for ti in deployment.task_instances(run.dag_id, run.run_id) if ti["task_id"] == task_id])
        if victim is not None:
            map_index = victim["map_index"] if victim["map_index"] >= 0 else None
            deployment.kill_machine(victim["hostname"])
            kill = Kill(run, task_id, map_index, victim["hostname"], seen())
        else:
            time.sleep(0.2)
    _wait(deployment, [run])
    kill.tries = _tries(deployment, kill)
    kill.requeued = [f"{entry['task_id']}[{entry['map_index']}]" for entry in deployment.rest(
        "GET", "/eventLogs", params={"dag_id": run.dag_id, "run_id": run.run_id, "event": STUCK_IN_QUEUED,
                                     "limit": 100})["event_logs"]]
    return kill


def _running_for(ti: dict[str, Any], seconds: float) -> bool:
    return ti["state"] == "running" and bool(ti.get("hostname")) and bool(ti.get("start_date")) and \
        datetime.now(UTC) - datetime.fromisoformat(ti["start_date"]) >= timedelta(seconds=seconds)


def _journal_length(emulator: LogtoEmulator) -> int:
    return len(emulator.journal.entries())


def _kill_during_export(deployment: AirflowDeployment, emulator: LogtoEmulator) -> Kill:
    """The large-tenant export of 3000 more users in 11 parts of 3 pages (2 s per request); a worker dies in the
    middle of a part, after it finished another one — so the join, on the other worker, reads a part the dead one
    wrote."""
    for number in range(KILL_EXPORT_USERS):
        emulator.add_user(f"bulk{number:04d}")
    emulator.add_fault("delay", "/api/users", method="GET", delay=2.0, count=None)  # a part takes seconds
    run = Run(LARGE, deployment.trigger(LARGE, {"folder": f"s3://{BUCKET}/killed-export",
                                                "storage_conn_id": "aws_moto", "pages_per_task": 3}), "kill")
    pages = lambda: len(emulator.journal.entries(method="GET", path="/api/users"))  # noqa: E731
    before, journal_from = pages(), _journal_length(emulator)

    def answered(page: int) -> bool:
        return any(entry.query.get("page") == [str(page)] for entry in emulator.journal.entries()[journal_from:]
                   if entry.method == "GET" and entry.path == "/api/users")

    def in_the_middle_of_a_second_part(parts: list[dict[str, Any]]) -> dict[str, Any] | None:
        """A part past its first page (so its upload is open, its other pages in flight), on a machine that had
        finished a part before."""
        finished = {ti["hostname"] for ti in parts if ti["state"] == "success"}
        return next((ti for ti in parts if _running_for(ti, 0) and ti["hostname"] in finished
                     and ti["map_index"] >= 1 and answered(1 + 3 * ti["map_index"])), None)

    try:
        kill = _kill_when(deployment, run, "export_part", in_the_middle_of_a_second_part, lambda: pages() - before)
    finally:
        emulator.faults.clear()
    kill.journal_from, kill.tenant_ids = journal_from, set(emulator.state.users)
    return kill


def _kill_during_sync(deployment: AirflowDeployment, emulator: LogtoEmulator, s3: Any) -> Kill:
    """The user sync of 150 new employees (plus the sample's three); a worker dies while it creates them."""
    rows = [{"customData": {"employeeId": f"K{number:04d}", "department": "Kill test"},
             "primaryEmail": f"kill{number}@example.com", "name": f"Employee {number}", "roles": ["employee"],
             "organizations": ["Acme"]} for number in range(KILL_SYNC_EMPLOYEES)]
    body = "".join(json.dumps(row) + "\n" for row in rows)
    now = datetime.now(UTC)
    for moment in (now - timedelta(minutes=5), now, now + timedelta(minutes=5)):  # the run's date, whatever it is
        s3.put_object(Bucket=BUCKET, Key=f"hr-kill/users-{moment:%Y-%m-%d}.jsonl", Body=body.encode())
    emulator.add_fault("delay", "/api/users", method="POST", delay=0.5, count=None)  # creating takes seconds
    creates = lambda: len(emulator.journal.entries(method="POST", path="/api/users"))  # noqa: E731
    before, journal_from = creates(), _journal_length(emulator)
    run = Run(SYNC, deployment.trigger(SYNC, {"export_base": f"s3://{BUCKET}/hr-kill",
                                              "export_conn_id": "aws_moto"}), "kill")

    def while_it_creates_users(instances: list[dict[str, Any]]) -> dict[str, Any] | None:
        running = [ti for ti in instances if _running_for(ti, 0)]
        return running[0] if running and creates() - before >= 16 else None

    try:
        kill = _kill_when(deployment, run, "sync_users", while_it_creates_users, lambda: creates() - before)
    finally:
        emulator.faults.clear()
    kill.journal_from, kill.tenant_ids = journal_from, set(emulator.state.users)
    return kill


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
        runs = [run for run in outcome.runs if run.dag_id == dag_id and run.label == "example"]
        assert len(runs) == 2
        for run in runs:
            assert run.state == "success" and set(run.tasks.values()) == {"success"}, (dag_id, run.tasks)


def test_the_lifecycle_sensor_really_defers(outcome: Outcome) -> None:
    for run in outcome.runs:
        if run.dag_id == "example_logto_user_lifecycle":
            assert run.deferred == {"wait_for_membership"}, run


def _machines(outcome: Outcome, runs: list[Run]) -> set[str]:
    """The host names that ran a try of a task of ``runs`` (each Celery worker reports its machine's name)."""
    return {ti["hostname"] for run in runs for ti in outcome.deployment.task_instances(run.dag_id, run.run_id)
            if ti.get("hostname")}


def test_one_token_per_worker_cache_for_all_runs(outcome: Outcome) -> None:
    emulator = outcome.emulator
    management = emulator.tokens_issued(resource="https://default.logto.app/api") - \
        emulator.tokens_issued(client_id=outcome.apps["parallel"].id) - \
        emulator.tokens_issued(client_id=outcome.apps["deployment"].id) - \
        emulator.tokens_issued(client_id=outcome.apps["poster"].id)
    shopping = [run for run in outcome.runs if run.dag_id == "example_logto_shopping_api"]
    if outcome.executor == LOCAL:
        # two rounds of the examples: dozens of task processes and a trigger per round, one management token
        assert management == 1
        assert emulator.tokens_issued(resource="https://shopping.api") == 1
    else:
        # one per worker cache: each machine's worker, and the triggerer's (the lifecycle sensor's trigger)
        machines = _machines(outcome, [run for run in outcome.runs
                                       if run.dag_id not in (PARALLEL, "example_logto_shopping_api")])
        assert machines == set(outcome.deployment.machines)
        assert management == len(machines) + 1
        assert emulator.tokens_issued(resource="https://shopping.api") == len(_machines(outcome, shopping))


def test_twenty_parallel_tasks_one_token_per_worker_cache_and_one_in_the_deployment(outcome: Outcome) -> None:
    parallel = [run for run in outcome.runs if run.dag_id == PARALLEL]
    assert [run.state for run in parallel] == ["success", "success"]
    assert all(len(run.tasks) == 20 for run in parallel)
    machines = _machines(outcome, parallel[:1])
    assert len(machines) == (1 if outcome.executor == LOCAL else 2), machines  # Celery: both workers took tasks
    worker_cache = outcome.emulator.tokens_issued(client_id=outcome.apps["parallel"].id)
    deployment_cache = outcome.emulator.tokens_issued(client_id=outcome.apps["deployment"].id)
    print(f"\n{outcome.executor}: 20 tasks on {sorted(machines)}: {worker_cache} token(s) with cache_sharing=worker, "
          f"{deployment_cache} with cache_sharing=deployment (and a fresh cache directory per task)")
    assert worker_cache == len(machines)  # one per worker's cache directory
    assert deployment_cache == 1  # 20 fresh dirs over every worker: Airflow Variables
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


def _celery_only(outcome: Outcome) -> None:
    if outcome.executor != CELERY:
        pytest.skip("a CeleryExecutor-leg check (workers on separate machines)")


def _log(outcome: Outcome, run: Run, task_id: str, attempt: int = 1) -> str:
    return json.dumps(outcome.deployment.rest(
        "GET", f"/dags/{run.dag_id}/dagRuns/{run.run_id}/taskInstances/{task_id}/logs/{attempt}",
        params={"full_content": "true"}, headers={"Accept": "application/json"}))


def test_examples_fail_at_once_with_local_folders_on_many_machines(outcome: Outcome) -> None:
    _celery_only(outcome)
    runs = {run.dag_id: run for run in outcome.runs if run.label == "defaults"}
    large, sync = runs[LARGE], runs[SYNC]
    assert large.state == "failed" and large.tasks["baseline"] == "failed", large.tasks
    assert large.tasks["export_part"] == "upstream_failed" and large.tasks["join"] == "upstream_failed"
    text = _log(outcome, large, "baseline")
    assert "params.folder" in text and "CeleryExecutor" in text and "s3://bucket/prefix" in text, text[-2000:]
    assert "mounted_on_every_worker" in text
    assert sync.state == "failed" and sync.tasks["stage_sample_export"] == "failed", sync.tasks
    assert sync.tasks["sync_users"] == "upstream_failed"
    text = _log(outcome, sync, "stage_sample_export")
    assert "params.export_base" in text and "CeleryExecutor" in text, text[-2000:]


def _describe(kill: Kill) -> str:
    """Where each try ran, and how long after the kill Airflow ended the dead try and started the next one."""
    def after_kill(moment: str | None) -> str:
        return f"{(datetime.fromisoformat(moment) - kill.killed_at).total_seconds():+.0f} s" if moment else "-"

    tries = "; ".join(f"try {entry['try']} on {entry['hostname']}: {entry['state']}, started "
                      f"{after_kill(entry['start_date'])}, ended {after_kill(entry['end_date'])}"
                      for entry in kill.tries)
    return (f"{kill.task_id}{'' if kill.map_index is None else f'[{kill.map_index}]'} killed on {kill.machine} after "
            f"{kill.seen_before_kill} request(s) of the run; {tries} (relative to the kill); taken by the dead "
            f"machine but not started, requeued after task_queued_timeout: {', '.join(kill.requeued) or 'none'}")


def _s3_keys(outcome: Outcome, prefix: str) -> list[str]:
    return [entry["Key"] for entry in
            outcome.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


def test_a_worker_killed_during_an_export_part(outcome: Outcome) -> None:
    _celery_only(outcome)
    kill = outcome.kills["export"]
    print(f"\n{_describe(kill)}")
    assert kill.run.state == "success", (kill.run.tasks, kill.tries)
    assert len(kill.tries) >= 2 and kill.tries[0]["hostname"] == kill.machine
    assert kill.tries[-1]["state"] == "success" and kill.tries[-1]["hostname"] != kill.machine  # the other one
    # the killed machine had finished a part before: the join, on the other machine, read it from the object store
    instances = outcome.deployment.task_instances(kill.run.dag_id, kill.run.run_id)
    writers = sorted(ti["hostname"] for ti in instances if ti["task_id"] == "export_part")
    join = next(ti["hostname"] for ti in instances if ti["task_id"] == "join")
    print(f"export: parts written on {writers}, joined on {join}")
    assert kill.machine in writers and join != kill.machine
    lines = outcome.s3.get_object(Bucket=BUCKET, Key="killed-export/users.jsonl")["Body"].read().splitlines()
    ids = [json.loads(line)["id"] for line in lines]  # a torn part would not parse, or repeat or lose users
    assert len(ids) == len(set(ids)) == len(kill.tenant_ids) and set(ids) == kill.tenant_ids
    assert _s3_keys(outcome, "killed-export/") == ["killed-export/users.jsonl"]  # parts deleted, no .part
    uploads = outcome.s3.list_multipart_uploads(Bucket=BUCKET, Prefix="killed-export/").get("Uploads", [])
    print(f"export: {len(ids)} users in the file, {len(kill.tenant_ids)} in the tenant; incomplete multipart "
          f"uploads left by the killed tries (invisible, billed until aborted): {len(uploads)}")
    assert uploads  # the killed try had opened its part's upload: it died in the middle of the part


def test_a_worker_killed_during_the_user_sync_creates_no_duplicate(outcome: Outcome) -> None:
    _celery_only(outcome)
    kill = outcome.kills["sync"]
    print(f"\n{_describe(kill)}")
    assert kill.run.state == "success", (kill.run.tasks, kill.tries)
    assert len(kill.tries) >= 2 and kill.tries[0]["hostname"] == kill.machine
    assert kill.tries[-1]["state"] == "success" and kill.tries[-1]["hostname"] != kill.machine
    users = [user for user in outcome.emulator.state.users.values()
             if str((user.get("customData") or {}).get("employeeId", "")).startswith("K")]
    employees = [user["customData"]["employeeId"] for user in users]
    assert len(employees) == len(set(employees)) == KILL_SYNC_EMPLOYEES  # each employee once
    posts = [entry for entry in outcome.emulator.journal.entries()[kill.journal_from:]
             if (entry.method, entry.path) == ("POST", "/api/users")
             and str(json.loads(entry.body).get("customData", {}).get("employeeId", "")).startswith("K")]
    statuses = sorted({entry.status for entry in posts})
    print(f"sync: {len(employees)} employees in the tenant, {len(posts)} create request(s) sent "
          f"(statuses {statuses}), {kill.seen_before_kill} sent before the kill")
    assert len(posts) == KILL_SYNC_EMPLOYEES  # no create sent twice: not even one Logto refused as a duplicate
    assert all(200 <= status < 300 for status in statuses), statuses
    assert all(not user.get("isSuspended") for user in users)


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
    if outcome.executor == CELERY:
        secrets["the S3 connection's secret key"] = S3_SECRET
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
