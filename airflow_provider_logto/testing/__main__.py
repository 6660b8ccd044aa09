"""Run the Logto emulator in the foreground: ``python -m airflow_provider_logto.testing`` (or ``logto-emulator``).

It seeds one M2M app for the Management API and one for the sample shopping API, then prints
``AIRFLOW_CONN_*`` values to paste into a shell that runs Airflow. ``--state-file`` (or the ``--*-app-id`` and
``--*-app-secret`` options) keeps the apps' credentials across restarts, so a connection saved in the Airflow UI
keeps working.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import signal
import sys
import threading
from pathlib import Path

from airflow_provider_logto.testing.emulator import LogtoEmulator
from airflow_provider_logto.testing.http import PortInUseError
from airflow_provider_logto.testing.resource_server import SHOPPING_API_INDICATOR
from airflow_provider_logto.testing.seed import (
    MANAGEMENT_APP,
    SHOPPING_APP,
    load_or_create_credentials,
    seed_demo,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="logto-emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=3001, help="Logto endpoint port (0: any free port)")
    parser.add_argument("--resource-port", type=int, default=3002, help="sample shopping API port")
    parser.add_argument("--tenant-id", default="default",
                        help="tenant id; anything but 'default' makes the Management API indicator Cloud-like")
    parser.add_argument("--key", choices=["ES384", "RS256"], default="ES384", help="token signing algorithm")
    parser.add_argument("--users", type=int, default=3, help="sample users to create")
    parser.add_argument("--state-file", type=Path, metavar="PATH",
                        help="keep the demo apps' ids and secrets in this JSON file (created on first run)")
    parser.add_argument("--app-id", help=f"id of the {MANAGEMENT_APP!r} app (logto_default)")
    parser.add_argument("--app-secret", help=f"secret of the {MANAGEMENT_APP!r} app")
    parser.add_argument("--shopping-app-id", help=f"id of the {SHOPPING_APP!r} app (logto_shopping)")
    parser.add_argument("--shopping-app-secret", help=f"secret of the {SHOPPING_APP!r} app")
    parser.add_argument("--latency", type=float, default=0.0, metavar="SECONDS",
                        help="delay every request by this much, like a network (e.g. 0.05)")
    parser.add_argument("--jitter", type=float, default=0.0, metavar="SECONDS",
                        help="vary each request's delay uniformly by up to this much (at most --latency)")
    parser.add_argument("--rate-limit", type=int, default=0, metavar="REQUESTS",
                        help="Logto-Cloud-like token bucket: this many requests per --rate-limit-seconds, "
                             "then 429 with Retry-After (0: off; Cloud allows about 200 per 10 s)")
    parser.add_argument("--rate-limit-seconds", type=float, default=10.0, metavar="SECONDS",
                        help="the token bucket's refill window (default 10)")
    return parser


def _credentials(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, tuple[str, str]]:
    """Fixed credentials: the state file's, overridden by explicit options (id and secret go together)."""
    credentials: dict[str, tuple[str, str]] = {}
    if args.state_file is not None:
        try:
            credentials = load_or_create_credentials(args.state_file)
        except (ValueError, OSError) as error:
            parser.error(f"--state-file: {error}")
    for name, app_id, secret, option in ((MANAGEMENT_APP, args.app_id, args.app_secret, "--app"),
                                         (SHOPPING_APP, args.shopping_app_id, args.shopping_app_secret,
                                          "--shopping-app")):
        if (app_id is None) != (secret is None):
            parser.error(f"{option}-id and {option}-secret go together")
        if app_id is not None and secret is not None:
            if not app_id or not secret:
                parser.error(f"{option}-id and {option}-secret cannot be empty")
            credentials[name] = (app_id, secret)
    return credentials


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.jitter > args.latency or min(args.latency, args.jitter, args.rate_limit) < 0:
        parser.error("--latency and --jitter are non-negative seconds with --jitter <= --latency; "
                     "--rate-limit is a non-negative number of requests")
    if args.rate_limit_seconds <= 0:
        parser.error("--rate-limit-seconds must be greater than 0")
    credentials = _credentials(parser, args)

    try:
        emulator = LogtoEmulator(tenant_id=args.tenant_id, port=args.port, resource_port=args.resource_port,
                                 key_algorithm=args.key, latency=args.latency, jitter=args.jitter)
    except PortInUseError as error:
        option = "--port" if error.port == args.port else "--resource-port"
        print(f"logto-emulator: port {error.port} is already in use (another emulator or Logto?); "
              f"choose a free one with {option} (0 picks any)", file=sys.stderr)
        raise SystemExit(1) from None
    if args.rate_limit:
        emulator.enable_rate_limit(args.rate_limit, args.rate_limit_seconds)
    connections = seed_demo(emulator, args.users, credentials)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with emulator:
        print(f"Logto emulator: {emulator.endpoint} (issuer {emulator.issuer})")
        print(f"Management API resource: {emulator.management_api_resource}")
        print(f"Sample API {SHOPPING_API_INDICATOR}: {emulator.resource_api_url}/products")
        if args.state_file is not None:
            print(f"App credentials kept in {args.state_file}")
        print("\nPaste into the shell that runs Airflow:")
        for name, value in connections.items():
            print(f"export {name}={shlex.quote(value)}")
        print("\nCtrl-C stops it.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()


if __name__ == "__main__":
    main()
