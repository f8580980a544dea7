"""E-mail through SMTP: STARTTLS (587), TLS from the start (465) or a plain relay on this machine (25).

The server's address is checked by the same :class:`~engine.outbound.OutboundPolicy` as every outbound call
and the connection goes to exactly that address, with the server's name kept for TLS (SNI and the
certificate). AUTH when a username is set (never over a connection that is not encrypted, unless the
configuration says ``smtp+plain``, meant for a relay on the same machine). The message is UTF-8 (subject
encoded as RFC 2047), a plain text part (bodies without their markdown) and an HTML alternative (bodies rendered
by :mod:`engine.safe_markdown`, as the notification centre shows them), with ``Message-ID`` built from the
delivery's message id, the same on every retry.
"""

from __future__ import annotations

import base64
import functools
import smtplib
import socket
import ssl
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from html import escape

from engine.notifications.channels.compose import PRODUCT, Outgoing, kind_label
from engine.notifications.channels.errors import ChannelError, shorten
from engine.notifications.settings import NotificationSettings, SmtpSettings
from engine.outbound import OutboundPolicy, RefusedAddress
from engine.safe_markdown import render as render_markdown


def send(outgoing: Outgoing, settings: NotificationSettings, policy: OutboundPolicy) -> str:
    smtp = settings.email
    if smtp is None:
        raise ChannelError("e-mail is not set up (email.url in config/notifications.toml, or HUHUA_SMTP_URL)")
    message = build_message(outgoing, smtp)
    try:
        address = str(policy.target(f"http://{_bracketed(smtp.host)}:{smtp.port}/").address)
    except RefusedAddress as err:
        raise ChannelError(f"SMTP server: not sent: {err}") from None
    context = _context(smtp.ca_file) if smtp.ca_file else (policy.tls or _context(None))
    try:
        if smtp.security == "ssl":
            client: smtplib.SMTP = _PinnedSMTPSSL(address, smtp.host, smtp.port, timeout=smtp.timeout_seconds,
                                                  context=context)
        else:
            client = _PinnedSMTP(address, smtp.host, smtp.port, timeout=smtp.timeout_seconds)
        with client:
            if smtp.security == "starttls":
                client.starttls(context=context)
            if smtp.username:
                _login(client, smtp.username, smtp.password or "")
            refused = client.send_message(message)
            code, answer = client.noop()
    except smtplib.SMTPAuthenticationError as err:
        raise ChannelError(f"SMTP server refused the login of '{smtp.username}': {err.smtp_code} "
                           f"{_said(err.smtp_error)}", f"{err.smtp_code} {_said(err.smtp_error)}") from None
    except smtplib.SMTPRecipientsRefused as err:
        refusals = "; ".join(f"{who}: {code} {_said(said)}" for who, (code, said) in err.recipients.items())
        raise ChannelError(f"SMTP server refused the recipient: {refusals}", refusals) from None
    except smtplib.SMTPResponseException as err:
        raise ChannelError(f"SMTP server answered {err.smtp_code} {_said(err.smtp_error)}",
                           f"{err.smtp_code} {_said(err.smtp_error)}") from None
    except (smtplib.SMTPException, OSError) as err:
        raise ChannelError(f"SMTP server {smtp.host}:{smtp.port}: {type(err).__name__}: {err}") from None
    if refused:
        raise ChannelError(f"SMTP server refused {', '.join(refused)}", str(refused))
    return shorten(f"250 accepted for {outgoing.target} ({code} {_said(answer)})")


@functools.cache
def _context(ca_file: str | None) -> ssl.SSLContext:
    """The TLS context for SMTP servers (the system's certificates, or ``ca_file``'s), made once: loading the
    certificates takes tens of milliseconds, more than sending an e-mail on a local network."""
    return ssl.create_default_context(cafile=ca_file)


def _login(client: smtplib.SMTP, username: str, password: str) -> None:
    """smtplib's login takes ASCII only; a password with other characters goes as UTF-8 in AUTH PLAIN
    (RFC 4616), which servers that take such passwords accept."""
    if (username + password).isascii():
        client.login(username, password)
        return
    client.ehlo_or_helo_if_needed()
    if not client.has_extn("auth") or "PLAIN" not in client.esmtp_features.get("auth", "").upper().split():
        raise smtplib.SMTPException("the server offers no AUTH PLAIN, which a password beyond ASCII needs")
    token = base64.b64encode(b"\0" + username.encode() + b"\0" + password.encode()).decode()
    code, said = client.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, said)


def build_message(outgoing: Outgoing, smtp: SmtpSettings) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"【{PRODUCT}】{outgoing.subject}"
    name, sender = parseaddr(smtp.sender)
    message["From"] = formataddr((name, sender)) if name else sender
    message["To"] = outgoing.target
    message["Message-ID"] = f"<{outgoing.message_id}@{_domain(sender, smtp.host)}>"
    message["X-Huhua-Message-Id"] = outgoing.message_id
    message["Date"] = format_datetime(datetime.now(UTC))
    message.set_content(outgoing.text, charset="utf-8")
    message.add_alternative(_html(outgoing), subtype="html", charset="utf-8")
    return message


def _html(outgoing: Outgoing) -> str:
    parts = []
    for line in outgoing.lines:
        body = render_markdown(line.body) if line.body.strip() else ""
        link = (f'<p><a href="{escape(line.link, quote=True)}">{escape("打开办理")}</a> '
                f'<span style="color:#888">{escape(line.link)}</span></p>') if line.link else ""
        parts.append(f"<h3>【{escape(kind_label(line.kind))}】{escape(line.subject)}</h3>{body}{link}")
    return (f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><body>{"".join(parts)}'
            f'<p style="color:#888">—— {escape(PRODUCT)}</p></body></html>')


def _domain(sender: str, host: str) -> str:
    try:
        return Address(addr_spec=sender).domain or host
    except (ValueError, IndexError):
        return host


def _said(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class _PinnedSMTP(smtplib.SMTP):
    """Speaks to ``host`` (EHLO, STARTTLS's server name) but connects to the checked ``address``."""

    def __init__(self, address: str, host: str, port: int, *, timeout: float) -> None:
        self._address = address
        super().__init__(host, port, timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return socket.create_connection((self._address, port), timeout, self.source_address)


class _PinnedSMTPSSL(smtplib.SMTP_SSL):
    """TLS from the start to the checked ``address``, with ``host`` as the server name and certificate name."""

    def __init__(self, address: str, host: str, port: int, *, timeout: float, context: ssl.SSLContext) -> None:
        self._address = address
        super().__init__(host, port, timeout=timeout, context=context)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        plain = socket.create_connection((self._address, port), timeout, self.source_address)
        return self.context.wrap_socket(plain, server_hostname=host)
