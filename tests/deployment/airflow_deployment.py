"""A real Airflow deployment on loopback for tests: PostgreSQL started from its binaries into a temporary
directory, then ``airflow api-server``, ``scheduler``, ``dag-processor`` and ``triggerer`` as separate processes
on free ports, driven through the REST API.

The executor is a parameter. ``LocalExecutor`` runs every task under the scheduler. ``CeleryExecutor`` adds a
Redis broker (Debian's ``redis-server``, loopback, no persistence) and one ``airflow celery worker`` per
:class:`Machine`: each worker has its own ``TMPDIR``, its own ``[logto] token_cache_dir``, its own working
directory and its own host name (``[core] hostname_callable``, so a task instance's ``hostname`` names the
machine that ran it) — as far as the provider can tell, separate machines. They share the metadata database,
the broker, the DAG files and the log folder (as deployments share remote logging), nothing else.
:meth:`AirflowDeployment.kill_machine` SIGKILLs a worker with every process under it (a lost node);
:meth:`AirflowDeployment.start_worker` brings it back on the same disk.

Every process started here runs in a process group of its own and is stopped (SIGTERM, then SIGKILL, with every
process under it) when the context exits, whatever happened inside.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

import requests

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
LOCAL = "LocalExecutor"
CELERY = "CeleryExecutor"
REPO = Path(__file__).resolve().parents[2]  # on the workers' PYTHONPATH, for tests.deployment.machine


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def postgres_bin() -> Path | None:
    """The newest PostgreSQL server binaries installed from Debian packages (postgresql-NN), if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    explicit = shutil.which("initdb")
    if found:
        return Path(found[-1]).parent
    return Path(explicit).parent if explicit else None


class Postgres:
    """A throw-away PostgreSQL cluster: trust auth on 127.0.0.1 only, no Unix socket, durability off."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin_dir = bin_dir
        self.data = root / "pgdata"
        self.port = free_port()
        self._user = "postgres" if os.geteuid() == 0 else None  # initdb refuses to run as root

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run([str(self.bin_dir / args[0]), *args[1:]], check=True, capture_output=True, timeout=120,
                       user=self._user)

    def start(self) -> Postgres:
        self.data.mkdir(mode=0o700)
        if self._user:
            shutil.chown(self.data, self._user)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
                       "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n")
        self._run("pg_ctl", "start", "-D", str(self.data), "-l", str(self.data / "server.log"), "-w", "-t", "60")
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30")


class Redis:
    """A throw-away Redis broker on a free loopback port: no RDB snapshots, no append-only file."""

    def __init__(self, root: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server not found (Debian package redis-server)")
        self.binary = binary
        self.dir = root / "redis"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> Redis:
        self.dir.mkdir()
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir), "--logfile", str(self.dir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return self
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            _signal_group(self.process, signal.SIGKILL)  # nothing to save: the broker lives for one test
            self.process.wait(timeout=10)


class Machine:
    """What a Celery worker has of its own: a temporary directory, a token cache directory, a working directory
    and a host name."""

    def __init__(self, root: Path, name: str) -> None:
        self.name = name
        self.root = root / name
        self.tmp = self.root / "tmp"
        self.token_cache_dir = self.root / "token-cache"
        self.cwd = self.root / "work"
        for folder in (self.tmp, self.cwd):
            folder.mkdir(parents=True)

    @property
    def process_name(self) -> str:
        return f"worker {self.name}"

    def environment(self) -> dict[str, str]:
        path = os.environ.get("PYTHONPATH")
        return {"TMPDIR": str(self.tmp),
                "AIRFLOW__LOGTO__TOKEN_CACHE_DIR": str(self.token_cache_dir),
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.deployment.machine.name",
                "LOGTO_TEST_MACHINE": self.name,
                "PYTHONPATH": f"{REPO}{os.pathsep}{path}" if path else str(REPO)}


class AirflowDeployment:
    """api-server, scheduler, dag-processor and triggerer of one AIRFLOW_HOME, with PostgreSQL; with
    ``executor=CELERY`` also a Redis broker and a Celery worker on each of ``workers`` machines."""

    def __init__(self, dags: list[Path], environment: Mapping[str, str], *, executor: str = LOCAL,
                 workers: int = 2, worker_concurrency: int = 10, startup_timeout: float = 180) -> None:
        bin_dir = postgres_bin()
        if bin_dir is None:
            raise FileNotFoundError("PostgreSQL server binaries (initdb) not found")
        if executor not in (LOCAL, CELERY):
            raise ValueError(f"executor must be {LOCAL} or {CELERY}, not {executor}")
        self.executor = executor
        self.root = Path(tempfile.mkdtemp(prefix="logto-airflow-deployment-"))
        os.chmod(self.root, 0o711)  # the postgres user needs to reach its data directory
        self.postgres = Postgres(bin_dir, self.root)
        self.redis = Redis(self.root) if executor == CELERY else None
        self.machines = {machine.name: machine for machine in (
            Machine(self.root, f"machine-{chr(ord('a') + number)}") for number in range(workers))
        } if executor == CELERY else {}
        self.worker_concurrency = worker_concurrency
        self._worker_log_offsets: dict[str, int] = {}  # where each worker's latest start begins in its log
        self.dags_folder = self.root / "dags"
        self.dags_folder.mkdir()
        for dag in dags:
            shutil.copy(dag, self.dags_folder / dag.name)
        self.api_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.api_port}"
        self.startup_timeout = startup_timeout
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._extra_environment = dict(environment)
        self._env: dict[str, str] = {}
        self.api = requests.Session()

    @property
    def token_cache_dir(self) -> Path:
        return self.root / "token-cache"

    def environment(self) -> dict[str, str]:
        from cryptography.fernet import Fernet

        env = {name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW")}
        env.update({
            "AIRFLOW_HOME": str(self.root / "home"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": self.executor,
            "AIRFLOW__CORE__PARALLELISM": "32",
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "32",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": os.urandom(16).hex(),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.postgres.url,
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR": "True",
            "AIRFLOW__LOGTO__TOKEN_CACHE_DIR": str(self.token_cache_dir),
        })
        if self.redis is not None:
            env["AIRFLOW__CELERY__BROKER_URL"] = self.redis.url  # results: the metadata database (db+postgresql)
        env.update(self._extra_environment)
        return env

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.postgres.start()
        if self.redis is not None:
            self.redis.start()
        env = self._env = self.environment()  # once: it holds freshly generated keys every component must share
        airflow = str(Path(sys.executable).with_name("airflow"))
        migrate = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300,
                                 check=False)
        if migrate.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{migrate.stdout[-3000:]}\n{migrate.stderr[-3000:]}")
        for component in COMPONENTS:
            self.start_component(component)
        for name in self.machines:
            self.start_worker(name)
        self._wait_until_healthy()
        for name in self.machines:
            self._wait_until_worker_ready(name)

    def _spawn(self, name: str, args: list[str], env: Mapping[str, str], cwd: Path | None = None) -> None:
        with open(self._log_path(name), "ab") as log:  # the child keeps its own descriptor
            self.processes[name] = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
                                                    start_new_session=True)

    def _log_path(self, name: str) -> Path:
        return self.root / f"{name.replace(' ', '-')}.log"

    def start_worker(self, name: str) -> None:
        """Start (or restart, on the same disk) the Celery worker of machine ``name``."""
        machine = self.machines[name]
        log = self._log_path(machine.process_name)
        self._worker_log_offsets[name] = log.stat().st_size if log.exists() else 0
        args = [str(Path(sys.executable).with_name("airflow")), "celery", "worker", "--concurrency",
                str(self.worker_concurrency), "--celery-hostname", f"{name}@%h", "--skip-serve-logs",
                "--without-mingle", "--without-gossip"]
        self._spawn(machine.process_name, args, {**self._env, **machine.environment()}, cwd=machine.cwd)

    def _wait_until_worker_ready(self, name: str, timeout: float = 120) -> None:
        """Until Celery logs the worker ready to take tasks."""
        log = self._log_path(self.machines[name].process_name)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            with open(log, "rb") as file:
                file.seek(self._worker_log_offsets[name])
                if b" ready." in file.read():
                    return
            time.sleep(0.5)
        raise TimeoutError(self.failure(f"Celery worker {name} not ready within {timeout:.0f} s"))

    def restart_worker(self, name: str) -> None:
        self.start_worker(name)
        self._wait_until_worker_ready(name)

    def kill_machine(self, name: str) -> None:
        """SIGKILL machine ``name``'s worker and every process under it (task supervisors put their task process
        in a group of its own, so the whole tree is collected first): a node lost without warning."""
        process = self.processes.pop(self.machines[name].process_name)
        _kill_tree(process.pid)
        process.wait(timeout=10)

    def start_component(self, component: str) -> None:
        """Start one component (again); its output is appended to ``<component>.log``."""
        args = [str(Path(sys.executable).with_name("airflow")), component]
        if component == "api-server":
            args += ["--host", "127.0.0.1", "--port", str(self.api_port)]
        with open(self.root / f"{component}.log", "ab") as log:  # the child keeps its own descriptor
            self.processes[component] = subprocess.Popen(args, env=self._env, stdout=log,
                                                         stderr=subprocess.STDOUT, start_new_session=True)

    def kill_component(self, component: str) -> None:
        """SIGKILL one component's whole process group, as a crashed host or an OOM kill would end it."""
        process = self.processes.pop(component)
        _signal_group(process, signal.SIGKILL)
        process.wait(timeout=30)

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if self.api.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(1)
        raise TimeoutError(self.failure(f"the api-server did not answer within {self.startup_timeout:.0f} s"))

    def check_alive(self) -> None:
        for component, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(self.failure(f"airflow {component} exited with {process.returncode}"))

    def failure(self, message: str, chars: int = 3000) -> str:
        """``message``, each component's log tail, then ``message`` again: CI shows a failure's last lines."""
        parts = [message]
        for name in [*COMPONENTS, *(machine.process_name for machine in self.machines.values())]:
            path = self._log_path(name)
            if path.exists():
                parts.append(f"--- {name} ---\n{path.read_text(errors='replace')[-chars:]}")
        return "\n".join([*parts, f"=== {message}"])

    def stop(self) -> None:
        trees = {name: _descendants(process.pid) for name, process in self.processes.items()}
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for name, process in self.processes.items():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            for pid in trees[name]:  # task processes in groups of their own, started before the SIGTERM
                _kill_group_of(pid)
            _signal_group(process, signal.SIGKILL)  # the group: task supervisors and task processes too
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        if self.redis is not None:
            self.redis.stop()
        self.postgres.stop()
        self.api.close()
        if not os.environ.get("LOGTO_KEEP_DEPLOYMENT"):
            shutil.rmtree(self.root, ignore_errors=True)

    # --- REST -----------------------------------------------------------------------------------------------
    def rest(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.api.request(method, f"{self.base_url}/api/v2{path}", timeout=30, **kwargs)
        if response.status_code >= 400:
            raise AssertionError(f"{method} {path} answered {response.status_code}: {response.text[:500]}")
        return response.json() if response.content else None

    def wait_for_dags(self, dag_ids: list[str], timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        missing = list(dag_ids)
        while time.monotonic() < deadline:
            self.check_alive()
            known = {dag["dag_id"] for dag in self.rest("GET", "/dags", params={"limit": 100})["dags"]}
            missing = [dag_id for dag_id in dag_ids if dag_id not in known]
            if not missing:
                errors = self.rest("GET", "/importErrors")["import_errors"]
                assert not errors, errors
                return
            time.sleep(1)
        raise TimeoutError(self.failure(f"DAGs not parsed within {timeout:.0f} s: {missing}"))

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """Unpause and trigger ``dag_id`` the way the UI does: no logical date."""
        self.rest("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        run = self.rest("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})
        return str(run["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.rest("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return list(self.rest("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                              params={"limit": 100})["task_instances"])


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def _descendants(pid: int) -> list[int]:
    """Every process under ``pid`` (read from /proc), children before grandchildren."""
    parents: dict[int, list[int]] = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open(stat) as file:
                fields = file.read().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(stat.split("/")[2]))
    found, queue = [], [pid]
    while queue:
        children = parents.get(queue.pop(0), [])
        found += children
        queue += children
    return found


def _kill_group_of(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(os.getpgid(pid), signal.SIGKILL)


def _kill_tree(pid: int) -> None:
    """SIGKILL ``pid``, everything under it and their process groups, in one sweep (nothing gets to react)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGSTOP)  # freeze the worker's group first, so it forks nothing meanwhile
    tree = _descendants(pid)
    for member in tree:
        _kill_group_of(member)
    _kill_group_of(pid)
