"""Logto's audit log: reading windows of it, redacting its entries, exporting them."""
