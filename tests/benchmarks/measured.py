"""One measured run for the benchmarks' child processes: its result, wall time and peak RSS growth."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def run_measured(work: Callable[[], Any]) -> tuple[Any, float, float]:
    """``work()``'s result (or ``{"failed": "<type>: <message>"}``), seconds, and peak RSS growth in MiB: the
    high-water mark after the run minus the resident size before it, the mark reset first (Linux ``/proc``), so
    what start-up and warm-up used does not count."""
    Path("/proc/self/clear_refs").write_text("5")
    baseline = _status_kib("VmRSS:")
    started = time.perf_counter()
    try:
        result = work()
    except Exception as error:
        return {"failed": f"{type(error).__name__}: {error}"}, 0.0, 0.0
    return result, time.perf_counter() - started, (_status_kib("VmHWM:") - baseline) / 1024
