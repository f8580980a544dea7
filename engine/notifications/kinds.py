"""The kinds of notification: what a person can be told, how urgent it is, and where it goes unless they chose.

A person's own choice per kind wins; then the administrator's default for any role they hold; then the default
here. ``inbox`` is the in-app notification centre; the others are outside channels (see
:mod:`engine.notifications.channels`). Urgent kinds (a counselling crisis) ignore quiet hours and rest days, and
cannot be switched off: a person always has the centre and at least one outside channel of their own (e-mail or
SMS) for them. Private kinds (about a child's counselling case) say their words only in the centre, which only
the recipient reads: e-mail and SMS carry a fixed neutral text and the link, and group robots get nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

INBOX, EMAIL, WECOM, DINGTALK, SMS = "inbox", "email", "wecom", "dingtalk", "sms"
#: Every channel, in the order pages list them.
CHANNELS = (INBOX, EMAIL, WECOM, DINGTALK, SMS)
#: Channels that reach a person's unit's group rather than the person (batched per unit and minute).
GROUP_CHANNELS = frozenset({WECOM, DINGTALK})
#: Outside channels that reach only the person: what keeps an urgent kind from being switched off.
PERSONAL_CHANNELS = (EMAIL, SMS)


@dataclass(frozen=True)
class Kind:
    code: str
    #: What pages call it (Chinese; English through the page catalogue).
    label: str
    urgent: bool
    channels: tuple[str, ...]
    #: Words only in the centre; never to a group (see the module's docstring).
    private: bool = False


_ALL = (
    Kind("task_offered", "新的待认领任务", False, (INBOX, WECOM, DINGTALK)),
    Kind("task_assigned", "分派给我的任务", False, (INBOX, EMAIL, WECOM, DINGTALK)),
    Kind("task_due_tomorrow", "任务明天到期", False, (INBOX, WECOM, DINGTALK)),
    Kind("task_due_today", "任务今天到期", False, (INBOX, WECOM, DINGTALK)),
    Kind("task_overdue", "任务已逾期", False, (INBOX, WECOM, DINGTALK, SMS)),
    Kind("task_returned", "任务被退回修改", False, (INBOX, EMAIL, WECOM, DINGTALK)),
    Kind("task_claimed", "任务已由同事认领", False, (INBOX,)),
    Kind("reminder", "催办提醒", False, (INBOX, WECOM, DINGTALK, SMS)),
    Kind("escalation", "督办通知", False, (INBOX, EMAIL, WECOM, DINGTALK, SMS)),
    Kind("crisis", "危机个案紧急通知", True, (INBOX, SMS, EMAIL), private=True),
    Kind("document_issued", "下发本单位的公文", False, (INBOX, EMAIL)),
    Kind("digest_daily", "每日待办摘要", False, (INBOX, EMAIL)),
    Kind("digest_weekly", "每周工作摘要（领导）", False, (INBOX, EMAIL)),
    Kind("message", "流程通知", False, (INBOX, WECOM, DINGTALK)),
)
KINDS: dict[str, Kind] = {kind.code: kind for kind in _ALL}
PRIVATE_KINDS = frozenset(kind.code for kind in _ALL if kind.private)


def allowed_channels(kind: Kind, chosen: tuple[str, ...]) -> tuple[str, ...]:
    """What ``chosen`` becomes for ``kind``: no group for a private kind; for an urgent one the centre and at least
    one personal channel (the kind's own when none was chosen) — for choices stored before these rules."""
    if kind.private:
        chosen = tuple(channel for channel in chosen if channel not in GROUP_CHANNELS)
    if kind.urgent:
        personal = [c for c in chosen if c in PERSONAL_CHANNELS] or [c for c in kind.channels
                                                                      if c in PERSONAL_CHANNELS]
        chosen = tuple(c for c in CHANNELS if c == INBOX or c in personal or c in chosen)
    return chosen


def parse_channels(text: str | None) -> tuple[str, ...]:
    """``"inbox, email"`` → ``("inbox", "email")``, in :data:`CHANNELS` order; unknown names raise ValueError."""
    names = {part.strip() for part in (text or "").split(",") if part.strip()}
    unknown = names - set(CHANNELS)
    if unknown:
        raise ValueError(f"unknown channel(s): {', '.join(sorted(unknown))} (known: {', '.join(CHANNELS)})")
    return tuple(channel for channel in CHANNELS if channel in names)
