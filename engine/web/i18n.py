"""Languages of the pages: Simplified Chinese, written straight into the templates as the message ids, and any
language with a catalogue under ``engine/web/translations`` (English first).

Chinese needs no catalogue, so a missing or broken one can never blank a page. Pages are in Chinese unless the
person picks another language with ``?lang=en`` (the switch in the header; kept in a cookie). The browser's
Accept-Language is not asked: office PCs and headless browsers often send en-US for Chinese staff.
The engine's refusals (English, from the commands) have a Chinese catalogue of their own, ``errors``
(:mod:`engine.web.error_language`). Catalogues are compiled from their .po files when the app starts, into the
data folder, so a plain ``pip install`` serves them without a build step.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, Response, current_app, request
from flask_babel import Babel
from markupsafe import Markup, escape
from werkzeug.datastructures import MultiDict

CATALOGUES = Path(__file__).parent / "translations"
CHINESE = "zh_Hans_CN"
COOKIE = "huhua_lang"
NAMES = {CHINESE: "中文", "en": "English"}  # each language named in itself, never translated


def languages() -> list[str]:
    """Chinese and every language that has a catalogue."""
    return [CHINESE, *sorted(p.name for p in CATALOGUES.iterdir() if (p / "LC_MESSAGES" / "messages.po").is_file())]


def install(app: Flask, data_dir: Path) -> None:
    compiled = data_dir / "translations"
    _compile(compiled)
    app.config["BABEL_DEFAULT_LOCALE"] = CHINESE
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(compiled)
    offered = languages()
    Babel(app, locale_selector=lambda: _chosen(offered))
    app.after_request(lambda response: _remember(response, offered))
    app.jinja_env.globals["html_lang"] = lambda: _tag(_chosen(offered))
    app.jinja_env.globals["language_choices"] = lambda: _choices(offered)
    app.jinja_env.globals["sample"] = sample


def sample(text: str) -> Markup:
    """What a person types, quoted inside a translated sentence: shown as code and left as it is by translation."""
    return Markup('<code translate="no">%s</code>') % escape(text)


def _choices(offered: list[str]) -> list[dict[str, object]]:
    """The language switch: each language's own name, this page's address in it, and whether it is the current one.

    The address keeps the page's other query arguments, so switching never loses a filter or a page number.
    """
    current = _chosen(offered)
    links = []
    for language in offered:
        arguments = MultiDict(request.args)
        arguments.setlist("lang", [language])
        query = "&".join(f"{quote(k)}={quote(v)}" for k, v in arguments.items(multi=True))
        links.append({"code": language, "tag": _tag(language), "name": NAMES.get(language, language),
                      "href": f"{request.path}?{query}", "current": language == current})
    return links


def _tag(language: str) -> str:
    """The language as an HTML lang attribute (BCP 47)."""
    return "zh-CN" if language == CHINESE else language.replace("_", "-")


def _chosen(offered: list[str]) -> str:
    asked = request.args.get("lang") or request.cookies.get(COOKIE)
    return asked if asked in offered else CHINESE


def _remember(response: Response, offered: list[str]) -> Response:
    asked = request.args.get("lang")
    if asked in offered:
        response.set_cookie(COOKIE, asked, max_age=365 * 86400, samesite="Lax", httponly=True,
                            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
    return response


def _compile(into: Path) -> None:
    """Compile each catalogue (the pages' ``messages``, the engine's ``errors``) whose .mo is missing or older than
    its .po."""
    for source in CATALOGUES.glob("*/LC_MESSAGES/*.po"):
        target = into / source.relative_to(CATALOGUES).with_suffix(".mo")
        if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with source.open("rb") as po:
            catalogue = read_po(po)
        partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        with partial.open("wb") as mo:
            write_mo(mo, catalogue)
        partial.replace(target)  # a second process starting at once never reads half a file
