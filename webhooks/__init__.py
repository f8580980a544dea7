"""Inbound webhooks: external systems calling into the engine (message correlation, starts).

Not built yet: each receiver will turn a verified, de-duplicated request into a command. Until then
the JSON API's ``POST /api/v1/messages`` is the way in.
"""
