"""Run the Logto emulator in the foreground: ``python -m airflow_provider_logto.testing`` (or ``logto-emulator``).

It seeds one M2M app for the Management API and one for the sample shopping API, then prints
``AIRFLOW_CONN_*`` values to paste into a shell that runs Airflow.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import threading

from airflow_provider_logto.testing.emulator import LogtoEmulator
from airflow_provider_logto.testing.resource_server import SHOPPING_API_INDICATOR
from airflow_provider_logto.testing.seed import seed_demo


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="logto-emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=3001, help="Logto endpoint port (0: any free port)")
    parser.add_argument("--resource-port", type=int, default=3002, help="sample shopping API port")
    parser.add_argument("--tenant-id", default="default",
                        help="tenant id; anything but 'default' makes the Management API indicator Cloud-like")
    parser.add_argument("--key", choices=["ES384", "RS256"], default="ES384", help="token signing algorithm")
    parser.add_argument("--users", type=int, default=3, help="sample users to create")
    parser.add_argument("--latency", type=float, default=0.0, metavar="SECONDS",
                        help="delay every request by this much, like a network (e.g. 0.05)")
    parser.add_argument("--jitter", type=float, default=0.0, metavar="SECONDS",
                        help="vary each request's delay uniformly by up to this much (at most --latency)")
    parser.add_argument("--rate-limit", type=int, default=0, metavar="REQUESTS",
                        help="Logto-Cloud-like token bucket: this many requests per --rate-limit-seconds, "
                             "then 429 with Retry-After (0: off; Cloud allows about 200 per 10 s)")
    parser.add_argument("--rate-limit-seconds", type=float, default=10.0, metavar="SECONDS",
                        help="the token bucket's refill window (default 10)")
    args = parser.parse_args(argv)
    if args.jitter > args.latency or min(args.latency, args.jitter, args.rate_limit) < 0:
        parser.error("--latency and --jitter are non-negative seconds with --jitter <= --latency; "
                     "--rate-limit is a non-negative number of requests")
    if args.rate_limit_seconds <= 0:
        parser.error("--rate-limit-seconds must be greater than 0")

    emulator = LogtoEmulator(tenant_id=args.tenant_id, port=args.port, resource_port=args.resource_port,
                             key_algorithm=args.key, latency=args.latency, jitter=args.jitter)
    if args.rate_limit:
        emulator.enable_rate_limit(args.rate_limit, args.rate_limit_seconds)
    connections = seed_demo(emulator, args.users)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with emulator:
        print(f"Logto emulator: {emulator.endpoint} (issuer {emulator.issuer})")
        print(f"Management API resource: {emulator.management_api_resource}")
        print(f"Sample API {SHOPPING_API_INDICATOR}: {emulator.resource_api_url}/products\n")
        print("Paste into the shell that runs Airflow:")
        for name, value in connections.items():
            print(f"export {name}={shlex.quote(value)}")
        print("\nCtrl-C stops it.", flush=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
