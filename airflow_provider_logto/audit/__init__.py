"""Logto's audit log: reading windows of it, redacting its entries, exporting them, watching for new ones."""
