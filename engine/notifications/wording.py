"""What a notification about a task says: a short Chinese subject and a markdown body naming the task and its unit.

A task of a confidential case (counselling) is told of as "a task of a confidential case" and nothing more: its
title may carry the student's alias, and the message may go by e-mail or to a group. The link leads to the task,
where the reader sees what they may.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from engine.clock import BUSINESS_TZ
from engine.notifications.planning import Occasion
from engine.notifications.recipients import TaskFacts

#: What a confidential task is called in every message.
CONFIDENTIAL_TASK = "保密个案任务"
_MARKDOWN = re.compile(r"([\\`*_\[\]()#<>|~])")

#: kind → (the subject's prefix, what the body says happened).
_TASK_WORDS = {
    "task_offered": ("待认领", "有一项新任务可由您认领办理"),
    "task_assigned": ("分派给您", "有一项任务已分派给您办理"),
    "task_claimed": ("已被认领", "您可认领的一项任务已由同事认领，您无需再办理"),
    "task_returned": ("退回修改", "您此前办理的一项任务被退回，需要重新办理"),
    "task_due_tomorrow": ("即将到期", "您的一项任务即将到期，请及时办理"),
    "task_due_today": ("今天到期", "您的一项任务今天到期，请及时办理"),
    "task_overdue": ("已逾期", "您的一项任务已逾期，请尽快办理"),
}


def plain(text: str | None) -> str:
    """``text`` as literal markdown: a title cannot make a link or a heading."""
    return _MARKDOWN.sub(r"\\\1", text or "")


def task_link(task_id: int) -> str:
    return f"/inbox/tasks/{task_id}"


def day_text(day: date) -> str:
    return f"{day.month}月{day.day}日"


def moment_text(at: datetime) -> str:
    local = at.astimezone(BUSINESS_TZ)
    return f"{day_text(local.date())} {local:%H:%M}"


def task_name(task: TaskFacts) -> str:
    """How a message names the task: its title, or for a confidential case only that it is one."""
    return CONFIDENTIAL_TASK if task.confidential else task.title


def task_occasion(kind: str, task: TaskFacts, public_url: str, dedupe_key: str, *, who: str | None = None,
                  when: str | None = None) -> Occasion:
    """The occasion of ``kind`` about ``task``: ``who`` claimed it (task_claimed), ``when`` it is due (reminders)."""
    prefix, happened = _TASK_WORDS[kind]
    link = task_link(task.id)
    open_it = f"[打开任务]({public_url}{link})"
    if task.confidential:
        body = f"{happened}（{CONFIDENTIAL_TASK}）。详情请登录系统查看。\n\n{open_it}"
        return Occasion(kind, f"{prefix}：{CONFIDENTIAL_TASK}", body, dedupe_key, link, task.id, task.instance_id,
                        task.unit_id)
    unit = f"（{plain(task.unit_name)}）" if task.unit_name else ""
    lines = [f"**{plain(task.title)}**{unit}"]
    if kind == "task_claimed" and who:
        lines.append(f"已由 {plain(who)} 认领，您无需再办理。")
    else:
        lines.append(happened + "。")
    if when:
        lines.append(f"办理期限：{when}")
    elif task.due_at is not None and kind in ("task_offered", "task_assigned", "task_returned"):
        lines.append(f"办理期限：{moment_text(task.due_at)}")
    subject = f"已由 {who} 认领：{task.title}" if kind == "task_claimed" and who else f"{prefix}：{task.title}"
    return Occasion(kind, subject, "\n\n".join([*lines, open_it]), dedupe_key, link, task.id, task.instance_id,
                    task.unit_id)
