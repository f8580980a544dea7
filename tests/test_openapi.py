"""The API's OpenAPI document: valid OpenAPI, and describing exactly the routes the app serves."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from openapi_spec_validator import validate

from engine.bootstrap import Huhua
from engine.web import create_app

#: Described in the document though served at the site's root.
PROBES = {"/healthz", "/readyz"}


def test_the_document_is_valid_and_matches_the_routes(huhua: Huhua) -> None:
    app = create_app(huhua, {"TESTING": True})
    with app.test_client() as client:
        client: FlaskClient
        served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200
    document = served.json
    validate(document)
    described = {(_served_at(document, item) + path, method.upper()) for path, item in document["paths"].items()
                 for method in item if method != "servers"}
    routes = {(re.sub(r"<(?:int:)?(\w+)>", r"{\1}", rule.rule), method)
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1") or rule.rule in PROBES
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert described == routes


def _served_at(document: dict, item: dict) -> str:
    """The base a path of the document is served under: its own servers' (the probes: the root), else /api/v1."""
    return (item.get("servers") or document["servers"])[0]["url"].rstrip("/")
