"""Sending one delivery through its provider's documented interface, outside any transaction.

:func:`send` takes what :mod:`.compose` built and returns what the provider answered (shortened, for the
administrators' list), or raises :class:`ChannelError` naming what went wrong; the worker records either
(``FinishDelivery`` / ``RecordDeliveryFailure``). Every HTTP channel goes through :func:`engine.outbound.request`
with the engine's :class:`~engine.outbound.OutboundPolicy` and sends ``X-Huhua-Message-Id`` (the same on every
retry), so a receiver that sees a message twice can drop the second.
"""

from __future__ import annotations

from engine.notifications.channels import dingtalk, email, sms, wecom
from engine.notifications.channels.compose import Outgoing
from engine.notifications.channels.errors import ChannelError
from engine.notifications.settings import NotificationSettings
from engine.outbound import OutboundPolicy

__all__ = ["ChannelError", "Outgoing", "send"]


def send(outgoing: Outgoing, settings: NotificationSettings, policy: OutboundPolicy) -> str:
    """Send ``outgoing`` through its channel; the provider's answer, or ChannelError."""
    senders = {"email": email.send, "wecom": wecom.send, "dingtalk": dingtalk.send, "sms": sms.send}
    sender = senders.get(outgoing.channel)
    if sender is None:
        raise ChannelError(f"no channel '{outgoing.channel}'")
    return sender(outgoing, settings, policy)
