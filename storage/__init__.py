"""Adapters: the blob stores and the database engine. Uses neither ``certs`` nor ``exchange``."""
