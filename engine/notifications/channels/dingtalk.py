"""A DingTalk (钉钉) custom robot: ``POST {url}?access_token=…`` with a markdown message.

People are mentioned by mobile number in ``at.atMobiles`` and, as DingTalk requires for the mention to show,
as ``@mobile`` in the text. A robot with a signing secret (加签) gets ``timestamp`` (milliseconds) and
``sign`` = URL-encoded Base64(HMAC-SHA256(secret, "timestamp\\nsecret")) added to the URL. The robot answers
``{"errcode": 0, "errmsg": "ok"}``; any other errcode is a refusal (310000: bad signature or keyword, 130101:
too many messages). A batch longer than DingTalk's 5000 bytes goes as several messages, as for WeCom
(:func:`engine.notifications.channels.compose.divided`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import urlencode

from engine.notifications.channels.compose import Outgoing, divided
from engine.notifications.channels.errors import ChannelError, errcode_answer, post_json
from engine.notifications.channels.wecom import cut, joined, piece_id, pieces_per_delivery
from engine.notifications.settings import NotificationSettings
from engine.outbound import OutboundPolicy

#: DingTalk cuts longer markdown messages.
MARKDOWN_BYTES = 5000


def send(outgoing: Outgoing, settings: NotificationSettings, policy: OutboundPolicy) -> str:
    robot = settings.robot("dingtalk", outgoing.target)
    if settings.dingtalk is None or robot is None:
        raise ChannelError(f"unit '{outgoing.target}' has no DingTalk robot "
                           "(dingtalk.robots in config/notifications.toml)")
    pieces = divided(outgoing, fits, pieces_per_delivery(settings.dingtalk.per_minute), settings.public_url)
    answers = []
    for number, piece in enumerate(pieces, 1):
        query = {"access_token": robot.token}
        if robot.secret:
            timestamp = str(int(time.time() * 1000))
            query |= {"timestamp": timestamp, "sign": sign(robot.secret, timestamp)}
        answer, text = post_json(policy, f"{settings.dingtalk.url}?{urlencode(query)}", message(piece),
                                 {"X-Huhua-Message-Id": piece_id(outgoing, number, len(pieces))},
                                 what="DingTalk robot")
        answers.append(errcode_answer(answer, text, "DingTalk robot"))
    return joined(answers)


def sign(secret: str, timestamp: str) -> str:
    """Base64(HMAC-SHA256(secret, "timestamp\\nsecret")); :func:`urlencode` then URL-encodes it."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def message(outgoing: Outgoing) -> dict[str, object]:
    return {"msgtype": "markdown", "markdown": {"title": outgoing.subject[:60],
                                                "text": cut(_text(outgoing), MARKDOWN_BYTES)},
            "at": {"atMobiles": list(outgoing.mentions), "isAtAll": False}}


def fits(outgoing: Outgoing) -> bool:
    """Whether DingTalk takes ``outgoing`` as one message, uncut."""
    return len(_text(outgoing).encode()) <= MARKDOWN_BYTES


def _text(outgoing: Outgoing) -> str:
    mentions = " ".join(f"@{mobile}" for mobile in outgoing.mentions)
    return f"#### {outgoing.subject}\n\n{outgoing.markdown}" + (f"\n\n{mentions}" if mentions else "")
