"""Notifications: telling people of what concerns them, in the app and where they are (e-mail, WeCom, DingTalk, SMS).

- :mod:`.kinds` — what a person can be told and the default channels of each kind;
- :mod:`.settings` — ``config/notifications.toml`` and the environment: SMTP, robots, the SMS gateway, quiet hours;
- :mod:`.planning` — :func:`~.planning.notify`, inside a command: notifications, deliveries and their jobs;
- :mod:`.channels` — sending one delivery through its provider's documented interface, outside any transaction.
"""
