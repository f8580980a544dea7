"""Notification settings: ``config/notifications.toml``, every setting also from the environment.

Credentials (the SMTP password, a robot's key or signing secret, the SMS gateway's secret) live here or in the
environment a secret store fills, never in models. A channel without settings is simply not used: a person who
chose it hears through the others.

Environment (each overrides the file):

- ``HUHUA_PUBLIC_URL`` — the address people open the web app at; links in messages start with it.
- ``HUHUA_SMTP_URL`` — ``smtp://user:password@host:587`` (STARTTLS), ``smtps://…:465`` (TLS from the start), or
  ``smtp+plain://host:25`` (no TLS: a relay on the same machine only); ``HUHUA_SMTP_FROM`` the sender;
  ``HUHUA_SMTP_CA_FILE`` certificates to trust for the server (PEM) instead of the system's.
- ``HUHUA_WECOM_URL`` / ``HUHUA_DINGTALK_URL`` — the provider's robot address (the key or access token is added);
  ``HUHUA_WECOM_ROBOTS="unit=key,unit=key"`` and ``HUHUA_DINGTALK_ROBOTS="unit=token:secret,…"`` the groups.
- ``HUHUA_SMS_URL``, ``HUHUA_SMS_KEY``, ``HUHUA_SMS_SECRET``, ``HUHUA_SMS_SIGN`` — the SMS gateway.
- ``HUHUA_QUIET_HOURS="22:00-07:00"`` — everyone's quiet hours unless they set their own (and always a group
  robot's: a group has no one member's hours).
- ``HUHUA_HOLD_ON_REST_DAYS=true|false`` — hold messages that are not urgent from rest days.

A robot address is ``http(s)://host/path`` without a query: the key or access token goes in ``robots``, so that
it never shows in an error message. SMS goes only for kinds with a template (``sms.templates``, or ``default``);
an urgent kind without one is warned of at load, as its SMS would never go.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from engine.errors import InvalidInput, Problem
from engine.notifications.kinds import KINDS

log = logging.getLogger("huhua.notifications")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    #: starttls | ssl | none
    security: str
    username: str | None
    password: str | None
    sender: str
    timeout_seconds: float = 10.0
    #: At most this many e-mails a minute (more wait for the next minute; 0: no limit).
    per_minute: int = 120
    #: Certificates (PEM) to trust for the server instead of the system's: a bureau's own mail server and CA.
    ca_file: str | None = None


@dataclass(frozen=True)
class Robot:
    """One group's robot: WeCom's ``key`` or DingTalk's ``access_token``, and DingTalk's signing secret."""

    token: str
    secret: str | None = None


@dataclass(frozen=True)
class RobotSettings:
    #: The provider's robot address without the key (``…/cgi-bin/webhook/send``, ``…/robot/send``).
    url: str
    #: unit id → that unit's group robot.
    robots: dict[str, Robot] = field(default_factory=dict)
    #: Messages a group takes per minute (the providers allow about 20); the engine batches per unit and minute.
    per_minute: int = 20


@dataclass(frozen=True)
class SmsSettings:
    url: str
    key: str
    secret: str
    #: The approved signature (签名) the provider prints before every message.
    sign: str
    #: notification kind → the approved template id; a kind without a template is not sent by SMS.
    templates: dict[str, str] = field(default_factory=dict)
    #: At most this many messages a minute (more wait for the next minute; 0: no limit).
    per_minute: int = 60

    def template(self, kind: str) -> str | None:
        """The approved template for ``kind`` (or the ``default`` one); None: this kind is not sent by SMS."""
        return self.templates.get(kind) or self.templates.get("default") or None


@dataclass(frozen=True)
class NotificationSettings:
    public_url: str = "http://127.0.0.1:8000"
    email: SmtpSettings | None = None
    wecom: RobotSettings | None = None
    dingtalk: RobotSettings | None = None
    sms: SmsSettings | None = None
    #: Everyone's quiet hours unless they chose their own: ("22:00", "07:00"), or None for none.
    quiet_hours: tuple[str, str] | None = ("22:00", "07:00")
    #: Hold messages that are not urgent from rest days (weekends, holidays) until the next working morning.
    hold_on_rest_days: bool = True
    #: When the working morning starts (held messages go then; the daily digest too).
    morning: str = "08:00"

    def robot(self, channel: str, unit_id: str | None) -> Robot | None:
        robots = self.wecom if channel == "wecom" else self.dingtalk if channel == "dingtalk" else None
        return robots.robots.get(unit_id) if robots is not None and unit_id else None


def load_notification_settings(path: Path, environ: Mapping[str, str] | None = None) -> NotificationSettings:
    """Read ``path`` (missing: no outside channel) and let the environment override it; refusals name the field."""
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as err:
            raise _refuse(path, "", f"is not valid TOML: {err}") from None
    quiet = env.get("HUHUA_QUIET_HOURS", data.get("quiet_hours", "22:00-07:00"))
    return NotificationSettings(
        public_url=str(env.get("HUHUA_PUBLIC_URL") or data.get("public_url") or "http://127.0.0.1:8000").rstrip("/"),
        email=_smtp(path, data.get("email") or {}, env),
        wecom=_robots(path, "wecom", data.get("wecom") or {}, env, with_secret=False),
        dingtalk=_robots(path, "dingtalk", data.get("dingtalk") or {}, env, with_secret=True),
        sms=_sms(path, data.get("sms") or {}, env),
        quiet_hours=_quiet(path, quiet),
        hold_on_rest_days=_flag(path, "hold_on_rest_days",
                                env.get("HUHUA_HOLD_ON_REST_DAYS", data.get("hold_on_rest_days", True))),
        morning=_clock_time(path, "morning", str(data.get("morning", "08:00"))),
    )


def _smtp(path: Path, section: dict[str, Any], env: Mapping[str, str]) -> SmtpSettings | None:
    url = env.get("HUHUA_SMTP_URL") or section.get("url")
    if not url:
        return None
    parts = urlsplit(str(url))
    security = {"smtp": "starttls", "smtps": "ssl", "smtp+plain": "none"}.get(parts.scheme)
    if security is None or not parts.hostname:
        raise _refuse(path, "email.url", f"'{parts.scheme}://…' is not smtp://, smtps:// or smtp+plain://host:port")
    port = parts.port or {"starttls": 587, "ssl": 465, "none": 25}[security]
    sender = env.get("HUHUA_SMTP_FROM") or section.get("sender") or f"心育护花 <noreply@{parts.hostname}>"
    return SmtpSettings(parts.hostname, port, security, unquote(parts.username) if parts.username else None,
                        unquote(parts.password) if parts.password else None, str(sender),
                        _number(path, "email.timeout_seconds", section.get("timeout_seconds", 10.0), float, 0.1),
                        _number(path, "email.per_minute", section.get("per_minute", 120), int, 0),
                        _ca_file(path, env.get("HUHUA_SMTP_CA_FILE") or section.get("ca_file")))


def _ca_file(path: Path, value: Any) -> str | None:
    if not value:
        return None
    where = (path.parent / str(value)).resolve()
    if not where.is_file():
        raise _refuse(path, "email.ca_file", f"'{value}' is not a file")
    return str(where)


def _flag(path: Path, where: str, value: Any) -> bool:
    """A TOML boolean, or its spelling in the environment (true/false, yes/no, 1/0); anything else is refused."""
    if isinstance(value, bool):
        return value
    spelled = {"true": True, "yes": True, "1": True, "on": True, "false": False, "no": False, "0": False,
               "off": False}.get(str(value).strip().lower())
    if spelled is None:
        raise _refuse(path, where, f"'{value}' is neither true nor false")
    return spelled


def _robots(path: Path, name: str, section: dict[str, Any], env: Mapping[str, str], *,
            with_secret: bool) -> RobotSettings | None:
    url = env.get(f"HUHUA_{name.upper()}_URL") or section.get("url")
    robots: dict[str, Robot] = {}
    for unit, value in (section.get("robots") or {}).items():
        robots[str(unit)] = _robot(path, f"{name}.robots.{unit}", value, with_secret)
    for entry in (env.get(f"HUHUA_{name.upper()}_ROBOTS") or "").split(","):
        if entry.strip():
            unit, _, value = entry.strip().partition("=")
            robots[unit.strip()] = _robot(path, f"HUHUA_{name.upper()}_ROBOTS: {unit}", value.strip(), with_secret)
    if not robots:
        return None
    if not url:
        raise _refuse(path, f"{name}.url", "robots are listed but the provider's robot address is not set")
    _robot_url(path, f"{name}.url", str(url))
    return RobotSettings(str(url), robots, _number(path, f"{name}.per_minute", section.get("per_minute", 20), int, 1))


def _robot_url(path: Path, where: str, url: str) -> None:
    """``http(s)://host[:port]/path`` and nothing after it: a key in the query would show in every error."""
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - reading it checks it
    except ValueError:
        raise _refuse(path, where, "has a port that is not a number from 1 to 65535") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _refuse(path, where, "is not an http:// or https:// address with a host")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise _refuse(path, where, "must not carry a query, fragment or credentials: the robot's key or access "
                                   "token goes in the robots section")


def _robot(path: Path, where: str, value: Any, with_secret: bool) -> Robot:
    if isinstance(value, dict):
        token, secret = str(value.get("token") or value.get("key") or ""), value.get("secret")
    else:
        token, _, secret = str(value).partition(":") if with_secret else (str(value), "", None)
    if not token:
        raise _refuse(path, where, "a robot needs its key (WeCom) or access token (DingTalk)")
    return Robot(token, str(secret) if secret else None)


def _sms(path: Path, section: dict[str, Any], env: Mapping[str, str]) -> SmsSettings | None:
    url = env.get("HUHUA_SMS_URL") or section.get("url")
    if not url:
        return None
    key = env.get("HUHUA_SMS_KEY") or section.get("key") or ""
    secret = env.get("HUHUA_SMS_SECRET") or section.get("secret") or ""
    if not key or not secret:
        raise _refuse(path, "sms.key", "the SMS gateway needs its key and secret (HUHUA_SMS_KEY, HUHUA_SMS_SECRET)")
    templates = {str(kind): str(template) for kind, template in (section.get("templates") or {}).items()}
    for kind in sorted(code for code, known in KINDS.items() if known.urgent):
        if not (templates.get(kind) or templates.get("default")):
            log.warning("%s: sms.templates has no template for the urgent kind '%s' (nor a 'default' one): "
                        "it is never sent by SMS", path.name, kind)
    return SmsSettings(str(url), str(key), str(secret), str(env.get("HUHUA_SMS_SIGN") or section.get("sign") or
                                                            "心育护花"), templates,
                       _number(path, "sms.per_minute", section.get("per_minute", 60), int, 0))


def _number(path: Path, where: str, value: Any, kind: type[int] | type[float], least: float) -> Any:
    """``value`` as a whole number (``int``) or a number (``float``) of at least ``least``; else refused by name."""
    if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and not isinstance(value, int)):
        raise _refuse(path, where, f"'{value}' is not {'a whole number' if kind is int else 'a number'}")
    if value < least:
        raise _refuse(path, where, f"{value} is less than {least:g}")
    return kind(value)


def _quiet(path: Path, value: Any) -> tuple[str, str] | None:
    if not value:
        return None
    starts, _, ends = str(value).partition("-")
    return _clock_time(path, "quiet_hours", starts.strip()), _clock_time(path, "quiet_hours", ends.strip())


def _clock_time(path: Path, where: str, value: str) -> str:
    hours, _, minutes = value.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60 and len(minutes) == 2):
        raise _refuse(path, where, f"'{value}' is not a time of day such as 07:30")
    return f"{int(hours):02d}:{minutes}"


def _refuse(path: Path, where: str, message: str) -> InvalidInput:
    return InvalidInput(f"{path.name}: {where + ': ' if where else ''}{message}",
                        [Problem(message, field=where or path.name)])
