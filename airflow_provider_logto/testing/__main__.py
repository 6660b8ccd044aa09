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
    args = parser.parse_args(argv)

    emulator = LogtoEmulator(tenant_id=args.tenant_id, port=args.port, resource_port=args.resource_port,
                             key_algorithm=args.key)
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
