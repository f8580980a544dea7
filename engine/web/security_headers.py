"""The headers every response carries, so a browser helps keep children's records on this site and off others.

- ``Content-Security-Policy``: scripts only from this site, inline ones only with this response's nonce
  (``<script nonce="{{ csp_nonce() }}">`` in the templates), nothing may frame the pages, no plugins, no
  ``<base>`` tricks, forms post only here. Styles may be inline: bpmn-js, dmn-js and form-js set them, and
  a style cannot run code. No ``'unsafe-eval'``: none of the editors or ECharts needs it.
- ``X-Frame-Options: DENY`` (older browsers), ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``.
- ``Cache-Control: no-store`` on everything but the front-end bundles (engine/web/assets.py): pages and JSON
  name people and children and must not stay in a shared computer's cache after log-out.
- ``HUHUA_SECURE_COOKIES=1`` (behind HTTPS) marks the session, remember-me and language cookies Secure.
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, g, request

#: Endpoints whose answers are the same for everyone and may be cached (the pages' front-end bundles).
CACHEABLE_ENDPOINTS = frozenset({"assets.asset", "static"})

_POLICY = ("default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
           "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
           "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def csp_nonce() -> str:
    """This response's script nonce (made on first use, so a page and its header agree)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return str(g.csp_nonce)


def install(app: Flask, *, secure_cookies: bool) -> None:
    if secure_cookies:
        app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(_add_headers)


def _add_headers(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = _POLICY.format(nonce=csp_nonce())
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    if request.endpoint not in CACHEABLE_ENDPOINTS:
        headers["Cache-Control"] = "no-store"
        headers.pop("Expires", None)
    return response
