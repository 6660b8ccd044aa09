"""``make demo``: run the example DAGs end to end inside Airflow and print what they did.

Against the embedded emulator by default (seeded with a demo tenant); against your own Logto when
``AIRFLOW_CONN_LOGTO_DEFAULT`` is already exported. Airflow state goes to ``.airflow-demo/`` (a throw-away
``AIRFLOW_HOME`` with a SQLite database). Exits non-zero when any DAG run fails.

    python -m airflow_provider_logto.testing.demo [--dags-folder example_dags] [--dag DAG_ID ...] [--verbose]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

from airflow_provider_logto.testing.emulator import LogtoEmulator
from airflow_provider_logto.testing.seed import seed_demo

CONNECTION_ENV = "AIRFLOW_CONN_LOGTO_DEFAULT"


def _traffic(emulator: LogtoEmulator) -> str:
    """A one-line account of the HTTP calls the emulator served, by kind."""
    kinds: Counter[str] = Counter()
    for entry in emulator.journal.entries():
        if entry.path == "/oidc/token":
            kinds["token requests"] += 1
        elif entry.path == "/oidc/jwks":
            kinds["JWKS fetches by the sample API"] += 1
        elif entry.server == "resource":
            kinds["shopping API calls"] += 1
        elif entry.path.startswith("/api/"):
            kinds["Management API calls"] += 1
        else:
            kinds["other"] += 1
    parts = ", ".join(f"{count} {kind}" for kind, count in kinds.most_common())
    return f"{sum(kinds.values())} HTTP calls ({parts}); {emulator.tokens_issued()} access token(s) issued"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="logto-demo", description=__doc__.splitlines()[0])
    parser.add_argument("--dags-folder", type=Path, default=Path("example_dags"))
    parser.add_argument("--home", type=Path, default=Path(".airflow-demo"), help="AIRFLOW_HOME for the demo")
    parser.add_argument("--dag", action="append", dest="dags", help="run only this DAG (repeatable)")
    parser.add_argument("--verbose", action="store_true", help="show Airflow's own logs")
    args = parser.parse_args(argv)

    from airflow_provider_logto.testing.dag_runs import configure_airflow

    dags_folder = args.dags_folder.resolve()
    home = args.home.resolve()
    if not dags_folder.is_dir():
        parser.error(f"no DAGs folder at {dags_folder}")
    configure_airflow(home, dags_folder)
    if not args.verbose:
        os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")

    emulator: LogtoEmulator | None = None
    if CONNECTION_ENV in os.environ:
        print(f"Using your Logto: {CONNECTION_ENV} is set.")
    else:
        emulator = LogtoEmulator().start()
        os.environ.update(seed_demo(emulator, users=3))
        print(f"Started the Logto emulator at {emulator.endpoint} (sample API at {emulator.resource_api_url}); "
              f"export {CONNECTION_ENV} to use your own Logto instead.")
    try:
        return _run(dags_folder, home, args.dags, emulator)
    finally:
        if emulator is not None:
            emulator.stop()


def _run(dags_folder: Path, home: Path, only: list[str] | None, emulator: LogtoEmulator | None) -> int:
    from airflow_provider_logto.testing.dag_runs import load_dags, migrate_database, run_dag

    started = time.monotonic()
    print(f"Preparing Airflow in {home} ...", flush=True)
    migrate_database()
    dags = load_dags(dags_folder)
    unknown = sorted(set(only or ()) - set(dags))
    if unknown:
        print(f"Unknown DAG id(s): {', '.join(unknown)}; the folder has {', '.join(sorted(dags))}")
        return 2
    run_conf = {"example_logto_export_users": {"destination": str(home / "logto-users.jsonl")}}
    failures = 0
    print()
    for dag_id in only or sorted(dags):
        report = run_dag(dags[dag_id], run_conf.get(dag_id))
        failed = {task: state for task, state in report.task_states.items() if state != "success"}
        mark = "ok " if report.succeeded else "FAILED"
        print(f"[{mark}] {dag_id} ({report.seconds:.1f} s, {len(report.task_states)} tasks)")
        if "summary" in report.return_values:
            print(f"       {report.return_values['summary']}")
        if failed:
            print(f"       tasks not successful: {', '.join(f'{t}={s}' for t, s in sorted(failed.items()))}")
        if report.error:
            print(f"       {report.error}")
        failures += not report.succeeded
    print()
    if emulator is not None:
        print(f"Emulator traffic: {_traffic(emulator)}.")
    total = len(only or dags)
    print(f"{total - failures} of {total} DAG run(s) succeeded in {time.monotonic() - started:.0f} s.")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
