"""The internal API between components: signed JSON over HTTP.

``keys`` (Ed25519 key files), ``signing`` (request signatures), ``messages`` (typed dataclass
messages), ``server`` (an aiohttp route table that verifies callers) and ``client``.
Every internal path lives under ``PREFIX``.
"""
PREFIX = "/internal/"
