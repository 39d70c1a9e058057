"""The stores view: managing knowledge stores, their items and collections, and uploads."""
