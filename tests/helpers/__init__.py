"""Helpers shared by test folders (fixtures' building blocks, test doubles); never tests."""
