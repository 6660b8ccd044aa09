"""Benchmark (not a test): ``LogtoAuditLogExportOperator`` locating, throughput and memory.

The emulator runs in its own process (its audit log seeded once with ``add_logs``); each export runs in a new child
process that measures its own peak RSS growth (``VmHWM`` after the export minus ``VmRSS`` before it, with the
high-water mark reset after start-up), writing redacted JSON Lines to a local file.

1. Locate + throughput with 50 ms injected latency per request: a tenant of 1,000,000 entries over 14 days; the
   window is one hour a week back holding 10,000 of them (100 pages). Requests made vs pages in the window, and
   entries/s sequential (``max_concurrency=1``) vs concurrent (8).
2. Memory, no latency: peak RSS growth exporting a window of 100,000 and of 1,000,000 entries.

Prints figures; asserts nothing about time.

    .venv/bin/python tests/benchmarks/bench_audit_export.py [--total 1000000] [--window 10000]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from measured import run_measured

LATENCY = 0.05
DAY = 86_400_000
HOUR = 3_600_000
END = 1_767_225_600_000  # 2026-01-01T00:00:00Z: the newest seeded entry is just before it
KEY = "ExchangeTokenBy.ClientCredentials"


def _stamps(total: int, window: int) -> tuple[list[int], int]:
    """``total`` stamps over 14 days before END; ``window`` of them in the hour starting 7 days before END."""
    rng = random.Random(16)
    hour_start = END - 7 * DAY
    stamps = [hour_start + rng.randrange(HOUR) for _ in range(window)]
    while len(stamps) < total:
        stamp = END - 14 * DAY + rng.randrange(14 * DAY)
        if not hour_start <= stamp < hour_start + HOUR:
            stamps.append(stamp)
    return stamps, hour_start


def _serve(total: int, window: int, pipe: Connection) -> None:
    """An emulator whose audit log holds ``total`` entries; obeys ("latency", seconds) and ("stop", None)."""
    from airflow_provider_logto.testing import LogtoEmulator

    stamps, hour_start = _stamps(total, window)
    with LogtoEmulator() as emulator:
        app = emulator.add_m2m_app("bench")
        payload = {"ip": "10.0.0.1", "userAgent": "bench/1.0", "applicationId": app.id, "result": "Success",
                   "params": {"grant_type": "client_credentials", "client_id": app.id,
                              "client_secret": "#internal:bench-secret-value", "scope": "all"},
                   "tokenTypes": ["AccessToken"]}
        started = time.perf_counter()
        emulator.add_logs({"key": KEY, "created_at": stamp, "application_id": app.id, "payload": payload}
                          for stamp in stamps)
        pipe.send((emulator.airflow_connection(app), hour_start, sorted(stamps), time.perf_counter() - started))
        while True:
            command, value = pipe.recv()
            if command == "stop":
                return
            if command == "latency":
                emulator.set_latency(value)
            pipe.send("ok")


def _export(connection: str, options: dict[str, Any], pipe: Connection) -> None:
    """Child process: one export; sends (result, seconds, peak RSS growth in MiB)."""
    os.environ["AIRFLOW_CONN_LOGTO_BENCH"] = connection
    from airflow_provider_logto.hooks.logto import LogtoHook
    from airflow_provider_logto.operators.audit_logs import LogtoAuditLogExportOperator

    LogtoHook("logto_bench").get_access_token()  # warm up: imports, connection, token
    operator = LogtoAuditLogExportOperator(task_id="export", logto_conn_id="logto_bench", **options)
    pipe.send(run_measured(lambda: operator.execute({})))


def run_export(connection: str, **options: Any) -> tuple[dict[str, Any], float, float]:
    parent, child = mp.Pipe()
    process = mp.Process(target=_export, args=(connection, options, child))
    process.start()
    answer = parent.recv()
    process.join(timeout=60)
    if "failed" in answer[0]:
        raise SystemExit(f"the export failed: {answer[0]['failed']}")
    return answer


def _iso(ms: int) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)).isoformat()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--total", type=int, default=1_000_000, help="entries in the tenant's audit log")
    parser.add_argument("--window", type=int, default=10_000, help="entries in the hour a week back")
    parser.add_argument("--memory", type=int, nargs="*", default=[100_000, 1_000_000],
                        help="window sizes for the memory runs (the newest N entries)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    parent, child = mp.Pipe()
    tenant = mp.Process(target=_serve, args=(args.total, args.window, child), daemon=True)
    tenant.start()
    connection, hour_start, stamps, seeded = parent.recv()
    print(f"tenant: {args.total:,} audit-log entries over 14 days, seeded in {seeded:.0f} s; window: the hour "
          f"starting {_iso(hour_start)} (a week back) with {args.window:,} entries = {-(-args.window // 100)} pages")
    parent.send(("latency", LATENCY))
    parent.recv()
    rates = {}
    for label, concurrency in (("sequential", 1), ("concurrent", 8)):
        result, seconds, growth = run_export(connection, destination=str(workdir / "hour.jsonl"),
                                             start=_iso(hour_start), end=_iso(hour_start + HOUR),
                                             max_concurrency=concurrency)
        rates[label] = result["count"] / seconds
        print(f"locate+read, 50 ms latency, {label:<10} (max_concurrency={concurrency}): {result['count']:,} entries "
              f"in {seconds:5.1f} s = {rates[label]:6,.0f} entries/s; {result['requests']} requests for "
              f"{-(-result['count'] // 100)} pages in the window; peak RSS growth {growth:5.1f} MiB")
    print(f"locate+read: concurrent / sequential = {rates['concurrent'] / rates['sequential']:.1f}x")
    parent.send(("latency", 0.0))
    parent.recv()
    for size in args.memory:
        size = min(size, len(stamps))
        start = stamps[-size]
        result, seconds, growth = run_export(connection, destination=str(workdir / f"m-{size}.jsonl"),
                                             start=_iso(start), end=_iso(END))
        file_mib = (workdir / f"m-{size}.jsonl").stat().st_size / 2**20
        print(f"memory: window of {result['count']:>9,} entries (no latency): {seconds:6.1f} s = "
              f"{result['count'] / seconds:6,.0f} entries/s, {result['requests']:,} requests, "
              f"file {file_mib:,.0f} MiB, peak RSS growth {growth:5.1f} MiB")
        (workdir / f"m-{size}.jsonl").unlink()
    parent.send(("stop", None))
    tenant.join(timeout=30)


if __name__ == "__main__":
    main()
