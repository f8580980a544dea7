"""A WeCom (企业微信) group robot: ``POST {url}?key={key}`` with a JSON message.

WeCom's markdown message cannot mention anyone by mobile number, so a message that must mention people is
sent as ``msgtype: text`` with ``mentioned_mobile_list``; otherwise as markdown. The robot answers
``{"errcode": 0, "errmsg": "ok"}``; any other errcode is a refusal (93000: bad key, 45009: too many messages).
Limits (WeCom's documentation): text content 2048 bytes, markdown 4096 bytes. A batch that does not fit goes as
several messages (each with the delivery's message id and its number), at most a quarter of the group's
``per_minute``; what does not fit in those is counted in a last line that links to the notification centre.
"""

from __future__ import annotations

from urllib.parse import urlencode

from engine.notifications.channels.compose import Outgoing, divided
from engine.notifications.channels.errors import ChannelError, errcode_answer, post_json, shorten
from engine.notifications.settings import NotificationSettings
from engine.outbound import OutboundPolicy

TEXT_BYTES, MARKDOWN_BYTES = 2048, 4096


def send(outgoing: Outgoing, settings: NotificationSettings, policy: OutboundPolicy) -> str:
    robot = settings.robot("wecom", outgoing.target)
    if settings.wecom is None or robot is None:
        raise ChannelError(f"unit '{outgoing.target}' has no WeCom robot (wecom.robots in config/notifications.toml)")
    url = f"{settings.wecom.url}?{urlencode({'key': robot.token})}"
    pieces = divided(outgoing, fits, pieces_per_delivery(settings.wecom.per_minute), settings.public_url)
    answers = []
    for number, piece in enumerate(pieces, 1):
        answer, text = post_json(policy, url, message(piece), {"X-Huhua-Message-Id": piece_id(outgoing, number,
                                                                                              len(pieces))},
                                 what="WeCom robot")
        answers.append(errcode_answer(answer, text, "WeCom robot"))
    return joined(answers)


def message(outgoing: Outgoing) -> dict[str, object]:
    if outgoing.mentions:
        return {"msgtype": "text", "text": {"content": cut(outgoing.text, TEXT_BYTES),
                                            "mentioned_mobile_list": list(outgoing.mentions)}}
    return {"msgtype": "markdown", "markdown": {"content": cut(_markdown_content(outgoing), MARKDOWN_BYTES)}}


def fits(outgoing: Outgoing) -> bool:
    """Whether WeCom takes ``outgoing`` as one message, uncut."""
    if outgoing.mentions:
        return len(outgoing.text.encode()) <= TEXT_BYTES
    return len(_markdown_content(outgoing).encode()) <= MARKDOWN_BYTES


def _markdown_content(outgoing: Outgoing) -> str:
    return f"**{outgoing.subject}**\n\n{outgoing.markdown}"


def pieces_per_delivery(per_minute: int) -> int:
    """At most this many messages for one delivery: a quarter of what a group takes a minute (and at least one),
    so that a batch split in pieces leaves room for the next minute's."""
    return max(1, per_minute // 4)


def piece_id(outgoing: Outgoing, number: int, count: int) -> str:
    """The message id of one piece: the delivery's own when it is one message, else numbered; the same on every
    retry, so a receiver drops a piece it already has."""
    return outgoing.message_id if count == 1 else f"{outgoing.message_id}-{number}"


def joined(answers: list[str]) -> str:
    return answers[0] if len(answers) == 1 else shorten(f"{len(answers)} messages: " + " | ".join(answers))


def cut(text: str, limit: int) -> str:
    """At most ``limit`` UTF-8 bytes, cut at a character and marked."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[:limit - len("…".encode())].decode("utf-8", "ignore") + "…"
