"""Where a request may go: an endpoint is resolved against a configured base URL, and anything that would leave
that base — another scheme, host or port, a ``//host`` reference, ``..`` segments, backslashes — is refused
before a token is attached to it."""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlsplit

from airflow_provider_logto.exceptions import LogtoUnsafeUrlError


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` with default ports made explicit, for same-origin comparisons."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def resolve(base: str, endpoint: str, *, drop_prefix: str = "") -> tuple[str, list[tuple[str, str]]]:
    """The absolute URL for ``endpoint`` under ``base``, and the query pairs the endpoint carried.

    ``endpoint`` is a path relative to ``base`` (a leading ``/`` is allowed; ``drop_prefix`` — ``/api`` for the
    Management API — may be given or omitted) or an absolute URL that already lies under ``base``.
    """
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise LogtoUnsafeUrlError(f"endpoint must be a non-empty path such as '/users', not {endpoint!r}")
    if "\\" in endpoint or any(ord(char) < 0x20 or ord(char) == 0x7F for char in endpoint):
        raise LogtoUnsafeUrlError(f"endpoint {endpoint!r} contains a backslash or a control character")
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 - raises for a port out of range or not a number
    except ValueError as error:  # also "Invalid IPv6 URL"
        raise LogtoUnsafeUrlError(f"endpoint {endpoint!r} is not a valid URL ({error}); pass a path such as "
                                  "'/users'") from None
    base_parts = urlsplit(base)
    base_path = base_parts.path.rstrip("/")
    if parts.fragment:
        raise LogtoUnsafeUrlError(f"endpoint {endpoint!r} has a #fragment")
    if parts.scheme or parts.netloc or endpoint.startswith("//"):
        if origin(endpoint) != origin(base) or parts.username or parts.password:
            raise LogtoUnsafeUrlError(
                f"endpoint {endpoint!r} points outside {base}; the access token is only sent there. "
                "Pass a path such as '/users' instead")
        path = parts.path
        if not (path == base_path or path.startswith(f"{base_path}/")):
            raise LogtoUnsafeUrlError(f"endpoint {endpoint!r} is not under {base}")
        path = path[len(base_path):]
    else:
        path = "/" + parts.path.lstrip("/")
        if drop_prefix and (path == drop_prefix or path.startswith(f"{drop_prefix}/")):
            path = path[len(drop_prefix):]
    segments = unquote(path).split("/")
    if any(segment in (".", "..") for segment in segments):
        raise LogtoUnsafeUrlError(f"endpoint {endpoint!r} contains '.' or '..' path segments")
    return f"{base.rstrip('/')}{path}", parse_qsl(parts.query, keep_blank_values=True)
