"""Webhooks, both ways.

Outbound (:mod:`webhooks.delivery`): engine events go to subscribed URLs as JSON signed the Standard Webhooks way
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature``; secrets in :mod:`engine.webhook_secrets`), delivered by
workers from ``webhook`` jobs written in the event's own transaction, retried with backoff.
Inbound: ``POST /api/v1/webhooks/messages/<name>`` with an ``Idempotency-Key`` header delivers a
message once per key (:class:`engine.commands.ReceiveWebhook`); a repeat gets the first answer.
"""
