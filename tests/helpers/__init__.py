"""Shared test helpers (fixtures' building blocks and test doubles), imported by test modules."""
