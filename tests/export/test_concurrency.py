"""AdaptiveLimiter: bounded concurrency, back-off on 429 honouring Retry-After, slow growth, pacing."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from airflow_provider_logto.exceptions import LogtoApiError, LogtoUsageError
from airflow_provider_logto.listing.concurrency import AdaptiveLimiter
from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.helpers import HookFactory


class Gauge:
    """Counts calls running at the same time."""

    def __init__(self) -> None:
        self.running = 0
        self.peak = 0
        self.lock = threading.Lock()

    def work(self, seconds: float = 0.02) -> int:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        time.sleep(seconds)
        with self.lock:
            self.running -= 1
        return 1


def test_no_more_calls_at_once_than_max_concurrency() -> None:
    limiter = AdaptiveLimiter(3)
    gauge = Gauge()
    with ThreadPoolExecutor(10) as pool:
        assert sum(pool.map(lambda _: limiter.call(gauge.work), range(30))) == 30
    assert gauge.peak == 3
    assert limiter.stats().calls == 30


def test_a_429_halves_the_concurrency_pauses_and_the_call_is_run_again() -> None:
    limiter = AdaptiveLimiter(8)
    attempts = []

    def once_throttled() -> str:
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            limiter.throttled(0.3)  # what watch() reports for "429, Retry-After: 0.3"
            raise LogtoApiError("Logto GET /api/users failed with HTTP 429", status=429)
        return "ok"

    assert limiter.call(once_throttled) == "ok"
    assert len(attempts) == 2 and attempts[1] - attempts[0] >= 0.29  # Retry-After honoured
    assert limiter.limit == 4 and limiter.stats().throttled == 1


def test_a_burst_of_429s_halves_once_and_growth_is_slow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("airflow_provider_logto.listing.concurrency.GROWTH_INTERVAL", 0.05)
    limiter = AdaptiveLimiter(8)
    for _ in range(8):
        limiter.throttled(0.0)
    assert limiter.limit == 4
    for _ in range(3):
        limiter.call(lambda: None)
    assert limiter.limit == 4  # fewer successes in a row than the current limit
    time.sleep(0.06)
    limiter.call(lambda: None)
    assert limiter.limit == 5  # +1 after `limit` successes and the growth interval
    assert limiter.stats().lowest_limit == 4


def test_token_quota_429_and_other_errors_are_raised_at_once() -> None:
    limiter = AdaptiveLimiter(2)
    calls = []

    def quota() -> None:
        calls.append(1)
        raise LogtoApiError("quota", status=429, code="auth.exceed_token_limit")

    with pytest.raises(LogtoApiError):
        limiter.call(quota)
    with pytest.raises(LogtoApiError):
        limiter.call(lambda: (_ for _ in ()).throw(LogtoApiError("gone", status=404)))
    assert calls == [1] and limiter.limit == 2


def test_throttle_deadline_bounds_the_waiting() -> None:
    limiter = AdaptiveLimiter(2, throttle_deadline=0.2)

    def always_throttled() -> None:
        raise LogtoApiError("busy", status=429)

    started = time.monotonic()
    with pytest.raises(LogtoApiError):
        limiter.call(always_throttled)
    assert time.monotonic() - started < 3


def test_max_requests_per_second_spaces_the_starts() -> None:
    limiter = AdaptiveLimiter(8, max_requests_per_second=50)
    starts: list[float] = []
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: limiter.call(lambda: starts.append(time.monotonic())), range(20)))
    starts.sort()
    assert starts[-1] - starts[0] >= 19 / 50 * 0.95


@pytest.mark.parametrize(("arguments", "named"), [((0, None), "max_concurrency"), ((True, None), "max_concurrency"),
                                                  ((4, 0), "max_requests_per_second"),
                                                  ((4, "20"), "max_requests_per_second")])
def test_arguments_are_checked(arguments: tuple, named: str) -> None:
    with pytest.raises(LogtoUsageError, match=named):
        AdaptiveLimiter(arguments[0], max_requests_per_second=arguments[1])


def test_watch_sees_429s_the_hook_retries_itself(emulator: LogtoEmulator, management_app: M2MApp,
                                                 connect: HookFactory) -> None:
    hook = connect(management_app)
    limiter = AdaptiveLimiter(4)
    limiter.watch(hook.get_conn())
    emulator.add_fault("status", "/api/users*", status=429, retry_after="0", count=2)
    assert limiter.call(lambda: hook.management_request("GET", "/users")) == []
    assert limiter.stats().throttled == 2
    assert limiter.limit == 2
