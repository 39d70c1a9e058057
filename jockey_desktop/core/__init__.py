"""Pure-Python core of Jockey Desktop: API client, storage, secrets.

Nothing under ``core`` may import Qt; it must run and be tested without a display.
"""
