"""What an entity module of the emulated Management API registers its handlers on: a route is a method, a path
as Logto writes it under ``/api`` and a handler, in one error-mapping family."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from airflow_provider_logto.testing.http import Response

Handler = Callable[..., Response]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    pattern: re.Pattern[str]
    handler: Handler
    family: str


class Routes:
    """What each entity module registers its handlers on."""

    def __init__(self, family: str = "default") -> None:
        self.family = family
        self.routes: list[Route] = []

    def add(self, method: str, path: str, handler: Handler) -> None:
        """``path`` as Logto writes it under ``/api`` (``/users/{user_id}``); params become handler kwargs."""
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)
        self.routes.append(Route(method, path, re.compile(f"/api{regex}"), handler, self.family))
