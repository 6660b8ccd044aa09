"""The validated source, kept compactly: key → slot, and per slot a line number, a shape id, two 64-bit digests
and one flag byte in flat arrays. Rows share interned :class:`~airflow_provider_logto.sync.rows.Shape` objects,
so a million rows cost the dictionary of keys plus about 30 bytes each, not a million dicts. The Logto user id
of each slot is packed the same way (:class:`IdColumn`).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from airflow_provider_logto.sync.rows import (
    DesiredUser,
    MatchOn,
    RowError,
    Shape,
    parse_row,
)
from airflow_provider_logto.sync.source import Record

SUSPENDED = 1  # the row asks for a suspended user
INVALID = 2  # some row with this key is invalid (or the key is ambiguous in Logto): nothing is written for it


class IdColumn:
    """Logto user ids per slot, packed: Logto's ids are 12 letters and digits (``generateStandardId``), stored here
    as 12 bytes each instead of a 60-byte ``str``; any other id is kept aside in a dict. Thread-safe per slot."""

    WIDTH = 12

    def __init__(self, size: int) -> None:
        self._packed = bytearray(size * self.WIDTH)
        self._other: dict[int, str] = {}
        self._size = size

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, slot: int) -> str | None:
        other = self._other.get(slot)
        if other is not None:
            return other
        start = slot * self.WIDTH
        raw = self._packed[start:start + self.WIDTH]
        return raw.decode("ascii") if raw[0] else None

    def __setitem__(self, slot: int, user_id: str) -> None:
        if len(user_id) == self.WIDTH and user_id.isascii() and user_id.isalnum():
            self._packed[slot * self.WIDTH:(slot + 1) * self.WIDTH] = user_id.encode("ascii")
        else:
            self._other[slot] = user_id

    def __iter__(self) -> Iterator[str | None]:
        return (self[slot] for slot in range(self._size))


@dataclass
class SourceIndex:
    """Everything the planner needs to know about the source, without the rows themselves."""

    slots: dict[str, int] = field(default_factory=dict)
    lines: array = field(default_factory=lambda: array("I"))
    shape_ids: array = field(default_factory=lambda: array("I"))
    profile_digests: array = field(default_factory=lambda: array("Q"))
    custom_digests: array = field(default_factory=lambda: array("Q"))
    flags: bytearray = field(default_factory=bytearray)
    shapes: list[Shape] = field(default_factory=list)
    problems: list[RowError] = field(default_factory=list)
    rows: int = 0
    _shape_ids: dict[Shape, int] = field(default_factory=dict)

    @classmethod
    def build(cls, records: Iterable[Record], match: MatchOn, sync_id: str) -> SourceIndex:
        """Validate every record; invalid ones become :attr:`problems` (their keys, when known, are kept
        and flagged so that the user is neither changed nor removed)."""
        index = cls()
        for line, record in records:
            index.rows += 1
            try:
                if isinstance(record, RowError):
                    raise record
                desired = parse_row(line, record, match)
            except RowError as problem:
                index.problems.append(problem)
                if problem.key is not None:
                    index._flag_invalid(index._slot_for(problem.key, line))
                continue
            slot = index.slots.get(desired.key)
            if slot is None:
                index._add(desired, sync_id)
                continue
            index.problems.append(RowError(line, desired.key, f"duplicate key {desired.key!r}, also on line "
                                                              f"{index.lines[slot]}; neither row is applied"))
            if not index.flags[slot] & INVALID:
                index.problems.append(RowError(index.lines[slot], desired.key,
                                               f"duplicate key {desired.key!r}, also on line {line}; neither "
                                               "row is applied"))
            index._flag_invalid(slot)
        return index

    def _add(self, desired: DesiredUser, sync_id: str) -> int:
        slot = len(self.lines)
        self.slots[desired.key] = slot
        self.lines.append(desired.line)
        shape = desired.shape
        shape_id = self._shape_ids.get(shape)
        if shape_id is None:
            shape_id = self._shape_ids[shape] = len(self.shapes)
            self.shapes.append(shape)
        self.shape_ids.append(shape_id)
        self.profile_digests.append(desired.profile_digest())
        self.custom_digests.append(desired.custom_digest(sync_id))
        self.flags.append(SUSPENDED if desired.suspended else 0)
        return slot

    def _slot_for(self, key: str, line: int) -> int:
        slot = self.slots.get(key)
        if slot is None:
            slot = len(self.lines)
            self.slots[key] = slot
            self.lines.append(line)
            self.shape_ids.append(0)
            self.profile_digests.append(0)
            self.custom_digests.append(0)
            self.flags.append(INVALID)
        return slot

    def _flag_invalid(self, slot: int) -> None:
        self.flags[slot] |= INVALID

    def invalidate(self, slot: int, problem: RowError) -> None:
        """Drop a slot from the sync (e.g. it names an unknown role) and report why."""
        if not self.flags[slot] & INVALID:
            self.problems.append(problem)
        self._flag_invalid(slot)

    def __len__(self) -> int:
        return len(self.lines)

    def slot(self, key: str) -> int | None:
        return self.slots.get(key)

    def valid(self, slot: int) -> bool:
        return not self.flags[slot] & INVALID

    def shape(self, slot: int) -> Shape:
        return self.shapes[self.shape_ids[slot]]

    def wants_suspended(self, slot: int) -> bool:
        return bool(self.flags[slot] & SUSPENDED)

    def entries(self) -> Iterator[tuple[str, int]]:
        """``(key, slot)`` of every key, in source order."""
        return iter(self.slots.items())

    def matches(self, slot: int, desired: DesiredUser, sync_id: str) -> bool:
        """Whether a row read again (to apply it) is the row that was planned: same line and same digests."""
        return (self.lines[slot] == desired.line and self.profile_digests[slot] == desired.profile_digest()
                and self.custom_digests[slot] == desired.custom_digest(sync_id)
                and self.shape(slot) == desired.shape
                and self.wants_suspended(slot) == desired.suspended)
