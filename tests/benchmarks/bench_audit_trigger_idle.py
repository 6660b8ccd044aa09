"""Benchmark (not a test): what an idle audit-log watcher costs in a real Airflow 3.3 deployment.

Starts PostgreSQL, the api-server, scheduler, dag-processor and triggerer (tests/deployment/airflow_deployment.py)
with ``example_logto_failed_token_requests`` (one LogtoAuditLogTrigger, ``poll_interval=5``) against the
emulator, waits until the trigger polls, then stays idle (no new audit-log entry) for ``--minutes`` and prints:
requests to Logto (``GET /api/logs``, token requests) and the CPU seconds the triggerer's processes used, next to
a baseline of the same length with no watcher (the example DAG paused) — the trigger's own share is the difference.

    .venv/bin/python tests/benchmarks/bench_audit_trigger_idle.py [--minutes 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from airflow_provider_logto.testing import LogtoEmulator  # noqa: E402
from airflow_provider_logto.testing.seed import seed_demo  # noqa: E402
from tests.deployment.airflow_deployment import AirflowDeployment  # noqa: E402

EXAMPLE = "example_logto_failed_token_requests"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of every live process in process group ``pgid`` (from /proc)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the command: state, ppid, pgrp, ...; utime/stime at 11/12
            total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def measure(deployment: AirflowDeployment, emulator: LogtoEmulator, seconds: float) -> tuple[int, int, float]:
    pgid = deployment.processes["triggerer"].pid
    logs_before = len(emulator.journal.entries(method="GET", path="/api/logs"))
    tokens_before = len(emulator.journal.entries(method="POST", path="/oidc/token"))
    cpu_before = group_cpu_seconds(pgid)
    time.sleep(seconds)
    return (len(emulator.journal.entries(method="GET", path="/api/logs")) - logs_before,
            len(emulator.journal.entries(method="POST", path="/oidc/token")) - tokens_before,
            group_cpu_seconds(pgid) - cpu_before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    seconds = parser.parse_args().minutes * 60
    with LogtoEmulator() as emulator:
        environment = seed_demo(emulator, users=1)
        environment["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] = "False"
        with AirflowDeployment([ROOT / "example_dags" / f"{EXAMPLE}.py"], environment) as deployment:
            deployment.wait_for_dags([EXAMPLE])
            deadline = time.monotonic() + 180
            while not emulator.journal.entries(method="GET", path="/api/logs"):
                if time.monotonic() > deadline:
                    raise TimeoutError(deployment.failure("the trigger never polled"))
                time.sleep(1)
            time.sleep(15)
            reads, tokens, cpu = measure(deployment, emulator, seconds)
            print(f"idle {seconds / 60:g} min, poll_interval=5, one watcher: GET /api/logs {reads} "
                  f"({reads / (seconds / 5):.2f} per poll), token requests {tokens}, triggerer CPU {cpu:.1f} s "
                  f"({100 * cpu / seconds:.2f} % of one core)")
            deployment.rest("PATCH", f"/dags/{EXAMPLE}", json={"is_paused": True})  # its watcher stops
            time.sleep(60)
            reads, tokens, cpu = measure(deployment, emulator, seconds)
            print(f"baseline {seconds / 60:g} min, no watcher: GET /api/logs {reads}, token requests {tokens}, "
                  f"triggerer CPU {cpu:.1f} s ({100 * cpu / seconds:.2f} % of one core)")


if __name__ == "__main__":
    main()
