"""Checks of a call's own input — body, query parameters, headers — made before any HTTP request, each failure a
:class:`~airflow_provider_logto.exceptions.LogtoUsageError` that names the argument and the fix."""

from __future__ import annotations

import json as jsonlib
import re
from collections.abc import Mapping
from typing import Any

from airflow_provider_logto.exceptions import LogtoUsageError

_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 token
_SCALARS = (str, int, float)


def encode_json(value: Any) -> bytes | None:
    """The request body as strict JSON bytes (None for no body). Sets, bytes, NaN/Infinity and other objects that
    JSON cannot carry are refused instead of being sent half-converted."""
    if value is None:
        return None
    try:
        return jsonlib.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode()
    except (TypeError, ValueError) as error:
        raise LogtoUsageError(
            f"json cannot be sent as JSON: {error}. Pass only dicts with text keys, lists, text, numbers, booleans "
            "and None: turn sets and tuples into lists, bytes into text (e.g. base64) and NaN/Infinity into None"
        ) from None
    except RecursionError:
        raise LogtoUsageError("json is nested too deeply (or refers to itself) to be sent as JSON") from None


def query_pairs(params: Any) -> list[tuple[str, str]]:
    """Query pairs from a mapping; a list or tuple value repeats the key (Logto's ``search.<field>`` with ``exact``
    takes several), None values are left out, booleans are sent as ``true``/``false``."""
    if params is None:
        return []
    if not isinstance(params, Mapping):
        raise LogtoUsageError(f"params must be a mapping (dict) of query parameter names to values, not "
                              f"{type(params).__name__}: e.g. {{'search': '%@example.com'}}")
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if not isinstance(key, str) or not key:
            raise LogtoUsageError(f"params key {key!r} must be a non-empty text name")
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if item is None:
                continue
            if isinstance(item, bool):
                pairs.append((key, "true" if item else "false"))
            elif isinstance(item, _SCALARS):
                pairs.append((key, str(item)))
            else:
                raise LogtoUsageError(f"params[{key!r}] holds a {type(item).__name__}; a query value must be text, "
                                      "a number, a boolean, or a list of those")
    return pairs


def checked_headers(headers: Any) -> dict[str, str]:
    """Extra request headers, refused when a name is not an HTTP token or a value is not one line of latin-1 text
    (a CR/LF would inject headers), and when they try to set ``Authorization``. Values are never quoted."""
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise LogtoUsageError(f"headers must be a mapping (dict) of header names to text, not "
                              f"{type(headers).__name__}")
    checked: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise LogtoUsageError(f"header name {name!r} is not a valid HTTP header name (letters, digits and "
                                  "!#$%&'*+-.^_`|~ only)")
        if name.lower() == "authorization":
            raise LogtoUsageError("headers must not contain Authorization: the hook sets the bearer token")
        if not isinstance(value, str):
            raise LogtoUsageError(f"header {name!r} must have a text value, not {type(value).__name__}")
        if any(char in value for char in "\r\n\0"):
            raise LogtoUsageError(f"header {name!r} has a value with CR, LF or NUL; a header value is one line")
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise LogtoUsageError(f"header {name!r} has characters outside latin-1, which HTTP headers cannot "
                                  "carry; encode the value (e.g. percent-encoding or base64)") from None
        checked[name] = value
    return checked
