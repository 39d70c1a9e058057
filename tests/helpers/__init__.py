"""Helpers shared by test folders (fixtures' building blocks, doubles); never tests."""
