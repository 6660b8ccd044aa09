"""A ``logto`` Airflow connection read once into a validated, immutable settings object.

Every problem is reported as one :class:`~airflow_provider_logto.exceptions.LogtoConnectionError` that names the
field and the fix, before any HTTP request is made.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import os
import re
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from airflow_provider_logto.connection.form import (
    CLIENT_AUTH_METHODS,
    CONN_FIELDS,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_RETRY_BACKOFF_MS,
    DEFAULT_RETRY_DEADLINE,
    DEFAULT_TIMEOUT,
    DEFAULT_TOKEN_CACHE,
    TOKEN_CACHE_ALIAS,
    TOKEN_CACHE_MODES,
)
from airflow_provider_logto.exceptions import LogtoConnectionError

log = logging.getLogger(__name__)

MANAGEMENT_API_SCOPE = "all"
MANAGEMENT_API_ROLE = "Logto Management API access"  # the built-in M2M role holding MANAGEMENT_API_SCOPE
_LEGACY_EXTRA_PREFIX = "extra__logto__"  # how Airflow < 2.3 forms stored custom fields
_CLOUD_HOST = re.compile(r"^([a-z0-9]+)\.logto\.app$")
_TRUE = {"true", "1", "yes", "on"}
# upper bounds of the numeric extras (a socket cannot wait longer than about 292 years; nothing should wait a day)
_MAXIMUMS = {"timeout": 3600.0, "retry_deadline": 86400.0, "max_attempts": 100.0, "retry_backoff_ms": 600_000.0}
_FALSE = {"false", "0", "no", "off"}


class ConnectionLike(Protocol):
    """What is read from an Airflow ``Connection`` (SDK or legacy model)."""

    conn_id: str
    host: str | None
    login: str | None
    password: str | None
    port: int | None

    @property
    def extra_dejson(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class RetrySettings:
    """The retry budget: attempts per request, total seconds, and the first backoff (doubling, jittered)."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    deadline: float = DEFAULT_RETRY_DEADLINE
    backoff: float = DEFAULT_RETRY_BACKOFF_MS / 1000


@dataclass(frozen=True)
class LogtoSettings:
    """Everything the hook needs from a ``logto`` connection, validated."""

    conn_id: str
    endpoint: str
    app_id: str
    app_secret: str = ""
    resource: str | None = None
    scopes: tuple[str, ...] = ()
    api_base_url: str | None = None
    tenant_id: str = "default"
    organization_id: str | None = None
    client_auth: str = CLIENT_AUTH_METHODS[0]
    verify: bool | str = True
    timeout: float = DEFAULT_TIMEOUT
    retry: RetrySettings = RetrySettings()
    allow_insecure_http: bool = False
    cache_sharing: str = DEFAULT_TOKEN_CACHE
    unknown_extras: tuple[str, ...] = ()

    def __repr__(self) -> str:  # the dataclass default would print the secret
        return f"LogtoSettings(conn_id={self.conn_id!r}, endpoint={self.endpoint!r}, app_id={self.app_id!r})"

    @property
    def token_endpoint(self) -> str:
        return f"{self.endpoint}/oidc/token"

    @property
    def management_api_base(self) -> str:
        return f"{self.endpoint}/api"

    @property
    def management_api_resource(self) -> str:
        """Logto's Management API indicator: ``https://{tenant}.logto.app/api`` whatever host serves it."""
        return f"https://{self.tenant_id}.logto.app/api"

    @classmethod
    def from_connection(cls, conn: ConnectionLike) -> LogtoSettings:
        conn_id = conn.conn_id
        # forms store untouched fields as null or "": those mean "the default"
        extra = {key.removeprefix(_LEGACY_EXTRA_PREFIX): value for key, value in _extra_object(conn).items()
                 if value is not None and value != ""}
        unknown = sorted(set(extra) - set(CONN_FIELDS) - {TOKEN_CACHE_ALIAS})
        if unknown:  # a warning, not an error: a typo is worth seeing, an extra for another tool is not fatal
            log.warning("Logto connection %r: ignoring unknown extra field(s) %s; known fields: %s", conn_id,
                        ", ".join(unknown), ", ".join(CONN_FIELDS))
        allow_insecure = _boolean(conn_id, "allow_insecure_http", extra.get("allow_insecure_http", False))
        endpoint = _endpoint(conn_id, conn.host, conn.port, allow_insecure)
        if not conn.login:
            raise _error(conn_id, "login (App ID) is empty: put the M2M app's ID there")
        if not conn.password:
            raise _error(conn_id, "password (App secret) is empty: put the M2M app's secret there")
        client_auth = extra.get("client_auth") or CLIENT_AUTH_METHODS[0]
        if client_auth not in CLIENT_AUTH_METHODS:
            raise _error(conn_id, f"client_auth {client_auth!r} is not supported; use one of "
                                  f"{', '.join(CLIENT_AUTH_METHODS)}")
        cache_sharing = _cache_sharing(conn_id, extra)
        api_base_url = _optional_text(conn_id, "api_base_url", extra.get("api_base_url"))
        if api_base_url is not None:
            api_base_url = _base_url(conn_id, "api_base_url", api_base_url, allow_insecure)
        resource = _optional_text(conn_id, "resource", extra.get("resource"))
        if resource is not None and not urlsplit(resource).scheme:
            raise _error(conn_id, f"resource {resource!r} is not an absolute URI; use the API identifier exactly "
                                  "as shown in Logto Console, e.g. https://shopping.api")
        return cls(
            conn_id=conn_id,
            endpoint=endpoint,
            app_id=conn.login,
            app_secret=conn.password,
            resource=resource,
            scopes=parse_scopes(extra.get("scopes"), where=f"connection {conn_id!r} extra 'scopes'"),
            api_base_url=api_base_url,
            tenant_id=_tenant_id(conn_id, endpoint, _optional_text(conn_id, "tenant_id", extra.get("tenant_id"))),
            organization_id=_optional_text(conn_id, "organization_id", extra.get("organization_id")),
            client_auth=client_auth,
            verify=_verify(conn_id, extra.get("verify", True)),
            timeout=_positive(conn_id, "timeout", extra.get("timeout", DEFAULT_TIMEOUT)),
            retry=RetrySettings(
                max_attempts=int(_positive(conn_id, "max_attempts", extra.get("max_attempts", DEFAULT_MAX_ATTEMPTS),
                                           integer=True)),
                deadline=_positive(conn_id, "retry_deadline", extra.get("retry_deadline", DEFAULT_RETRY_DEADLINE)),
                backoff=_positive(conn_id, "retry_backoff_ms",
                                  extra.get("retry_backoff_ms", DEFAULT_RETRY_BACKOFF_MS)) / 1000,
            ),
            allow_insecure_http=allow_insecure,
            cache_sharing=cache_sharing,
            unknown_extras=tuple(unknown),
        )


def parse_scopes(value: Any, *, where: str) -> tuple[str, ...]:
    """Scopes from a space-separated string or a list of strings, duplicates removed, order kept. Commas are
    refused (OAuth scopes are space-separated; Logto would read ``a,b`` as one unknown scope and drop it)."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        items = value.split()
    elif isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        items = [part for item in value for part in item.split()]
    else:
        raise LogtoConnectionError(f"{where} must be a space-separated string or a list of strings, "
                                   f"not {type(value).__name__}")
    if any("," in item for item in items):
        fixed = " ".join(part for item in items for part in item.split(",") if part)
        raise LogtoConnectionError(f"{where} {value!r} uses commas; scopes are space-separated: write {fixed!r}")
    return tuple(dict.fromkeys(items))


def is_loopback(hostname: str) -> bool:
    if hostname.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def _error(conn_id: str, problem: str) -> LogtoConnectionError:
    return LogtoConnectionError(f"Logto connection {conn_id!r}: {problem}.")


def _extra_object(conn: ConnectionLike) -> dict[str, Any]:
    """The extras as a dict; a JSON list, text or number in the extra field is an error naming the field."""
    raw = getattr(conn, "extra", None)
    if isinstance(raw, str) and raw.strip():
        try:
            parsed = json.loads(raw)
        except ValueError:
            raise _error(conn.conn_id, "extra is not valid JSON: write a JSON object such as "
                                       '{"resource": "https://shopping.api"}') from None
    else:
        parsed = conn.extra_dejson
    if parsed is None:
        return {}
    if not isinstance(parsed, dict):
        raise _error(conn.conn_id, f"extra must be a JSON object of field names to values, not a JSON "
                                   f"{type(parsed).__name__}: e.g. {{\"resource\": \"https://shopping.api\"}}")
    return parsed


def _base_url(conn_id: str, field: str, value: str, allow_insecure: bool) -> str:
    if value != value.strip() or any(char.isspace() or ord(char) < 0x20 for char in value):
        raise _error(conn_id, f"{field} {value!r} contains spaces or control characters: remove them")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as error:  # "Port out of range 0-65535", "Invalid IPv6 URL", non-numeric port
        raise _error(conn_id, f"{field} {value!r} is not a valid URL ({error}): check the host and the port "
                              "(1-65535; IPv6 hosts in brackets, e.g. https://[::1]:3001)") from None
    if port == 0:
        raise _error(conn_id, f"{field} {value!r} has port 0: use a port from 1 to 65535, or none for the default")
    if parts.hostname and ":" in parts.hostname:
        try:
            ipaddress.IPv6Address(parts.hostname.split("%")[0])
        except ValueError:
            raise _error(conn_id, f"{field} {value!r} has a broken IPv6 address {parts.hostname!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _error(conn_id, f"{field} {value!r} needs a scheme and a host, e.g. https://{value.split('://')[-1]}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise _error(conn_id, f"{field} {value!r} must be a plain base URL without credentials, query or fragment")
    if parts.scheme == "http" and not is_loopback(parts.hostname) and not allow_insecure:
        raise _error(conn_id, f"{field} {value!r} uses plain http:// to a non-local host, which would send "
                              "credentials and tokens in clear text; use https://, or set the extra "
                              "allow_insecure_http to true if this network is trusted")
    return value.rstrip("/")


def _endpoint(conn_id: str, host: str | None, port: int | None, allow_insecure: bool) -> str:
    if not host:
        raise _error(conn_id, "host (Logto endpoint) is empty: set it to e.g. https://your-tenant.logto.app")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535):
        raise _error(conn_id, f"port {port!r} is out of range: use 1-65535, or leave it empty")
    if "://" not in host:
        where = f"{host.strip()}:{port}" if port else host.strip()
        raise _error(conn_id, f"host {host!r} has no scheme: write the full endpoint, e.g. https://{where}")
    endpoint = _base_url(conn_id, "host", host, allow_insecure)
    parts = urlsplit(endpoint)
    if port and parts.port is not None and port != parts.port:
        raise _error(conn_id, f"port {port} contradicts port {parts.port} in host {host!r}: keep the "
                              "port in one place (clear the port field) or make the two equal")
    if port and parts.port is None:
        netloc = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else parts.hostname
        endpoint = f"{parts.scheme}://{netloc}:{port}{parts.path}"
    return endpoint


def _tenant_id(conn_id: str, endpoint: str, explicit: str | None) -> str:
    match = _CLOUD_HOST.match(urlsplit(endpoint).hostname or "")
    derived = match.group(1) if match else None
    if explicit and derived and explicit != derived:
        raise _error(conn_id, f"tenant_id {explicit!r} contradicts the host, which belongs to tenant {derived!r}; "
                              "remove the tenant_id extra")
    if explicit and not re.fullmatch(r"[a-z0-9]+", explicit):
        raise _error(conn_id, f"tenant_id {explicit!r} is not a Logto tenant id (lower-case letters and digits)")
    return explicit or derived or "default"


def _cache_sharing(conn_id: str, extra: dict[str, Any]) -> str:
    """``cache_sharing`` (or its alias ``token_cache``): process, worker (the default) or deployment."""
    given = {name: value.strip().lower() if isinstance(value, str) else value
             for name in ("cache_sharing", TOKEN_CACHE_ALIAS) if (value := extra.get(name)) is not None}
    if len(set(map(repr, given.values()))) > 1:
        raise _error(conn_id, f"cache_sharing {extra['cache_sharing']!r} and {TOKEN_CACHE_ALIAS} "
                              f"{extra[TOKEN_CACHE_ALIAS]!r} disagree; set only cache_sharing")
    for name, value in given.items():
        if value not in TOKEN_CACHE_MODES:
            raise _error(conn_id, f"{name} {value!r} is not a token cache mode; use one of "
                                  f"{', '.join(TOKEN_CACHE_MODES)} (default {DEFAULT_TOKEN_CACHE})")
        return str(value)
    return DEFAULT_TOKEN_CACHE


def _optional_text(conn_id: str, field: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _error(conn_id, f"{field} must be text, not {type(value).__name__}")
    return value.strip() or None


def _boolean(conn_id: str, field: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise _error(conn_id, f"{field} must be true or false, not {value!r}")


def _positive(conn_id: str, field: str, value: Any, *, integer: bool = False) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _error(conn_id, f"{field} must be a number, not {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(number) or number <= 0 or (integer and not number.is_integer()):
        kind = "a positive whole number" if integer else "a positive number"
        raise _error(conn_id, f"{field} must be {kind}, not {value!r}")
    if number > _MAXIMUMS[field]:
        raise _error(conn_id, f"{field} {value!r} is beyond any sensible budget; use at most {_MAXIMUMS[field]:g}")
    return number


def _verify(conn_id: str, value: Any) -> bool | str:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE | _FALSE | {""}:
            return lowered not in _FALSE
        if not os.path.isfile(value):
            raise _error(conn_id, f"verify {value!r} is neither true/false nor an existing CA bundle file")
        return value
    raise _error(conn_id, f"verify must be true, false or a CA bundle path, not {value!r}")
