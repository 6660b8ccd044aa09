"""make demo: run the example DAGs end to end inside Airflow and print what they did.

Against the embedded Logto emulator by default, seeded with a demo tenant. Against your own Logto when you
export a connection for an example (AIRFLOW_CONN_LOGTO_DEFAULT, AIRFLOW_CONN_LOGTO_SHOPPING): then only the DAGs
whose connections exist run, and the demo says which it skipped and why. Airflow state goes to a throw-away
AIRFLOW_HOME (a SQLite database). Exits non-zero when any DAG run fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from airflow_provider_logto.testing.emulator import LogtoEmulator
from airflow_provider_logto.testing.seed import seed_demo

DEFAULT_CONN_ID = "logto_default"
# the order of docs/example-dags.md; a DAGs folder with other DAGs runs those after these, by id
README_ORDER = ("example_logto_list_users", "example_logto_shopping_api", "example_logto_user_lifecycle",
                "example_logto_export_users")
SEEDED_USERS = 3


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """``1 token request``, ``2 token requests``."""
    return f"{count} {noun if count == 1 else (plural_form or noun + 's')}"


def connection_env(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def _traffic(emulator: LogtoEmulator) -> str:
    """A one-line account of the HTTP calls the emulator served, by kind."""
    kinds: Counter[tuple[str, str]] = Counter()
    for entry in emulator.journal.entries():
        if entry.path == "/oidc/token":
            kinds[("token request", "token requests")] += 1
        elif entry.path == "/oidc/jwks":
            kinds[("JWKS fetch by the sample API", "JWKS fetches by the sample API")] += 1
        elif entry.server == "resource":
            kinds[("shopping API call", "shopping API calls")] += 1
        elif entry.path.startswith("/api/"):
            kinds[("Management API call", "Management API calls")] += 1
        else:
            kinds[("other call", "other calls")] += 1
    parts = ", ".join(plural(count, *names) for names, count in kinds.most_common())
    return (f"{plural(sum(kinds.values()), 'HTTP call')} ({parts}); "
            f"{plural(emulator.tokens_issued(), 'access token')} issued")


def connections_of(dag: Any) -> set[str]:
    """The Logto connection ids a DAG's tasks use (``logto_conn_id``; plain Python tasks use the default)."""
    return {getattr(task, "logto_conn_id", None) or DEFAULT_CONN_ID for task in dag.tasks}


class _HelpWithDefaults(argparse.ArgumentDefaultsHelpFormatter):
    """Shows "(default: …)" where there is a default worth showing (not for flags and repeatable options)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False, argparse.SUPPRESS):
            return action.help
        return super()._get_help_string(action)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_logto.testing.demo", description=__doc__,
        formatter_class=_HelpWithDefaults)
    parser.add_argument("--dags-folder", type=Path, default=Path("example_dags"), help="the DAGs to run")
    parser.add_argument("--home", type=Path, default=Path(".airflow-demo"),
                        help="AIRFLOW_HOME for the demo (created if missing)")
    parser.add_argument("--dag", action="append", dest="dags", metavar="DAG_ID",
                        help="run only this DAG (repeatable); without it, every DAG of the folder")
    parser.add_argument("--verbose", action="store_true", help="show Airflow's own logs")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
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
    yours = sorted(name for name in os.environ if name.startswith("AIRFLOW_CONN_LOGTO"))
    if yours:
        print(f"Using your Logto: {', '.join(yours)} {'is' if len(yours) == 1 else 'are'} set.")
    else:
        emulator = LogtoEmulator().start()
        os.environ.update(seed_demo(emulator, users=SEEDED_USERS))
        print(f"Started the Logto emulator at {emulator.endpoint} (sample shopping API at "
              f"{emulator.resource_api_url}) with a demo tenant:\n"
              f"  - connection logto_default: an M2M app holding the Management API role and the shopping role;\n"
              f"  - connection logto_shopping: an M2M app holding only the shopping role (least privilege);\n"
              f"  - {plural(SEEDED_USERS, 'sample user')} (user1 … user{SEEDED_USERS}, user<N>@example.com) for "
              "the list and export examples to find;\n"
              "  - 3 days of audit-log history (M2M token requests, failed ones, sign-ins) for the audit-log "
              "export to find.\n"
              f"Export {connection_env(DEFAULT_CONN_ID)} (and {connection_env('logto_shopping')}) to use your own "
              "Logto instead.")
    try:
        return _run(dags_folder, home, args.dags, emulator)
    finally:
        if emulator is not None:
            emulator.stop()


def _ordered(dag_ids: set[str]) -> list[str]:
    return [d for d in README_ORDER if d in dag_ids] + sorted(dag_ids - set(README_ORDER))


def _missing_connections(dag: Any) -> list[str]:
    from airflow.providers.common.compat.sdk import BaseHook

    missing = []
    for conn_id in sorted(connections_of(dag)):
        try:
            BaseHook.get_connection(conn_id)
        except Exception:
            missing.append(conn_id)
    return missing


def _run(dags_folder: Path, home: Path, only: list[str] | None, emulator: LogtoEmulator | None) -> int:
    from airflow_provider_logto.testing.dag_runs import (
        load_dags,
        migrate_database,
        run_dag,
    )

    started = time.monotonic()
    print(f"Preparing Airflow in {home}: migrating its metadata database (airflow db migrate, first time "
          "~10-30 s) ...", flush=True)
    migrate_database()
    # the audit-log example's folder (its outlet asset, fixed when the DAG is parsed) goes to the demo's home too
    os.environ.setdefault("LOGTO_AUDIT_EXPORT_URI", f"file://{home / 'logto-audit'}")
    print(f"Parsing the DAGs in {dags_folder} ...", flush=True)
    dags = load_dags(dags_folder)
    unknown = sorted(set(only or ()) - set(dags))
    if unknown:
        print(f"Unknown DAG id(s): {', '.join(unknown)}; the folder has {', '.join(_ordered(set(dags)))}")
        return 2
    run_conf: dict[str, dict[str, Any]] = {
                "example_logto_export_users": {"destination": str(home / "logto-users.jsonl")},
                "example_logto_export_large_tenant": {"folder": str(home / "logto-export")},
                "example_logto_user_sync": {"export_base": f"file://{home / 'hr-exports'}"},
                # dag.test() runs one task at a time: the member is added before the sensor starts anyway
                "example_logto_user_lifecycle": {"member_delay": 0}}
    selected = _ordered(set(only or dags))
    skipped: dict[str, list[str]] = {}
    if emulator is None:
        skipped = {dag_id: missing for dag_id in selected if (missing := _missing_connections(dags[dag_id]))}
    failures = ran = 0
    print(f"Running {plural(len(selected) - len(skipped), 'DAG')} with dag.test(), one after the other:\n")
    for dag_id in selected:
        if dag_id in skipped:
            print(f"[skip] {dag_id}: no connection {', '.join(skipped[dag_id])} — export "
                  f"{', '.join(connection_env(c) for c in skipped[dag_id])} to run it")
            continue
        report = run_dag(dags[dag_id], run_conf.get(dag_id))
        ran += 1
        failed = {task: state for task, state in report.task_states.items() if state != "success"}
        mark = "ok  " if report.succeeded else "FAILED"
        print(f"[{mark}] {dag_id} ({report.seconds:.1f} s, {plural(len(report.task_states), 'task')})")
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
    skipped_note = f"; {plural(len(skipped), 'DAG')} skipped for missing connections" if skipped else ""
    print(f"{ran - failures} of {plural(ran, 'DAG run')} succeeded in {time.monotonic() - started:.0f} s"
          f"{skipped_note}.")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
