"""The one failure every channel raises, and the HTTP call the web channels share."""

from __future__ import annotations

import http.client
import json
from typing import Any

from engine.outbound import Answer, OutboundPolicy, RefusedAddress, request

#: What is kept of a provider's answer for the administrators' list.
ANSWER_CHARS = 500
TIMEOUT_SECONDS = 10.0


class ChannelError(Exception):
    """The message did not go out (refused, unreachable, rejected by the provider); the job retries.

    ``answer`` is what the provider said, when it said anything (recorded on the delivery).
    """

    def __init__(self, message: str, answer: str | None = None) -> None:
        super().__init__(message)
        self.answer = answer


def shorten(text: str, limit: int = ANSWER_CHARS) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def post_json(policy: OutboundPolicy, url: str, body: dict[str, Any] | bytes, headers: dict[str, str], *,
              what: str, timeout: float = TIMEOUT_SECONDS) -> tuple[Answer, str]:
    """POST ``body`` as UTF-8 JSON (or these bytes, already JSON); the answer and its text (shortened).

    Refusals and network errors raise ChannelError naming ``what`` (the provider) but never the URL's query,
    which carries the robot's key."""
    data = body if isinstance(body, bytes) else encode(body)
    try:
        answer = request(policy, "POST", url, body=data, timeout=timeout, max_bytes=4000, headers={
            "Content-Type": "application/json; charset=utf-8", "User-Agent": "huhua-notifications", **headers})
    except RefusedAddress as err:
        raise ChannelError(f"{what}: not sent: {err}") from None
    except (OSError, http.client.HTTPException) as err:
        raise ChannelError(f"{what}: {type(err).__name__}: {err}") from None
    text = shorten(f"HTTP {answer.status} {answer.body[:4000].decode('utf-8', 'replace')}")
    if not 200 <= answer.status < 300:
        raise ChannelError(f"{what} answered HTTP {answer.status}", text)
    return answer, text


def errcode_answer(answer: Answer, text: str, what: str) -> str:
    """WeCom and DingTalk robots answer ``{"errcode": 0, "errmsg": "ok"}``; anything else is a refusal."""
    try:
        parsed = json.loads(answer.body)
    except ValueError:
        raise ChannelError(f"{what} answered something that is not JSON", text) from None
    if not isinstance(parsed, dict) or parsed.get("errcode") != 0:
        code = parsed.get("errcode") if isinstance(parsed, dict) else None
        message = parsed.get("errmsg") if isinstance(parsed, dict) else None
        raise ChannelError(f"{what} refused the message: errcode {code}, errmsg {message}", text)
    return text
