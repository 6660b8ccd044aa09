"""M2M access tokens: the ``client_credentials`` grant, a process-wide cache and single-flight refresh.

Tokens are cached per (endpoint, app id, secret hash, client authentication method, resource, sorted scopes,
organization) for the whole process, so every hook instance and thread of a worker shares them, and reused until
``expires_in`` minus a leeway (a tenth of the lifetime, at most 60 s); expired entries are evicted. When many
threads need the same token at once, one fetches it and the others wait for that result — a definitive refusal (a
4xx with an OAuth error such as a wrong secret, a used-up quota, a dropped scope) included, which is remembered for
30 s — per what was sent, so a connection switched to the other client authentication method asks Logto at once. A
5xx, a garbled or unusable answer is transient: it is never remembered, the next call asks Logto again. Logto Cloud
meters token issuance, so this matters for cost too.

A token answer is checked before use: ``token_type`` must be Bearer and ``access_token`` a non-empty token of
RFC 6750 characters (a CR/LF could smuggle headers); a missing, negative or non-numeric ``expires_in`` is
warned about and replaced by a safe short lifetime (:data:`FALLBACK_LIFETIME`), never by a token per call.

After each fetch the granted scopes are compared with the requested ones. Logto silently drops scopes the app's
M2M roles do not hold; a token without a scope the task asked for cannot do what the task wants and would only
fail later with a vaguer 403, so a missing scope is an error (:class:`LogtoScopeError`) that names the scope
and the M2M role to assign. Such tokens are not used; the refusal is remembered like any other.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from airflow_provider_logto.auth.access_token import AccessToken
from airflow_provider_logto.auth.masking import mask_token
from airflow_provider_logto.auth.token_cache.shared import SharedTokenCache
from airflow_provider_logto.auth.token_cache.stored import StoredToken
from airflow_provider_logto.client.retrying import RetryingSender, attempt_timeout
from airflow_provider_logto.client.transport import REQUEST_ID_HEADER, HeaderAuth, excerpt, json_or_none, read_body
from airflow_provider_logto.connection.settings import MANAGEMENT_API_ROLE, MANAGEMENT_API_SCOPE, LogtoSettings
from airflow_provider_logto.exceptions import LogtoScopeError, LogtoTokenError

MAX_LEEWAY = 60.0
FALLBACK_LIFETIME = 60  # seconds a token is used when Logto's expires_in is missing or unusable
MAX_LIFETIME = 366 * 24 * 3600  # a longer expires_in is clamped (and an absurd one cannot overflow)
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")  # RFC 6750 §2.1

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenTarget:
    """What a token is for: one API resource (None for a pure organization token), scopes, organization."""

    resource: str | None
    scopes: tuple[str, ...] = ()
    organization_id: str | None = None


_CacheKey = tuple[str, str, str, str, str | None, tuple[str, ...], str | None]
REFUSAL_MEMORY = 30.0  # seconds a refusal of the token endpoint is answered from memory


@dataclass(frozen=True)
class _Refusal:
    """A remembered refusal: threads that waited for the same fetch, and calls right after, get it too
    instead of asking Logto again (each refused scope-check still cost a metered token)."""

    error: LogtoTokenError
    until: float

    def fresh(self) -> bool:
        return time.monotonic() < self.until


class TokenCache:
    """Process-wide token store with one lock per key for single-flight fetching; a definitive refusal is shared
    the same way as a token. Transient failures (5xx, garbled answers, connection errors) are not remembered.
    Each insertion evicts entries that are no longer fresh, so the store holds one entry per key in use."""

    def __init__(self) -> None:
        self._entries: dict[_CacheKey, AccessToken | _Refusal] = {}
        # token values an API refused with 401, until they would expire: never served again, whichever cache
        # layer (another thread, the worker files, the deployment Variables) hands them back
        self._rejected: dict[str, float] = {}
        self._key_locks: dict[_CacheKey, threading.Lock] = {}
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self) -> None:
        """A forked worker must not inherit a lock held by a thread that does not exist in it."""
        self._key_locks = {}
        self._lock = threading.Lock()

    def rejected(self, value: str) -> bool:
        """True for a token an API refused with 401 (until it would have expired)."""
        return value in self._rejected

    def _lookup(self, key: _CacheKey) -> AccessToken | None:
        entry = self._entries.get(key)
        if entry is None or not entry.fresh() or (isinstance(entry, AccessToken) and self.rejected(entry.value)):
            return None
        if isinstance(entry, _Refusal):
            raise entry.error
        return entry

    def get_or_fetch(self, key: _CacheKey, fetch: Callable[[], AccessToken]) -> AccessToken:
        token = self._lookup(key)
        if token is not None:
            return token
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            token = self._lookup(key)  # another thread may have fetched (or been refused) meanwhile
            if token is not None:
                return token
            try:
                token = fetch()
            except LogtoTokenError as error:
                if error.definitive:
                    self._store(key, _Refusal(error, time.monotonic() + REFUSAL_MEMORY))
                raise
            self._store(key, token)
            return token

    def _store(self, key: _CacheKey, entry: AccessToken | _Refusal) -> None:
        with self._lock:
            for stale in [other for other, held in self._entries.items() if not held.fresh()]:
                del self._entries[stale]
            now = time.monotonic()
            for expired in [value for value, until in self._rejected.items() if until <= now]:
                del self._rejected[expired]
            for idle in [other for other, lock in self._key_locks.items()
                         if other not in self._entries and other != key and not lock.locked()]:
                del self._key_locks[idle]
            self._entries[key] = entry

    def __len__(self) -> int:
        return len(self._entries)

    def discard(self, key: _CacheKey, value: str) -> None:
        """Forget the token for ``key`` if it is still ``value`` (a newer one fetched meanwhile stays), and refuse
        ``value`` from now on — until it expires, at least for :data:`REFUSAL_MEMORY` — because another thread may
        be putting it back from a shared tier right now."""
        with self._lock:
            token = self._entries.get(key)
            until = time.monotonic() + REFUSAL_MEMORY
            if isinstance(token, AccessToken) and token.value == value:
                until = max(until, token.expires_at + MAX_LEEWAY)
                del self._entries[key]
            self._rejected[value] = max(until, self._rejected.get(value, 0.0))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._rejected.clear()


TOKEN_CACHE = TokenCache()


class ClientCredentialsTokens:
    """Gets tokens for one connection's app: cached, single-flight, retried, scope-checked, masked."""

    def __init__(self, settings: LogtoSettings, session: requests.Session, sender: RetryingSender,
                 mask: Callable[[str], None], cache: TokenCache = TOKEN_CACHE) -> None:
        self.settings = settings
        self.session = session
        self.sender = sender
        self.mask = mask
        self.cache = cache
        self._secret_hash = hashlib.sha256(settings.app_secret.encode()).hexdigest()
        self.shared = SharedTokenCache(settings.cache_sharing, settings.app_secret,
                                       settings.retry.deadline + settings.timeout, _log_reuse)
        self._basic: str | None = None

    def _key(self, target: TokenTarget) -> _CacheKey:
        return (self.settings.endpoint, self.settings.app_id, self._secret_hash, self.settings.client_auth,
                target.resource, tuple(sorted(target.scopes)), target.organization_id)

    def get(self, target: TokenTarget) -> AccessToken:
        key = self._key(target)
        return self.cache.get_or_fetch(key, lambda: self._fetch_shared(key, target))

    def fetch(self, target: TokenTarget) -> AccessToken:
        """A new token straight from Logto, neither read from nor stored in any cache (for ``test_connection``)."""
        return self._fetch(target)

    def _basic_credential(self) -> str:
        """``Basic base64(app_id:secret)``, RFC 6749 §2.3.1 (both parts form-encoded); masked once."""
        if self._basic is None:
            settings = self.settings
            pair = f"{quote(settings.app_id, safe='')}:{quote(settings.app_secret, safe='')}"
            encoded = base64.b64encode(pair.encode()).decode()
            self.mask(encoded)  # as good as the secret itself
            self._basic = f"Basic {encoded}"
        return self._basic

    def discard(self, target: TokenTarget, value: str) -> None:
        """An API refused token ``value`` with 401: no cache layer may hand it out again, so the next :meth:`get`
        ends with another token — from Logto if a shared layer still holds this one."""
        key = self._key(target)
        self.cache.discard(key, value)
        self.shared.discard(key, value)

    def _fetch_shared(self, key: _CacheKey, target: TokenTarget) -> AccessToken:
        """Behind the process cache: the worker/deployment caches of ``cache_sharing``, then Logto."""
        if self.shared.mode == "process":
            return self._fetch(target)

        def fetch() -> StoredToken:
            token = self._fetch(target)
            return StoredToken(token.value, time.time() + token.expires_at - time.monotonic(), token.expires_in,
                               token.scopes)

        stored = self.shared.get(key, fetch)
        if self.cache.rejected(stored.value):  # a tier still held a token an API refused: ask Logto
            self.shared.discard(key, stored.value)
            stored = fetch()
        mask_token(stored.value, self.mask)
        return AccessToken(stored.value, time.monotonic() + stored.expires_at - time.time(), stored.expires_in,
                           stored.scopes)

    def _fetch(self, target: TokenTarget) -> AccessToken:
        settings = self.settings
        form: dict[str, str] = {"grant_type": "client_credentials"}
        if target.resource is not None:
            form["resource"] = target.resource
        if target.scopes:
            form["scope"] = " ".join(target.scopes)
        if target.organization_id is not None:
            form["organization_id"] = target.organization_id
        basic: str | None = None
        if settings.client_auth == "client_secret_post":
            form.update(client_id=settings.app_id, client_secret=settings.app_secret)
        else:
            basic = self._basic_credential()
        started = time.monotonic()
        response = self.sender.send(
            f"Logto token request for {target.resource or 'organization ' + str(target.organization_id)}",
            lambda deadline: read_body(
                self.session.post(settings.token_endpoint, data=form, headers={"Accept": "application/json"},
                                  auth=HeaderAuth(basic), timeout=attempt_timeout(settings.timeout, deadline),
                                  verify=settings.verify, allow_redirects=False, stream=True),
                deadline=deadline),
            idempotent=True)
        body = json_or_none(response)
        body = body if isinstance(body, dict) else {}
        if response.status_code != 200 or "access_token" not in body:
            raise self._refusal(response, body, target)
        value = self._checked_token(body, response)
        mask_token(value, self.mask)
        expires_in = self._lifetime(body.get("expires_in"), target)
        granted = tuple(str(body.get("scope") or "").split())
        missing = [scope for scope in target.scopes if scope not in granted]
        if missing:
            raise self._scope_error(target, missing, response)
        leeway = min(MAX_LEEWAY, expires_in / 10)
        log.info("Fetched a Logto access token for %s (scopes: %s), valid for %d s",
                 target.resource or f"organization {target.organization_id}", " ".join(granted) or "none",
                 expires_in)
        return AccessToken(value, started + expires_in - leeway, expires_in, granted)

    def _checked_token(self, body: dict[str, Any], response: requests.Response) -> str:
        """The access token, if it is one: a non-empty RFC 6750 token of type Bearer (never quoted in errors)."""
        request_id = response.headers.get(REQUEST_ID_HEADER)
        value = body.get("access_token")
        token_type = body.get("token_type")
        problem = None
        if not isinstance(value, str) or not value:
            problem = "an empty or non-text access_token"
        elif not _B64TOKEN.fullmatch(value):
            problem = ("an access_token with characters a bearer token cannot contain (control characters such as "
                       "CR/LF, spaces or non-ASCII)")
        elif token_type is None:
            problem = "no token_type (Bearer expected)"
        elif not isinstance(token_type, str) or token_type.lower() != "bearer":
            problem = f"token_type {str(token_type)[:40]!r} instead of Bearer"
        if problem is None and isinstance(value, str):
            return value
        raise LogtoTokenError(
            f"Logto's token endpoint {self.settings.token_endpoint} answered 200 with {problem}; the token was not "
            "used. Check that the connection's host is the Logto endpoint itself, not a proxy or another OAuth "
            f"server{f' [Logto-Core-Request-Id: {request_id}]' if request_id else ''}.",
            status=response.status_code, request_id=request_id)

    def _lifetime(self, value: Any, target: TokenTarget) -> int:
        """``expires_in`` as whole seconds; a missing, non-numeric, negative or zero value is warned about and
        replaced by :data:`FALLBACK_LIFETIME`."""
        seconds: float | None = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = float(value)
        elif isinstance(value, str):
            try:
                seconds = float(value.strip())
            except ValueError:
                seconds = None
        if seconds is None or not math.isfinite(seconds) or seconds <= 0:
            log.warning("Logto's token answer for %s has no usable expires_in (%r); using the token for %d s",
                        target.resource or f"organization {target.organization_id}", value, FALLBACK_LIFETIME)
            return FALLBACK_LIFETIME
        return int(min(seconds, MAX_LIFETIME))

    def _scope_error(self, target: TokenTarget, missing: list[str], response: requests.Response) -> LogtoScopeError:
        app_id = self.settings.app_id
        listed = ", ".join(f"'{scope}'" for scope in missing)
        if target.resource == self.settings.management_api_resource:
            fix = (f"assign app {app_id} a machine-to-machine role that holds the Management API's "
                   f"'{MANAGEMENT_API_SCOPE}' permission, e.g. the built-in \"{MANAGEMENT_API_ROLE}\" role "
                   "(Logto Console → Applications → your M2M app → Roles)")
        else:
            fix = (f"assign app {app_id} a machine-to-machine role holding these permissions of API resource "
                   f"{target.resource}, or request only the scopes it has")
        return LogtoScopeError(
            f"Logto issued a token for {target.resource} without the requested scope(s) {listed}: Logto drops "
            f"scopes the app's M2M roles do not grant. Fix: {fix}.",
            missing_scopes=missing, status=response.status_code, request_id=response.headers.get(REQUEST_ID_HEADER))

    def _refusal(self, response: requests.Response, body: dict[str, Any], target: TokenTarget) -> LogtoTokenError:
        settings = self.settings
        status = response.status_code
        error = body.get("error")
        description = body.get("error_description")
        code = body.get("code")
        request_id = response.headers.get(REQUEST_ID_HEADER)
        resource = target.resource
        if error == "invalid_request" and description and "not properly encoded" in description:
            text = (f"Logto could not decode the app ID and secret of the Basic authorization header "
                    f"(invalid_request: {description}): Logto allows only printable ASCII in them. Check the "
                    f"connection's login (App ID) and password (App secret) for stray spaces, line breaks or "
                    "non-ASCII characters, or set the client_auth extra to client_secret_post")
        elif error == "invalid_client" and status == 400:
            text = (f"Logto does not know app ID {settings.app_id!r} (invalid_client: {description}). Check the "
                    f"connection's login (App ID) and that host {settings.endpoint} is the right Logto tenant")
        elif error == "invalid_client":
            text = (f"Logto rejected the app credentials (invalid_client: {description}). Check the connection's "
                    f"password (App secret) for app {settings.app_id}; rotate it in Logto Console if in doubt")
        elif error == "invalid_target" and resource == settings.management_api_resource:
            text = (f"Logto does not know the Management API indicator {resource} (invalid_target: {description}), "
                    f"which comes from tenant_id {settings.tenant_id!r}. {_right_management_indicator(settings)}")
        elif error == "invalid_target":
            text = (f"Logto refused the API resource {resource!r} (invalid_target: {description}). The resource "
                    "must equal an API resource's identifier exactly — a trailing slash counts. The Management "
                    f"API of this tenant is {settings.management_api_resource}")
        elif error == "invalid_request" and description and "expired" in description:
            text = (f"The secret of app {settings.app_id} has expired ({description}). Create a new secret in "
                    "Logto Console and update the connection's password")
        elif error == "access_denied" and target.organization_id:
            text = (f"App {settings.app_id} may not get tokens for organization {target.organization_id} "
                    f"(access_denied: {description}). Add the app to that organization in Logto Console")
        elif error in ("unsupported_grant_type", "unauthorized_client"):
            text = (f"App {settings.app_id} cannot use the client_credentials grant ({error}: {description}). "
                    "Use a machine-to-machine application")
        elif code == "auth.exceed_token_limit":
            text = (f"Logto refused to issue more tokens ({code}: {body.get('message')}). The tenant's monthly "
                    "M2M token quota is used up; raise the plan's limit or wait for the next period")
        elif status == 429:
            text = "Logto's token endpoint kept answering 429 Too Many Requests within the retry budget"
        elif status == 200:
            text = "Logto's token endpoint answered 200 without an access_token"
        else:
            detail = f"{error}: {description}" if error else (code or excerpt(response))
            text = f"Logto's token endpoint answered HTTP {status} ({detail})"
        suffix = f" [Logto-Core-Request-Id: {request_id}]" if request_id else ""
        definitive = (400 <= status < 500 and status != 429 and isinstance(error, str) and bool(error)) \
            or code == "auth.exceed_token_limit"
        return LogtoTokenError(f"{text}.{suffix}", status=status, error=error or code,
                               error_description=description, code=code, request_id=request_id,
                               definitive=definitive)


def _log_reuse(token: StoredToken, tier: str) -> None:
    log.info("Reusing a Logto access token from the %s token cache (scopes: %s), valid for another %d s",
             tier, " ".join(token.scopes) or "none", token.expires_at - time.time())

def _right_management_indicator(settings: LogtoSettings) -> str:
    """Which Management API indicator to use instead of the refused one, and how to get it."""
    if settings.tenant_id != "default":
        return ("Self-hosted Logto's Management API is https://default.logto.app/api: remove the tenant_id extra "
                "(or set it to default). On Logto Cloud the indicator is https://<tenant>.logto.app/api with the "
                "tenant ID shown in Logto Console, and host should then be https://<tenant>.logto.app")
    return ("This is not self-hosted Logto (whose Management API is https://default.logto.app/api): on Logto Cloud "
            "with a custom domain set the tenant_id extra to your tenant ID, so the indicator becomes "
            "https://<tenant>.logto.app/api, and set host to https://<tenant>.logto.app")
