"""Users (``routes/admin-user/*``, ``queries/user.ts``): identifiers unique case-insensitively, passwords kept
apart from the profile, and an index in creation order so a page of Logto's ``createdAt desc`` list is a slice.
"""

from __future__ import annotations

import bisect
import contextlib
import copy
from collections.abc import Mapping
from typing import Any

from airflow_provider_logto.testing.errors import LogtoApiError, api_error
from airflow_provider_logto.testing.state.base import TenantBase, new_id, now_ms
from airflow_provider_logto.testing.state.phone import normalize_phone

IDENTIFIER_CODES = {"username": "user.username_already_in_use", "primaryEmail": "user.email_already_in_use",
                    "primaryPhone": "user.phone_already_in_use"}
PROFILE_FIELDS = ("username", "primaryEmail", "primaryPhone", "name", "avatar", "customData", "profile")


class UsersMixin(TenantBase):
    #: Logto's ``CASE_SENSITIVE_USERNAME`` (default true): ``Jane`` and ``jane`` are two users. Emails are always
    #: compared case-insensitively, phone numbers in their stored form.
    case_sensitive_username = True

    def __init__(self, tenant_id: str = "default") -> None:
        super().__init__(tenant_id)
        self.identifier_index.update({field: {} for field in IDENTIFIER_CODES})
        # Users in creation order (ascending sequence numbers, parallel lists): a page of Logto's
        # ``createdAt desc`` order is a slice from the end, a new user an append, a deletion one bisect.
        self._user_sequence: list[int] = []
        self._user_ids: list[str] = []

    def create_user(self, fields: Mapping[str, Any], password: tuple[str, str] | None = None) -> dict[str, Any]:
        """A user from profile ``fields``; ``password`` is ``(digest or plain text, algorithm)`` when set."""
        with self.lock:
            self.check_user_identifiers(fields, exclude_id=None)
            fields = _with_stored_phone(fields)
            created = now_ms()
            user: dict[str, Any] = {
                "id": new_id(12), "username": fields.get("username"), "primaryEmail": fields.get("primaryEmail"),
                "primaryPhone": fields.get("primaryPhone"), "name": fields.get("name"),
                "avatar": fields.get("avatar"), "customData": copy.deepcopy(fields.get("customData") or {}),
                "identities": {}, "lastSignInAt": None, "createdAt": created, "updatedAt": created,
                "profile": copy.deepcopy(fields.get("profile") or {}), "applicationId": None,
                "isSuspended": False, "hasPassword": password is not None,
            }
            self.users[user["id"]] = user
            if password is not None:
                self.user_passwords[user["id"]] = password
            self._index_identifiers(user, add=True)
            sequence = self.next_sequence()
            self.user_order[user["id"]] = sequence
            self._user_sequence.append(sequence)
            self._user_ids.append(user["id"])
            self.user_roles[user["id"]] = []
            return user

    def update_user(self, user_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the given fields (``customData`` too: merging is the custom-data route's job)."""
        with self.lock:
            user = self.get("users", user_id)
            self.check_user_identifiers(fields, exclude_id=user_id)
            fields = _with_stored_phone(fields)
            self._index_identifiers(user, add=False)
            user.update(copy.deepcopy(dict(fields)))
            self._index_identifiers(user, add=True)
            user["updatedAt"] = now_ms()
            return user

    def set_user_password(self, user_id: str, password: tuple[str, str]) -> dict[str, Any]:
        with self.lock:
            user = self.get("users", user_id)
            self.user_passwords[user_id] = password
            user["hasPassword"] = True
            user["updatedAt"] = now_ms()
            return user

    def check_user_identifiers(self, fields: Mapping[str, Any], exclude_id: str | None) -> None:
        """Usernames, emails and phones are unique (422 with Logto's code); see :attr:`case_sensitive_username`."""
        for field, code in IDENTIFIER_CODES.items():
            value = fields.get(field)
            if field == "primaryPhone" and value:  # hasUserWithNormalizedPhone
                with contextlib.suppress(LogtoApiError):
                    value = normalize_phone(str(value))
            owner = self.identifier_index[field].get(self._identifier_key(field, value)) if value else None
            if owner is not None and owner != exclude_id:
                raise api_error(code)

    def _index_identifiers(self, user: dict[str, Any], *, add: bool) -> None:
        for field, index in self.identifier_index.items():
            if user[field]:
                if add:
                    index[self._identifier_key(field, user[field])] = user["id"]
                else:
                    index.pop(self._identifier_key(field, user[field]), None)

    def _identifier_key(self, field: str, value: Any) -> str:
        if field == "username" and self.case_sensitive_username:
            return str(value)
        return str(value).lower()

    def users_newest_first(self) -> list[dict[str, Any]]:
        """Every user in Logto's list order (``createdAt desc``)."""
        with self.lock:
            return [self.users[user_id] for user_id in reversed(self._user_ids)]

    def users_page(self, offset: int, limit: int) -> list[dict[str, Any]]:
        """``limit`` users from ``offset`` in Logto's list order, without touching the others."""
        with self.lock:
            end = len(self._user_ids) - offset
            start = max(0, end - limit)
            return [self.users[user_id] for user_id in reversed(self._user_ids[start:max(0, end)])]

    def newest_first(self, user_ids: Mapping[str, None] | list[str]) -> list[dict[str, Any]]:
        """These users in Logto's list order."""
        with self.lock:
            return [self.users[u] for u in sorted(user_ids, key=self.user_order.__getitem__, reverse=True)]

    def delete_user(self, user_id: str) -> None:
        """The user, their roles and organization memberships (``on delete cascade``)."""
        with self.lock:
            self._index_identifiers(self.get("users", user_id), add=False)
            position = bisect.bisect_left(self._user_sequence, self.user_order[user_id])
            del self._user_sequence[position], self._user_ids[position]
            for role_id in self.user_roles.pop(user_id):
                del self.role_users[role_id][user_id]
            for org_id, members in self.org_users.items():
                if user_id in members:
                    del members[user_id]
                    self.org_user_roles.pop((org_id, user_id), None)
            del self.users[user_id], self.user_order[user_id]
            self.user_passwords.pop(user_id, None)


def _with_stored_phone(fields: Mapping[str, Any]) -> Mapping[str, Any]:
    """``insertUser``/``updateUserById``: a phone number is validated and stored normalised (422 otherwise)."""
    phone = fields.get("primaryPhone")
    if not phone:
        return fields
    return {**fields, "primaryPhone": normalize_phone(str(phone))}
