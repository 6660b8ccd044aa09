"""The listing engine: reading offset-paged Logto lists in order, concurrently within the tenant's rate limit,
with guards against hostile answers and a report of what changed during the read."""
