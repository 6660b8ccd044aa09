"""Benchmark (not a test): ``redact_entry`` on realistic audit-log entries, in entries/s.

The entries are real ones: the emulator answers token requests (client_secret_post and Basic successes, a wrong
secret, an unknown resource — the failures carry their JSON error string with a stack) and writes their
``ExchangeTokenBy.ClientCredentials`` entries, plus an interaction entry with verification records. They are
redacted round-robin, first with Airflow's masker empty, then with ``--masked`` secrets registered (a task
process that has seen connections and tokens). Prints figures; asserts nothing about time.

    .venv/bin/python tests/benchmarks/bench_redaction.py [--entries 50000] [--masked 50]
"""

from __future__ import annotations

import argparse
import json
import secrets
import time
from typing import Any

import requests


def _real_entries() -> list[dict[str, Any]]:
    from airflow_provider_logto.testing import LogtoEmulator

    with LogtoEmulator() as emulator:
        app = emulator.add_m2m_app("bench")
        url = f"{emulator.endpoint}/oidc/token"
        form = {"grant_type": "client_credentials", "resource": emulator.management_api_resource, "scope": "all"}
        requests.post(url, data={**form, "client_id": app.id, "client_secret": app.secret}, timeout=10)
        requests.post(url, data=form, auth=(app.id, app.secret), timeout=10)
        requests.post(url, data={**form, "client_id": app.id, "client_secret": "wrong"}, timeout=10)
        requests.post(url, data={**form, "resource": "https://unknown.example"}, auth=(app.id, app.secret),
                      timeout=10)
        emulator.add_log("Interaction.SignIn.Submit", user_id="u1", payload={
            "interaction": {"verificationRecords": [
                {"id": "v1", "type": "Password", "identifier": {"type": "username", "value": "alice"},
                 "verified": True},
                {"id": "v2", "type": "BackupCode", "userId": "u1", "code": "a1b2c3d4e5"}]},
            "sessionId": "s1", "applicationId": app.id})
        return [record.entry(emulator.tenant_id) for record in emulator.state.all_logs()]


def _rate(entries: list[dict[str, Any]], count: int) -> tuple[float, int]:
    from airflow_provider_logto.audit.redaction import redact_entry

    redact_entry(entries[0])  # the first call imports Airflow's masker
    replaced = 0
    started = time.perf_counter()
    for index in range(count):
        replaced += redact_entry(entries[index % len(entries)])[1]
    return count / (time.perf_counter() - started), replaced


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--masked", type=int, default=50, help="secrets registered with Airflow's masker")
    args = parser.parse_args()
    entries = _real_entries()
    size = sum(len(json.dumps(entry)) for entry in entries) / len(entries)
    rate, replaced = _rate(entries, args.entries)
    print(f"redact_entry: {rate:,.0f} entries/s ({args.entries:,} real entries of {size:,.0f} bytes on average, "
          f"{len(entries)} kinds, {replaced:,} values replaced), Airflow's masker empty")
    from airflow.providers.common.compat.sdk import mask_secret

    for _ in range(args.masked):
        mask_secret(secrets.token_urlsafe(24))
    rate, _ = _rate(entries, args.entries)
    print(f"redact_entry: {rate:,.0f} entries/s with {args.masked} secrets registered with Airflow's masker")


if __name__ == "__main__":
    main()
