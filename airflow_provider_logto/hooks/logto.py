"""``LogtoHook``: M2M tokens for a ``logto`` connection, and safe calls to the Logto Management API and to your
own APIs protected by Logto."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Iterator, Mapping
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import requests
from airflow.providers.common.compat.sdk import BaseHook, mask_secret

from airflow_provider_logto.auth.tokens import ClientCredentialsTokens, TokenTarget
from airflow_provider_logto.client.request_input import checked_headers, encode_json, query_pairs
from airflow_provider_logto.client.retrying import SAFE_METHODS, RetryingSender, attempt_timeout
from airflow_provider_logto.client.transport import (
    MAX_BODY_BYTES,
    REQUEST_ID_HEADER,
    USER_AGENT,
    HeaderAuth,
    KeepAliveSession,
    excerpt,
    json_or_none,
    keep_alive_session,
    read_body,
)
from airflow_provider_logto.client.urls import resolve
from airflow_provider_logto.connection.form import (
    CONN_TYPE,
    DEFAULT_CONN_ID,
    HOOK_NAME,
    legacy_field_behaviour,
    legacy_form_widgets,
)
from airflow_provider_logto.connection.settings import (
    MANAGEMENT_API_SCOPE,
    LogtoSettings,
    parse_scopes,
)
from airflow_provider_logto.exceptions import (
    LogtoApiError,
    LogtoConnectionError,
    LogtoError,
    LogtoTransportError,
    LogtoUnsafeUrlError,
    LogtoUsageError,
)
from airflow_provider_logto.hooks.answers import ManagementResult, decode, management_result, read_async_body
from airflow_provider_logto.hooks.hints import failure_hint, unknown_extras_note
from airflow_provider_logto.listing.concurrency import DEFAULT_MAX_CONCURRENCY

if TYPE_CHECKING:
    from airflow_provider_logto.listing.paging import ConcurrentListing, ProgressLogger

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
MAX_PAGE_SIZE = 100
MAX_REDIRECTS = 5
METHOD_CHANGING_REDIRECTS = frozenset({301, 302, 303})
log = logging.getLogger(__name__)


class LogtoHook(BaseHook):
    """Talks to Logto as a machine-to-machine app of a ``logto`` connection.

    Tokens come from the ``client_credentials`` grant, are cached for the whole process (shared by every hook
    instance and thread), refreshed before they expire, and fetched once when many threads ask together; a
    401 from an API drops the cached token, fetches a new one and retries once.

    Requests share one keep-alive ``requests.Session`` per hook, with the connection's timeout and TLS
    verification (on by default). An endpoint is a path joined to its base — ``{endpoint}/api`` for the
    Management API, ``api_base_url`` for your API; an absolute URL or ``//host`` that points anywhere else is
    refused before a token is attached, and a redirect is followed only while it stays under that base (others
    fail with :class:`LogtoUnsafeUrlError`), so neither the token nor a request body goes anywhere else.

    Retries (see :mod:`airflow_provider_logto.client.retrying`): reads — GET and token requests — are retried on
    connection errors, timeouts, truncated bodies, 429 and 500/502/503/504; writes — POST, PUT, PATCH,
    DELETE — only when the connection could not be opened or on 429, since anything else may already have
    taken effect. ``Retry-After`` is honoured, otherwise exponential backoff with jitter; the budget is the
    connection's ``max_attempts`` and ``retry_deadline``, which also bounds each call's total time (bodies that
    arrive too slowly are abandoned). Bodies are read as a stream and capped (16 MiB for answers, 64 KiB of an
    error page).

    Writes are honest: a write that failed after it was sent (timeout, dropped connection, 5xx) raises an error
    with ``outcome_unknown=True`` — it may have taken effect. A 301/302/303 answering a write is never followed
    as a GET (which would silently drop the write): it fails with ``outcome_unknown=True`` and names the target.
    A call's input (``json``, ``params``, ``headers``) is checked before any HTTP request.

    :param logto_conn_id: the ``logto`` connection to use.
    """

    conn_name_attr = "logto_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONN_TYPE
    hook_name = HOOK_NAME

    def __init__(self, logto_conn_id: str = DEFAULT_CONN_ID) -> None:
        super().__init__()
        self.logto_conn_id = logto_conn_id

    # --- connection form (Airflow 2.11–3.1; Airflow 3.2+ reads get_provider_info() instead) -------------------
    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Extra fields of the connection form, generated from the same data as ``conn-fields``."""
        return legacy_form_widgets()

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Relabeled, hidden and placeholder fields, generated from the same data as ``ui-field-behaviour``."""
        return legacy_field_behaviour()

    # --- configuration and plumbing ---------------------------------------------------------------------------
    @cached_property
    def settings(self) -> LogtoSettings:
        """The connection, validated; its app secret is registered with Airflow's secret masker."""
        conn = self.get_connection(self.logto_conn_id)
        if conn.password:
            mask_secret(conn.password)
        return LogtoSettings.from_connection(conn)

    def get_conn(self) -> requests.Session:
        """The hook's keep-alive HTTP session."""
        return self._session

    @cached_property
    def _session(self) -> KeepAliveSession:
        return keep_alive_session()

    @cached_property
    def _sender(self) -> RetryingSender:
        return RetryingSender(self.settings.retry)

    @cached_property
    def _tokens(self) -> ClientCredentialsTokens:
        return ClientCredentialsTokens(self.settings, self._session, self._sender, mask_secret)

    def close(self) -> None:
        """Close the HTTP session (its connections); cached tokens stay for other hooks of the process."""
        if "_session" in self.__dict__:
            self._session.close()

    # --- tokens -----------------------------------------------------------------------------------------------
    def get_access_token(self, resource: str | None = None, scopes: str | list[str] | None = None,
                         organization_id: str | None = None) -> str:
        """An access token (a JWT) from the cache or Logto's token endpoint.

        Defaults: ``resource`` — the connection's ``resource`` extra, else the tenant's Management API (else, with
        an organization and no resource, a pure organization token); ``scopes`` — the connection's ``scopes`` for
        its own resource, ``all`` for the Management API, none otherwise; ``organization_id`` — the connection's,
        never for the Management API. Raises :class:`LogtoScopeError` when Logto dropped a requested scope.
        """
        return self._tokens.get(self._target(resource, scopes, organization_id)).value

    def _target(self, resource: str | None, scopes: str | list[str] | None,
                organization_id: str | None) -> TokenTarget:
        settings = self.settings
        organization_id = organization_id or None
        if resource is None:
            if settings.resource is not None:
                resource = settings.resource
            elif not (organization_id or settings.organization_id):
                resource = settings.management_api_resource
        elif not isinstance(resource, str) or not urlsplit(resource).scheme:
            raise LogtoUsageError(f"resource {resource!r} is not an absolute URI; pass the API identifier "
                                  "exactly as shown in Logto Console, e.g. https://shopping.api")
        management = resource == settings.management_api_resource
        if scopes is None:
            if management:
                parsed: tuple[str, ...] = (MANAGEMENT_API_SCOPE,)
            else:
                parsed = settings.scopes if resource == settings.resource else ()
        else:
            parsed = parse_scopes(scopes, where="scopes")
        if organization_id is None and not management:
            organization_id = settings.organization_id
        return TokenTarget(resource, parsed, None if management else organization_id)

    # --- Management API ---------------------------------------------------------------------------------------
    def management_request(self, method: str, endpoint: str, *, params: Mapping[str, Any] | None = None,
                           json: Any = None) -> Any:
        """Call the Management API: ``endpoint`` like ``/api/users`` or ``/users``. Returns the decoded JSON body
        (None for 204 and for Logto's plain-text ``Created``/``OK``); raises :class:`LogtoApiError`."""
        return decode(self._management(method, endpoint, params=params, json=json), management=True)

    def management_paginate(self, endpoint: str, *, params: Mapping[str, Any] | None = None,
                            page_size: int = MAX_PAGE_SIZE) -> Iterator[Any]:
        """Every item of a Management API list, page by page, as a stream (memory holds a few pages).

        Always sends ``page``/``page_size`` and never follows Logto's ``Link`` URLs (they lack the ``/api``
        prefix). The list ends on a short page, or on a full one whose ``Total-Number`` says it ends there; a
        ``Total-Number`` that lies never loses items, and a server that answers the same page again or keeps
        answering full pages is stopped with a :class:`LogtoApiError`. Items are deduplicated by ``id``. This is
        :class:`airflow_provider_logto.listing.paging.ConcurrentListing` reading one page at a time; arguments are
        checked here, before any request.
        """
        return iter(self._listing(endpoint, params=params, page_size=page_size, max_concurrency=1,
                                  count_misses=False))

    def management_paginate_concurrently(self, endpoint: str, *, params: Mapping[str, Any] | None = None,
                                         page_size: int = MAX_PAGE_SIZE,
                                         max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
                                         max_requests_per_second: float | None = None,
                                         first_page: int | None = None, last_page: int | None = None,
                                         logger: ProgressLogger | None = None,
                                         count_misses: bool = True) -> ConcurrentListing:
        """Every item of a Management API list, read with concurrent requests, once each and in list order.

        Page 1 first (for ``Total-Number``), then up to ``max_concurrency`` (default 8) requests at once, adaptive
        on 429, optionally paced by ``max_requests_per_second``; ``first_page``/``last_page`` read a range. Iterate
        the answer once, then ``summary()`` gives counts and possible misses (``count_misses=False`` skips the
        end-of-read recount of the list's head when nobody reads that figure). The same guards as
        :meth:`management_paginate`; see :class:`airflow_provider_logto.listing.paging.ConcurrentListing`. Arguments are
        checked here, before any request.
        """
        return self._listing(endpoint, params=params, page_size=page_size, max_concurrency=max_concurrency,
                             max_requests_per_second=max_requests_per_second, first_page=first_page,
                             last_page=last_page, logger=logger, count_misses=count_misses)

    def _listing(self, endpoint: str, **options: Any) -> ConcurrentListing:
        from airflow_provider_logto.listing.paging import ConcurrentListing

        return ConcurrentListing(lambda: type(self)(logto_conn_id=self.logto_conn_id), endpoint, **options)

    def management_get(self, endpoint: str, *, params: Mapping[str, Any] | None = None) -> ManagementResult:
        """GET a Management API endpoint; the body plus ``Total-Number`` when Logto paginated the answer."""
        return management_result(self._management("GET", endpoint, params=params))

    async def amanagement_get(self, endpoint: str, *, params: Mapping[str, Any] | None = None) -> ManagementResult:
        """:meth:`management_get` for triggers: the request goes out through an async HTTP client.

        The token comes from the same cache (fetched in a worker thread when needed) and a 401 refreshes it once.
        Transient failures are not retried here: a polling trigger simply asks again at its next poke. The whole
        call is bounded by the connection's ``retry_deadline``, the body by the same cap as synchronous calls, and
        a redirect is an error (a poll never follows one).
        """
        import httpx  # installed with Airflow itself (its Task SDK client); no extra dependency

        settings = await asyncio.to_thread(lambda: self.settings)
        target = self._management_target()
        url, query = resolve(settings.management_api_base, endpoint, drop_prefix="/api")
        request_params: list[tuple[str, str | int | float | bool | None]] = [*query, *query_pairs(params)]
        path = urlsplit(url).path
        verify: Any = ssl.create_default_context(cafile=settings.verify) if isinstance(settings.verify, str) \
            else settings.verify

        async def poll() -> ManagementResult:
            async with httpx.AsyncClient(verify=verify, timeout=settings.timeout, follow_redirects=False,
                                         headers={"User-Agent": USER_AGENT}) as client:
                for attempt in (1, 2):
                    token = await asyncio.to_thread(self._tokens.get, target)
                    async with client.stream("GET", url, params=request_params,
                                             headers={"Authorization": f"Bearer {token.value}"}) as response:
                        await read_async_body(response)
                    if response.status_code != 401 or attempt == 2:
                        break
                    self._tokens.discard(target, token.value)
            if response.is_redirect:
                raise LogtoApiError(f"Logto GET {path} answered {response.status_code} redirecting to "
                                    f"{response.headers.get('Location')}; a poll does not follow redirects: use the "
                                    "endpoint it points to", status=response.status_code, method="GET", path=path)
            if response.status_code >= 400:
                raise self._api_error(response, "GET", path, target)
            return management_result(response)

        try:
            return await asyncio.wait_for(poll(), timeout=settings.retry.deadline)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.LocalProtocolError) as error:
            raise LogtoConnectionError(f"Logto GET {path} cannot be sent: {type(error).__name__}: {error}. Fix "
                                       "the connection's host; waiting will not help") from error
        except httpx.TransportError as error:
            raise LogtoTransportError(f"Logto GET {path} failed: {type(error).__name__}: {error}") from error
        except TimeoutError:
            raise LogtoTransportError(f"Logto GET {path} did not complete within the connection's retry_deadline "
                                      f"({settings.retry.deadline:g} s)") from None

    def _management_target(self) -> TokenTarget:
        return TokenTarget(self.settings.management_api_resource, (MANAGEMENT_API_SCOPE,))

    def _management(self, method: str, endpoint: str, *, params: Mapping[str, Any] | None,
                    json: Any = None) -> requests.Response:
        return self._call(method, self.settings.management_api_base, endpoint, "/api", self._management_target(),
                          params, json, None)

    # --- your API ---------------------------------------------------------------------------------------------
    def resource_request(self, method: str, endpoint: str, *, resource: str | None = None,
                         scopes: str | list[str] | None = None, params: Mapping[str, Any] | None = None,
                         json: Any = None, headers: Mapping[str, str] | None = None) -> Any:
        """Call your API at the connection's ``api_base_url`` with a token for ``resource`` and ``scopes``
        (defaults: the connection's ``resource`` and ``scopes``). Returns decoded JSON, or text when the API does
        not answer JSON (None when empty); raises :class:`LogtoApiError`."""
        settings = self.settings
        if settings.api_base_url is None:
            raise LogtoConnectionError(f"Logto connection {settings.conn_id!r} has no api_base_url extra: set it to "
                                       "your API's base URL (resource API calls may only go there)")
        if resource is None and settings.resource is None:
            raise LogtoUsageError(f"no API resource: pass resource= or set the resource extra of Logto "
                                  f"connection {settings.conn_id!r}")
        target = self._target(resource, scopes, None)
        response = self._call(method, settings.api_base_url, endpoint, "", target, params, json, headers)
        return decode(response, management=False)

    # --- the one request path -----------------------------------------------------------------------------------
    def _call(self, method: str, base: str, endpoint: str, drop_prefix: str, target: TokenTarget,
              params: Mapping[str, Any] | None, json: Any, headers: Mapping[str, str] | None) -> requests.Response:
        if not isinstance(method, str) or method.upper() not in HTTP_METHODS:
            raise LogtoUsageError(f"method {method!r} is not one of {', '.join(HTTP_METHODS)}")
        method = method.upper()
        url, query = resolve(base, endpoint, drop_prefix=drop_prefix)
        request_params = [*query, *query_pairs(params)]
        request_headers = checked_headers(headers)
        body = encode_json(json)
        if body is not None and not any(name.lower() == "content-type" for name in request_headers):
            request_headers["Content-Type"] = "application/json"
        path = urlsplit(url).path
        describe = f"{self._api_name(target)} {method} {path}"
        idempotent = method in SAFE_METHODS
        for attempt in (1, 2):
            token = self._tokens.get(target)
            auth = HeaderAuth(f"Bearer {token.value}")
            response = self._sender.send(
                describe, partial(self._request_within, base, method, url, request_params, body, request_headers,
                                  auth),
                idempotent=idempotent)
            if response.status_code != 401 or attempt == 2:
                break  # a 401 means the request was not processed: repeating it with a new token is safe
            log.info("%s answered 401; fetching a new token and retrying once", describe)
            self._tokens.discard(target, token.value)
        if response.status_code >= 400:
            raise self._api_error(response, method, path, target)
        return response

    def _api_name(self, target: TokenTarget) -> str:
        """How messages name the called API: Logto's Management API, or yours by its resource indicator."""
        return "Logto" if target.resource == self.settings.management_api_resource else f"API {target.resource}"

    def _request_within(self, base: str, method: str, url: str, params: list[tuple[str, str]], body: bytes | None,
                        headers: dict[str, str], auth: HeaderAuth, deadline: float) -> requests.Response:
        """One request with its body read (bounded by ``deadline``), following at most ``MAX_REDIRECTS`` redirects
        and only those that stay under ``base``.

        A 307/308 repeats the same request at the new place. A 301/302/303 would turn it into a GET: followed for
        reads, but for a write it is an error with ``outcome_unknown=True`` — never a silent GET whose answer would
        look like the write's."""
        settings = self.settings
        for _ in range(MAX_REDIRECTS + 1):
            response = read_body(
                self._session.request(method, url, params=params, data=body, headers=headers, auth=auth,
                                      timeout=attempt_timeout(settings.timeout, deadline), verify=settings.verify,
                                      allow_redirects=False, stream=True),
                deadline=deadline, limit=MAX_BODY_BYTES)
            if not response.is_redirect:
                return response
            location = urljoin(response.url, response.headers["Location"])
            path = urlsplit(response.url).path
            try:
                url, params = resolve(base, location)
            except LogtoUnsafeUrlError:
                raise LogtoUnsafeUrlError(f"{method} {path} redirected to {location}, outside {base}; not followed, "
                                          "so the token and body stay put") from None
            if response.status_code in METHOD_CHANGING_REDIRECTS and method not in SAFE_METHODS:
                raise LogtoApiError(
                    f"{method} {path} was answered with HTTP {response.status_code} redirecting to {location}; the "
                    f"write was not repeated there as a GET. Call {urlsplit(location).path} directly",
                    status=response.status_code, method=method, path=path, outcome_unknown=True)
            if response.status_code in METHOD_CHANGING_REDIRECTS:
                method, body = "GET", None
        raise LogtoUnsafeUrlError(f"more than {MAX_REDIRECTS} redirects from {urlsplit(url).path}")

    def _api_error(self, response: Any, method: str, path: str, target: TokenTarget) -> LogtoApiError:
        settings = self.settings
        status = response.status_code
        body = json_or_none(response)
        code = body.get("code") if isinstance(body, dict) else None
        message = body.get("message") if isinstance(body, dict) else None
        data = body.get("data") if isinstance(body, dict) else None
        if isinstance(body, dict) and not code and isinstance(body.get("error"), str):  # RFC 6750 style APIs
            code, message = body["error"], body.get("error_description") or message
        code = code if isinstance(code, str) else None
        message = message if isinstance(message, str) else None
        if code or message:
            summary = (f"{code}: {message}" if code else str(message)).rstrip(".")
        else:
            summary = f"a non-JSON or unexpected body ({excerpt(response)})"
        management = target.resource == settings.management_api_resource
        hint = failure_hint(status, data, management, settings, target)
        request_id = response.headers.get(REQUEST_ID_HEADER)
        suffix = f" [Logto-Core-Request-Id: {request_id}]" if request_id else ""
        text = f"{self._api_name(target)} {method} {path} failed with HTTP {status}, {summary}.{hint}{suffix}"
        outcome_unknown = method not in SAFE_METHODS and status >= 500
        return LogtoApiError(text, status=status, code=code, message=message, request_id=request_id, data=data,
                             method=method, path=path, outcome_unknown=outcome_unknown)

    # --- Airflow's "Test" button ------------------------------------------------------------------------------------
    def test_connection(self) -> tuple[bool, str]:
        """Ask Logto for a token for the connection's default resource — always a new request, never served from
        nor stored in a token cache — and report the granted lifetime and scopes (no API call, nothing changes).
        Unknown extra fields (a typo such as ``scope``) are pointed out."""
        try:
            target = self._target(None, None, None)
            token = self._tokens.fetch(target)
        except LogtoError as error:
            return False, str(error)
        except Exception as error:  # the UI shows the message; it must never be a traceback
            from airflow_provider_logto.client.failures import plain_cause
            from airflow_provider_logto.exceptions import scrub

            return False, scrub(f"The test failed unexpectedly: {type(error).__name__}: {plain_cause(error)}.")
        settings = self.settings
        what = target.resource or f"organization {target.organization_id}"
        scopes = " ".join(token.scopes) or "no scopes"
        return True, (f"Connected to Logto at {settings.endpoint} as app {settings.app_id}: Logto granted a token for "
                      f"{what} with scopes: {scopes}, valid for {token.expires_in} s.{unknown_extras_note(settings)}")

