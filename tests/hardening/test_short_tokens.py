"""Under load with short-lived tokens every 401 ends with a token Logto accepts: the retry after a 401 never gets
the refused token back from another cache layer (process cache, worker files), and a token is not used into the
second Logto's whole-second ``iat``/``exp`` takes from its lifetime."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from airflow_provider_logto.exceptions import LogtoError
from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.helpers import HookFactory

SHOP = "https://shopping.api"


@pytest.mark.parametrize("cache_sharing", ["worker", "process"])
def test_no_call_fails_with_2_second_tokens(emulator: LogtoEmulator, shop_app: M2MApp, connect: HookFactory,
                                           cache_sharing: str) -> None:
    resource = emulator.state.resource_by_indicator(SHOP)
    assert resource is not None
    resource["accessTokenTtl"] = 2
    hook = connect(shop_app, resource=SHOP, scopes="read:products", cache_sharing=cache_sharing)
    failures: Counter[str] = Counter()
    lock = threading.Lock()

    calls = Counter[str]()
    deadline = time.monotonic() + 6  # three token lifetimes

    def work() -> None:
        while time.monotonic() < deadline:
            with lock:
                calls["calls"] += 1
            try:
                hook.resource_request("GET", "/products")
            except LogtoError as error:
                with lock:
                    failures[str(error)[:160]] += 1

    threads = [threading.Thread(target=work) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refused = [entry for entry in emulator.journal.entries(path="/products") if entry.status == 401]
    print(f"{cache_sharing}: {calls['calls']} calls, {len(refused)} answered 401 and retried, "
          f"{len(emulator.journal.entries(path='/oidc/token'))} tokens fetched, 0 failed")
    assert not failures, failures


def test_a_401_retry_never_gets_the_refused_token_back(emulator: LogtoEmulator, shop_app: M2MApp,
                                                       connect: HookFactory) -> None:
    """The race behind the rare failures: while this thread drops a refused token from the process cache and the
    worker files, another thread that had just read it from the files puts it back into both. The retry must
    still end with a new token, not the refused one."""
    from airflow_provider_logto.auth.tokens import TOKEN_CACHE

    hook = connect(shop_app, resource=SHOP, scopes="read:products", cache_sharing="worker")
    hook.resource_request("GET", "/products")
    tokens = hook._tokens
    target = hook._target(None, None, None)
    key = tokens._key(target)
    (tier,) = tokens.shared.tiers(key)
    stale_file, stale_process = tier.read(), TOKEN_CACHE._entries[key]
    assert stale_file is not None
    emulator.rotate_signing_key()  # every token issued so far is now refused with 401
    real_discard = tokens.shared.discard

    def discard_then_race(racing_key: object, value: str) -> None:
        real_discard(key, value)
        tier.write(stale_file)  # the racing thread writes back what it read before the discard...
        TOKEN_CACHE._store(key, stale_process)  # ...and caches it in the process

    tokens.shared.discard = discard_then_race  # type: ignore[method-assign]
    assert hook.resource_request("GET", "/products")
    refused = [entry for entry in emulator.journal.entries(path="/products") if entry.status == 401]
    assert len(refused) == 1 and len(emulator.journal.entries(path="/oidc/token")) == 2
