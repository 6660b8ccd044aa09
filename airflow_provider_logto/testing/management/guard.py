"""The request side of Logto's routes: ``koa-body`` (body parsing), ``koaGuard`` (zod validation, reported as
``guard.invalid_input`` with the serialised ZodError in ``data`` and ``formatZodError`` lines in ``details``),
``koa-pagination`` (``page``/``page_size``, ``Total-Number`` and ``Link`` headers) and the search helpers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

from airflow_provider_logto.testing.errors import InternalServerError, LogtoApiError, api_error
from airflow_provider_logto.testing.http import Request, Response
from airflow_provider_logto.testing.search import (
    Search,
    SearchError,
    parse_search,
    select,
    sql_like,
)

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
USERNAME = re.compile(r"^[A-Z_a-z]\w*$")
EMAIL = re.compile(r"^\S+@\S+\.\S+$")
PHONE = re.compile(r"^\d+$")
_JSON_TYPES = ("application/json", "application/json-patch+json", "application/vnd.api+json",
               "application/csp-report")
_STRICT_JSON = re.compile(r"^[\x20\x09\x0a\x0d]*[\[{]")


class BodyParseError(Exception):
    """What ``koa-body`` throws for a JSON body it cannot parse: Logto answers 400 ``{"message": ...}``."""

    def response(self) -> Response:
        return Response.json(400, {"message": str(self)})


def parse_body(request: Request) -> Any:
    """The body as ``koa-body`` leaves it for the guard: JSON for JSON types (``{}`` when empty; only objects and
    arrays), a form for urlencoded, text for ``text/*``, and ``{}`` (the guard's fallback) otherwise."""
    content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    text = request.body.decode("utf-8", errors="replace")
    if content_type in _JSON_TYPES or content_type.endswith("+json"):
        if not text:
            return {}
        if not _STRICT_JSON.match(text):
            raise BodyParseError("invalid JSON, only supports object and array")
        try:
            return json.loads(text)
        except ValueError as error:
            raise BodyParseError(_v8_json_message(text, error)) from None
    if content_type == "application/x-www-form-urlencoded":
        return {key: values[-1] if len(values) == 1 else values
                for key, values in parse_qs(text, keep_blank_values=True).items()}
    if content_type.startswith("text/"):
        return text
    return {}


def _v8_json_message(text: str, error: ValueError) -> str:
    """Node's ``JSON.parse`` wording for the two common cases (an approximation of V8's messages)."""
    position = getattr(error, "pos", len(text))
    if position >= len(text.rstrip()):
        return "Unexpected end of JSON input"
    shown = text if len(text) <= 32 else text[:32] + "..."
    return f"Unexpected token '{text[position]}', \"{shown}\" is not valid JSON"


# --- koaGuard -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    """One zod field: ``kind`` is string, number, boolean, object, array or enum; the rest are zod's checks."""

    name: str
    kind: str
    required: bool = False
    nullable: bool = False
    min_length: int | None = None
    max_length: int | None = None
    pattern: re.Pattern[str] | None = None
    url: bool = False
    or_empty: bool = False
    options: tuple[str, ...] = ()
    item: Field | None = None
    nonempty: bool = False
    one_or_many: bool = False  # ``X.array().or(X)``: a query parameter given once or repeated


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    names: dict[type, str] = {str: "string", list: "array", dict: "object"}
    return names.get(type(value), "unknown")


def _invalid_type(expected: str, value: Any, path: list[Any], *, missing: bool = False) -> dict[str, Any]:
    received = "undefined" if missing else _type_of(value)
    message = "Required" if missing else f"Expected {expected}, received {received}"
    return {"code": "invalid_type", "expected": expected, "received": received, "path": path, "message": message}


def _size_issue(code: str, bound: int, kind: str, path: list[Any]) -> dict[str, Any]:
    key, word = ("minimum", "least") if code == "too_small" else ("maximum", "most")
    unit = "character(s)" if kind == "string" else "element(s)"
    noun = "String" if kind == "string" else "Array"
    return {"code": code, key: bound, "type": kind, "inclusive": True, "exact": False,
            "message": f"{noun} must contain at {word} {bound} {unit}", "path": path}


def _string_issues(field: Field, value: str, path: list[Any]) -> list[dict[str, Any]]:
    issues: list[dict[str, Any]] = []
    if field.min_length is not None and len(value) < field.min_length:
        issues.append(_size_issue("too_small", field.min_length, "string", path))
    if field.max_length is not None and len(value) > field.max_length:
        issues.append(_size_issue("too_big", field.max_length, "string", path))
    if field.pattern is not None and not field.pattern.search(value):
        issues.append({"validation": "regex", "code": "invalid_string", "message": "Invalid", "path": path})
    if field.url and not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:\S", value):
        issues.append({"validation": "url", "code": "invalid_string", "message": "Invalid url", "path": path})
    return issues


def _union(path: list[Any], *options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """zod's ``invalid_union``: every option failed, each option's issues kept."""
    return [{"code": "invalid_union", "unionErrors": [{"issues": issues, "name": "ZodError"} for issues in options],
             "path": path, "message": "Invalid input"}]


def _literal_issue(value: Any, literal: str, path: list[Any]) -> dict[str, Any]:
    return {"received": value, "code": "invalid_literal", "expected": literal, "path": path,
            "message": f'Invalid literal value, expected "{literal}"'}


def _check(field: Field, value: Any, path: list[Any]) -> list[dict[str, Any]]:
    """zod's issues for one present value."""
    if value is None and field.nullable:
        return []
    if field.one_or_many:
        single = Field(field.name, field.kind, options=field.options)
        many = ([issue for index, item in enumerate(value) for issue in _check(single, item, [*path, index])]
                if isinstance(value, list) else [_invalid_type("array", value, path)])
        one = _check(single, value, path)
        return _union(path, many, one) if many and one else []
    if field.kind == "literal":  # z.union([z.literal(a), z.literal(b), ...])
        if value in field.options:
            return []
        return _union(path, *([_literal_issue(value, option, path)] for option in field.options))
    if field.or_empty:  # string().….or(literal('')): both options fail or the value passes
        first = ([_invalid_type("string", value, path)] if not isinstance(value, str)
                 else _string_issues(field, value, path))
        if not first or value == "":
            return []
        return _union(path, first, [_literal_issue(value, "", path)])
    if field.kind == "enum":
        if value in field.options:
            return []
        if not isinstance(value, str):  # z.nativeEnum / z.enum on a non-string
            return [_invalid_type(" | ".join(f"'{option}'" for option in field.options), value, path)]
        expected = " | ".join(f"'{option}'" for option in field.options)
        return [{"received": value, "code": "invalid_enum_value", "options": list(field.options), "path": path,
                 "message": f"Invalid enum value. Expected {expected}, received '{value}'"}]
    if _type_of(value) != field.kind:
        return [_invalid_type(field.kind, value, path)]
    if field.kind == "string":
        return _string_issues(field, value, path)
    if field.kind == "array":
        issues = [issue for index, item in enumerate(value) if field.item is not None
                  for issue in _check(field.item, item, [*path, index])]
        if field.nonempty and not value:
            issues.append(_size_issue("too_small", 1, "array", path))
        return issues
    return []


def guard_body(request: Request, fields: Sequence[Field]) -> dict[str, Any]:
    """The body's known fields, validated like ``koaGuard({ body: z.object({...}) })``: unknown keys dropped,
    every issue collected, one ``guard.invalid_input`` for all of them."""
    body = parse_body(request)
    if not isinstance(body, dict):
        raise _guard_error("body", [_invalid_type("object", body, [])])
    issues: list[dict[str, Any]] = []
    values: dict[str, Any] = {}
    for field in fields:
        if field.name not in body:
            if field.required:
                issues.append(_invalid_type(field.kind if field.kind != "enum" else "string", None, [field.name],
                                            missing=True))
            continue
        issues.extend(_check(field, body[field.name], [field.name]))
        values[field.name] = body[field.name]
    if issues:
        raise _guard_error("body", issues)
    return values


def guard_query(request: Request, fields: Sequence[Field]) -> dict[str, Any]:
    """The query's declared parameters, validated like ``koaGuard({ query: z.object({...}) })``: koa's parser gives
    a string, or an array when the parameter repeats; undeclared parameters (``page``, ``search.*``) pass."""
    query = {field.name: values[0] if len(values) == 1 else values
             for field in fields if (values := request.query.get(field.name))}
    issues = [issue for field in fields if field.name in query
              for issue in _check(field, query[field.name], [field.name])]
    if issues:
        raise _guard_error("query", issues)
    return query


def _guard_error(kind: str, issues: list[dict[str, Any]]) -> LogtoApiError:
    """``guard.invalid_input``: ``data`` is the ZodError as JSON, ``details`` ``formatZodError``'s lines."""
    lines = []
    for issue in issues:
        base = f'Error in key path "{".".join(str(p) for p in issue["path"])}": ({issue["code"]}) '
        if issue["code"] == "invalid_type":
            lines.append(base + f"Expected {issue['expected']} but received {issue['received']}.")
        else:
            lines.append(base + issue["message"])
    return api_error("guard.invalid_input", type=kind, data={"issues": issues, "name": "ZodError"},
                     details="\n".join(lines))


def string_ids(name: str, *, nonempty: bool = False, required: bool = True) -> Field:
    """``z.string().min(1).array()`` (``.nonempty()``): the id lists relation routes take."""
    return Field(name, "array", required=required, nonempty=nonempty, item=Field(name, "string", min_length=1))


# --- koa-pagination -----------------------------------------------------------------------------------------
def pagination(request: Request, *, optional: bool = False) -> tuple[int, int] | None:
    """``(offset, limit)``, or None when the route's pagination is optional and neither parameter is given."""
    raw_page, raw_size = request.param("page"), request.param("page_size")
    if optional and not raw_page and not raw_size:
        return None
    try:
        page = float(raw_page) if raw_page else 1.0
        size = float(raw_size) if raw_size else float(DEFAULT_PAGE_SIZE)
    except ValueError:
        raise api_error("guard.invalid_pagination") from None
    if not (page > 0 and 0 < size <= MAX_PAGE_SIZE and page.is_integer() and size.is_integer()):
        raise api_error("guard.invalid_pagination")
    return (int(page) - 1) * int(size), int(size)


def _link(request: Request, page: int, rel: str) -> str:
    query = {key: values[-1] for key, values in request.query.items()}
    query["page"] = str(page)
    host = request.header("host") or "localhost"
    return f"<http://{host}{request.path.removeprefix('/api')}?{urlencode(query)}>; rel=\"{rel}\""


def paged(request: Request, total: int, rows: Callable[[int, int], list[Any]], *,
          optional: bool = False, everything: Callable[[], list[Any]] | None = None) -> Response:
    """A list answer with Logto's paging headers; ``rows(offset, limit)`` reads one page. Without ``page`` and
    ``page_size`` an optional route answers ``everything()`` (or all ``rows``) with no headers."""
    window = pagination(request, optional=optional)
    if window is None:
        return Response.json(200, everything() if everything else rows(0, total))
    offset, limit = window
    last = max(1, -(-total // limit))
    page = offset // limit + 1
    headers = [("Total-Number", str(total)), ("Link", _link(request, 1, "first")),
               ("Link", _link(request, last, "last"))]
    if page > 1:
        headers.append(("Link", _link(request, page - 1, "prev")))
    if page < last:
        headers.append(("Link", _link(request, page + 1, "next")))
    return Response.json(200, rows(offset, limit), headers)


def page_of(items: list[Any], request: Request, *, optional: bool = False) -> Response:
    """:func:`paged` over a list already in memory."""
    return paged(request, len(items), lambda offset, limit: items[offset:offset + limit], optional=optional)


# --- search -------------------------------------------------------------------------------------------------
def search_of(request: Request, fields: tuple[str, ...]) -> Search:
    """``parseSearchParamsForSearch``: the request's search, or ``request.invalid_input`` for a bad one."""
    try:
        return parse_search(request.query, fields)
    except SearchError as error:
        raise api_error("request.invalid_input", details=str(error)) from None


def searched(request: Request, items: Iterable[dict[str, Any]], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    search = search_of(request, fields)
    try:
        return select(list(items), search, fields)
    except SearchError as error:
        raise api_error("request.invalid_input", details=str(error)) from None


def keyword_filter(request: Request, items: Iterable[dict[str, Any]], fields: Sequence[str]) -> list[dict[str, Any]]:
    """``parseSearchOptions`` (``?q=``): ``field ilike '%q%'`` over the fields, joined with ``or``; ``q`` is
    guarded as ``z.string().optional()`` (repeated: 400) as every route taking it declares."""
    keyword = guard_query(request, (Field("q", "string"),)).get("q")
    if not keyword:
        return list(items)
    return [item for item in items if any(sql_like(item.get(f), f"%{keyword}%") for f in fields)]


def query_flag(query: Mapping[str, list[str]], name: str) -> bool:
    """``yes()`` from @silverhand/essentials: ``true``, ``1``, ``yes`` and ``y`` (any case) are true."""
    values = query.get(name) or [""]
    return values[0].lower() in ("true", "1", "yes", "y")


def require_changes(values: dict[str, Any]) -> None:
    """An update with nothing to set: Logto builds ``update … set  where …``, which PostgreSQL refuses (500)."""
    if not values:
        raise InternalServerError("empty update statement")
