"""``huhua notify test PERSON --channel …``: a test message through one channel, now, with the provider's answer."""

from __future__ import annotations

import sys

import click

from engine.cli.base import Context, emit, guard, json_option, main
from engine.commands import SendTestNotification
from engine.notifications import sending
from engine.notifications.kinds import CHANNELS, INBOX

#: Exit code when the provider did not take the message (bad input exits with 2).
NOT_SENT = 1


@main.group()
def notify() -> None:
    """Notifications: test a channel."""


@notify.command("test")
@click.argument("person")
@click.option("--channel", type=click.Choice(CHANNELS), required=True, help="Where the test message goes.")
@click.option("--actor", default="admin", show_default=True)
@json_option
@click.pass_obj
def notify_test(obj: Context, person: str, channel: str, actor: str, as_json: bool) -> None:
    """Send PERSON a test message through CHANNEL now and print what the provider answered."""
    outcome: dict[str, object] = {}

    def run() -> None:
        huhua = obj.huhua
        made = huhua.execute(SendTestNotification(person, channel, actor))
        outcome.update(made)
        if channel == INBOX:
            outcome.update(sent=True, answer=f"notification {made['notification']} is in {person}'s in-app centre")
            return
        if not as_json:
            click.echo(f"sending a test message to {person} through {channel} …", err=True)
        command, _said = sending.attempt(huhua, int(made["job"]), int(made["delivery"]), limited=False)
        huhua.execute(command)
        delivery = huhua.queries.notification_delivery(int(made["delivery"])) or {}
        outcome.update(target=delivery.get("target"), state=delivery.get("state"),
                       message_id=delivery.get("message_id"), sent=delivery.get("state") == "sent",
                       answer=delivery.get("answer"), error=delivery.get("last_error"))

    guard(as_json, run)
    emit(as_json, outcome, lambda o: (f"sent to {o.get('target', person)}: {o['answer']}" if o["sent"] else
                                      f"not sent: {o['error']}" + (f"\nprovider answered: {o['answer']}"
                                                                     if o.get("answer") else "")))
    if not outcome.get("sent"):
        sys.exit(NOT_SENT)
