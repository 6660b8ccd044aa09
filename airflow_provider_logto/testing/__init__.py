"""An emulated Logto server for tests — ours, and yours when you test DAGs offline.

``LogtoEmulator`` is imported lazily so that ``import airflow_provider_logto.testing`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_logto.testing.emulator import LogtoEmulator
    from airflow_provider_logto.testing.state import M2MApp

__all__ = ["LogtoEmulator", "M2MApp"]


def __getattr__(name: str) -> Any:
    if name == "LogtoEmulator":
        from airflow_provider_logto.testing.emulator import LogtoEmulator

        return LogtoEmulator
    if name == "M2MApp":
        from airflow_provider_logto.testing.state import M2MApp

        return M2MApp
    raise AttributeError(name)
