"""Benchmark (not a test): ``LogtoExportOperator`` memory stays flat as the user count grows.

The emulator runs in its own process, seeded with N users; this process exports them to JSON Lines and reports
the peak of Python allocations during the export (``tracemalloc``) and the rate. Prints figures; asserts
nothing about time.

    .venv/bin/python tests/benchmarks/bench_export.py [--users 1000 20000]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import tempfile
import time
import tracemalloc
from multiprocessing.connection import Connection
from pathlib import Path


def _serve(users: int, pipe: Connection) -> None:
    from airflow_provider_logto.testing import LogtoEmulator

    with LogtoEmulator() as emulator:
        app = emulator.add_m2m_app("bench")
        for number in range(users):
            emulator.add_user(f"user{number}", primary_email=f"user{number}@example.com", name=f"User {number}",
                              custom_data={"department": "data", "employee_number": number})
        pipe.send(emulator.airflow_connection(app))
        pipe.recv()


def _measure(users: int, workdir: Path) -> tuple[int, float, float, int]:
    parent, child = mp.Pipe()
    server = mp.Process(target=_serve, args=(users, child), daemon=True)
    server.start()
    os.environ["AIRFLOW_CONN_LOGTO_BENCH"] = parent.recv()
    from airflow_provider_logto.operators.export import LogtoExportOperator
    from airflow_provider_logto.tokens import TOKEN_CACHE

    TOKEN_CACHE.clear()
    target = workdir / f"users-{users}.jsonl"
    operator = LogtoExportOperator(task_id="export", destination=str(target), logto_conn_id="logto_bench")
    tracemalloc.start()
    started = time.perf_counter()
    result = operator.execute({})
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    parent.send("stop")
    server.join(timeout=10)
    return result["count"], seconds, peak / 1024 / 1024, target.stat().st_size


def main() -> None:
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="logto-bench-"))  # never a real Airflow home
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[1000, 20000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        for users in args.users:
            count, seconds, peak_mib, size = _measure(users, Path(workdir))
            print(f"export: {count:>6} users in {seconds:5.1f} s ({count / seconds:,.0f} users/s), "
                  f"file {size / 1024 / 1024:.1f} MiB, peak Python allocations during export {peak_mib:.2f} MiB")


if __name__ == "__main__":
    main()
