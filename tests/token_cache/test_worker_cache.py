"""The worker token cache: task processes of one worker share a token, through encrypted private files."""

from __future__ import annotations

import logging
import multiprocessing
import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_logto.auth.token_cache.sealing import Sealer
from airflow_provider_logto.auth.token_cache.shared import key_id
from airflow_provider_logto.auth.token_cache.stored import StoredToken
from airflow_provider_logto.auth.token_cache.worker import configured_directory
from airflow_provider_logto.auth.tokens import TOKEN_CACHE
from airflow_provider_logto.exceptions import LogtoConnectionError
from airflow_provider_logto.testing import LogtoEmulator, M2MApp
from tests.helpers import HookFactory

MANAGEMENT = "https://default.logto.app/api"


def _new_process() -> None:
    """What a new task process sees: the worker's files, but an empty process cache."""
    TOKEN_CACHE.clear()


def _entries() -> list[Path]:
    return sorted(configured_directory().glob("*.token"))


def _get_token_in_child(conn_env: dict[str, str], barrier: Any, results: Any) -> None:
    os.environ.update(conn_env)
    from airflow_provider_logto.hooks.logto import LogtoHook

    TOKEN_CACHE.clear()
    barrier.wait()
    try:
        results.put(LogtoHook("logto_default").get_access_token())
    except Exception as error:
        results.put(f"error: {type(error).__name__}: {error}")


def test_twenty_processes_starting_together_cause_one_token_request(
        emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory) -> None:
    connect(management_app)  # puts AIRFLOW_CONN_LOGTO_DEFAULT into the environment
    conn_env = {name: value for name, value in os.environ.items()
                if name in ("AIRFLOW_CONN_LOGTO_DEFAULT", "AIRFLOW__LOGTO__TOKEN_CACHE_DIR")}
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(20)
    results = context.Queue()
    children = [context.Process(target=_get_token_in_child, args=(conn_env, barrier, results)) for _ in range(20)]
    for child in children:
        child.start()
    tokens = [results.get(timeout=120) for _ in children]
    for child in children:
        child.join(timeout=30)
    assert not [token for token in tokens if token.startswith("error")], tokens
    assert len(set(tokens)) == 1
    assert emulator.tokens_issued() == 1


def test_a_new_process_reuses_the_token_until_its_expiry_minus_leeway(
        emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory) -> None:
    emulator.set_access_token_ttl(MANAGEMENT, 100)  # leeway: a tenth, 10 s
    hook = connect(management_app)
    started = time.time()
    first = hook.get_access_token()
    _new_process()
    assert connect(management_app).get_access_token() == first
    assert emulator.tokens_issued() == 1

    (entry,) = _entries()
    key = next(iter(TOKEN_CACHE._entries))
    sealer = Sealer(management_app.secret, key_id(key))
    stored = sealer.open(entry.read_bytes())
    assert started + 90 - 1 <= stored.expires_at <= time.time() + 90  # wall clock, leeway subtracted

    entry.write_bytes(sealer.seal(StoredToken(first, time.time() - 1, 100, stored.scopes)))  # now past it
    _new_process()
    assert connect(management_app).get_access_token() != first
    assert emulator.tokens_issued() == 2


def test_entries_are_private_encrypted_and_named_by_a_hash(
        emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory) -> None:
    token = connect(management_app).get_access_token()
    directory = configured_directory()
    (entry,) = _entries()
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(entry).st_mode) == 0o600
    assert len(entry.stem) == 64 and int(entry.stem, 16) >= 0
    content = entry.read_bytes()
    import hashlib

    for secret in (token, management_app.secret, hashlib.sha256(management_app.secret.encode()).hexdigest(),
                   management_app.id):
        assert secret.encode() not in content and secret not in entry.name
    assert token.split(".")[1].encode() not in content  # not even the JWT's payload


def test_a_rotated_secret_never_opens_old_entries(management_app: M2MApp) -> None:
    ident = key_id(["endpoint", "app", "hash", MANAGEMENT, ["all"], None])
    blob = Sealer(management_app.secret, ident).seal(StoredToken("value", time.time() + 60, 60, ("all",)))
    assert Sealer(management_app.secret, ident).open(blob).value == "value"
    with pytest.raises(ValueError, match="does not open"):
        Sealer(management_app.secret + "-rotated", ident).open(blob)
    with pytest.raises(ValueError, match="does not open"):  # nor under another key's name
        Sealer(management_app.secret, key_id(["other"])).open(blob)


def test_token_cache_process_writes_no_files(emulator: LogtoEmulator, management_app: M2MApp,
                                             connect: HookFactory) -> None:
    connect(management_app, cache_sharing="process").get_access_token()
    _new_process()
    connect(management_app, cache_sharing="process").get_access_token()
    assert emulator.tokens_issued() == 2
    assert _entries() == []


def test_a_wrong_mode_is_a_connection_error(management_app: M2MApp, connect: HookFactory) -> None:
    with pytest.raises(LogtoConnectionError, match=r"cache_sharing 'shared' is not a token cache mode; use one of "
                                                   r"process, worker, deployment \(default worker\)"):
        connect(management_app, cache_sharing="shared").get_access_token()
    # Airflow masks the values of extras named like "token", so the message can only name the field
    with pytest.raises(LogtoConnectionError, match=r"token_cache '\*\*\*' is not a token cache mode"):
        connect(management_app, token_cache="everywhere").get_access_token()
    with pytest.raises(LogtoConnectionError, match=r"disagree; set only cache_sharing"):
        connect(management_app, cache_sharing="worker", token_cache="process").get_access_token()


def test_token_cache_is_accepted_for_cache_sharing(emulator: LogtoEmulator, management_app: M2MApp,
                                                   connect: HookFactory) -> None:
    connect(management_app, token_cache="Process").get_access_token()
    _new_process()
    connect(management_app, token_cache="process").get_access_token()
    assert emulator.tokens_issued() == 2 and _entries() == []


def test_an_api_refusing_the_token_drops_it_from_the_worker_cache_too(
        emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory) -> None:
    hook = connect(management_app)
    old = hook.get_access_token()
    emulator.rotate_signing_key()  # every earlier token now gets 401
    hook.management_get("/users")
    assert emulator.tokens_issued() == 2
    _new_process()
    assert connect(management_app).get_access_token() != old
    assert emulator.tokens_issued() == 2


def _break_entry(directory: Path, how: str) -> None:
    (entry,) = directory.glob("*.token")
    if how == "corrupt":
        entry.write_bytes(b"LTC1" + os.urandom(60))
    elif how == "symlink":
        target = directory.parent / "elsewhere"
        target.write_bytes(entry.read_bytes())
        entry.unlink()
        entry.symlink_to(target)
    elif how == "directory":
        entry.unlink()
        entry.mkdir()


@pytest.mark.parametrize("how", ["corrupt", "symlink", "directory"])
def test_an_unusable_entry_means_fetch_and_one_warning(
        emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory, how: str,
        caplog: pytest.LogCaptureFixture) -> None:
    connect(management_app).get_access_token()
    _break_entry(configured_directory(), how)
    caplog.set_level(logging.WARNING, logger="airflow_provider_logto")
    for _ in range(2):
        _new_process()
        connect(management_app).get_access_token()
    # a corrupt entry or a symlink is replaced by the next fetch; a directory in its place stays in the way
    assert emulator.tokens_issued() == (3 if how == "directory" else 2)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "the task is not affected" in warnings[0]


def _unusable_directory(base: Path, how: str) -> Path:
    if how == "a file":
        path = base / "cache-file"
        path.write_text("")
    elif how == "open to others":
        path = base / "cache-shared"
        path.mkdir(mode=0o777)
        path.chmod(0o777)
    elif how == "owned by another user":
        path = base / "cache-foreign"
        path.mkdir(mode=0o700)
        os.chown(path, 65534, 65534)
    else:  # a symlink to a private directory
        real = base / "real"
        real.mkdir(mode=0o700)
        path = base / "cache-link"
        path.symlink_to(real)
    return path


@pytest.mark.parametrize("how", ["a file", "open to others", "owned by another user", "a symlink"])
def test_an_unusable_directory_means_fetch_and_one_warning(
        emulator: LogtoEmulator, management_app: M2MApp, connect: HookFactory, how: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    if how == "owned by another user" and os.geteuid() != 0:
        pytest.skip("giving a directory to another user needs root")
    directory = _unusable_directory(tmp_path, how)
    monkeypatch.setenv("AIRFLOW__LOGTO__TOKEN_CACHE_DIR", str(directory))
    caplog.set_level(logging.WARNING, logger="airflow_provider_logto")
    for _ in range(3):
        _new_process()
        assert connect(management_app).get_access_token()
    assert emulator.tokens_issued() == 3
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert str(directory) in warnings[0]
    if directory.is_dir() and not directory.is_symlink():
        assert list(directory.iterdir()) == []
