"""Benchmark (not a test): what the shared token caches save and what they cost.

1. Token requests for N task processes starting together (forked processes, each with an empty process cache),
   per ``cache_sharing`` mode: ``process`` (every process fetches), ``worker`` (one shared cache directory) and
   ``deployment`` (every process with a fresh cache directory, as in fresh containers; the Variables are stood
   in for by a shared directory with a delay per call like an Execution API round trip, since no Airflow
   deployment runs here — tests/deployment measures the real thing).
2. Token requests when the same number of tasks run again after the token's lifetime (3 s here): one more.
3. The cost a task pays for a worker-cache hit (directory check, read, HKDF, AES-GCM open) next to the cost of
   a token request to the emulator on loopback (a real Logto is further away).

Prints figures; asserts nothing about time.

    .venv/bin/python tests/benchmarks/bench_token_cache.py [--tasks 1 5 20] [--variable-latency-ms 5]
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="logto-bench-"))


class DirectoryVariables:
    """Airflow Variables stood in for by one file per key in a directory shared by the processes."""

    def __init__(self, directory: Path, latency: float) -> None:
        self.directory = directory
        self.latency = latency

    def get(self, key: str, default: Any = None) -> Any:
        time.sleep(self.latency)
        try:
            return (self.directory / key).read_text()
        except FileNotFoundError:
            return default

    def set(self, key: str, value: Any, description: str | None = None) -> None:
        time.sleep(self.latency)
        temporary = self.directory / f".{key}.{os.getpid()}"
        temporary.write_text(value)
        os.replace(temporary, self.directory / key)

    def delete(self, key: str) -> None:
        time.sleep(self.latency)
        (self.directory / key).unlink(missing_ok=True)


def _task(barrier: Any, cache_dir: str | None, variables: DirectoryVariables | None) -> None:
    from airflow_provider_logto.auth.token_cache import deployment
    from airflow_provider_logto.auth.tokens import TOKEN_CACHE
    from airflow_provider_logto.hooks.logto import LogtoHook

    TOKEN_CACHE.clear()
    if cache_dir is None:
        os.environ["AIRFLOW__LOGTO__TOKEN_CACHE_DIR"] = tempfile.mkdtemp(prefix="logto-bench-fresh-")
    if variables is not None:
        deployment.airflow_variables = lambda: variables  # type: ignore[assignment]
    barrier.wait()
    LogtoHook("logto_bench").get_access_token()


def _token_requests(emulator: Any, app: Any, mode: str, tasks: int, latency: float,
                    directory: str | None = None) -> int:
    before = emulator.tokens_issued()
    workdir = Path(directory or tempfile.mkdtemp(prefix="logto-bench-"))
    os.environ["AIRFLOW_CONN_LOGTO_BENCH"] = emulator.airflow_connection(app, cache_sharing=mode)
    os.environ["AIRFLOW__LOGTO__TOKEN_CACHE_DIR"] = str(workdir / "worker")
    variables = None
    if mode == "deployment":
        (workdir / "variables").mkdir(exist_ok=True)
        variables = DirectoryVariables(workdir / "variables", latency)
    context = mp.get_context("fork")
    barrier = context.Barrier(tasks)
    shared_dir = None if mode == "deployment" else str(workdir / "worker")
    children = [context.Process(target=_task, args=(barrier, shared_dir, variables)) for _ in range(tasks)]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=300)
    failed = [child.exitcode for child in children if child.exitcode != 0]
    if failed:
        raise RuntimeError(f"{len(failed)} task process(es) failed")
    return emulator.tokens_issued() - before


def _per_call(function: Any, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--variable-latency-ms", type=float, default=5.0)
    args = parser.parse_args()
    logging.getLogger("airflow_provider_logto").setLevel(logging.WARNING)  # no line per fetched token

    from airflow_provider_logto.auth.tokens import TOKEN_CACHE
    from airflow_provider_logto.hooks.logto import LogtoHook
    from airflow_provider_logto.testing import LogtoEmulator

    with LogtoEmulator() as emulator:
        print("Token requests for N task processes starting together:")
        print(f"  {'tasks':>5}  {'process':>8}  {'worker':>8}  {'deployment':>10}")
        for tasks in args.tasks:
            counts = [_token_requests(emulator, emulator.add_m2m_app(f"bench {mode} {tasks}"), mode, tasks,
                                      args.variable_latency_ms / 1000)
                      for mode in ("process", "worker", "deployment")]
            print(f"  {tasks:>5}  {counts[0]:>8}  {counts[1]:>8}  {counts[2]:>10}")

        emulator.set_access_token_ttl(emulator.management_api_resource, 3)  # leeway 0.3 s
        app = emulator.add_m2m_app("bench lifetime")
        workdir = tempfile.mkdtemp(prefix="logto-bench-")
        first = _token_requests(emulator, app, "worker", max(args.tasks), 0, workdir)
        time.sleep(3)
        again = _token_requests(emulator, app, "worker", max(args.tasks), 0, workdir)
        print(f"Worker cache, token lifetime 3 s: {max(args.tasks)} tasks -> {first} token request(s); "
              f"{max(args.tasks)} more tasks after the lifetime -> {again} more")
        emulator.set_access_token_ttl(emulator.management_api_resource, 3600)

        app = emulator.add_m2m_app("bench costs")
        os.environ["AIRFLOW__LOGTO__TOKEN_CACHE_DIR"] = tempfile.mkdtemp(prefix="logto-bench-")
        os.environ["AIRFLOW_CONN_LOGTO_BENCH"] = emulator.airflow_connection(app, cache_sharing="process")
        fetching = LogtoHook("logto_bench")

        def fetch() -> None:
            TOKEN_CACHE.clear()
            fetching.get_access_token()

        fetch()  # warm the HTTP connection: the figure is the request, not the TCP handshake
        request = _per_call(fetch, 50)
        os.environ["AIRFLOW_CONN_LOGTO_BENCH"] = emulator.airflow_connection(app, cache_sharing="worker")
        cached = LogtoHook("logto_bench")
        cached.get_access_token()  # the entry now exists in the worker cache

        def hit() -> None:
            TOKEN_CACHE.clear()  # as in a new task process: only the worker cache holds the token
            cached.get_access_token()

        worker_hit = _per_call(hit, 500)
        TOKEN_CACHE.clear()
        process_hit = _per_call(cached.get_access_token, 2000)
        print(f"Cost per task: worker-cache hit {worker_hit * 1e6:.0f} µs, process-cache hit "
              f"{process_hit * 1e6:.1f} µs, token request to the emulator on loopback {request * 1e6:.0f} µs "
              f"(a hit costs {worker_hit / request:.1%} of a request; median of 500 / 2000 / 50)")


if __name__ == "__main__":
    main()
