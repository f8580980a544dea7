"""What goes out: one delivery and the notifications it carries, worded for its channel.

A person channel (e-mail, SMS) carries one notification. A robot message carries every notification of its
unit's minute: notices that say the same (one notice to forty teachers) become one line that names the people,
and the message @-mentions each of them by mobile number. Links are absolute (``public_url`` + the path).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from engine.notifications.kinds import KINDS, PRIVATE_KINDS
from engine.org.contacts import is_mobile
from engine.safe_markdown import plain_text

#: The product's name, as messages sign off with it.
PRODUCT = "心育护花"
#: At most this many people are named on one robot line (the rest are counted).
NAMES_PER_LINE = 12
#: What a group robot says of a private kind, should one carry it (planning sends none to a group).
GROUP_WORDING = "有一条需要您本人及时查看的紧急通知，请登录系统查看"
#: What e-mail and SMS say of a private kind: its words stay in the notification centre (see :mod:`..kinds`).
PRIVATE_SUBJECT = "紧急通知：请登录系统查看"
PRIVATE_BODY = "您有一条紧急通知，详情仅在系统的通知中心显示。请登录系统查看并及时处理。"
#: Where a private notification without a link of its own leads: the centre.
CENTRE_LINK = "/notifications"


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    phone: str | None


@dataclass(frozen=True)
class Line:
    """One thing said: a notification, or the same notification to several people of the unit."""

    kind: str
    subject: str
    body: str
    #: Absolute, or None.
    link: str | None
    people: tuple[Person, ...]


@dataclass(frozen=True)
class Outgoing:
    delivery_id: int
    channel: str
    #: An e-mail address, a mobile number, or the unit whose group robot hears it.
    target: str
    message_id: str
    #: The kind of the first line (an SMS template is chosen by it).
    kind: str
    subject: str
    lines: tuple[Line, ...]
    #: Everything as plain text, bodies without their markdown (e-mail, the robot's text message).
    text: str
    #: The same as markdown (robots).
    markdown: str
    #: Mobile numbers of the people concerned, to @-mention (robots).
    mentions: tuple[str, ...]
    notification_ids: tuple[int, ...]


def compose(delivery: dict[str, Any], public_url: str) -> Outgoing:
    """``delivery`` as :meth:`engine.queries.notification_deliveries.NotificationDeliveryFamily.delivery_to_send`
    answers it: its channel, target, message id and items (each notification with its person)."""
    lines: dict[tuple[str, str, str, str | None], list[Person]] = {}
    group = delivery["channel"] in ("wecom", "dingtalk")
    for item in delivery["items"]:
        if group and item["kind"] in PRIVATE_KINDS:
            item = {**item, "subject": GROUP_WORDING, "body": "", "link": None}
        elif item["kind"] in PRIVATE_KINDS:
            item = {**item, "subject": PRIVATE_SUBJECT, "body": PRIVATE_BODY, "link": item["link"] or CENTRE_LINK}
        link = absolute(public_url, item["link"])
        person = Person(item["person_id"], item["person_name"] or item["person_id"], item["phone"])
        people = lines.setdefault((item["kind"], item["subject"], item["body"], link), [])
        if person not in people:
            people.append(person)
    said = tuple(Line(kind, subject, body, link, tuple(people))
                 for (kind, subject, body, link), people in lines.items())
    if group:
        said = _alike_merged(said, public_url)
    if not said:
        raise ValueError(f"delivery {delivery['id']} carries nothing")
    mentions = tuple(dict.fromkeys(p.phone for line in said for p in line.people if is_mobile(p.phone)))
    subject = said[0].subject if len(said) == 1 else f"{said[0].subject} 等 {len(said)} 条通知"
    return Outgoing(
        delivery_id=int(delivery["id"]), channel=delivery["channel"], target=delivery["target"],
        message_id=delivery["message_id"], kind=said[0].kind, subject=subject, lines=said,
        text=_text(said, delivery["channel"]), markdown=_markdown(said), mentions=mentions,
        notification_ids=tuple(int(item["notification_id"]) for item in delivery["items"]))


def _alike_merged(lines: tuple[Line, ...], public_url: str) -> tuple[Line, ...]:
    """A group hears tasks alike (forty rosters offered to the same people at once) as one line that counts them
    and leads to the inbox, so a message of the minute stays within the robot's size and names every one."""
    alike: dict[tuple[str, str, tuple[Person, ...]], list[Line]] = {}
    for line in lines:
        alike.setdefault((line.kind, line.subject, line.people), []).append(line)
    merged = []
    for (kind, subject, people), group in alike.items():
        if len(group) == 1:
            merged.append(group[0])
        else:
            merged.append(Line(kind, f"{subject}（共 {len(group)} 项）", "", absolute(public_url, "/inbox"), people))
    return tuple(merged)
#: Where a robot message that cannot carry every line sends people for the rest: the notification centre.
CENTRE = "/notifications"


def divided(outgoing: Outgoing, fits: Callable[[Outgoing], bool], most: int, public_url: str) -> list[Outgoing]:
    """``outgoing`` as at most ``most`` messages that each ``fits`` the provider's size limit, lines kept whole
    and in order; lines beyond the last message are counted in a closing line that links to the notification
    centre and mentions their people, so nothing is dropped unsaid."""
    if fits(outgoing):
        return [outgoing]
    numbered = replace(outgoing, subject=f"{outgoing.subject}（00/00）")  # as long as the pieces' subjects
    pieces: list[list[Line]] = [[]]
    for index, line in enumerate(outgoing.lines):
        if pieces[-1] and not fits(_piece(numbered, (*pieces[-1], line))):
            if len(pieces) == most:
                rest = outgoing.lines[index:]
                while pieces[-1] and not fits(_piece(numbered, (*pieces[-1], _rest_line(rest, public_url)))):
                    rest = (pieces[-1].pop(), *rest)
                pieces[-1].append(_rest_line(rest, public_url))
                break
            pieces.append([])
        pieces[-1].append(line)
    return [replace(_piece(outgoing, tuple(lines)), subject=f"{outgoing.subject}（{n}/{len(pieces)}）")
            for n, lines in enumerate(pieces, 1)]


def _piece(outgoing: Outgoing, lines: tuple[Line, ...]) -> Outgoing:
    return replace(outgoing, lines=lines, text=_text(lines, outgoing.channel), markdown=_markdown(lines),
                   mentions=tuple(dict.fromkeys(p.phone for line in lines for p in line.people if p.phone)))


def _rest_line(rest: tuple[Line, ...], public_url: str) -> Line:
    people = tuple(dict.fromkeys(person for line in rest for person in line.people))
    return Line("message", f"另有 {len(rest)} 条通知未在群内列出，请登录系统查看", "", absolute(public_url, CENTRE),
                people)


def absolute(public_url: str, link: str | None) -> str | None:
    if not link:
        return None
    if link.startswith(("http://", "https://")):
        return link
    return public_url.rstrip("/") + "/" + link.lstrip("/")


def kind_label(kind: str) -> str:
    known = KINDS.get(kind)
    return known.label if known is not None else kind


def _names(people: tuple[Person, ...]) -> str:
    shown = "、".join(p.name for p in people[:NAMES_PER_LINE])
    return shown if len(people) <= NAMES_PER_LINE else f"{shown} 等 {len(people)} 人"


def _text(lines: tuple[Line, ...], channel: str) -> str:
    group = channel in ("wecom", "dingtalk")
    parts = []
    for line in lines:
        words = [f"【{kind_label(line.kind)}】{line.subject}"]
        if line.body and not group:
            words.append(plain_text(line.body))
        if group:
            words.append(f"致：{_names(line.people)}")
        if line.link:
            words.append(f"办理：{line.link}")
        parts.append("\n".join(words))
    return "\n\n".join(parts) + f"\n\n—— {PRODUCT}"


def _markdown(lines: tuple[Line, ...]) -> str:
    parts = []
    for line in lines:
        title = f"[{_md(line.subject)}]({line.link})" if line.link else _md(line.subject)
        parts.append(f"**{_md(kind_label(line.kind))}**：{title}  \n> 致：{_md(_names(line.people))}")
    return "\n\n".join(parts)


def _md(text: str) -> str:
    """Plain words in markdown: characters that would make links or emphasis are escaped."""
    return "".join("\\" + c if c in "\\`*_[]()#>!|" else c for c in text.replace("\n", " "))
