"""Real servers on 127.0.0.1 playing the notification providers, each checking requests the way the provider
documents (and independently of the engine's code): an SMTP server (aiosmtpd, STARTTLS or TLS, AUTH), a
DingTalk custom robot that verifies ``timestamp``/``sign``, a WeCom group robot, and an SMS gateway that checks
the HMAC-signed request described in config/notifications.toml."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.receiver import Received, serving


@dataclass
class Robot:
    """What a robot or gateway received; ``refused`` are requests it answered with an error code."""

    url: str
    requests: list[Received] = field(default_factory=list)
    accepted: list[Received] = field(default_factory=list)
    refused: list[Received] = field(default_factory=list)
    #: Message ids seen, in order (a repeat is a duplicate the receiver drops).
    message_ids: list[str] = field(default_factory=list)

    @property
    def unique(self) -> list[Received]:
        """Accepted messages, each message id once (what a receiver that dedupes shows its group)."""
        seen: set[str] = set()
        kept = []
        for request in self.accepted:
            key = request.headers.get("X-Huhua-Message-Id", "")
            if key not in seen:
                seen.add(key)
                kept.append(request)
        return kept


Decide = Callable[[Received], tuple[int, dict[str, Any]]]


@contextmanager
def http_robot(decide: Decide, on_request: Callable[[Received], None] | None = None) -> Iterator[Robot]:
    """An HTTP server that answers each request with what ``decide`` says (status, JSON)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    robot = Robot(f"http://127.0.0.1:{server.server_address[1]}")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            received = Received(self.command, self.path, dict(self.headers), self.rfile.read(length))
            with lock:
                robot.requests.append(received)
                robot.message_ids.append(received.headers.get("X-Huhua-Message-Id", ""))
            if on_request is not None:
                on_request(received)
            status, answer = decide(received)
            with lock:
                (robot.accepted if status == 200 and answer.get("errcode", 0) == 0 and
                 answer.get("code", "OK") == "OK" else robot.refused).append(received)
            body = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server.RequestHandlerClass = Handler
    with serving(server):
        yield robot


def wecom_robot(key: str | Collection[str], on_request: Callable[[Received], None] | None = None) -> Any:
    """A WeCom group robot (or several groups' robots: one key each): ``?key=`` must be a group's key; the message
    must be text or markdown."""
    keys = {key} if isinstance(key, str) else set(key)

    def decide(request: Received) -> tuple[int, dict[str, Any]]:
        query = parse_qs(urlsplit(request.path).query)
        if len(query.get("key", [])) != 1 or query["key"][0] not in keys:
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
        message = request.json()
        if message.get("msgtype") not in ("text", "markdown") or not message[message["msgtype"]].get("content"):
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}
        return 200, {"errcode": 0, "errmsg": "ok"}

    return http_robot(decide, on_request)


def dingtalk_expected_sign(secret: str, timestamp: str) -> str:
    """DingTalk's documented scheme, written here independently: Base64(HMAC-SHA256(secret, ts + "\\n" + secret)),
    then URL-encoded."""
    string_to_sign = (timestamp + "\n" + secret).encode("utf-8")
    digest = hmac.new(secret.encode("utf-8"), string_to_sign, digestmod=hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


def dingtalk_robot(token: str, secret: str) -> Any:
    """A DingTalk custom robot in signed mode: a wrong or stale signature is refused with errcode 310000."""
    def decide(request: Received) -> tuple[int, dict[str, Any]]:
        raw = urlsplit(request.path).query
        pairs = dict(part.split("=", 1) for part in raw.split("&") if "=" in part)  # sign stays URL-encoded
        if pairs.get("access_token") != token:
            return 200, {"errcode": 300001, "errmsg": "token is not exist"}
        timestamp = pairs.get("timestamp", "")
        fresh = timestamp.isdigit() and abs(int(timestamp) - time.time() * 1000) < 3600 * 1000
        if not fresh or pairs.get("sign") != dingtalk_expected_sign(secret, timestamp):
            return 200, {"errcode": 310000, "errmsg": "sign not match"}
        message = request.json()
        if message.get("msgtype") != "markdown" or not message["markdown"].get("text"):
            return 200, {"errcode": 40035, "errmsg": "missing markdown"}
        return 200, {"errcode": 0, "errmsg": "ok"}

    return http_robot(decide)


def sms_gateway(key: str, secret: str, path: str = "/sms/send",
                on_request: Callable[[Received], None] | None = None) -> Any:
    """The SMS gateway of config/notifications.toml: checks the key, the HMAC signature and the template call."""
    def decide(request: Received) -> tuple[int, dict[str, Any]]:
        if urlsplit(request.path).path != path:
            return 404, {"code": "NotFound"}
        scheme, _, rest = request.headers.get("Authorization", "").partition(" ")
        fields = dict(part.strip().split("=", 1) for part in rest.split(",") if "=" in part)
        signed = "\n".join(["POST", path, fields.get("timestamp", ""), fields.get("nonce", ""),
                            hashlib.sha256(request.body).hexdigest()])
        expected = hmac.new(secret.encode(), signed.encode(), hashlib.sha256).hexdigest()
        if scheme != "HUHUA-HMAC-SHA256" or fields.get("key") != key or not hmac.compare_digest(
                expected, fields.get("signature", "")):
            return 403, {"code": "SignatureDoesNotMatch"}
        call = request.json()
        if not call.get("template_id") or not call.get("phone") or not isinstance(call.get("template_params"), dict):
            return 400, {"code": "MissingParameter"}
        return 200, {"code": "OK", "message": "OK", "biz_id": f"biz-{len(request.body)}"}

    return http_robot(decide, on_request)


@dataclass
class Mailbox:
    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[tuple[str, bool]] = field(default_factory=list)


def certificate(directory: Path, name: str = "localhost") -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` (and 127.0.0.1): (certificate, key)."""
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    if not cert.exists():
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                        f"/CN={name}", "-addext", f"subjectAltName=DNS:{name},IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@contextmanager
def smtp_server(directory: Path, *, security: str, users: dict[str, str]) -> Iterator[Mailbox]:
    """aiosmtpd on 127.0.0.1: ``security`` starttls (STARTTLS required before AUTH) or ssl (TLS from the start);
    AUTH LOGIN/PLAIN against ``users``; every accepted message parsed."""
    cert, key = certificate(directory)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = Mailbox("localhost", port)

    def authenticate(_server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = data.login.decode(), data.password.decode()
        ok = users.get(login) == password
        box.logins.append((login, ok))
        return AuthResult(success=ok, handled=False)

    class Handler:
        async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
            box.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            box.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
            return "250 2.0.0 queued as q" + str(len(box.messages))

    options: dict[str, Any] = {"authenticator": authenticate, "auth_required": True, "auth_require_tls": True}
    if security == "ssl":
        options["auth_require_tls"] = False  # aiosmtpd counts only STARTTLS as TLS; this connection is TLS throughout
        controller = Controller(Handler(), hostname="127.0.0.1", port=port, ssl_context=context,
                                server_hostname="localhost", **options)
    else:
        controller = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=context,
                                require_starttls=True, server_hostname="localhost", **options)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
