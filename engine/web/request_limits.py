"""Bounded request bodies: uploads may be as large as an attachment, everything else far smaller.

Flask's ``MAX_CONTENT_LENGTH`` stays at the largest attachment (plus its multipart wrapping); a body that is
not a multipart upload — JSON, a log-in form — is held to ``HUHUA_MAX_REQUEST_BYTES`` per request, so 30 MiB
of start variables never reach the parser. Either refusal is a 413 JSON answer that says the limit.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from engine.errors import InvalidInput, Problem
from engine.phrases import Phrase


def install(app: Flask, *, max_request_bytes: int) -> None:
    @app.before_request
    def _bound_body() -> None:
        if request.mimetype != "multipart/form-data":
            request.max_content_length = max_request_bytes

    @app.before_request
    def _no_nul_in_the_address() -> None:
        """A NUL in the path or a query parameter would reach a text column PostgreSQL cannot compare: 400."""
        if "\x00" in request.path:
            raise InvalidInput(Phrase("the address holds a NUL character"),
                               [Problem(Phrase("NUL character"), field="path")])
        for name, value in request.args.items(multi=True):
            if "\x00" in name or "\x00" in value:
                raise InvalidInput(Phrase("query parameter '%(name)s' holds a NUL character",
                                          name=name.replace("\x00", "")),
                                   [Problem(Phrase("NUL character"), field=name.replace("\x00", ""))])

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_err: RequestEntityTooLarge) -> Any:
        limit = request.max_content_length
        return jsonify({"error": "too_large", "message": f"the request body is larger than the {limit} bytes "
                        "accepted (HUHUA_MAX_REQUEST_BYTES for JSON and forms, the attachment limit for uploads)",
                        "problems": [{"message": "too large", "field": "body"}]}), 413
