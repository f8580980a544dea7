"""Choosing how one is told: ``/account/notifications``, a person's channels per kind of notification and quiet
hours; ``/admin/notifications/defaults``, the administrator's default channels per role and kind.

Plain forms with the CSRF token. A kind is stored as the person's own choice only when they change it, so a person
who never touches a kind keeps following their roles' defaults as the administrator changes them. Channels the
server cannot use for the person are shown disabled with the reason, and keep what they were (a disabled box is
not sent with the form). A refused input is said in the reader's language and nothing is saved.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from engine.bootstrap import Huhua
from engine.commands import SetNotificationChoices, SetRoleNotificationDefaults
from engine.errors import HuhuaError
from engine.notifications.kinds import CHANNELS, GROUP_CHANNELS, KINDS, SMS
from engine.org.directory import ROLES
from engine.web.error_language import say
from engine.web.notification_words import channel_label, kind_label, role_label, unavailable_reason

notification_choices = Blueprint("notification_choices", __name__)
#: The form's value of "restore every kind's default".
EVERY_KIND = "*"


@notification_choices.get("/account/notifications")
def own_choices() -> Any:
    return _choices_page(error=None, saved=bool(request.args.get("saved")))


@notification_choices.post("/account/notifications")
def save_own_choices() -> Any:
    huhua, me, form = _huhua(), str(current_user.id), request.form
    current = huhua.queries.notifications.choices(me, huhua.services.notifications)
    if current is None:
        return _choices_page(error=gettext("只有通讯录中的人员才有通知设置"), saved=False), 400
    reset = form.get("reset")
    if reset:
        kinds = list(KINDS) if reset == EVERY_KIND else [reset]
        command = SetNotificationChoices(me, {kind: None for kind in kinds})
    else:
        locked = _locked(current)
        choices: dict[str, Any] = {}
        for row in current["kinds"]:
            kind = row["kind"]
            kept = {c for c in row["channels"] if c in locked[kind]}  # disabled boxes keep what they were
            chosen = [c for c in CHANNELS if c in set(form.getlist(f"channels-{kind}")) | kept]
            if set(chosen) != set(row["channels"]):
                choices[kind] = chosen
        command = SetNotificationChoices(me, choices, _quiet_hours(form))
    try:
        huhua.execute(command)
    except HuhuaError as err:
        return _choices_page(error=say(err.message), saved=False, posted=form), err.status
    return redirect(url_for("notification_choices.own_choices", saved=1))


def _choices_page(*, error: str | None, saved: bool, posted: MultiDict[str, str] | None = None) -> str:
    huhua = _huhua()
    found = huhua.queries.notifications.choices(str(current_user.id), huhua.services.notifications)
    rows = []
    if found is not None:
        locked = _locked(found)
        for row in found["kinds"]:
            kind = row["kind"]
            ticked = set(posted.getlist(f"channels-{kind}")) if posted is not None else set(row["channels"])
            rows.append({**row, "label": kind_label(kind), "source_text": _source_text(row),
                         "default_text": _channel_list(row["default"]),
                         "cells": [{"channel": c, "ticked": c in ticked or (c in locked[kind] and c in row["channels"]),
                                    "why_not": unavailable_reason(locked[kind][c]) if c in locked[kind] else None}
                                   for c in CHANNELS]})
    legend = [(channel_label(c), unavailable_reason(why)) for c, why in found["unavailable"].items()] if found else []
    if found and SMS not in found["unavailable"] and any(SMS in locked[row["kind"]] for row in found["kinds"]):
        legend.append((channel_label(SMS), gettext("灰色的通知类型没有短信模板")))
    quiet = found["quiet_hours"] if found else None
    if posted is not None and quiet is not None:  # a refused form shows what was typed, to correct it
        quiet = {**quiet, "source": {"default": "server"}.get(posted.get("quiet_mode", ""),
                                                             posted.get("quiet_mode", "server")),
                 "hours": [posted.get("quiet_from", ""), posted.get("quiet_until", "")]}
    return render_template("notification_choices.html", contact=found and found["person"], rows=rows,
                           channels=[(c, channel_label(c)) for c in CHANNELS], quiet=quiet, error=error,
                           saved=saved, every_kind=EVERY_KIND, legend=legend)


def _locked(found: dict[str, Any]) -> dict[str, dict[str, str]]:
    """kind → channel → why the person cannot be reached by it for that kind (SMS also needs the kind's template)."""
    locked: dict[str, dict[str, str]] = {}
    for row in found["kinds"]:
        why = dict(found["unavailable"])
        if SMS not in why and row["kind"] not in found["sms_templates"]:
            why[SMS] = "no_template"
        if KINDS[row["kind"]].private:
            why.update({channel: "private_kind" for channel in GROUP_CHANNELS})
        locked[row["kind"]] = why
    return locked


def _source_text(row: dict[str, Any]) -> str:
    if row["source"] == "own":
        return gettext("我的选择")
    if row["source"] == "role":
        return gettext("角色默认（%(roles)s）", roles=gettext("、").join(role_label(r) for r in row["roles"]))
    return gettext("系统默认")


def _channel_list(channels: list[str] | tuple[str, ...]) -> str:
    """The channels named in the pages' order, or 不通知."""
    return gettext("、").join(channel_label(c) for c in CHANNELS if c in channels) or gettext("不通知")


def _quiet_hours(form: MultiDict[str, str]) -> str | None:
    """The command's quiet hours from the form: the server's, none, or from–until as typed."""
    mode = form.get("quiet_mode")
    if mode in ("default", "none"):
        return mode
    if mode == "own":
        return f"{form.get('quiet_from', '').strip()}-{form.get('quiet_until', '').strip()}"
    return None


@notification_choices.get("/admin/notifications/defaults")
def role_defaults() -> Any:
    role = request.args.get("role", "")
    return _defaults_page(role if role in ROLES else next(iter(ROLES)), error=None,
                          saved=bool(request.args.get("saved")))


@notification_choices.post("/admin/notifications/defaults")
def save_role_defaults() -> Any:
    """A kind is stored for the role only where it differs from the kind's own default."""
    huhua, form = _huhua(), request.form
    role = form.get("role", "")
    reset = form.get("reset")
    if reset:
        defaults: dict[str, Any] = {kind: None for kind in (KINDS if reset == EVERY_KIND else [reset])}
    else:
        current = huhua.queries.notifications.role_defaults().get(role, {})
        defaults = {}
        for kind in KINDS.values():
            chosen = [c for c in CHANNELS if c in set(form.getlist(f"channels-{kind.code}"))]
            wanted = None if set(chosen) == set(kind.channels) else chosen
            if wanted != current.get(kind.code):
                defaults[kind.code] = wanted
    try:
        huhua.execute(SetRoleNotificationDefaults(str(current_user.id), role, defaults))
    except HuhuaError as err:
        return _defaults_page(role if role in ROLES else next(iter(ROLES)), error=say(err.message),
                              saved=False), err.status
    return redirect(url_for("notification_choices.role_defaults", role=role, saved=1))


def _defaults_page(role: str, *, error: str | None, saved: bool) -> str:
    set_defaults = _huhua().queries.notifications.role_defaults()
    kinds = [{"code": kind.code, "label": kind_label(kind.code), "urgent": kind.urgent,
              "default_text": _channel_list(kind.channels)} for kind in KINDS.values()]
    grid = [{"role": code, "label": role_label(code), "current": code == role,
             "cells": [_channel_list(set_defaults[code][kind.code]) if kind.code in set_defaults.get(code, {})
                       else None for kind in KINDS.values()]} for code in ROLES]
    chosen = set_defaults.get(role, {})
    rows = [{**kind, "own": kind["code"] in chosen,
             "ticked": set(chosen.get(kind["code"], KINDS[kind["code"]].channels))} for kind in kinds]
    return render_template("admin_notification_defaults.html", role=role, role_name=role_label(role), grid=grid,
                           kinds=kinds, rows=rows, channels=[(c, channel_label(c)) for c in CHANNELS], error=error,
                           saved=saved, every_kind=EVERY_KIND)


def _huhua() -> Huhua:
    return current_app.extensions["huhua"]
