"""The emulated Logto Management API under ``/api``, split by entity as Logto splits ``packages/core/src/routes``:
``users``, ``roles``, ``applications``, ``resources`` and ``organizations`` (with the organization template),
``guard`` (body, pagination, search) and a small ``router``."""

from airflow_provider_logto.testing.management.router import ManagementApi

__all__ = ["ManagementApi"]
