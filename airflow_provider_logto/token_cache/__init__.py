"""Token caches shared between processes: one token per lifetime for every task process of a worker
(``cache_sharing = worker``, the default) or of the whole deployment (``cache_sharing = deployment``).

Each task of an Airflow deployment runs in a process of its own, so the process-wide cache in
:mod:`airflow_provider_logto.tokens` lives for one task only. The tiers here sit behind it:

* :class:`~airflow_provider_logto.token_cache.worker.WorkerFileTier` — one encrypted file per cache key in a
  private directory of the worker, with a file lock so that concurrent task processes fetch once;
* :class:`~airflow_provider_logto.token_cache.deployment.DeploymentVariableTier` — the same encrypted entries in
  Airflow Variables, for executors that start every task in a fresh container.

Entries are sealed with a key derived from the app secret (:mod:`~airflow_provider_logto.token_cache.sealing`):
a cache file or Variable alone reveals no token, and a rotated secret can never read an old entry. Expiry is
stored on the wall clock (monotonic clocks differ between processes), leeway already subtracted, exactly as the
in-process cache uses it. A cache that cannot be used is never a task failure: the problem is logged once at
WARNING and the token is fetched from Logto.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from airflow_provider_logto.access_token import AccessToken

log = logging.getLogger(__name__)

_warned: set[str] = set()


def warn_once(problem: str, message: str, *args: Any) -> None:
    """Log ``message`` at WARNING the first time a cache has a ``problem`` in this process, then stay quiet:
    a broken cache must not flood every task log, and one line says what to fix."""
    if problem not in _warned:
        _warned.add(problem)
        log.warning(message + " Fetching tokens from Logto instead; the task is not affected.", *args)


@dataclass(frozen=True, repr=False)
class StoredToken(AccessToken):
    """A token as shared between processes: ``expires_at`` is wall-clock seconds (monotonic clocks differ
    between processes), leeway subtracted."""

    clock = time.time

    def to_json(self) -> bytes:
        return json.dumps({"access_token": self.value, "expires_at": self.expires_at,
                           "expires_in": self.expires_in, "scopes": list(self.scopes)}).encode()

    @classmethod
    def from_json(cls, data: bytes) -> StoredToken:
        body = json.loads(data)
        return cls(str(body["access_token"]), float(body["expires_at"]), int(body["expires_in"]),
                   tuple(str(scope) for scope in body["scopes"]))


class TokenTier(Protocol):
    """One shared store of a single cache key's token."""

    name: str

    def read(self) -> StoredToken | None:
        """The stored token if present, readable and still fresh; never raises."""

    def write(self, token: StoredToken) -> None:
        """Store ``token``; a failure is logged once and ignored."""

    def discard(self, value: str) -> None:
        """Forget the stored token if it is still ``value`` (an API refused it)."""

    def exclusive(self) -> AbstractContextManager[None]:
        """Single-flight across processes: held while one process fetches; never raises for cache problems."""


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
        from airflow_provider_logto.token_cache.deployment import DeploymentVariableTier
        from airflow_provider_logto.token_cache.sealing import Sealer
        from airflow_provider_logto.token_cache.worker import WorkerFileTier

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


def through_tiers(tiers: list[TokenTier], fetch: Callable[[], StoredToken],
                  on_reuse: Callable[[StoredToken, str], None] | None = None) -> StoredToken:
    """A fresh token from the first tier that has one; on a miss, one process per tier (its ``exclusive()``)
    asks the next tier — finally ``fetch`` — and stores the answer, while the others wait and re-read."""
    if not tiers:
        return fetch()
    tier, rest = tiers[0], tiers[1:]
    token = tier.read()
    if token is None:
        with tier.exclusive():
            token = tier.read()  # another process may have stored one while this one waited
            if token is None:
                token = through_tiers(rest, fetch, on_reuse)
                tier.write(token)
                return token
    if on_reuse is not None:
        on_reuse(token, tier.name)
    return token

