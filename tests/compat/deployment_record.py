"""Record what a deployment's venv holds: ``airflow version`` and every installed distribution's version.

Run with the venv's own interpreter before and after installing the provider's wheel (``make test-matrix`` does);
``tests/test_packaging.py`` compares the two records. Standard library only: it runs before the provider is
installed. ``AIRFLOW_HOME`` points at a throw-away directory so nothing is written to ``~/airflow``.

    python tests/compat/deployment_record.py OUT.json
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from importlib.metadata import distributions
from pathlib import Path


def record() -> dict[str, object]:
    airflow = Path(sys.executable).with_name("airflow")
    with tempfile.TemporaryDirectory(prefix="airflow-home-") as home:
        result = subprocess.run([str(airflow), "version"], capture_output=True, text=True, check=True, timeout=300,
                                env={**os.environ, "AIRFLOW_HOME": home})
    installed = {dist.metadata["Name"].lower().replace("_", "-"): dist.version for dist in distributions()}
    return {"airflow_version": result.stdout.strip().splitlines()[-1], "distributions": dict(sorted(installed.items()))}


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(record(), indent=1))
