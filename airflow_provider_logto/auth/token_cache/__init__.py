"""Token caches shared between processes: one token per lifetime for every task process of a worker
(``cache_sharing = worker``, the default) or of the whole deployment (``cache_sharing = deployment``).

Each task of an Airflow deployment runs in a process of its own, so the process-wide cache in
:mod:`airflow_provider_logto.auth.tokens` lives for one task only. The tiers here sit behind it:

* :class:`~airflow_provider_logto.auth.token_cache.worker.WorkerFileTier` — one encrypted file per cache key in a
  private directory of the worker, with a file lock so that concurrent task processes fetch once;
* :class:`~airflow_provider_logto.auth.token_cache.deployment.DeploymentVariableTier` — the same encrypted entries in
  Airflow Variables, for executors that start every task in a fresh container.

Entries are sealed with a key derived from the app secret (:mod:`~airflow_provider_logto.auth.token_cache.sealing`):
a cache file or Variable alone reveals no token, and a rotated secret can never read an old entry. Expiry is
stored on the wall clock (monotonic clocks differ between processes), leeway already subtracted, exactly as the
in-process cache uses it. A cache that cannot be used is never a task failure: the problem is logged once at
WARNING and the token is fetched from Logto.
"""
