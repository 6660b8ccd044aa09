"""Registering access tokens with Airflow's secret masker at a flat cost.

Airflow's masker keeps one regular expression of all registered secrets and recompiles it whenever a new value is
added; a long-lived process (triggerer, api-server) that masks every fetched token literally compiles an ever
larger expression (measured: 15 ms per token fetch at start, 401 ms after 234 tokens) and every log line is matched
against all of them. Logto's access tokens are JWTs whose first segment (the JOSE header: algorithm, type, key id)
is the same for every token signed with one key, so one pattern — that header followed by a payload and a
signature segment — masks every token of that key completely. It is added once per signing key; later tokens cost
a set lookup. When the masker does not expose its patterns (or a token is not a JWT), the token is masked
literally through ``mask_secret``, once per distinct value.

Tokens are not sent literally to a supervising process (Airflow 3's task supervisor or triggerer): the triggerer
outlives every trigger, so that would move the unbounded growth there. Airflow 3's own log processors already
mask anything shaped like a JWT in the supervisors' output.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

_JWT_SHAPE = re.compile(r"(eyJ[A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_SEGMENT = r"\.[A-Za-z0-9_-]+"
_lock = threading.Lock()


def airflow_masker() -> Any:
    """Airflow's process-wide ``SecretsMasker`` (Task SDK on Airflow 3, ``airflow.utils.log`` on 2.x), or None."""
    try:
        from airflow.sdk._shared.secrets_masker import _secrets_masker
    except ImportError:
        try:
            from airflow.utils.log.secrets_masker import _secrets_masker  # type: ignore[no-redef]
        except ImportError:
            return None
    try:
        return _secrets_masker()
    except Exception:
        return None


def token_pattern(token: str) -> str | None:
    """The masking pattern covering every JWT with ``token``'s header, or None when ``token`` is not a JWT."""
    match = _JWT_SHAPE.fullmatch(token)
    return f"{re.escape(match.group(1))}{_SEGMENT}{_SEGMENT}" if match else None


def mask_token(token: str, mask_secret: Callable[[str], None]) -> None:
    """Make sure Airflow's masker hides ``token``; cheap when a token of the same signing key was masked before."""
    pattern = token_pattern(token)
    masker = airflow_masker()
    patterns = getattr(masker, "patterns", None)
    if pattern is None or not isinstance(patterns, set) or not hasattr(masker, "replacer"):
        mask_secret(token)
        return
    if pattern in patterns:  # also re-added after Airflow reset its masker (a new task in the same process)
        return
    with _lock:
        if pattern not in patterns:
            patterns.add(pattern)
            masker.replacer = re.compile("|".join(patterns))
