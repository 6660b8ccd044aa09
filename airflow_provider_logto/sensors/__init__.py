"""Sensors that wait on the Logto Management API."""
