"""Notifications: telling people of what concerns them, in the app and where they are (e-mail, WeCom, DingTalk, SMS).

- :mod:`.kinds` — what a person can be told and the default channels of each kind;
- :mod:`.settings` — ``config/notifications.toml`` and the environment: SMTP, robots, the SMS gateway, quiet hours;
- :mod:`.planning` — :func:`~.planning.notify`, inside a command: notifications, deliveries and their jobs;
- :mod:`.outbox` — a commit's events that may tell somebody, as one ``notify_event`` job (told by
  :mod:`engine.commands.telling`; reminders and digests: :mod:`engine.commands.notification_sweep`);
- :mod:`.recipients` and :mod:`.wording` — who hears of a task, and what they are told of it;
- :mod:`.channels` — sending one delivery through its provider's documented interface, outside any transaction.
"""
