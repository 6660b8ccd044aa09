"""M2M access tokens: the ``client_credentials`` grant, the process-wide cache, the caches shared between
processes, and masking of every token the provider sees."""
