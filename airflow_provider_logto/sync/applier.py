"""Apply a :class:`~airflow_provider_logto.sync.planner.Plan`: concurrent, honest and safe to run again.

Order: users (create, or update profile / custom data / suspension / roles, in that order per user), then the
recovery of creates whose answer was lost, then organization memberships (batched per organization), then the
removals. Every write is one Logto has no trouble seeing twice — PATCH sets values, ``PUT /users/{id}/roles``
replaces the role set, ``POST /organizations/{id}/users`` ignores existing members, a DELETE that finds nothing
means "already done" — so after an unknown outcome (timeout, dropped connection, 5xx) such a write is simply sent
once more.

``POST /users`` is the exception: sent twice it makes two users. After a lost answer the user is looked up by
key among the users created since the sync started (``GET /users`` lists newest first); only when it is not
there is it created again, and only when the body carries a username or email, which Logto refuses to
duplicate (when it does refuse, the first create landed late: the user is looked up once more). Otherwise it
is reported as an unknown outcome, and the next run (the task's retry) sees the truth.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from airflow_provider_logto.exceptions import LogtoError
from airflow_provider_logto.sync.index import SourceIndex
from airflow_provider_logto.sync.outcomes import is_not_found, outcome_unknown, reason
from airflow_provider_logto.sync.planner import (
    CREATE,
    CUSTOM_DATA,
    PROFILE,
    ROLES,
    SUSPENSION,
    Plan,
)
from airflow_provider_logto.sync.rows import (
    MARKER_KEY,
    DesiredUser,
    MatchOn,
    RowError,
    parse_row,
)
from airflow_provider_logto.sync.runner import Job, JobPool, LimitedWriter, Progress
from airflow_provider_logto.sync.source import Record

CREATED, UPDATED, FAILED = 1, 2, 3
MEMBERS_PER_REQUEST = 100
RECOVERY_MARGIN_MS = 10 * 60 * 1000  # clock skew allowed between the worker and Logto's database
UNIQUE_FIELDS = ("username", "primaryEmail")  # Logto refuses a second user with the same one (422)
DUPLICATE_CODES = frozenset({"user.username_already_in_use", "user.email_already_in_use"})
log = logging.getLogger(__name__)


class WriteFailed(Exception):
    """A write that did not (or may not) take effect; the message is the summary's reason."""


@dataclass
class SyncCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    suspended: int = 0
    deleted: int = 0


class Applier:
    """Applies one plan: writes through ``writer`` (adaptive concurrency), jobs on ``runner``'s threads, and the
    lookups of lost creates through ``hook`` (a :class:`LogtoHook`)."""

    def __init__(self, hook: Any, writer: LimitedWriter, plan: Plan, match: MatchOn, sync_id: str,
                 runner: JobPool, started_ms: int) -> None:
        self.hook = hook
        self.writer = writer
        self.plan = plan
        self.index: SourceIndex = plan.index
        self.match = match
        self.sync_id = sync_id
        self.runner = runner
        self.started_ms = started_ms
        self.outcomes = bytearray(len(self.index))
        self.reasons: dict[int, str] = {}
        self.removal_failures: list[dict[str, Any]] = []
        self.removed = 0
        self._lost_creates: dict[int, DesiredUser] = {}
        self._refused_after_loss: dict[int, DesiredUser] = {}
        self._read_again = bytearray(len(self.index))
        self._lock = threading.Lock()

    # --- the phases -----------------------------------------------------------------------------------------
    def apply(self, records: Iterable[Record]) -> tuple[SyncCounts, list[dict[str, Any]]]:
        changed = sum(1 for slot, bits in enumerate(self.plan.changes) if bits and self.index.valid(slot))
        progress = Progress("Logto user sync: users", changed, log.info)
        self.runner.run(self._user_jobs(records, progress))
        self._fail_rows_not_read_again()
        self._recover_lost_creates()
        self._apply_organizations()
        self._apply_removals()
        return self._counts(), self._failed()

    def _user_jobs(self, records: Iterable[Record], progress: Progress) -> Iterator[Job]:
        """One job per changed row, read again from the source (rows are never all held in memory)."""
        for line, record in records:
            if isinstance(record, RowError):
                continue
            try:
                desired = parse_row(line, record, self.match)
            except RowError:
                continue  # reported while indexing
            slot = self.index.slot(desired.key)
            if slot is None or not self.index.valid(slot) or self.index.lines[slot] != line:
                continue
            self._read_again[slot] = 1
            bits = self.plan.changes[slot]
            if not bits:
                continue
            if not self.index.matches(slot, desired, self.sync_id):
                self._fail(slot, "the source changed while the sync was running; not applied")
                continue
            yield partial(self._sync_user, slot, desired, progress)

    def _fail_rows_not_read_again(self) -> None:
        """A planned row missing from the second read (the source was replaced meanwhile) is not applied."""
        for slot, bits in enumerate(self.plan.changes):
            if bits and self.index.valid(slot) and not self._read_again[slot]:
                self._fail(slot, "the row was gone when the source was read again to apply it; not applied")

    def _sync_user(self, slot: int, desired: DesiredUser, progress: Progress) -> None:
        bits = self.plan.changes[slot]
        try:
            if bits & CREATE:
                user_id = self._create(slot, desired)
                if user_id is not None:
                    self._after_create(slot, desired, user_id)
            else:
                self._update(slot, desired, bits)
        except WriteFailed as failure:
            self._fail(slot, str(failure))
        progress.step(failed=self.outcomes[slot] == FAILED)

    def _create(self, slot: int, desired: DesiredUser, *, after_loss: bool = False) -> str | None:
        """The new user's id; None when the answer was lost (the user is then looked up later) or, for a second
        attempt, when Logto refused it as a duplicate (the first attempt landed after all: looked up again)."""
        body = {name: value for name, value in desired.profile.items() if value is not None}
        body["customData"] = {**desired.custom_data, MARKER_KEY: self.sync_id}
        try:
            user = self.writer.request("POST", "/users", json=body)
        except LogtoError as error:
            if after_loss and outcome_unknown(error):
                raise WriteFailed("create: outcome unknown twice; the next run finds the user or creates "
                                  "it") from None
            if after_loss and getattr(error, "code", None) in DUPLICATE_CODES:
                with self._lock:
                    self._refused_after_loss[slot] = desired
                return None
            if not outcome_unknown(error):
                raise WriteFailed(f"create failed: {reason(error)}") from None
            with self._lock:
                self._lost_creates[slot] = desired
            return None
        self.plan.user_ids[slot] = user["id"]
        return str(user["id"])

    def _after_create(self, slot: int, desired: DesiredUser, user_id: str) -> None:
        self.outcomes[slot] = CREATED
        try:
            if desired.suspended:
                self._write("PATCH", f"/users/{user_id}/is-suspended", {"isSuspended": True})
            if desired.roles:
                self._put_roles(user_id, desired)
        except WriteFailed as failure:
            raise WriteFailed(f"created as user {user_id}, then {failure}") from None

    def _update(self, slot: int, desired: DesiredUser, bits: int) -> None:
        user_id = self.plan.user_ids[slot]
        if bits & PROFILE:
            self._write("PATCH", f"/users/{user_id}", desired.profile)
        if bits & CUSTOM_DATA:
            self._write("PATCH", f"/users/{user_id}/custom-data",
                        {"customData": {**desired.custom_data, MARKER_KEY: self.sync_id}})
        if bits & SUSPENSION:
            self._write("PATCH", f"/users/{user_id}/is-suspended", {"isSuspended": desired.suspended})
        if bits & ROLES:
            self._put_roles(str(user_id), desired)
        if bits & (PROFILE | CUSTOM_DATA | SUSPENSION | ROLES):
            self.outcomes[slot] = UPDATED

    def _put_roles(self, user_id: str, desired: DesiredUser) -> None:
        role_ids = sorted({self.plan.role_ids[name] for name in desired.roles or ()})
        self._write("PUT", f"/users/{user_id}/roles", {"roleIds": role_ids})

    def _write(self, method: str, endpoint: str, body: Any = None, *, gone_is_done: bool = False) -> None:
        """An idempotent write, sent once more when its first outcome is unknown."""
        for attempt in (1, 2):
            try:
                self.writer.request(method, endpoint, json=body)
                return
            except LogtoError as error:
                if (gone_is_done and is_not_found(error)) or error.applied:  # applied: done, answer unreadable
                    return
                if attempt == 2 or not outcome_unknown(error):
                    raise WriteFailed(f"{method} {endpoint.split('?')[0]} failed: {reason(error)}") from None
                log.info("Logto %s %s: outcome unknown (%s); sending it again, it is idempotent", method,
                         endpoint, type(error).__name__)

    # --- creates whose answer was lost ------------------------------------------------------------------------
    def _recover_lost_creates(self) -> None:
        lost = dict(self._lost_creates)
        if not lost:
            return
        found = self._find_created(lost)
        log.info("Logto user sync: %d create(s) lost their answer; %d found by key among the users created "
                 "since the sync started", len(lost), len(found))
        jobs: list[Job] = []
        for slot, desired in lost.items():
            if slot in found:
                jobs.append(partial(self._finish_found, slot, desired, found[slot]))
            elif any(desired.profile.get(name) for name in UNIQUE_FIELDS):
                jobs.append(partial(self._create_again, slot, desired))
            else:
                self._fail(slot, "create: outcome unknown and the user is not (yet) visible; not created again "
                                 "because nothing unique in the row would stop a duplicate — the next run finds "
                                 "it or creates it")
        self.runner.run(jobs)
        refused = dict(self._refused_after_loss)
        if refused:  # the lost create landed after all: look once more
            found_late = self._find_created(refused)
            for slot, desired in refused.items():
                if slot in found_late:
                    self._finish_found(slot, desired, found_late[slot])
                else:
                    self._fail(slot, "create: outcome unknown, then Logto refused a second create as a duplicate, "
                                     "and no user of this sync has the key; check the user holding its "
                                     "username/email")

    def _find_created(self, lost: dict[int, DesiredUser]) -> dict[int, str]:
        """slot → user id for the lost creates that did happen: users of this sync, created since the sync
        started (``GET /users`` lists newest first, so the scan stops at the first older user)."""
        wanted = {desired.key: slot for slot, desired in lost.items()}
        found: dict[int, str] = {}
        cutoff = self.started_ms - RECOVERY_MARGIN_MS
        for user in self.hook.management_paginate("/users"):
            created_at = user.get("createdAt")
            if isinstance(created_at, (int, float)) and created_at < cutoff:
                break
            custom = user.get("customData") or {}
            slot = wanted.get(self.match.key_of_user(user) or "")
            if slot is not None and custom.get(MARKER_KEY) == self.sync_id:
                found[slot] = str(user["id"])
        return found

    def _finish_found(self, slot: int, desired: DesiredUser, user_id: str) -> None:
        self.plan.user_ids[slot] = user_id
        try:
            self._after_create(slot, desired, user_id)
        except WriteFailed as failure:
            self._fail(slot, str(failure))

    def _create_again(self, slot: int, desired: DesiredUser) -> None:
        """Logto refuses a second user with the same username or email (422), so this cannot duplicate."""
        try:
            user_id = self._create(slot, desired, after_loss=True)
            if user_id is not None:
                self._after_create(slot, desired, user_id)
        except WriteFailed as failure:
            self._fail(slot, str(failure))

    # --- organizations and removals -----------------------------------------------------------------------
    def _apply_organizations(self) -> None:
        jobs: list[Job] = []
        for org_id, slots in self.plan.organization_adds.items():
            ready = [slot for slot in slots if self.outcomes[slot] != FAILED and self.plan.user_ids[slot]]
            for start in range(0, len(ready), MEMBERS_PER_REQUEST):
                chunk = ready[start:start + MEMBERS_PER_REQUEST]
                jobs.append(partial(self._add_members, org_id, chunk))
        for org_id, slots in self.plan.organization_removals.items():
            jobs.extend(partial(self._remove_member, org_id, slot) for slot in slots
                        if self.outcomes[slot] != FAILED)
        self.runner.run(jobs)

    def _add_members(self, org_id: str, slots: list[int]) -> None:
        try:
            self._write("POST", f"/organizations/{org_id}/users",
                        {"userIds": [self.plan.user_ids[slot] for slot in slots]})
        except WriteFailed as failure:
            for slot in slots:
                self._fail(slot, f"organization {org_id}: {failure}")
            return
        for slot in slots:
            self._mark_updated(slot)

    def _remove_member(self, org_id: str, slot: int) -> None:
        try:
            self._write("DELETE", f"/organizations/{org_id}/users/{self.plan.user_ids[slot]}", gone_is_done=True)
        except WriteFailed as failure:
            self._fail(slot, f"organization {org_id}: {failure}")
            return
        self._mark_updated(slot)

    def _mark_updated(self, slot: int) -> None:
        with self._lock:
            if self.outcomes[slot] == 0:
                self.outcomes[slot] = UPDATED

    def _apply_removals(self) -> None:
        removals = self.plan.removals
        if not removals:
            return
        progress = Progress(f"Logto user sync: {self.plan.on_absent}", len(removals), log.info)

        def remove(key: str, user_id: str) -> None:
            try:
                if self.plan.on_absent == "delete":
                    self._write("DELETE", f"/users/{user_id}", gone_is_done=True)
                else:
                    self._write("PATCH", f"/users/{user_id}/is-suspended", {"isSuspended": True})
            except WriteFailed as failure:
                with self._lock:
                    self.removal_failures.append({"key": key, "reason": str(failure)})
                progress.step(failed=True)
                return
            with self._lock:
                self.removed += 1
            progress.step()

        self.runner.run([partial(remove, removal.key, removal.user_id) for removal in removals])

    # --- results ------------------------------------------------------------------------------------------
    def _fail(self, slot: int, why: str) -> None:
        with self._lock:
            self.outcomes[slot] = FAILED
            self.reasons[slot] = why

    def _counts(self) -> SyncCounts:
        counts = SyncCounts()
        for slot, outcome in enumerate(self.outcomes):
            if outcome == CREATED:
                counts.created += 1
            elif outcome == UPDATED:
                counts.updated += 1
            elif outcome == 0 and self.index.valid(slot) and not self.plan.changes[slot]:
                counts.unchanged += 1
        if self.plan.on_absent == "delete":
            counts.deleted = self.removed
        else:
            counts.suspended = self.removed
        return counts

    def _failed(self) -> list[dict[str, Any]]:
        keys = {slot: key for key, slot in self.index.entries() if slot in self.reasons}
        failed = [{"key": keys.get(slot), "reason": f"line {self.index.lines[slot]}: {why}"}
                  for slot, why in sorted(self.reasons.items(), key=lambda item: self.index.lines[item[0]])]
        return [*failed, *self.removal_failures]


def now_ms() -> int:
    return int(time.time() * 1000)
