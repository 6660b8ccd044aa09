"""What a sensor waits for, as plain data: it travels from the sensor to its trigger, so it holds no callable.

- ``min_count=N``: a list endpoint has at least N items (Logto's ``Total-Number`` when it paginates, else the
  length of the answer) — e.g. an organization has N members;
- ``field="a.b"`` with ``expected_value``: a field of the answer equals a value — e.g. ``isSuspended`` is true;
- neither: the endpoint answers, and a list answer is not empty — e.g. a user exists, a search finds someone.

:func:`keeps_waiting` decides, for sensor and trigger alike, which failures mean "not yet": Logto's own 404
for an entity that does not exist (yet), 429/5xx, network errors, and a token endpoint that answered 5xx or
garbage (see :attr:`LogtoTokenError.definitive`). Any other failure — a 404 without Logto's entity code (a
mistyped endpoint), 400, 403, a definitive token refusal, a connection that can never work — ends the wait at
once instead of running into the timeout.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from airflow_provider_logto.exceptions import (
    TRANSIENT_STATUSES,
    LogtoApiError,
    LogtoError,
    LogtoTokenError,
    LogtoTransportError,
    LogtoUsageError,
)

_MISSING = object()
NOT_YET_CODES = frozenset({"entity.not_found", "entity.not_exists_with_id"})


def keeps_waiting(error: LogtoError) -> bool:
    """True when a failed poll should simply be repeated later."""
    if isinstance(error, LogtoTransportError):
        return True
    if isinstance(error, LogtoTokenError):
        return not error.definitive
    if isinstance(error, LogtoApiError):
        return error.status in TRANSIENT_STATUSES or (error.status == 404 and error.code in NOT_YET_CODES)
    return False


@dataclass(frozen=True)
class ResponseCondition:
    min_count: int | None = None
    field: str | None = None
    expected_value: Any = None

    def validate(self) -> ResponseCondition:
        if self.min_count is not None and self.field is not None:
            raise LogtoUsageError("give either min_count or field/expected_value, not both")
        if self.min_count is not None and (isinstance(self.min_count, bool) or not isinstance(self.min_count, int)
                                           or self.min_count < 0):
            raise LogtoUsageError(f"min_count must be a whole number >= 0, not {self.min_count!r}")
        if self.field is not None and (not isinstance(self.field, str) or not self.field.strip(".")):
            raise LogtoUsageError(f"field must be a dotted path such as 'customData.team', not {self.field!r}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def met(self, body: Any, total: int | None) -> bool:
        if self.min_count is not None:
            if total is None and not isinstance(body, list):
                raise LogtoUsageError("min_count needs a list endpoint, but the answer is not a list")
            return (total if total is not None else len(body)) >= self.min_count
        if self.field is not None:
            return _lookup(body, self.field) == self.expected_value
        return body is not None and not (isinstance(body, list) and not body)

    def describe(self) -> str:
        if self.min_count is not None:
            return f"at least {self.min_count} item(s)"
        if self.field is not None:
            return f"{self.field} == {self.expected_value!r}"
        return "a non-empty answer"


def _lookup(body: Any, path: str) -> Any:
    """``customData.team`` or ``0.id``: dict keys and list indexes; a missing step gives a sentinel."""
    value = body
    for step in path.split("."):
        if isinstance(value, dict) and step in value:
            value = value[step]
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return _MISSING
    return value
