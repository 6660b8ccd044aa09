"""Whether a failed write may still have taken effect: the basis of every retry decision of the sync.

A write that failed *after it was sent* — a timeout waiting for the answer, a dropped connection, a 5xx — has an
unknown outcome: Logto may have applied it. The hook marks such errors with ``outcome_unknown``; for errors
without the mark this falls back to the same reading: 5xx answers and transport failures whose cause is not
"the connection could not be opened" are unknown, everything else (4xx, 429 after the retry budget, a refused
connection) failed without effect.
"""

from __future__ import annotations

from airflow_provider_logto.client.retrying import _never_sent
from airflow_provider_logto.exceptions import LogtoApiError, LogtoTransportError

NOT_FOUND = 404


def outcome_unknown(error: BaseException) -> bool:
    """True when ``error`` (from a write) leaves open whether Logto applied the write — or says it did
    (``applied``: a 2xx with an unreadable answer), which the sync treats alike: never as failed."""
    if getattr(error, "applied", False) is True:
        return True
    flag = getattr(error, "outcome_unknown", None)
    if isinstance(flag, bool):
        return flag
    if isinstance(error, LogtoApiError):
        return error.status >= 500
    if isinstance(error, LogtoTransportError):
        cause = error.__cause__
        return cause is None or not _never_sent(cause)
    return False


def is_not_found(error: BaseException) -> bool:
    """A 404: for a removal (a membership, a role, a user) it means the thing is already gone."""
    return isinstance(error, LogtoApiError) and error.status == NOT_FOUND


def reason(error: BaseException) -> str:
    """One line for the summary's ``failed`` list, saying whether the write may have happened."""
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    if getattr(error, "applied", False) is True:
        return f"applied, answer unreadable (the next run checks it): {text}"
    if outcome_unknown(error):
        return f"outcome unknown (the write may have been applied; the next run reconciles it): {text}"
    return text
