"""Benchmark (not a test): calls under load with short-lived tokens, where 401s after a refresh used to slip through.

``--threads`` (32) threads of one process each make ``--calls`` (50) resource API calls through one hook while the
emulator (in its own process) issues ``--ttl`` (2) second tokens, ``--runs`` (5) times per ``cache_sharing`` mode.
Prints per run the calls made, how many were answered 401 and retried, the tokens fetched and the calls that
failed (which should be 0). Asserts nothing.

    .venv/bin/python tests/benchmarks/bench_short_tokens.py [--threads 32] [--calls 50] [--ttl 2] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing as mp
import os
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

SHOP = "https://shopping.api"


def _serve(pipe: Connection, ttl: int) -> None:
    from airflow_provider_logto.testing import LogtoEmulator

    with LogtoEmulator() as emulator:
        resource = emulator.state.resource_by_indicator(SHOP)
        assert resource is not None
        resource["accessTokenTtl"] = ttl
        emulator.add_role("Shopping", {SHOP: ["read:products"]})
        app = emulator.add_m2m_app("bench", roles=["Shopping"])
        pipe.send(emulator.airflow_connection(app, retry_backoff_ms=1))
        while pipe.recv() == "count":
            entries = emulator.journal.entries(server="resource", path="/products")
            tokens = emulator.journal.entries(path="/oidc/token")
            pipe.send((sum(entry.status == 401 for entry in entries), len(tokens)))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--ttl", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    parent, child = mp.Pipe()
    server = mp.get_context("spawn").Process(target=_serve, args=(child, args.ttl), daemon=True)
    server.start()
    connection = parent.recv()

    from airflow_provider_logto.testing.dag_runs import configure_airflow

    configure_airflow(Path(tempfile.mkdtemp(prefix="logto-bench-")), Path(tempfile.mkdtemp()))
    os.environ["AIRFLOW__LOGTO__TOKEN_CACHE_DIR"] = tempfile.mkdtemp(prefix="logto-bench-cache-")
    from airflow_provider_logto.exceptions import LogtoError
    from airflow_provider_logto.hooks.logto import LogtoHook

    logging.getLogger("airflow_provider_logto").setLevel(logging.WARNING)
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)  # 32 threads share a 10-connection pool
    before = (0, 0)
    for mode in ("worker", "process"):
        fields = json.loads(connection)
        fields["extra"]["cache_sharing"] = mode
        os.environ["AIRFLOW_CONN_LOGTO_BENCH"] = json.dumps(fields)
        for run in range(1, args.runs + 1):
            hook = LogtoHook("logto_bench")
            failed: list[str] = []

            def work(hook: LogtoHook = hook, failed: list[str] = failed) -> None:
                for _ in range(args.calls):
                    try:
                        hook.resource_request("GET", "/products", resource=SHOP, scopes="read:products")
                    except LogtoError as error:
                        failed.append(str(error)[:200])

            started = time.monotonic()
            threads = [threading.Thread(target=work) for _ in range(args.threads)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
            parent.send("count")
            refused, fetched = parent.recv()
            print(f"{mode} run {run}: {args.threads * args.calls} calls in {elapsed:.1f} s, "
                  f"{refused - before[0]} answered 401 and retried, {fetched - before[1]} tokens fetched, "
                  f"{len(failed)} failed{': ' + failed[0] if failed else ''}")
            before = (refused, fetched)
    parent.send("stop")
    server.join(timeout=10)


if __name__ == "__main__":
    main()
