"""Benchmark (not a test): the emulator's sustained rate for an authenticated
``GET /api/users?page=1&page_size=20`` over keep-alive connections, then listing a large tenant page by page.

The emulator runs in its own process; client processes each hold one keep-alive connection (``http.client``,
the cheapest client the standard library has) so the figure is the server's, not the client's. The listing
part seeds ``--large`` users and reads every page of 100, printing the rate of the first and the last pages
(the emulator keeps users in creation order, so a deep page costs what the first one does). The audit-log part
writes ``--logs`` entries with ``add_logs`` (a week of history, 100 apps, runs of same-millisecond entries) and
times ``GET /api/logs`` pages at the start, in the middle and at the end, and filtered by ``applicationId``.
Prints figures; asserts nothing about time.

    .venv/bin/python tests/benchmarks/bench_emulator.py [--seconds 5] [--clients 2] [--large 250000] \
        [--logs 1000000]
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import resource
import time
from multiprocessing.connection import Connection
from urllib.parse import urlsplit

import requests

PATH = "/api/users?page=1&page_size=20"


def _serve(pipe: Connection, users: int) -> None:
    from airflow_provider_logto.testing import LogtoEmulator

    with LogtoEmulator() as emulator:
        app = emulator.add_m2m_app("bench")
        for number in range(users):
            emulator.add_user(f"user{number}", primary_email=f"user{number}@example.com")
        pipe.send((emulator.endpoint, emulator.management_api_resource, app.id, app.secret))
        pipe.recv()  # run until told to stop


def _start(users: int) -> tuple[mp.Process, Connection, str, str]:
    """An emulator process seeded with ``users`` users; returns it, its pipe, its endpoint and a token."""
    parent, child = mp.Pipe()
    server = mp.Process(target=_serve, args=(child, users), daemon=True)
    server.start()
    endpoint, resource, app_id, secret = parent.recv()
    token = requests.post(f"{endpoint}/oidc/token", auth=(app_id, secret), timeout=10,
                          data={"grant_type": "client_credentials", "resource": resource, "scope": "all"}
                          ).json()["access_token"]
    return server, parent, endpoint, token


def _list_all(users: int) -> None:
    """Read every page of 100 of a tenant with ``users`` users; print the first and last pages' rates."""
    seeding = time.perf_counter()
    server, pipe, endpoint, token = _start(users)
    seeded = time.perf_counter() - seeding
    parts = urlsplit(endpoint)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"}
    pages = -(-users // 100)
    timings: list[float] = []
    listed = 0
    started = time.perf_counter()
    for page in range(1, pages + 1):
        before = time.perf_counter()
        connection.request("GET", f"/api/users?page={page}&page_size=100", headers=headers)
        response = connection.getresponse()
        listed += response.read().count(b'"username"')
        timings.append(time.perf_counter() - before)
    elapsed = time.perf_counter() - started
    pipe.send("stop")
    server.join(timeout=10)
    window = min(50, pages)
    first, last = sum(timings[:window]) / window, sum(timings[-window:]) / window
    print(f"emulator: listed {listed:,} of {users:,} users in {pages:,} pages of 100 in {elapsed:.1f} s "
          f"({listed / elapsed:,.0f} users/s); first {window} pages {first * 1000:.2f} ms/page, last {window} "
          f"{last * 1000:.2f} ms/page (seeding took {seeded:.1f} s)")


def _serve_logs(pipe: Connection, entries: int) -> None:
    from airflow_provider_logto.testing import LogtoEmulator

    with LogtoEmulator() as emulator:
        app = emulator.add_m2m_app("bench")
        now = int(time.time() * 1000)
        step = 7 * 24 * 3_600_000 // entries  # a week of history; every 4th entry shares its neighbour's ms
        started = time.perf_counter()
        added = emulator.add_logs({"key": "ExchangeTokenBy.ClientCredentials",
                                   "created_at": now - 7 * 24 * 3_600_000 + (n - n % 4 // 3) * step,
                                   "application_id": f"app{n % 100}"} for n in range(entries))
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        emulator.add_log("Interaction.Create", created_at=now - 3_600_000)  # an insertion in the middle
        inserted = time.perf_counter() - started
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        pipe.send((emulator.endpoint, emulator.management_api_resource, app.id, app.secret, added, seconds,
                   inserted, rss))
        pipe.recv()


def _audit_log(entries: int) -> None:
    """Seed ``entries`` audit-log entries; time shallow, middle, deep and filtered pages of 100."""
    parent, child = mp.Pipe()
    server = mp.Process(target=_serve_logs, args=(child, entries), daemon=True)
    server.start()
    endpoint, indicator, app_id, secret, added, seconds, inserted, rss = parent.recv()
    token = requests.post(f"{endpoint}/oidc/token", auth=(app_id, secret), timeout=10,
                          data={"grant_type": "client_credentials", "resource": indicator, "scope": "all"}
                          ).json()["access_token"]
    parts = urlsplit(endpoint)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"}
    pages = -(-entries // 100)

    def per_page(query: str, repeat: int = 50) -> float:
        started = time.perf_counter()
        for _ in range(repeat):
            connection.request("GET", f"/api/logs?{query}", headers=headers)
            response = connection.getresponse()
            if response.status != 200 or response.read().count(b'"tenantId"') != 100:
                raise SystemExit(f"unexpected answer to {query}: {response.status}")
        return (time.perf_counter() - started) / repeat * 1000

    shallow = per_page("page=1&page_size=100")
    middle = per_page(f"page={pages // 2}&page_size=100")
    deep = per_page(f"page={pages - 1}&page_size=100")
    filtered = per_page(f"page={pages // 200}&page_size=100&applicationId=app7")
    parent.send("stop")
    server.join(timeout=10)
    print(f"emulator audit log: add_logs of {added:,} entries {seconds:.1f} s ({added / seconds:,.0f}/s), one "
          f"add_log into the middle {inserted * 1000:.1f} ms, server peak RSS {rss:,.0f} MiB; GET /api/logs "
          f"page_size=100: first page {shallow:.2f} ms, middle {middle:.2f} ms, last {deep:.2f} ms, "
          f"applicationId-filtered deep page {filtered:.2f} ms")


def _client(endpoint: str, token: str, seconds: float, start_at: float, results: mp.Queue) -> None:
    parts = urlsplit(endpoint)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    headers = {"Authorization": f"Bearer {token}"}
    while time.time() < start_at:
        time.sleep(0.001)
    done = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        connection.request("GET", PATH, headers=headers)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200 or not body.startswith(b"["):
            raise SystemExit(f"unexpected answer {response.status}: {body[:200]!r}")
        done += 1
    results.put(done)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--large", type=int, default=250_000, help="users for the listing figure (0: skip)")
    parser.add_argument("--logs", type=int, default=1_000_000, help="audit-log entries (0: skip)")
    parser.add_argument("--only-logs", action="store_true", help="run only the audit-log figure")
    args = parser.parse_args()
    if args.only_logs:
        _audit_log(args.logs)
        return

    server, parent, endpoint, token = _start(50)
    results: mp.Queue = mp.Queue()
    start_at = time.time() + 0.5
    clients = [mp.Process(target=_client, args=(endpoint, token, args.seconds, start_at, results))
               for _ in range(args.clients)]
    for process in clients:
        process.start()
    total = sum(results.get(timeout=args.seconds + 30) for _ in clients)
    for process in clients:
        process.join()
    parent.send("stop")
    server.join(timeout=10)
    print(f"emulator: {total / args.seconds:,.0f} requests/s sustained for GET {PATH} "
          f"({total} requests, {args.clients} keep-alive clients, {args.seconds:g} s, "
          f"{mp.cpu_count()} CPUs shared by server and clients)")
    if args.large:
        _list_all(args.large)
    if args.logs:
        _audit_log(args.logs)


if __name__ == "__main__":
    main()
