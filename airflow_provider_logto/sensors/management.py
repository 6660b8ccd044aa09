"""``LogtoManagementApiSensor``: wait until a Management API GET satisfies a condition."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseSensorOperator, PokeReturnValue, conf

from airflow_provider_logto.connection.form import DEFAULT_CONN_ID
from airflow_provider_logto.exceptions import LogtoError, LogtoUsageError
from airflow_provider_logto.operators._shaping import call_with_context, check_callable, outgoing
from airflow_provider_logto.triggers.conditions import ResponseCondition, keeps_waiting

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class LogtoManagementApiSensor(BaseSensorOperator):
    """Poke ``GET endpoint`` until the answer satisfies the condition; push the answer to XCom.

    Conditions (see :mod:`airflow_provider_logto.triggers.conditions`): ``min_count`` (a list has at least N items),
    ``field`` + ``expected_value`` (a field equals a value), or by default a non-empty answer. Logto's entity 404,
    429/5xx, network errors and a token endpoint that is down (5xx, garbled answer) mean "not yet" (in both
    modes); other failures — a refused token (wrong secret, missing role), a connection that can never work
    (invalid URL, port out of range) — fail the task at once. ``response_check(answer, **context)`` adds a Python
    condition in poke mode only: a deferred trigger runs elsewhere and carries plain data. The answer pushed to
    XCom is redacted like the operators' (application secrets, tokens and credentials become ``***``).

    :param endpoint: Management API path, e.g. ``/users/{{ ti.xcom_pull('create_user')['id'] }}`` (templated).
    :param query_params: query parameters (templated).
    :param deferrable: wait in the triggerer instead of holding a worker slot.
    :param logto_conn_id: the ``logto`` connection (templated).
    """

    template_fields: Sequence[str] = ("logto_conn_id", "endpoint", "query_params", "field", "expected_value")
    template_fields_renderers = {"query_params": "json"}
    ui_color = "#d9d2f5"

    def __init__(self, *, endpoint: str, query_params: Mapping[str, Any] | None = None,
                 min_count: int | None = None, field: str | None = None, expected_value: Any = None,
                 response_check: Callable[..., Any] | None = None,
                 deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
                 logto_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.endpoint = endpoint
        self.query_params = query_params
        self.min_count = min_count
        self.field = field
        self.expected_value = expected_value
        self.response_check = response_check
        self.deferrable = deferrable
        self.logto_conn_id = logto_conn_id

    def _condition(self) -> ResponseCondition:
        return ResponseCondition(self.min_count, self.field or None, self.expected_value).validate()

    def execute(self, context: Context) -> Any:  # noqa: RET503 - defer() raises TaskDeferred
        condition = self._condition()
        check_callable("response_check", self.response_check)
        if not self.deferrable:
            return super().execute(context)
        if self.response_check is not None:
            raise LogtoUsageError("response_check cannot be used with deferrable=True (a trigger carries no "
                                  "callables); use min_count or field/expected_value")
        first = self.poke(context)
        if first.is_done:
            return first.xcom_value
        from airflow_provider_logto.triggers.management import LogtoManagementApiTrigger

        self.defer(
            trigger=LogtoManagementApiTrigger(logto_conn_id=self.logto_conn_id, endpoint=self.endpoint,
                                              query_params=self.query_params, condition=condition.to_dict(),
                                              poke_interval=float(self.poke_interval)),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout)),
        )

    def poke(self, context: Context) -> PokeReturnValue:
        from airflow_provider_logto.hooks.logto import LogtoHook

        condition = self._condition()
        try:
            result = LogtoHook(logto_conn_id=self.logto_conn_id).management_get(self.endpoint,
                                                                                 params=self.query_params)
        except LogtoError as error:
            if not keeps_waiting(error):
                raise
            self.log.info("Logto GET %s: not yet (%s)", self.endpoint, error)
            return PokeReturnValue(is_done=False)
        done = condition.met(result.body, result.total)
        if done and self.response_check is not None:
            done = bool(call_with_context(self.response_check, result.body, context))
        if not done:
            self.log.info("Logto GET %s: waiting for %s", self.endpoint, condition.describe())
        return PokeReturnValue(is_done=done, xcom_value=outgoing(result.body, "the answer") if done else None)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        if event.get("status") != "success":
            raise LogtoError(event.get("message", "the Logto trigger failed without a message"))
        return outgoing(event.get("value"), "the answer")
