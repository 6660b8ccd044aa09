"""The distribution builds cleanly, registers itself as an Airflow provider, and installing it leaves the
deployment's Airflow as it was.

``make test-matrix`` installs the built wheel into a venv holding one Airflow line and records the venv before and
after (``tests/compat/deployment_record.py``); ``LOGTO_DEPLOYMENT_RECORDS`` points at those records.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from importlib.metadata import distribution
from pathlib import Path
from typing import Any

import pytest

import airflow_provider_logto
from airflow_provider_logto import __version__
from airflow_provider_logto.get_provider_info import get_provider_info

ROOT = Path(__file__).resolve().parent.parent
RECORDS = os.environ.get("LOGTO_DEPLOYMENT_RECORDS")


def _airflow_json(*args: str) -> Any:
    """``airflow <args> --output json``, parsed (some lines print log lines before the JSON)."""
    airflow = Path(sys.executable).with_name("airflow")
    result = subprocess.run([str(airflow), *args, "--output", "json"], capture_output=True, text=True,
                            timeout=300, env={**os.environ, "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR"}, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    (payload,) = [line for line in result.stdout.splitlines() if line.startswith("[")]
    return json.loads(payload)


def test_package_name_is_the_normalised_distribution_name() -> None:
    assert get_provider_info()["package-name"] == distribution("airflow-provider-logto").metadata["Name"]


def test_entry_point_points_at_get_provider_info() -> None:
    entry_points = distribution("airflow-provider-logto").entry_points
    (entry,) = [e for e in entry_points if e.group == "apache_airflow_provider"]
    assert entry.load() is get_provider_info


def test_airflow_providers_list_shows_the_provider() -> None:
    providers = {p["package_name"]: p for p in _airflow_json("providers", "list")}
    assert "airflow-provider-logto" in providers
    assert providers["airflow-provider-logto"]["version"] == __version__ == get_provider_info()["versions"][0]


def test_airflow_knows_the_logto_connection_type() -> None:
    hooks = {h["connection_type"]: h for h in _airflow_json("providers", "hooks")}
    assert hooks["logto"]["class"] == "airflow_provider_logto.hooks.logto.LogtoHook"
    assert hooks["logto"]["package_name"] == "airflow-provider-logto"
    assert hooks["logto"]["hook_name"] == "Logto"


@pytest.mark.skipif(RECORDS is None, reason="needs a venv built by `make test-matrix` (an Airflow, then the wheel)")
def test_installing_the_wheel_left_the_deployment_unchanged() -> None:
    records = Path(str(RECORDS))
    before = json.loads((records / "before.json").read_text())
    after = json.loads((records / "after.json").read_text())
    assert after["airflow_version"] == before["airflow_version"] == records.name, \
        "installing the provider changed the deployment's Airflow"
    changed = {name: (version, after["distributions"].get(name))
               for name, version in before["distributions"].items() if after["distributions"].get(name) != version}
    assert changed == {}, f"installing the provider changed installed packages: {changed}"
    added = set(after["distributions"]) - set(before["distributions"])
    assert added == {"airflow-provider-logto"}, f"installing the provider added more than itself: {added}"
    assert after["distributions"]["airflow-provider-logto"] == __version__
    direct_url = json.loads(distribution("airflow-provider-logto").read_text("direct_url.json") or "{}")
    assert not direct_url.get("dir_info", {}).get("editable"), "this venv should hold the wheel, not the source tree"


def test_installed_distribution_ships_the_licence_and_py_typed() -> None:
    """What ``pip install`` of the wheel puts on a user's machine: the Apache-2.0 text and NOTICE in the
    distribution's metadata (PEP 639) and ``py.typed`` beside the package (PEP 561), so type checkers use the
    provider's annotations. Runs against the installed wheel in ``make leg-<newest>``."""
    package_dir = Path(airflow_provider_logto.__file__).parent
    if package_dir.parent == ROOT:
        assert RECORDS is None, "a make test-matrix leg must import the installed wheel, not the source tree"
        pytest.skip("the package comes from the source tree (make test): the wheel's contents are checked by the "
                    "newest line's leg and by test_wheel_and_sdist_build_and_pass_twine_check")
    dist = distribution("airflow-provider-logto")
    assert Path(str(dist.locate_file("airflow_provider_logto"))) == package_dir, "metadata of another copy"
    assert dist.metadata["License-Expression"] == "Apache-2.0"
    assert sorted(dist.metadata.get_all("License-File") or []) == ["LICENSE", "NOTICE"]
    licence = dist.read_text("licenses/LICENSE") or ""
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    assert "END OF TERMS AND CONDITIONS" in licence, "the full licence text, not a pointer to it"
    assert "airflow-provider-logto" in (dist.read_text("licenses/NOTICE") or "")
    recorded = {str(path) for path in dist.files or []}
    assert "airflow_provider_logto/py.typed" in recorded
    assert (package_dir / "py.typed").is_file()


@pytest.mark.full_suite_only
def test_wheel_and_sdist_build_and_pass_twine_check(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(tmp_path), str(ROOT)], check=True,
                   capture_output=True, timeout=600)
    (wheel,) = tmp_path.glob("*.whl")
    (sdist,) = tmp_path.glob("*.tar.gz")
    assert wheel.name == f"airflow_provider_logto-{__version__}-py3-none-any.whl"
    check = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdist)],
                           capture_output=True, text=True, timeout=300, check=False)
    assert check.returncode == 0, check.stdout + check.stderr

    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(f"airflow_provider_logto-{__version__}.dist-info/METADATA").decode()
        entry_points = archive.read(f"airflow_provider_logto-{__version__}.dist-info/entry_points.txt").decode()
        archive_licence = archive.read(f"airflow_provider_logto-{__version__}.dist-info/licenses/LICENSE").decode()
    assert "airflow_provider_logto/get_provider_info.py" in names
    assert "airflow_provider_logto/compat.py" in names
    assert "airflow_provider_logto/py.typed" in names
    dist_info = f"airflow_provider_logto-{__version__}.dist-info"
    assert {f"{dist_info}/licenses/LICENSE", f"{dist_info}/licenses/NOTICE"} <= set(names)
    assert not [n for n in names if n.startswith(("tests/", "example_dags/"))]
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert "apache-airflow>=2.11" in requires, "the Airflow floor is the oldest line CI proves, with no upper bound"
    assert any(r.startswith("apache-airflow-providers-common-compat>=") for r in requires)
    assert "provider_info = airflow_provider_logto.get_provider_info:get_provider_info" in entry_points
    assert (ROOT / "LICENSE").read_text() == archive_licence, "the wheel ships the repository's LICENSE"

    with tarfile.open(sdist) as archive:
        members = {Path(m).relative_to(f"airflow_provider_logto-{__version__}").as_posix()
                   for m in archive.getnames() if "/" in m}
    assert {"pyproject.toml", "README.md", "airflow_provider_logto/__init__.py"} <= members
    assert {"LICENSE", "NOTICE", "CHANGELOG.md", "airflow_provider_logto/py.typed", "docs/index.md",
            "docs/connections/logto.md", "docs/connections/logto-connection-form.png"} <= members
