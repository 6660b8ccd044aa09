"""``LogtoManagementApiTrigger``: polls a Management API GET from the triggerer until a condition holds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

from airflow_provider_logto.compat import BaseTrigger, TriggerEvent
from airflow_provider_logto.triggers.conditions import ResponseCondition, keeps_waiting


class LogtoManagementApiTrigger(BaseTrigger):
    """Polls ``endpoint`` every ``poke_interval`` seconds with an async HTTP client.

    Its serialised form holds only the connection id and plain data, never a token. Emits
    ``{"status": "success", "value": <redacted answer>}`` once the condition holds, or ``{"status": "error", "message":
    ...}`` on a failure that waiting cannot fix (see :func:`~airflow_provider_logto.triggers.conditions.keeps_waiting`).
    """

    def __init__(self, *, logto_conn_id: str, endpoint: str, query_params: Mapping[str, Any] | None,
                 condition: dict[str, Any], poke_interval: float) -> None:
        super().__init__()
        self.logto_conn_id = logto_conn_id
        self.endpoint = endpoint
        self.query_params = dict(query_params) if query_params else None
        self.condition = condition
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}", {
            "logto_conn_id": self.logto_conn_id, "endpoint": self.endpoint, "query_params": self.query_params,
            "condition": self.condition, "poke_interval": self.poke_interval,
        })

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_provider_logto.exceptions import LogtoError
        from airflow_provider_logto.hooks.logto import LogtoHook
        from airflow_provider_logto.operators._shaping import outgoing

        hook = LogtoHook(logto_conn_id=self.logto_conn_id)
        condition = ResponseCondition(**self.condition)
        try:
            while True:
                try:
                    result = await hook.amanagement_get(self.endpoint, params=self.query_params)
                    if condition.met(result.body, result.total):
                        yield TriggerEvent({"status": "success", "value": outgoing(result.body, "the answer")})
                        return
                    self.log.info("Logto GET %s: waiting for %s", self.endpoint, condition.describe())
                except LogtoError as error:
                    if not keeps_waiting(error):
                        raise
                    self.log.info("Logto GET %s: not yet (%s); polling again", self.endpoint, error)
                await asyncio.sleep(self.poke_interval)
        except LogtoError as error:  # its message is already scrubbed of credentials
            yield TriggerEvent({"status": "error", "message": str(error)})
        finally:
            hook.close()
