"""The reader while the log moves under it: 200 entries/s written at the head and the oldest entries deleted by
retention while a 50,000-entry window is read (over real HTTP, with a little latency so the read takes a while)."""

from __future__ import annotations

import threading
import time

import pytest

from airflow_provider_logto.audit.reader import AuditLogQuery, read_window
from airflow_provider_logto.hooks.logto import LogtoHook
from airflow_provider_logto.testing import LogtoEmulator
from tests.audit.conftest import BASE_MS, expected, keys, write

WINDOW = 50_000
RATE = 200  # entries per second written during the read


class Churn:
    """Writes ``RATE`` entries per second (stamped now) and deletes the oldest entries, ``delete_per_tick`` every
    50 ms starting at ``first_cutoff``, until stopped."""

    def __init__(self, emulator: LogtoEmulator, first_cutoff: int, delete_per_tick: int) -> None:
        self.emulator = emulator
        self.cutoff = first_cutoff
        self.delete_per_tick = delete_per_tick
        self.written = self.deleted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for _ in range(RATE // 20):
                self.emulator.add_log("Interaction.Create")
                self.written += 1
            self.cutoff += self.delete_per_tick
            self.deleted += self.emulator.delete_logs_before(self.cutoff)
            time.sleep(0.05)

    def __enter__(self) -> Churn:
        self._thread.start()
        time.sleep(0.2)  # already writing when the read starts
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def history(emulator: LogtoEmulator) -> list[dict]:
    """10,000 older entries (what retention deletes), then the 50,000 of the window, 3 per millisecond."""
    older = write(emulator, range(BASE_MS - 10_000, BASE_MS))
    window = write(emulator, (BASE_MS + number // 3 for number in range(WINDOW)))
    emulator.set_latency(0.002)
    return older + window


def test_writes_and_retention_outside_the_window(emulator: LogtoEmulator, hook: LogtoHook,
                                                 history: list[dict]) -> None:
    start, end = BASE_MS, BASE_MS + WINDOW // 3 + 1
    with Churn(emulator, BASE_MS - 10_000, delete_per_tick=40) as churn:
        read = read_window(hook, AuditLogQuery(), start, end, max_concurrency=8)
        got = keys(read)
    print(f"\nchurn outside the window: {churn.written} written, {churn.deleted} deleted during the read; "
          f"{len(got)} read of {WINDOW}, {len(got) - len(set(got))} duplicates, possibly_missed "
          f"{read.possibly_missed}")
    assert churn.written >= RATE // 10 and churn.deleted > 0  # the log did move during the read
    assert len(got) == len(set(got)) == WINDOW  # no duplicates, none missing
    assert got == expected(history, start, end)
    assert read.possibly_missed == 0


def test_retention_eating_into_the_window_is_reported(emulator: LogtoEmulator, hook: LogtoHook,
                                                      history: list[dict]) -> None:
    start, end = BASE_MS, BASE_MS + WINDOW // 3 + 1
    with Churn(emulator, BASE_MS - 100, delete_per_tick=200) as churn:  # reaches the window's oldest at once
        read = read_window(hook, AuditLogQuery(), start, end, max_concurrency=8)
        got = keys(read)
    want = expected(history, start, end)
    print(f"\nretention into the window: {churn.written} written, {churn.deleted} deleted during the read; "
          f"{len(got)} read, {len(got) - len(set(got))} duplicates, {len(want) - len(got)} missing, "
          f"possibly_missed {read.possibly_missed}")
    assert len(got) == len(set(got)) and got == sorted(got)
    assert set(got) <= set(want)
    missing = len(want) - len(got)
    assert 0 < missing <= read.possibly_missed  # the loss is seen, and never under-reported
