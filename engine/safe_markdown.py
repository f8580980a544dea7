"""Markdown from the engine shown in a page, safely: raw HTML is escaped, images are not fetched, and a link goes
only to a path of this site or an http(s) address (``javascript:``, ``data:``, ``mailto:`` … stay plain text).

Notification bodies are markdown (a model's template filled with task variables, a robot reads the same text), so
the centre and the HTML part of an e-mail render them with markdown-it-py rather than a hand-written escaper, and
the plain-text part of an e-mail shows them without their markup (:func:`plain_text`).
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


def plain_text(text: str | None) -> str:
    """``text`` without its markdown, as a plain-text e-mail shows it: words, line breaks, list items as ``·``,
    a link as its words and its address (once, if the words are the address)."""
    out: list[str] = []
    for token in _MARKDOWN.parse(text or ""):
        if token.type == "inline":
            _inline_text(token.children or [], out)
        elif token.type in ("fence", "code_block"):
            out.append(token.content.rstrip("\n") + "\n\n")
        elif token.type == "list_item_open":
            out.append("· ")
        elif token.type in ("paragraph_close", "heading_close"):
            out.append("\n" if token.hidden else "\n\n")  # a tight list's items: one line each
    return re.sub(r"\n{3,}", "\n\n", "".join(out)).strip()


def _inline_text(children: list[Any], out: list[str]) -> None:
    href, start = None, 0
    for child in children:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append("\n")
        elif child.type == "link_open":
            href, start = str(child.attrGet("href") or ""), len(out)
        elif child.type == "link_close" and href:
            if "".join(out[start:]).strip() != href:
                out.append(f" ({href})")
            href = None
