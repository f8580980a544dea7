"""Inbound webhooks: external systems calling into the engine (message correlation, starts).

Each receiver turns a verified, de-duplicated request into a command; see the webhooks issue.
"""
