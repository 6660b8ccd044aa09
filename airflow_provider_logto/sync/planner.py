"""Read Logto once and compare it with the source index: which users to create, which parts of which users to
update, which managed users to suspend or delete.

Reads, all paginated and streamed: every user (``GET /users``), and — only when some row manages them — the
members of every User role (``GET /roles?type=User``, ``GET /roles/{id}/users``) and of the organizations the
source names (``GET /organizations``, ``GET /organizations/{id}/users``). Per user only a slot id, a change
bit-set and (for role checks) a 64-bit set digest are kept.
"""

from __future__ import annotations

import logging
from array import array
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from airflow_provider_logto.sync.index import IdColumn, SourceIndex
from airflow_provider_logto.sync.rows import (
    MARKER_KEY,
    MatchOn,
    RowError,
    custom_digest,
    digest,
    profile_digest,
)

CREATE, PROFILE, CUSTOM_DATA, SUSPENSION, ROLES, ORGANIZATIONS = 1, 2, 4, 8, 16, 32
CHANGE_NAMES = {PROFILE: "profile", CUSTOM_DATA: "customData", SUSPENSION: "isSuspended", ROLES: "roles",
                ORGANIZATIONS: "organizations"}
ON_ABSENT = ("ignore", "suspend", "delete")
log = logging.getLogger(__name__)


class ManagementReader(Protocol):
    """What the planner needs: every item of a Management API list (``LogtoHook`` through
    :func:`concurrent_reader`, or anything else that yields the items)."""

    def __call__(self, endpoint: str, params: Mapping[str, Any] | None = None) -> Iterable[Any]: ...


def concurrent_reader(hook: Any, max_concurrency: int, max_requests_per_second: float | None) -> ManagementReader:
    """Lists read by ``hook.management_paginate_concurrently``: pages in parallel, adaptive on 429."""

    def read(endpoint: str, params: Mapping[str, Any] | None = None) -> Iterable[Any]:
        return hook.management_paginate_concurrently(endpoint, params=params, max_concurrency=max_concurrency,
                                                     max_requests_per_second=max_requests_per_second, logger=log,
                                                     count_misses=False)

    return read


@dataclass(frozen=True)
class Removal:
    """A managed user absent from the source."""

    key: str
    user_id: str


@dataclass
class Plan:
    """The changes, compactly: per source slot a Logto user id (when it exists) and a change bit-set."""

    index: SourceIndex
    on_absent: str
    user_ids: IdColumn
    changes: bytearray
    role_ids: dict[str, str] = field(default_factory=dict)
    organization_ids: dict[str, str] = field(default_factory=dict)
    organization_adds: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    organization_removals: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    removals: list[Removal] = field(default_factory=list)
    managed: int = 0  # users in Logto carrying this sync's mark

    def counts(self) -> dict[str, int]:
        creates = updates = unchanged = 0
        for slot, bits in enumerate(self.changes):
            if not self.index.valid(slot):
                continue
            if bits & CREATE:
                creates += 1
            elif bits:
                updates += 1
            else:
                unchanged += 1
        removed = len(self.removals)
        return {"create": creates, "update": updates, "unchanged": unchanged,
                "suspend": removed if self.on_absent == "suspend" else 0,
                "delete": removed if self.on_absent == "delete" else 0, "invalid": len(self.index.problems)}

    def preview(self, limit: int) -> list[dict[str, Any]]:
        """The first ``limit`` changes, for a dry run and the log: action, key and what changes (no values)."""
        changes: list[dict[str, Any]] = []
        for key, slot in self.index.entries():
            if len(changes) >= limit:
                return changes
            bits = self.changes[slot]
            if not bits or not self.index.valid(slot):
                continue
            parts = [name for bit, name in CHANGE_NAMES.items() if bits & bit]
            if bits & CREATE:
                changes.append({"action": "create", "key": key, "line": self.index.lines[slot], "changes": parts})
            else:
                changes.append({"action": "update", "key": key, "line": self.index.lines[slot],
                                "user_id": self.user_ids[slot], "changes": parts})
        changes.extend({"action": self.on_absent, "key": removal.key, "user_id": removal.user_id}
                       for removal in self.removals[:max(0, limit - len(changes))])
        return changes


def build_plan(reader: ManagementReader, index: SourceIndex, match: MatchOn, sync_id: str,
               on_absent: str) -> Plan:
    """Read Logto and compare it with ``index``; conflicts and unknown role/organization names invalidate
    their rows (reported in ``index.problems``)."""
    plan = Plan(index, on_absent, IdColumn(len(index)), bytearray(len(index)))
    _read_users(reader, plan, match, sync_id)
    if any(shape.roles is not None for shape in index.shapes):
        _read_roles(reader, plan)
    if any(shape.organizations is not None for shape in index.shapes):
        _read_organizations(reader, plan)
    return plan


def _read_users(reader: ManagementReader, plan: Plan, match: MatchOn, sync_id: str) -> None:
    index = plan.index
    users = 0
    for user in reader("/users"):
        users += 1
        custom = user.get("customData") if isinstance(user.get("customData"), Mapping) else {}
        marker = custom.get(MARKER_KEY)
        mine = marker == sync_id
        plan.managed += mine
        key = match.key_of_user(user)
        slot = index.slot(key) if key is not None else None
        if slot is None:
            if mine and key is not None and plan.on_absent != "ignore" and not (
                    plan.on_absent == "suspend" and user.get("isSuspended")):
                plan.removals.append(Removal(key, user["id"]))
            continue
        if not index.valid(slot):
            continue
        line = index.lines[slot]
        if plan.user_ids[slot] is not None:
            index.invalidate(slot, RowError(line, key, f"two Logto users have {match} {key!r} (ids "
                                                       f"{plan.user_ids[slot]} and {user['id']}); resolve it in "
                                                       "Logto, then run again"))
            continue
        if marker is not None and not mine:
            index.invalidate(slot, RowError(line, key, f"user {user['id']} is managed by another sync "
                                                       f"({MARKER_KEY}={marker!r}); not touched"))
            continue
        plan.user_ids[slot] = user["id"]
        shape = index.shape(slot)
        bits = 0
        if profile_digest(user, shape.fields) != index.profile_digests[slot]:
            bits |= PROFILE
        if custom_digest(custom, shape.custom_keys) != index.custom_digests[slot]:
            bits |= CUSTOM_DATA
        if bool(user.get("isSuspended")) != index.wants_suspended(slot):
            bits |= SUSPENSION
        plan.changes[slot] = bits
    for slot, user_id in enumerate(plan.user_ids):
        if user_id is None and index.valid(slot):
            plan.changes[slot] = CREATE
    log.info("Read %d Logto user(s): %d carry this sync's mark (%s=%r)", users, plan.managed, MARKER_KEY, sync_id)


def _slots_by_user(plan: Plan) -> dict[str, int]:
    return {user_id: slot for slot, user_id in enumerate(plan.user_ids) if user_id is not None}


def _invalidate_unknown(plan: Plan, field_name: str, known: Mapping[str, str], what: str) -> None:
    """Rows naming a role/organization that does not exist (or is ambiguous) are not applied at all."""
    index = plan.index
    for key, slot in index.entries():
        if not index.valid(slot):
            continue
        names = getattr(index.shape(slot), field_name)
        unknown = [name for name in names or () if name not in known]
        if unknown:
            index.invalidate(slot, RowError(index.lines[slot], key, f"unknown or ambiguous {what} "
                                                                    f"{', '.join(map(repr, unknown))}; create it in "
                                                                    "Logto (or name it by id) first"))


def _read_roles(reader: ManagementReader, plan: Plan) -> None:
    """Role sets are compared as order-free digests (XOR of each role id's digest): 8 bytes per user."""
    roles = list(reader("/roles", {"type": "User"}))
    plan.role_ids = _by_name(roles)
    _invalidate_unknown(plan, "roles", plan.role_ids, "role(s)")
    index = plan.index
    slots = _slots_by_user(plan)
    held = array("Q", bytes(8 * len(index)))
    for role in roles:
        if role.get("usersCount") == 0:
            continue
        for member in reader(f"/roles/{role['id']}/users"):
            slot = slots.get(member["id"])
            if slot is not None:
                held[slot] ^= digest(role["id"])
    for slot, bits in enumerate(plan.changes):
        wanted = index.shape(slot).roles
        if wanted is None or not index.valid(slot):
            continue
        desired = 0
        for role_id in {plan.role_ids[name] for name in wanted}:
            desired ^= digest(role_id)
        if (bits & CREATE and wanted) or (not bits & CREATE and desired != held[slot]):
            plan.changes[slot] |= ROLES


def _read_organizations(reader: ManagementReader, plan: Plan) -> None:
    index = plan.index
    organizations = list(reader("/organizations"))
    plan.organization_ids = {**_by_name(organizations), **{org["id"]: org["id"] for org in organizations}}
    _invalidate_unknown(plan, "organizations", plan.organization_ids, "organization(s)")
    managed = {plan.organization_ids[name] for shape in index.shapes for name in shape.organizations or ()
               if name in plan.organization_ids}
    slots = _slots_by_user(plan)
    members: dict[str, set[int]] = {}
    for org_id in sorted(managed):
        members[org_id] = {slots[user["id"]] for user in
                           reader(f"/organizations/{org_id}/users") if user["id"] in slots}
    for slot in range(len(index)):
        wanted_names = index.shape(slot).organizations
        if wanted_names is None or not index.valid(slot):
            continue
        wanted = {plan.organization_ids[name] for name in wanted_names}
        for org_id in sorted(managed):
            member = slot in members[org_id]
            if org_id in wanted and not member:
                plan.organization_adds[org_id].append(slot)
            elif member and org_id not in wanted:
                plan.organization_removals[org_id].append(slot)
            else:
                continue
            plan.changes[slot] |= ORGANIZATIONS


def _by_name(entities: list[dict[str, Any]]) -> dict[str, str]:
    """name → id; a name held by two entities is left out (ambiguous: rows must use the id)."""
    seen: dict[str, str | None] = {}
    for entity in entities:
        name = entity.get("name")
        if isinstance(name, str):
            seen[name] = None if name in seen else entity["id"]
    return {name: entity_id for name, entity_id in seen.items() if entity_id is not None}
