"""Benchmark (not a test): the cost of a token fetch stays flat over a long-lived process.

A triggerer or api-server fetches thousands of tokens over its life, and every one is registered with Airflow's
secret masker. This fetches ``--fetches`` (5,000) new tokens in one process — each time the cached token is dropped,
as a 401 refresh would — from an emulator running in its own process, and prints the median fetch time of the
first and the last 100 fetches, the masker's pattern count, and the cost of masking one log line at the start and
at the end. Asserts nothing about time.

    .venv/bin/python tests/benchmarks/bench_tokens.py [--fetches 5000]
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

SAMPLE = 100


def _serve(pipe: Connection) -> None:
    from airflow_provider_logto.testing import LogtoEmulator

    with LogtoEmulator() as emulator:
        app = emulator.add_m2m_app("bench")
        pipe.send(emulator.airflow_connection(app, retry_backoff_ms=1))
        pipe.recv()  # run until told to stop


def _redact_cost(line: str, repeat: int = 200) -> float:
    from airflow.providers.common.compat.sdk import redact

    started = time.perf_counter()
    for _ in range(repeat):
        redact(line)
    return (time.perf_counter() - started) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--fetches", type=int, default=5000)
    args = parser.parse_args()

    parent, child = mp.Pipe()
    server = mp.get_context("spawn").Process(target=_serve, args=(child,), daemon=True)
    server.start()
    connection = parent.recv()

    from airflow_provider_logto.testing.dag_runs import configure_airflow

    configure_airflow(Path(tempfile.mkdtemp(prefix="logto-bench-")), Path(tempfile.mkdtemp()))
    os.environ["AIRFLOW_CONN_LOGTO_BENCH"] = connection
    from airflow_provider_logto.auth.masking import airflow_masker
    from airflow_provider_logto.hooks.logto import LogtoHook

    logging.getLogger("airflow_provider_logto").setLevel(logging.WARNING)  # one INFO line per fetch is noise here
    hook = LogtoHook("logto_bench")
    target = hook._management_target()
    line = "GET /api/users answered 200 " + json.dumps({"padding": "x" * 200})
    timings: list[float] = []
    redact_first = 0.0
    tokens: set[str] = set()
    for number in range(args.fetches):
        started = time.perf_counter()
        token = hook.get_access_token()
        timings.append(time.perf_counter() - started)
        tokens.add(token)
        hook._tokens.discard(target, token)
        if number == SAMPLE - 1:
            redact_first = _redact_cost(line)
    redact_last = _redact_cost(line)
    parent.send("stop")
    server.join(timeout=10)

    first = statistics.median(timings[:SAMPLE]) * 1000
    last = statistics.median(timings[-SAMPLE:]) * 1000
    masker = airflow_masker()
    print(f"token fetches: {len(timings)} ({len(tokens)} distinct tokens) in one process")
    print(f"median fetch, first {SAMPLE}: {first:.2f} ms; last {SAMPLE}: {last:.2f} ms; ratio last/first "
          f"{last / first:.2f}")
    print(f"secret masker patterns at the end: {len(getattr(masker, 'patterns', ()))}")
    print(f"masking one log line: {redact_first * 1e6:.1f} us after {SAMPLE} tokens, {redact_last * 1e6:.1f} us "
          f"after {len(timings)}")


if __name__ == "__main__":
    main()
