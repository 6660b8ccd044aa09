"""Shared fixtures. Airflow reads its configuration at import time, so AIRFLOW_HOME is pointed at a throw-away
directory before anything imports airflow: the tests never touch a developer's own Airflow."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="logto-provider-tests-")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"

from airflow_provider_logto.testing import LogtoEmulator  # noqa: E402


@pytest.fixture
def emulator() -> Iterator[LogtoEmulator]:
    """A fresh emulated Logto tenant on free ports; fails the test if the emulator itself crashed."""
    with LogtoEmulator() as running:
        yield running
    assert running.internal_errors == [], "the emulator raised while serving"
