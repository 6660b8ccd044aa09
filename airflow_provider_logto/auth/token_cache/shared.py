"""The shared tiers of one connection's ``cache_sharing`` mode, behind the process-wide token cache."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

from airflow_provider_logto.auth.token_cache.stored import StoredToken, TokenTier, through_tiers


def key_id(key: Sequence[Any]) -> str:
    """A stable name for a cache key: a SHA-256 over the key (which holds only a hash of the secret)."""
    return hashlib.sha256(json.dumps(list(key)).encode()).hexdigest()


class SharedTokenCache:
    """The shared tiers of one connection's ``cache_sharing`` mode, consulted in order behind the process cache."""

    def __init__(self, mode: str, secret: str, fetch_deadline: float,
                 on_reuse: Callable[[StoredToken, str], None] | None = None) -> None:
        self.mode = mode
        self._secret = secret
        self._fetch_deadline = fetch_deadline  # how long one fetch may take, retries included
        self._on_reuse = on_reuse

    def tiers(self, key: Sequence[Any]) -> list[TokenTier]:
        """The tiers for ``key``, nearest first (imported here: they need ``cryptography`` and Airflow)."""
        from airflow_provider_logto.auth.token_cache.deployment import DeploymentVariableTier
        from airflow_provider_logto.auth.token_cache.sealing import Sealer
        from airflow_provider_logto.auth.token_cache.worker import WorkerFileTier

        if self.mode == "process":
            return []
        ident = key_id(key)
        sealer = Sealer(self._secret, ident)
        tiers: list[TokenTier] = [WorkerFileTier.in_configured_directory(ident, sealer)]
        if self.mode == "deployment":
            tiers.append(DeploymentVariableTier(ident, sealer, claim_timeout=self._fetch_deadline))
        return tiers

    def get(self, key: Sequence[Any], fetch: Callable[[], StoredToken]) -> StoredToken:
        """The token for ``key`` from the first tier holding a fresh one, else from ``fetch`` (once across the
        processes sharing the tiers); a fetched or found token is written to every tier in front of its source."""
        return through_tiers(self.tiers(key), fetch, self._on_reuse)

    def discard(self, key: Sequence[Any], value: str) -> None:
        for tier in self.tiers(key):
            tier.discard(value)
