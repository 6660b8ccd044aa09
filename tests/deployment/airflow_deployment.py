"""A real Airflow deployment on loopback for tests: PostgreSQL started from its binaries into a temporary
directory, then ``airflow api-server``, ``scheduler`` (LocalExecutor), ``dag-processor`` and ``triggerer`` as
separate processes on free ports, driven through the REST API.

Every process started here runs in a process group of its own and is stopped (SIGTERM, then SIGKILL) when the
context exits, whatever happened inside.
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


class AirflowDeployment:
    """api-server, scheduler, dag-processor and triggerer of one AIRFLOW_HOME, with PostgreSQL."""

    def __init__(self, dags: list[Path], environment: Mapping[str, str], *, startup_timeout: float = 180) -> None:
        bin_dir = postgres_bin()
        if bin_dir is None:
            raise FileNotFoundError("PostgreSQL server binaries (initdb) not found")
        self.root = Path(tempfile.mkdtemp(prefix="logto-airflow-deployment-"))
        os.chmod(self.root, 0o711)  # the postgres user needs to reach its data directory
        self.postgres = Postgres(bin_dir, self.root)
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
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
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
        env = self._env = self.environment()  # once: it holds freshly generated keys every component must share
        airflow = str(Path(sys.executable).with_name("airflow"))
        migrate = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300,
                                 check=False)
        if migrate.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{migrate.stdout[-3000:]}\n{migrate.stderr[-3000:]}")
        for component in COMPONENTS:
            self.start_component(component)
        self._wait_until_healthy()

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
        raise TimeoutError(f"the api-server did not answer within {self.startup_timeout:.0f} s\n{self.logs_tail()}")

    def check_alive(self) -> None:
        for component, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"airflow {component} exited with {process.returncode}\n{self.logs_tail()}")

    def logs_tail(self, chars: int = 3000) -> str:
        parts = []
        for component in COMPONENTS:
            path = self.root / f"{component}.log"
            if path.exists():
                parts.append(f"--- {component} ---\n{path.read_text(errors='replace')[-chars:]}")
        return "\n".join(parts)

    def stop(self) -> None:
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            _signal_group(process, signal.SIGKILL)  # the group: task supervisors and task processes too
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
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
        raise TimeoutError(f"DAGs not parsed within {timeout:.0f} s: {missing}\n{self.logs_tail()}")

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
