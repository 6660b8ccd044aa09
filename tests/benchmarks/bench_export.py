"""Benchmark (not a test): ``LogtoExportOperator`` throughput, rate-limit behaviour and memory.

Every figure comes from fresh processes: the emulator runs in its own process (seeded once per tenant size),
moto's S3 server in another, and each export in a new child process that measures its own peak RSS growth
(``VmHWM`` after the export minus ``VmRSS`` before it, with the high-water mark reset after start-up).

1. Throughput with 50 ms injected latency per request: 10k and 100k users, sequential (``max_concurrency=1``)
   vs concurrent (the default, 8): users/s, the ratio, and peak RSS growth.
2. Logto Cloud's rate limit (token bucket, 200 requests / 10 s) on the emulator: an adaptive export and a paced
   one (``max_requests_per_second=20``): requests answered 429 and failed tasks.
3. Memory: peak RSS growth exporting 25k and 250k users to a local file and to S3 (moto), no latency.

Prints figures; asserts nothing about time. Needs the s3 extra for part 3 (skipped with a note otherwise).

    .venv/bin/python tests/benchmarks/bench_export.py [--throughput 10000 100000] [--memory 25000 250000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from measured import run_measured

LATENCY = 0.05
CLOUD_BUCKET = (200, 10.0)


def _serve(users: int, pipe: Connection) -> None:
    """An emulator with ``users`` users; obeys ("latency", seconds), ("limit", on/off) and ("stop", None)."""
    from airflow_provider_logto.testing import LogtoEmulator

    with LogtoEmulator() as emulator:
        app = emulator.add_m2m_app("bench")
        for number in range(users):
            emulator.add_user(f"user{number}", primary_email=f"user{number}@example.com", name=f"User {number}",
                              custom_data={"department": "data", "employee_number": number})
        pipe.send(emulator.airflow_connection(app))
        while True:
            command, value = pipe.recv()
            if command == "stop":
                return
            if command == "latency":
                emulator.set_latency(value)
            elif command == "limit" and value:
                emulator.enable_rate_limit(*CLOUD_BUCKET)  # a new, full bucket
            elif command == "limit":
                emulator.disable_rate_limit()
            pipe.send("ok")


class Tenant:
    """An emulator process with ``users`` users."""

    def __init__(self, users: int) -> None:
        self.users = users
        self._pipe, child = mp.Pipe()
        started = time.perf_counter()
        self._process = mp.Process(target=_serve, args=(users, child), daemon=True)
        self._process.start()
        self.connection = self._pipe.recv()
        self.seeded_in = time.perf_counter() - started

    def ask(self, command: str, value: Any = None) -> Any:
        self._pipe.send((command, value))
        return self._pipe.recv()

    def close(self) -> None:
        self._pipe.send(("stop", None))
        self._process.join(timeout=30)


def _moto(pipe: Connection) -> None:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    pipe.send(f"http://{host}:{port}")
    pipe.recv()
    server.stop()


def _export(connection: str, aws: str | None, options: dict[str, Any], pipe: Connection) -> None:
    """Child process: one export; sends (result, seconds, peak RSS growth in MiB)."""
    os.environ["AIRFLOW_CONN_LOGTO_BENCH"] = connection
    if aws:
        os.environ["AIRFLOW_CONN_AWS_BENCH"] = aws
    from airflow_provider_logto.hooks.logto import LogtoHook
    from airflow_provider_logto.operators.export import LogtoExportOperator
    from airflow_provider_logto.storage.writer import open_export_writer

    LogtoHook("logto_bench").get_access_token()  # warm up: imports, connection, token
    if aws:
        open_export_writer(options["destination"] + ".warmup", "aws_bench").abort()
    operator = LogtoExportOperator(task_id="export", logto_conn_id="logto_bench",
                                   destination_conn_id="aws_bench" if aws else None, **options)
    pipe.send(run_measured(lambda: operator.execute({})))


def run_export(tenant: Tenant, *, aws: str | None = None, **options: Any) -> tuple[dict[str, Any], float, float]:
    parent, child = mp.Pipe()
    process = mp.Process(target=_export, args=(tenant.connection, aws, options, child))
    process.start()
    answer = parent.recv()
    process.join(timeout=60)
    return answer


def throughput(sizes: list[int], workdir: Path) -> None:
    for users in sizes:
        tenant = Tenant(users)
        tenant.ask("latency", LATENCY)
        rates = {}
        for label, concurrency in (("sequential", 1), ("concurrent", 8)):
            result, seconds, growth = run_export(tenant, destination=str(workdir / "t.jsonl"),
                                                 max_concurrency=concurrency)
            rates[label] = result["count"] / seconds
            print(f"throughput: {users:>7,} users, 50 ms latency, {label:<10} (max_concurrency={concurrency}): "
                  f"{result['count']:,} in {seconds:6.1f} s = {rates[label]:7,.0f} users/s, "
                  f"peak RSS growth {growth:5.1f} MiB")
        ratio = rates["concurrent"] / rates["sequential"]
        print(f"throughput: {users:>7,} users: concurrent / sequential = {ratio:.1f}x "
              f"(emulator seeded in {tenant.seeded_in:.0f} s)")
        tenant.close()


def rate_limit(users: int, workdir: Path) -> None:
    tenant = Tenant(users)
    tenant.ask("latency", LATENCY)
    runs: list[tuple[str, dict[str, Any]]] = [("adaptive", {}), ("paced 20/s", {"max_requests_per_second": 20})]
    for label, options in runs:
        tenant.ask("limit", True)  # a full bucket for each run
        result, seconds, _ = run_export(tenant, destination=str(workdir / "r.jsonl"), **options)
        tenant.ask("limit", False)
        failed = 1 if "failed" in result else 0
        requests = result.get("requests", {})
        print(f"rate limit: {users:,} users ({-(-users // 100)} pages), Cloud-like bucket 200/10 s, {label:<10}: "
              f"{result.get('count', 0):,} exported in {seconds:5.1f} s, {requests.get('throttled', 0)} requests "
              f"answered 429 (absorbed), concurrency settled at {requests.get('concurrency')} (lowest "
              f"{requests.get('lowest_concurrency')}), failed tasks: {failed}"
              + (f" ({result['failed']})" if failed else ""))
    tenant.close()


def memory(sizes: list[int], workdir: Path) -> None:
    from airflow_provider_logto.storage.writer import PART_SIZE

    try:
        import moto.server  # noqa: F401
        import s3fs  # noqa: F401
    except ImportError:
        print("memory: S3 part skipped: install the s3 and dev extras (pip install -e '.[test,dev,s3]')")
        s3_endpoint = None
    else:
        parent, child = mp.Pipe()
        moto_process = mp.Process(target=_moto, args=(child,), daemon=True)
        moto_process.start()
        s3_endpoint = parent.recv()
        import boto3

        client = boto3.client("s3", endpoint_url=s3_endpoint, aws_access_key_id="bench",
                              aws_secret_access_key="bench", region_name="us-east-1")
        client.create_bucket(Bucket="bench")
    aws = json.dumps({"conn_type": "aws", "login": "bench", "password": "bench",
                      "extra": {"endpoint_url": s3_endpoint, "region_name": "us-east-1"}}) if s3_endpoint else None
    for users in sizes:
        tenant = Tenant(users)
        destinations: list[tuple[str, str, str | None]] = [("local file", str(workdir / f"m-{users}.jsonl"), None)]
        if aws:
            destinations.append(("S3 (moto)", f"s3://bench/m-{users}.jsonl", aws))
        for label, destination, connection in destinations:
            result, seconds, growth = run_export(tenant, aws=connection, destination=destination)
            if connection:
                size = client.head_object(Bucket="bench", Key=f"m-{users}.jsonl")["ContentLength"]
                how = "one PutObject" if size < PART_SIZE else f"{-(-size // PART_SIZE)} multipart parts"
            else:
                size, how = Path(destination).stat().st_size, "via .part"
            print(f"memory: {users:>7,} users to {label:<10}: {result.get('count', 0):,} in {seconds:5.1f} s "
                  f"({result.get('count', 0) / max(seconds, 1e-9):,.0f} users/s), {size / 2**20:5.1f} MiB "
                  f"({how}), peak RSS growth {growth:5.1f} MiB"
                  + (f" FAILED {result['failed']}" if "failed" in result else ""))
        tenant.close()
    if s3_endpoint:
        parent.send("stop")


def main() -> None:
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="logto-bench-"))  # never a real Airflow home
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--throughput", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--rate-limit", type=int, default=30_000)
    parser.add_argument("--memory", type=int, nargs="*", default=[25_000, 250_000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        throughput(args.throughput, Path(workdir))
        if args.rate_limit:
            rate_limit(args.rate_limit, Path(workdir))
        memory(args.memory, Path(workdir))


if __name__ == "__main__":
    main()
