"""An access token with its expiry: one value type for the in-process cache and the caches shared between
processes, which differ only in the clock their expiry is read on."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class AccessToken:
    """A cached token. ``expires_at`` is on :attr:`clock` (``time.monotonic`` here), leeway already subtracted."""

    value: str
    expires_at: float
    expires_in: int
    scopes: tuple[str, ...]

    clock: ClassVar[Callable[[], float]] = time.monotonic

    def __repr__(self) -> str:  # never show the token itself
        return f"{type(self).__name__}(expires_in={self.expires_in}, scopes={self.scopes})"

    def fresh(self) -> bool:
        return type(self).clock() < self.expires_at
