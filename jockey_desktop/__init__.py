"""Jockey Desktop: a desktop client for exploring video collections with TwelveLabs Jockey."""

__version__ = "0.1.0"
APP_NAME = "Jockey Desktop"
APP_ID = "jockey-desktop"
#: Empty on purpose: Qt puts per-user data in <data home>/<org>/<app>, and "Jockey Desktop/
#: Jockey Desktop" would only repeat the name. With no organisation it is <data home>/<app>.
ORG_NAME = ""
