"""Triggers behind the deferrable Logto sensors."""
