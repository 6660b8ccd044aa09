"""Logto's audit log: reading windows of it, redacting its entries, watching it for new ones."""
