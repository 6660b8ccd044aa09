"""Regenerate the connection-form screenshots in docs/connections/ (``make docs-screenshots``; not run by CI).

Starts Airflow's api-server from this environment on a throw-away ``AIRFLOW_HOME`` (SQLite, simple auth manager
with every user an admin) on loopback, then drives Debian's ``chromium`` headless with ``playwright-core`` from
npm (installed into a temporary directory; it downloads no browser) through the "Add Connection" dialog for the
``logto`` type, and shrinks the PNGs with ``pngquant`` when it is installed. Needs ``apt-get install chromium
pngquant``, ``node`` and ``npm``. What the pictures show comes from the provider's connection form, so rerun it
after changing the form.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "docs" / "connections"
PLAYWRIGHT = "playwright-core@1.65.2"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_healthy(url: str, server: subprocess.Popen[bytes], seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the api-server exited with {server.returncode}; see its log")
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise SystemExit(f"the api-server did not answer {url} within {seconds:.0f} s")


def main() -> None:
    """Start the api-server, take the screenshots, stop the server."""
    airflow = Path(sys.executable).with_name("airflow")
    with tempfile.TemporaryDirectory(prefix="logto-screenshot-") as work:
        env = {**os.environ, "AIRFLOW_HOME": f"{work}/home", "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
               "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        subprocess.run([str(airflow), "db", "migrate"], env=env, check=True, capture_output=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", work, PLAYWRIGHT], check=True,
                       capture_output=True)
        port = _free_port()
        with open(f"{work}/api-server.log", "wb") as log:
            server = subprocess.Popen([str(airflow), "api-server", "--host", "127.0.0.1", "--port", str(port)],
                                      env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_healthy(f"http://127.0.0.1:{port}/api/v2/monitor/health", server)
            script = Path(work) / "connection_form.mjs"  # beside node_modules, so the import resolves
            shutil.copy(Path(__file__).with_suffix(".mjs"), script)
            subprocess.run(["node", str(script), f"http://127.0.0.1:{port}", str(OUTPUT)], check=True)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)
    for picture in sorted(OUTPUT.glob("logto-connection-form*.png")):
        if shutil.which("pngquant"):
            subprocess.run(["pngquant", "--quality", "60-90", "--speed", "1", "--force", "--output", str(picture),
                            str(picture)], check=True)
        print(f"{picture.relative_to(ROOT)}: {picture.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
