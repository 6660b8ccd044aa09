from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def fresh_warnings() -> Iterator[None]:
    """Cache problems are logged once per process; each test starts as a fresh process would."""
    from airflow_provider_logto.auth.token_cache import stored

    stored._warned.clear()
    yield
    stored._warned.clear()
