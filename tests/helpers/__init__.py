"""Helpers shared by several test folders (never test modules themselves)."""
