from __future__ import annotations

import pytest

from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.emulator.helpers import Api, access_token


@pytest.fixture
def api(emulator: LogtoEmulator, management_app: M2MApp) -> Api:
    return Api(emulator, access_token(emulator, management_app))
