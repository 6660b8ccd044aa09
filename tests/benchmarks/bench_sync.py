"""Benchmark (not a test): ``LogtoUserSyncOperator`` against the emulator with 50 ms latency per request.

For N users (default 10,000) from a JSON Lines file: the first sync (N creates) in users/s, the second sync
(writes: expected 0), a sync with 1 % of the rows changed (writes: expected exactly 1 % of N); then, for M users
(default 100,000, seeded directly into the emulator as users of this sync), a sync with nothing to do. Each sync
runs in its own process, so its peak RSS (``ru_maxrss``) is its own; the figure after imports is printed beside
it. The emulator runs in another process and counts the writes it served. Prints figures; asserts nothing.

    .venv/bin/python tests/benchmarks/bench_sync.py [--users 10000] [--idle-users 100000] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

WRITES = ("POST", "PUT", "PATCH", "DELETE")


def _row(number: int, team: str = "data") -> dict[str, Any]:
    return {"customData": {"externalId": f"E{number:07d}", "team": team},
            "primaryEmail": f"user{number}@example.com", "name": f"User {number}"}


def _write_source(path: Path, users: int, changed: int = 0) -> None:
    with path.open("w") as stream:
        for number in range(users):
            stream.write(json.dumps(_row(number, "platform" if number < changed else "data")) + "\n")


def _serve(pipe: Connection, latency: float, seeded: int) -> None:
    """The emulator process: answers ``writes`` (count of writes served since the last ask) and ``stop``."""
    from airflow_provider_logto.testing import LogtoEmulator

    with LogtoEmulator(latency=latency) as emulator:
        app = emulator.add_m2m_app("bench")
        for number in range(seeded):
            row = _row(number)
            emulator.add_user(primary_email=row["primaryEmail"], name=row["name"],
                              custom_data={**row["customData"], "airflowUserSync": "airflow"})
        pipe.send(emulator.airflow_connection(app))
        while (command := pipe.recv()) != "stop":
            assert command == "writes"
            entries = emulator.journal.entries()
            emulator.journal.clear()
            pipe.send(sum(1 for e in entries if e.method in WRITES and e.path.startswith("/api/")))


def _sync(connection: str, source: str, concurrency: int, pipe: Connection) -> None:
    """One sync in a fresh process: its summary, seconds, RSS after imports and peak RSS (KiB)."""
    os.environ["AIRFLOW_CONN_LOGTO_BENCH"] = connection
    from airflow_provider_logto.operators.sync import LogtoUserSyncOperator

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    operator = LogtoUserSyncOperator(task_id="sync", source=source, logto_conn_id="logto_bench",
                                     max_concurrency=concurrency)
    started = time.perf_counter()
    summary = operator.execute({})
    seconds = time.perf_counter() - started
    pipe.send((summary, seconds, baseline, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


def _run_sync(connection: str, source: Path, concurrency: int) -> tuple[dict[str, Any], float, int, int]:
    parent, child = mp.Pipe()
    worker = mp.Process(target=_sync, args=(connection, str(source), concurrency, child))
    worker.start()
    result = parent.recv()
    worker.join()
    return result


def _emulator(latency: float, seeded: int) -> tuple[mp.Process, Connection, str]:
    parent, child = mp.Pipe()
    server = mp.Process(target=_serve, args=(child, latency, seeded), daemon=True)
    server.start()
    return server, parent, parent.recv()


def _line(label: str, summary: dict[str, Any], seconds: float, writes: int, baseline: int, peak: int,
          users: int) -> str:
    counts = ", ".join(f"{summary[k]} {k}" for k in ("created", "updated", "unchanged") if summary[k])
    return (f"sync {label:<22} {users:>7} users: {seconds:6.1f} s ({users / seconds:,.0f} users/s), {writes:>6} "
            f"writes ({counts}), peak RSS {peak / 1024:.0f} MiB ({(peak - baseline) / 1024:+.0f} MiB over "
            f"{baseline / 1024:.0f} MiB after imports)")


def main() -> None:
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="logto-bench-"))  # never a real Airflow home
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")  # the figures, not the sync's progress
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--idle-users", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    print(f"emulator latency {args.latency * 1000:.0f} ms per request, max_concurrency={args.concurrency}")
    with tempfile.TemporaryDirectory() as workdir:
        source = Path(workdir) / "users.jsonl"
        server, pipe, connection = _emulator(args.latency, 0)
        try:
            for label, changed in (("first (all creates)", None), ("second (no change)", None),
                                   ("1 % changed", args.users // 100)):
                _write_source(source, args.users, changed or 0)
                summary, seconds, baseline, peak = _run_sync(connection, source, args.concurrency)
                pipe.send("writes")
                print(_line(label, summary, seconds, pipe.recv(), baseline, peak, args.users), flush=True)
        finally:
            pipe.send("stop")
            server.join(timeout=30)
        if args.idle_users:
            started = time.perf_counter()
            server, pipe, connection = _emulator(args.latency, args.idle_users)
            seeding = time.perf_counter() - started
            try:
                _write_source(source, args.idle_users)
                summary, seconds, baseline, peak = _run_sync(connection, source, args.concurrency)
                pipe.send("writes")
                print(_line("in step (no change)", summary, seconds, pipe.recv(), baseline, peak, args.idle_users)
                      + f" [emulator seeded in {seeding:.0f} s]", flush=True)
            finally:
                pipe.send("stop")
                server.join(timeout=30)


if __name__ == "__main__":
    main()
