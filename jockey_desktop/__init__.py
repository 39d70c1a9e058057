"""Jockey Desktop: a desktop client for exploring video collections with TwelveLabs Jockey."""

__version__ = "0.1.0"
APP_NAME = "Jockey Desktop"
APP_ID = "jockey-desktop"
ORG_NAME = "Jockey Desktop"
