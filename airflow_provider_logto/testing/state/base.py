"""What every part of the emulator's tenant shares: ids, clocks, the lock, the tables and the 404s.

Entities are dicts in the JSON shape (and key order) the Management API returns, so the HTTP layer can send them
as they are. Relations are kept the way Logto's tables keep them (one container per relation table), and every
mutation happens under :attr:`TenantBase.lock`.
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from airflow_provider_logto.testing.errors import api_error

MANAGEMENT_API_ROLE = "Logto Management API access"
MANAGEMENT_API_SCOPE = "all"
ROLE_TYPES = ("User", "MachineToMachine")
_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_SECRET_ALPHABET = _ID_ALPHABET + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")

# attribute -> Logto table name, as ``entity.not_exists_with_id`` names it
_TABLES = {"org_scopes": "organization_scopes", "org_roles": "organization_roles"}


def new_id(length: int = 21) -> str:
    """Logto's ids: nanoid over lower-case letters and digits (21 characters; 12 for users and organizations).

    One ``urandom`` read per id (seeding 250k users stays quick); the modulo's bias does not matter here."""
    return "".join(_ID_ALPHABET[byte % 36] for byte in secrets.token_bytes(length))


def new_secret() -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(32))


INTERNAL_PREFIX = "#internal:"  # packages/schemas/src/consts/system.ts


def now_ms() -> int:
    return int(time.time() * 1000)


def is_absolute_uri(value: str) -> bool:
    """What node-oidc-provider accepts as a resource indicator: WHATWG ``new URL()`` parses it (so it has a
    scheme) and it has no fragment."""
    return bool(_URL_SCHEME.match(value)) and "#" not in value and not any(c.isspace() for c in value.strip())


@dataclass(frozen=True)
class M2MApp:
    """What seeding an M2M app gives back: the credentials a connection needs."""

    id: str
    secret: str
    name: str


class TenantBase:
    """The tables of one tenant and the lookups every entity needs; the entity mixins add the rules."""

    def __init__(self, tenant_id: str = "default") -> None:
        self.tenant_id = tenant_id
        self.lock = threading.RLock()
        self._sequence = itertools.count()
        # API resources, their scopes, roles and their scopes
        self.resources: dict[str, dict[str, Any]] = {}
        self.scopes: dict[str, dict[str, Any]] = {}
        self.roles: dict[str, dict[str, Any]] = {}
        self.role_scopes: dict[str, list[str]] = {}
        # applications and their M2M roles (applications_roles)
        self.applications: dict[str, dict[str, Any]] = {}
        self.app_roles: dict[str, list[str]] = {}
        self.secret_expires_at: dict[str, int | None] = {}
        # ``applications.secret``: the "#internal:…" secret Logto's OIDC provider knows the app by; the secret
        # users see (``application_secrets``) is transpiled to it before client authentication
        self.internal_secrets: dict[str, str] = {}
        # users, their identifiers, creation order, passwords and roles (users_roles)
        self.users: dict[str, dict[str, Any]] = {}
        self.identifier_index: dict[str, dict[str, str]] = {}
        self.user_order: dict[str, int] = {}
        self.user_passwords: dict[str, tuple[str, str]] = {}
        self.user_roles: dict[str, list[str]] = {}
        self.role_users: dict[str, dict[str, None]] = {}
        # organizations, the organization template (roles, scopes) and the relation tables
        self.organizations: dict[str, dict[str, Any]] = {}
        self.org_users: dict[str, dict[str, None]] = {}
        self.org_apps: dict[str, dict[str, None]] = {}
        self.org_roles: dict[str, dict[str, Any]] = {}
        self.org_scopes: dict[str, dict[str, Any]] = {}
        self.org_role_scopes: dict[str, list[str]] = {}
        self.org_role_resource_scopes: dict[str, list[str]] = {}
        self.org_user_roles: dict[tuple[str, str], list[str]] = {}
        self.org_app_roles: dict[tuple[str, str], list[str]] = {}

    def next_sequence(self) -> int:
        return next(self._sequence)

    def get(self, kind: str, entity_id: str) -> dict[str, Any]:
        """An entity by id, or Logto's 404: ``entity.not_found`` for users and organization roles (their queries
        use ``pool.one``), ``entity.not_exists_with_id`` naming the table otherwise (``findEntityById``)."""
        with self.lock:
            entity = getattr(self, kind).get(entity_id)
        if entity is None:
            if kind in ("users", "org_roles"):
                raise api_error("entity.not_found")
            raise api_error("entity.not_exists_with_id", name=_TABLES.get(kind, kind), id=entity_id)
        return entity
