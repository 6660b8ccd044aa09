"""The emulated Logto Management API under ``/api``, split by entity as Logto splits ``packages/core/src/routes``:
``users``, ``roles``, ``applications``, ``resources`` and ``organizations`` (with the organization template),
``guard`` (body, pagination, search), ``routes`` (what each entity module registers) and the ``router`` that
serves them."""
