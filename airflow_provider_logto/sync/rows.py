"""One source row → the desired state of one Logto user, validated with Logto's own rules.

A row manages only what it names: a profile field absent from the row is left alone (present with ``null``
clears it); ``customData`` is *merged* key by key (Logto's ``PATCH /users/{id}/custom-data``); ``roles`` — role
names — is the user's complete set of User roles when present; ``organizations`` — names or ids — is the user's
complete set of memberships among the organizations the source names; ``isSuspended`` defaults to false, so a
managed user that is back in the source is reactivated.

Every user the sync creates or adopts carries ``customData.airflowUserSync = <sync_id>`` (:data:`MARKER_KEY`):
only users with that mark are ever suspended or deleted for being absent from the source.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_logto.exceptions import LogtoUsageError

MARKER_KEY = "airflowUserSync"
PROFILE_FIELDS = ("username", "primaryEmail", "primaryPhone", "name", "avatar")
ROW_FIELDS = frozenset({*PROFILE_FIELDS, "customData", "roles", "organizations", "isSuspended"})
# The regular expressions of @logto/core-kit that POST/PATCH /api/users validate with.
_EMAIL = re.compile(r"^\S+@\S+\.\S+$")
_USERNAME = re.compile(r"^[A-Z_a-z]\w*$")
_PHONE = re.compile(r"^\d+$")
_PATTERNS = {"primaryEmail": (_EMAIL, "a valid email address"),
             "username": (_USERNAME, "letters, digits and underscores, not starting with a digit"),
             "primaryPhone": (_PHONE, "digits only, with the country code")}
_MISSING = object()


class RowError(ValueError):
    """A source row that cannot be applied; nothing of it is written.

    :ivar line: the row's line (JSON Lines/CSV) or 1-based position (a list).
    :ivar key: the row's key when it has one.
    """

    def __init__(self, line: int, key: str | None, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.key = key
        self.reason = reason


def digest(value: Any) -> int:
    """A 64-bit digest of JSON-like data (canonical JSON, so key order does not matter)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def key_text(value: Any) -> str:
    """A key value as text: strings as they are, numbers in JSON form — so ``7`` and ``"7"`` are one key (CSV
    sources only have text, and an id's type may differ between systems)."""
    return value if isinstance(value, str) else json.dumps(value)


@dataclass(frozen=True)
class MatchOn:
    """How a source row finds its Logto user: ``primaryEmail``, ``username`` or ``customData.<key>``."""

    field: str
    custom_key: str | None = None

    @classmethod
    def parse(cls, value: Any) -> MatchOn:
        if value in ("primaryEmail", "username"):
            return cls(value)
        if isinstance(value, str) and value.startswith("customData.") and len(value) > len("customData."):
            custom_key = value[len("customData."):]
            if custom_key == MARKER_KEY:
                raise LogtoUsageError(f"match_on cannot be customData.{MARKER_KEY}: the sync writes that key itself")
            return cls("customData", custom_key)
        raise LogtoUsageError(f"match_on must be 'primaryEmail', 'username' or 'customData.<key>' (an external id "
                              f"kept in custom data, e.g. 'customData.employeeId'), not {value!r}")

    def __str__(self) -> str:
        return f"customData.{self.custom_key}" if self.custom_key else self.field

    def key_of_user(self, user: Mapping[str, Any]) -> str | None:
        """The key of a Logto user (emails compare case-insensitively, as Logto's uniqueness does)."""
        if self.custom_key is not None:
            custom = user.get("customData")
            value = custom.get(self.custom_key) if isinstance(custom, Mapping) else None
            return None if value is None or isinstance(value, (bool, dict, list)) else key_text(value)
        value = user.get(self.field)
        if not isinstance(value, str) or not value:
            return None
        return value.lower() if self.field == "primaryEmail" else value


@dataclass(frozen=True)
class Shape:
    """Which parts of a user a row manages; rows with the same columns share one (interned) shape."""

    fields: tuple[str, ...]
    custom_keys: tuple[str, ...]
    roles: tuple[str, ...] | None
    organizations: tuple[str, ...] | None


@dataclass(frozen=True)
class DesiredUser:
    """A valid row: the key and the state it asks for."""

    line: int
    key: str
    profile: dict[str, Any]
    custom_data: dict[str, Any]
    roles: tuple[str, ...] | None
    organizations: tuple[str, ...] | None
    suspended: bool

    @property
    def shape(self) -> Shape:
        return Shape(tuple(sorted(self.profile)), tuple(sorted(self.custom_data)), self.roles, self.organizations)

    def profile_digest(self) -> int:
        return profile_digest(self.profile, tuple(sorted(self.profile)))

    def custom_digest(self, sync_id: str) -> int:
        return custom_digest({**self.custom_data, MARKER_KEY: sync_id}, tuple(sorted(self.custom_data)))


def profile_digest(user: Mapping[str, Any], fields: tuple[str, ...]) -> int:
    """Digest of the named profile fields of a user or row (an absent field counts as null, as Logto shows it)."""
    return digest([[name, user.get(name)] for name in fields])


def custom_digest(custom_data: Mapping[str, Any] | None, keys: tuple[str, ...]) -> int:
    """Digest of the named custom-data keys plus the sync's mark; absent and null stay different."""
    custom_data = custom_data if isinstance(custom_data, Mapping) else {}
    return digest([[name, name in custom_data, custom_data.get(name)] for name in (*keys, MARKER_KEY)])


def parse_row(line: int, record: Any, match: MatchOn) -> DesiredUser:
    """Validate one record (a JSON object); raises :class:`RowError` naming the line and what is wrong."""
    if not isinstance(record, Mapping):
        raise RowError(line, None, f"expected a JSON object, got {type(record).__name__}")
    key = _key(line, record, match)

    def fail(reason: str) -> RowError:
        return RowError(line, key, reason)

    unknown = sorted(str(name) for name in record if name not in ROW_FIELDS)
    if unknown:
        raise fail(f"unknown field(s) {', '.join(unknown)}; a row may hold {', '.join(sorted(ROW_FIELDS))}")
    profile: dict[str, Any] = {}
    for name in PROFILE_FIELDS:
        if name not in record:
            continue
        value = record[name]
        if value is not None and not isinstance(value, str):
            raise fail(f"{name} must be a string or null, not {type(value).__name__}")
        if value == "":
            value = None  # Logto stores an empty identifier as null
        if value is not None and name in _PATTERNS and not _PATTERNS[name][0].match(value):
            raise fail(f"{name} {value!r} is invalid: Logto expects {_PATTERNS[name][1]}")
        profile[name] = value
    if match.custom_key is None and profile.get(match.field) is None:
        raise fail(f"{match.field} is the key and cannot be null")
    custom_data = record.get("customData", {})
    if not isinstance(custom_data, Mapping):
        raise fail(f"customData must be an object, not {type(custom_data).__name__}")
    if MARKER_KEY in custom_data:
        raise fail(f"customData.{MARKER_KEY} is written by the sync itself; remove it from the source")
    suspended = record.get("isSuspended", False)
    if not isinstance(suspended, bool):
        raise fail(f"isSuspended must be true or false, not {suspended!r}")
    return DesiredUser(line, key, profile, dict(custom_data), _names(record, "roles", fail),
                       _names(record, "organizations", fail), suspended)


def _key(line: int, record: Mapping[str, Any], match: MatchOn) -> str:
    if match.custom_key is not None:
        custom = record.get("customData")
        value = custom.get(match.custom_key, _MISSING) if isinstance(custom, Mapping) else _MISSING
        where = f"customData.{match.custom_key}"
    else:
        value, where = record.get(match.field, _MISSING), match.field
    if value is _MISSING or value is None or value == "":
        raise RowError(line, None, f"no key: {where} is missing or empty (match_on={match})")
    if match.custom_key is None and not isinstance(value, str):
        raise RowError(line, None, f"{where} must be a string to serve as the key, not {value!r}")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise RowError(line, None, f"{where} must be a string or a number to serve as the key, not {value!r}")
    if match.field == "primaryEmail" and isinstance(value, str):
        if not _EMAIL.match(value):
            raise RowError(line, value, f"primaryEmail {value!r} is invalid: Logto expects a valid email address")
        return value.lower()
    return key_text(value)


def _names(record: Mapping[str, Any], field: str, fail: Any) -> tuple[str, ...] | None:
    if field not in record:
        return None
    value = record[field]
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise fail(f"{field} must be a list of non-empty names, not {value!r}")
    return tuple(sorted(set(value)))
