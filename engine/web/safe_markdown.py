"""Markdown from the engine shown in a page, safely: raw HTML is escaped, images are not fetched, and a link goes
only to a path of this site or an http(s) address (``javascript:``, ``data:``, ``mailto:`` … stay plain text).

Notification bodies are markdown (a model's template filled with task variables, a robot reads the same text), so
the centre renders them with markdown-it-py rather than a hand-written escaper.
"""

from __future__ import annotations

import re
from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup

#: A URL that names its scheme (``https:``, ``javascript:``); without one it is a path of this site.
_SCHEME = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.-]*):")


def _allowed_link(url: str) -> bool:
    scheme = _SCHEME.match(url)
    return scheme is None or scheme.group(1).lower() in ("http", "https")


def _build() -> MarkdownIt:
    renderer = MarkdownIt("js-default", {"html": False, "linkify": False})
    renderer.disable("image")
    renderer.validateLink = _allowed_link  # type: ignore[method-assign]

    def link_open(renderer_self: Any, tokens: Any, index: int, options: Any, env: Any) -> str:
        token = tokens[index]
        href = str(token.attrGet("href") or "")
        if _SCHEME.match(href) or href.startswith("//"):  # another site: it learns nothing of where one came from
            token.attrSet("rel", "noopener noreferrer nofollow")
        return str(renderer_self.renderToken(tokens, index, options, env))

    renderer.add_render_rule("link_open", link_open)
    return renderer


_MARKDOWN = _build()


def render(text: str | None) -> Markup:
    """``text`` as HTML that can go into a page as it is."""
    return Markup(_MARKDOWN.render(text or ""))  # markdown-it escapes the text; raw HTML is off
