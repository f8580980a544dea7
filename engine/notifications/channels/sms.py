"""SMS through a configurable HTTP gateway, the way Chinese SMS providers work: an approved signature (签名),
an approved template per kind of notification (模板) and its parameters, never free text.

The request (documented for the gateway's side in ``config/notifications.toml``)::

    POST {sms.url}
    Content-Type: application/json; charset=utf-8
    X-Huhua-Message-Id: <message id, the same on every retry>
    Authorization: HUHUA-HMAC-SHA256 key=<sms.key>, timestamp=<unix seconds>, nonce=<32 hex>, signature=<hex>

    {"phone": "13800000000", "sign_name": "心育护花", "template_id": "SMS_0001",
     "template_params": {"name": "…", "kind": "…", "title": "…", "link": "…"}, "out_id": "<message id>"}

``signature`` = hex(HMAC-SHA256(sms.secret, "POST\\n<path>\\n<timestamp>\\n<nonce>\\n<hex SHA-256 of the body>")):
the gateway recomputes it with the key's secret, refuses a timestamp more than five minutes off and a nonce it
has seen. The gateway answers HTTP 2xx with ``{"code": "OK", …}`` (``Code`` as Aliyun spells it, or ``0``);
any other code is a refusal. ``out_id`` lets the gateway drop a message it already took.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from urllib.parse import urlsplit

from engine.notifications.channels.compose import Outgoing, kind_label
from engine.notifications.channels.errors import ChannelError, encode, post_json
from engine.notifications.settings import NotificationSettings
from engine.outbound import OutboundPolicy

#: Providers limit each template variable (about 20 to 35 characters); the title is cut to this.
TITLE_CHARS = 20
SCHEME = "HUHUA-HMAC-SHA256"


def send(outgoing: Outgoing, settings: NotificationSettings, policy: OutboundPolicy) -> str:
    sms = settings.sms
    if sms is None:
        raise ChannelError("SMS is not set up (sms.url in config/notifications.toml, or HUHUA_SMS_URL)")
    template = sms.template(outgoing.kind)
    if not template:
        raise ChannelError(f"no SMS template for kind '{outgoing.kind}' (sms.templates in config/notifications.toml)")
    line = outgoing.lines[0]
    title = line.subject if len(line.subject) <= TITLE_CHARS else line.subject[:TITLE_CHARS - 1] + "…"
    params = {"name": line.people[0].name if line.people else "", "kind": kind_label(line.kind), "title": title,
              "link": line.link or ""}
    body = encode({"phone": outgoing.target, "sign_name": sms.sign, "template_id": template,
                   "template_params": params, "out_id": outgoing.message_id})
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
    authorization = (f"{SCHEME} key={sms.key}, timestamp={timestamp}, nonce={nonce}, "
                     f"signature={signature(sms.secret, urlsplit(sms.url).path or '/', timestamp, nonce, body)}")
    answer, text = post_json(policy, sms.url, body, {"X-Huhua-Message-Id": outgoing.message_id,
                                                     "Authorization": authorization}, what="SMS gateway")
    try:
        parsed = json.loads(answer.body)
    except ValueError:
        raise ChannelError("SMS gateway answered something that is not JSON", text) from None
    code = parsed.get("code", parsed.get("Code")) if isinstance(parsed, dict) else None
    if code not in ("OK", "ok", 0, "0"):
        message = parsed.get("message", parsed.get("Message")) if isinstance(parsed, dict) else None
        raise ChannelError(f"SMS gateway refused the message: code {code}, message {message}", text)
    return text


def signature(secret: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    signed = f"POST\n{path}\n{timestamp}\n{nonce}\n{hashlib.sha256(body).hexdigest()}"
    return hmac.new(secret.encode(), signed.encode(), hashlib.sha256).hexdigest()
