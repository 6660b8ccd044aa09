"""Idempotent user provisioning: keep Logto's users in step with a source of truth.

The work is split into small steps, each a module with one job:

- :mod:`.source` streams the source's records (a list of dicts, JSON Lines or CSV from a path, URL or
  ``ObjectStoragePath``);
- :mod:`.rows` validates one record and turns it into the desired state of one user (what the row manages);
- :mod:`.index` keeps the validated source compactly (key → line, shape and digests), so memory stays small;
- :mod:`.planner` reads Logto once (users, role members, organization members) and compares it with the index;
- :mod:`.applier` applies the plan with bounded concurrent writes, honest about each write's outcome;
- :mod:`.outcomes` decides whether a failed write may have taken effect.

:class:`~airflow_provider_logto.operators.sync.LogtoUserSyncOperator` ties them together.
"""
