"""Logto's list search (``packages/core/src/utils/search.ts``) over in-memory rows.

``search=<v>`` matches any allowed field, ``search.<field>=<v>`` one field; ``mode[.<field>]`` is ``like``
(default, SQL ``LIKE``: ``%`` and ``_`` are wildcards, so plain text matches only whole values), ``exact``,
``similar_to`` (case-sensitive only) or ``posix`` (regular expression); ``joint`` (``or`` by default) combines
the conditions; ``isCaseSensitive`` defaults to false. Mistakes raise :class:`SearchError` with Logto's text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# The fields a plain ``search=`` looks in, per entity (Logto's ``userSearchKeys``, and the role lists' keys).
USER_SEARCH_FIELDS = ("id", "primaryEmail", "primaryPhone", "username", "name")
ROLE_SEARCH_FIELDS = ("id", "name", "description")
MATCH_MODES = ("exact", "like", "similar_to", "posix")
JOINT_MODES = ("or", "and")


class SearchError(ValueError):
    """A search query Logto would refuse with ``request.invalid_input``."""


@dataclass(frozen=True)
class Condition:
    field: str | None
    mode: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Search:
    conditions: tuple[Condition, ...]
    joint: str
    case_sensitive: bool


def _field_of(key: str, allowed: Sequence[str]) -> str | None:
    path = key.split(".")
    if len(path) > 2:
        raise SearchError(f"Unsupported nested search field path `{'.'.join(path[1:])}` detected. "
                          "Only the first level field is supported.")
    if len(path) == 2 and path[1] not in allowed:
        raise SearchError(f"Search field `{path[1]}` is not allowed. Expect one of {', '.join(allowed)}.")
    return path[1] if len(path) == 2 else None


def parse_search(query: Mapping[str, list[str]], allowed: Sequence[str]) -> Search:
    joint = (query.get("joint") or query.get("jointMode") or ["or"])[0] or "or"
    if joint not in JOINT_MODES:
        raise SearchError(f"Search joint mode `{joint}` is not valid, expect one of {', '.join(JOINT_MODES)}.")
    case_sensitive = (query.get("isCaseSensitive") or ["false"])[0] == "true"
    modes: dict[str | None, str] = {}
    values: dict[str | None, list[str]] = {}
    for key, key_values in query.items():
        if key.startswith("mode"):
            field = _field_of(key, allowed)
            for mode in key_values:
                if mode not in MATCH_MODES:
                    suffix = f" for field `{field}`" if field else ""
                    raise SearchError(f"Search match mode `{mode}`{suffix} is not valid, expect one of "
                                      f"{', '.join(MATCH_MODES)}.")
                modes[field] = mode
        elif key.startswith("search"):
            values.setdefault(_field_of(key, allowed), []).extend(key_values)
    conditions = []
    for field, field_values in values.items():
        mode = modes.get(field) or modes.get(None) or "like"
        if mode != "exact" and len(field_values) != 1:
            raise SearchError("Only one search value is allowed when search mode is not `exact`.")
        if not all(field_values):
            raise SearchError("Search value cannot be empty.")
        if mode == "similar_to" and not case_sensitive:
            raise SearchError("Cannot use case-insensitive match for `similar to`.")
        conditions.append(Condition(field, mode, tuple(field_values)))
    return Search(tuple(conditions), joint, case_sensitive)


def _sql_pattern(pattern: str, similar: bool) -> str:
    """SQL LIKE / SIMILAR TO pattern → anchored Python regex."""
    out = []
    for char in pattern:
        if char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        elif similar and char in "|*+?{}()[]":
            out.append(char)
        else:
            out.append(re.escape(char))
    return "^" + "".join(out) + "$"


def _matches(value: Any, condition: Condition, case_sensitive: bool) -> bool:
    if value is None:
        return False
    text = str(value)
    flags = 0 if case_sensitive else re.IGNORECASE
    if condition.mode == "exact":
        return any(text == v if case_sensitive else text.lower() == v.lower() for v in condition.values)
    pattern = condition.values[0]
    try:
        if condition.mode == "posix":
            return re.search(pattern, text, flags) is not None
        regex = _sql_pattern(pattern, similar=condition.mode == "similar_to")
        return re.match(regex, text, flags | re.DOTALL) is not None
    except re.error as error:
        raise SearchError(f"Invalid regular expression: {error}") from None


def select(rows: list[dict[str, Any]], search: Search, fields: Sequence[str]) -> list[dict[str, Any]]:
    """The rows that satisfy the search, in their original order."""
    if not search.conditions:
        return rows
    combine = all if search.joint == "and" else any

    def keep(row: dict[str, Any]) -> bool:
        return combine(
            any(_matches(row.get(f), c, search.case_sensitive) for f in ((c.field,) if c.field else fields))
            for c in search.conditions
        )

    return [row for row in rows if keep(row)]


def sql_like(value: Any, pattern: str) -> bool:
    """``value ilike pattern`` (``%`` and ``_`` are wildcards; NULL never matches)."""
    if value is None:
        return False
    return re.match(_sql_pattern(pattern, similar=False), str(value), re.IGNORECASE | re.DOTALL) is not None
