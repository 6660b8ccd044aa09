"""The HTTP client under the hook: sessions and bounded reads, the one retry rule, where a request may go, and
checks of a call's own input."""
