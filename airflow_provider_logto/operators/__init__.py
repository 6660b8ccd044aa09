"""Operators for the Logto Management API and for APIs protected by Logto."""
