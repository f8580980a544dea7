"""The pages' front-end bundles (``scripts/build_frontend.mjs`` makes them): one script and style sheet per page.

Their names carry a hash of their content, so a browser may keep each for a year without asking again
(``Cache-Control: public, max-age=31536000, immutable``); a new build makes new names, and the pages, which are
never cached, name the new ones. The build writes a ``.br`` and a ``.gz`` beside each text file; the answer is
the one the browser accepts (``Vary: Accept-Encoding``), compressed once at build time, never per request.

A small route rather than WhiteNoise: WhiteNoise answers before Flask sees the request, so its answers would
miss the security headers every response carries (``nosniff``, the CSP) and the route would have no rule in
``engine.access.policy`` like every other; choosing between two precompressed files is a few lines here.
Templates name a bundle by its page: ``{{ asset_url('task.js') }}``.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, request, send_from_directory, url_for
from flask.sessions import SecureCookieSessionInterface, SessionMixin

from engine.locations import frontend_build

BUILD = frontend_build()
MANIFEST = "manifest.json"
CACHE_FOREVER = "public, max-age=31536000, immutable"
#: The precompressed variants, best first, and the suffix of each file.
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))

assets = Blueprint("assets", __name__)


class MissingBuild(RuntimeError):
    """The front-end build is missing or unreadable: the pages could not load their scripts."""


def install(app: Flask, folder: Path = BUILD) -> None:
    """Serve the build in ``folder`` and give templates ``asset_url``; refuse to start without the build."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise MissingBuild(f"the front-end build is missing or unreadable ({folder / MANIFEST}: {err}); build it "
                           f"with `node scripts/build_frontend.mjs` (scripts/run.sh and scripts/test.sh do so "
                           f"after `npm ci`)") from None
    app.extensions["huhua_assets"] = (folder, manifest)
    app.jinja_env.globals["asset_url"] = asset_url
    app.session_interface = _SessionBesideAssets()
    app.register_blueprint(assets)


def asset_url(name: str) -> str:
    """The URL of a page's bundle (``task.js``, ``modeler.css`` …); a name the build did not make is an error."""
    _folder, manifest = current_app.extensions["huhua_assets"]
    if name not in manifest:
        raise KeyError(f"the front-end build has no {name!r} (engine/web/frontend/ makes {', '.join(manifest)})")
    return url_for("assets.asset", filename=manifest[name])


class _SessionBesideAssets(SecureCookieSessionInterface):
    """The session cookie as usual, except on a bundle: the same bytes for everyone, so neither a refreshed cookie
    nor ``Vary: Cookie`` (which would make a browser fetch it again whenever the cookie changes)."""

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if request.endpoint != "assets.asset":
            super().save_session(app, session, response)


@assets.get("/assets/<path:filename>")
def asset(filename: str) -> Any:
    folder: Path = current_app.extensions["huhua_assets"][0]
    if "/" in filename or filename == MANIFEST or filename.endswith((".br", ".gz")) \
            or not (folder / filename).is_file():
        abort(404)
    served, encoding = filename, None
    for name, suffix in ENCODINGS:
        if request.accept_encodings.quality(name) > 0 and (folder / (filename + suffix)).is_file():
            served, encoding = filename + suffix, name
            break
    response = send_from_directory(folder, served, mimetype=mimetypes.guess_type(filename)[0])
    if encoding:
        response.headers["Content-Encoding"] = encoding
    response.headers["Cache-Control"] = CACHE_FOREVER
    response.headers["Vary"] = "Accept-Encoding"
    response.headers.pop("Expires", None)
    return response
