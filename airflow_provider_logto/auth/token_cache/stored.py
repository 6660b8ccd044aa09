"""A shared cache tier and the token it stores: what every tier (worker files, deployment Variables) has in
common, and how tiers are consulted in order."""


from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from airflow_provider_logto.auth.access_token import AccessToken

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
