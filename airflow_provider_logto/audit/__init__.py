"""Logto's audit log (``GET /api/logs``): reading a time window exactly once, and redacting what leaves."""
