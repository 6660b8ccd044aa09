"""The deployment tier (opt-in, ``cache_sharing = deployment``): the encrypted entries kept in Airflow Variables,
so task processes on any worker — fresh containers included — share one token.

Variables are Airflow's own shared store: tasks read and write them through the Task SDK (the Execution API)
whatever the metadata database and secrets-backend setup, with no extra service to run. Each cache key uses two
Variables: ``logto_token_cache_<id>`` holds the sealed entry (base64; useless without the app secret) and
``logto_token_cache_<id>_claim`` marks which process is fetching. The names are visible to anyone who may list
Variables, the values reveal nothing; the word "token" in the name also makes Airflow hide the value in the UI.

Variables have no compare-and-set, so single-flight across workers is a claim in the style of Fischer's mutual
exclusion: a process that finds no fresh token and no live claim writes its claim, waits
:data:`CLAIM_SETTLE` seconds, and fetches only if its claim is still the one stored; the others poll for the token.
This yields one fetch as long as a Variable write completes within the settle time; when it does not, the price is
an extra token, never an error. A claim lapses after the connection's retry deadline, so a crashed fetcher does
not block anyone for long.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, cast

from airflow_provider_logto.auth.token_cache.sealing import Sealer
from airflow_provider_logto.auth.token_cache.stored import StoredToken, warn_once

VARIABLE_PREFIX = "logto_token_cache_"
CLAIM_SETTLE = 1.0  # seconds a claim must stay unchallenged before its owner fetches
POLL_INTERVAL = 0.25
DESCRIPTION = "airflow-provider-logto shared token cache (encrypted with the app secret; safe to delete)"


class VariableStore(Protocol):
    """The part of Airflow's ``Variable`` used here."""

    def get(self, key: str, default: Any = ...) -> Any: ...

    def set(self, key: str, value: Any, description: str | None = None) -> None: ...

    def delete(self, key: str) -> Any: ...


def airflow_variables() -> VariableStore:
    from airflow.providers.common.compat.sdk import Variable

    return cast("VariableStore", Variable)


class DeploymentVariableTier:
    """The token of one cache key in Airflow Variables."""

    name = "deployment"

    def __init__(self, ident: str, sealer: Sealer, claim_timeout: float = 120.0,
                 variables: VariableStore | None = None) -> None:
        self.variable = f"{VARIABLE_PREFIX}{ident[:40]}"
        self.claim_variable = f"{self.variable}_claim"
        self.claim_timeout = claim_timeout
        self._sealer = sealer
        self._variables = variables

    def _store(self) -> VariableStore:
        if self._variables is None:
            self._variables = airflow_variables()
        return self._variables

    def _get(self, name: str) -> str | None:
        value = self._store().get(name, None)
        return value if isinstance(value, str) else None

    def read(self) -> StoredToken | None:
        try:
            text = self._get(self.variable)
        except Exception as error:
            _warn(error, "read")
            return None
        if not text:
            return None
        try:
            token = self._sealer.open(base64.b64decode(text.encode(), validate=True))
        except (ValueError, binascii.Error) as error:
            warn_once("deployment", "Logto token cache Variable %s is unusable (%s); it "
                      "will be replaced.", self.variable, error)
            return None
        return token if token.fresh() else None

    def write(self, token: StoredToken) -> None:
        try:
            self._store().set(self.variable, base64.b64encode(self._sealer.seal(token)).decode(),
                              description=DESCRIPTION)
        except Exception as error:
            _warn(error, "write")

    def discard(self, value: str) -> None:
        token = self.read()
        if token is not None and token.value == value:
            try:
                self._store().delete(self.variable)
            except Exception as error:
                _warn(error, "delete")

    def _claim(self) -> dict[str, Any] | None:
        text = self._get(self.claim_variable)
        try:
            claim = json.loads(text) if text else None
        except ValueError:
            return None
        if isinstance(claim, dict) and isinstance(claim.get("until"), (int, float)) and claim["until"] > time.time():
            return claim
        return None

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the claim while this process fetches; return early when another process stored a token."""
        mine = uuid.uuid4().hex
        held = False
        try:
            held = self._acquire(mine)
        except Exception as error:
            _warn(error, "claim")
        try:
            yield
        finally:
            if held:
                try:
                    claim = self._claim()
                    if claim is not None and claim.get("owner") == mine:
                        self._store().delete(self.claim_variable)
                except Exception as error:
                    _warn(error, "release")

    def _acquire(self, mine: str) -> bool:
        give_up = time.monotonic() + self.claim_timeout + CLAIM_SETTLE
        while time.monotonic() < give_up:
            if self.read() is not None:
                return False  # someone else's fetch finished; the caller re-reads it
            claim = self._claim()
            if claim is None:
                self._store().set(self.claim_variable,
                                  json.dumps({"owner": mine, "until": time.time() + self.claim_timeout}),
                                  description=DESCRIPTION)
                time.sleep(CLAIM_SETTLE)
                claim = self._claim()
                if claim is not None and claim.get("owner") == mine:
                    return True
            time.sleep(POLL_INTERVAL)
        return False


def _warn(error: Exception, action: str) -> None:
    warn_once("deployment", "Logto token cache in Airflow Variables failed to %s (%s: %s).", action,
              type(error).__name__, error)
