"""A WeCom (企业微信) group robot: ``POST {url}?key={key}`` with a JSON message.

WeCom's markdown message cannot mention anyone by mobile number, so a message that must mention people is
sent as ``msgtype: text`` with ``mentioned_mobile_list``; otherwise as markdown. The robot answers
``{"errcode": 0, "errmsg": "ok"}``; any other errcode is a refusal (93000: bad key, 45009: too many messages).
Limits (WeCom's documentation): text content 2048 bytes, markdown 4096 bytes; longer messages are cut.
"""

from __future__ import annotations

from urllib.parse import urlencode

from engine.notifications.channels.compose import Outgoing
from engine.notifications.channels.errors import ChannelError, errcode_answer, post_json
from engine.notifications.settings import NotificationSettings
from engine.outbound import OutboundPolicy

TEXT_BYTES, MARKDOWN_BYTES = 2048, 4096


def send(outgoing: Outgoing, settings: NotificationSettings, policy: OutboundPolicy) -> str:
    robot = settings.robot("wecom", outgoing.target)
    if settings.wecom is None or robot is None:
        raise ChannelError(f"unit '{outgoing.target}' has no WeCom robot (wecom.robots in config/notifications.toml)")
    answer, text = post_json(policy, f"{settings.wecom.url}?{urlencode({'key': robot.token})}", message(outgoing),
                             {"X-Huhua-Message-Id": outgoing.message_id}, what="WeCom robot")
    return errcode_answer(answer, text, "WeCom robot")


def message(outgoing: Outgoing) -> dict[str, object]:
    if outgoing.mentions:
        return {"msgtype": "text", "text": {"content": cut(outgoing.text, TEXT_BYTES),
                                            "mentioned_mobile_list": list(outgoing.mentions)}}
    return {"msgtype": "markdown", "markdown": {"content": cut(f"**{outgoing.subject}**\n\n{outgoing.markdown}",
                                                               MARKDOWN_BYTES)}}


def cut(text: str, limit: int) -> str:
    """At most ``limit`` UTF-8 bytes, cut at a character and marked."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[:limit - len("…".encode())].decode("utf-8", "ignore") + "…"
