"""Redaction of Logto audit-log entries: every credential value replaced by :data:`REDACTED`, the shape kept.

A minimal stand-in written on the issue-17 branch until the issue-16 emulator work lands (it owns this module):
values under a key that names a credential (secret, password, token, assertion, code verifier, …), ``Bearer``/
``Basic`` credentials and JWTs inside strings, and every value Airflow's secret masker knows.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from airflow_provider_logto.exceptions import scrub

REDACTED = "[REDACTED]"
_CREDENTIAL_KEY = re.compile(r"(?i)(secret|passw|token|assertion|verifier|credential|authorization|api[_-]?key"
                             r"|private[_-]?key|cookie|otp|^code$)")


def redact_entry(entry: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    """A deep copy of one audit-log entry with every credential value replaced by REDACTED, same shape, and how
    many values were replaced."""
    counter = [0]

    def clean(value: Any, key: str | None) -> Any:
        if key is not None and _CREDENTIAL_KEY.search(key) and not isinstance(value, (Mapping, list)) \
                and value not in (None, "", REDACTED) and key != "tokenTypes":
            counter[0] += 1
            return REDACTED
        if isinstance(value, Mapping):
            return {k: clean(v, str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(item, None) for item in value]
        if isinstance(value, str):
            scrubbed = scrub(value)
            if scrubbed != value:
                counter[0] += 1
            return scrubbed
        return value

    result = clean(copy.deepcopy(dict(entry)), None)
    return result, counter[0]
