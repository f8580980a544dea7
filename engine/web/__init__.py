"""The Flask application: log-in and the JSON API now; the inbox and admin UI join it as blueprints."""

from __future__ import annotations

from typing import Any

from flask import Flask, redirect, url_for

from engine.bootstrap import Huhua, bootstrap


def create_app(huhua: Huhua | None = None, test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app around an engine (a fresh one from the environment when none is given)."""
    app = Flask(__name__)
    app.extensions["huhua"] = huhua or bootstrap()
    # a request may carry the largest attachment allowed, with room for the multipart wrapping around it
    largest = max(64 * 1024 * 1024, app.extensions["huhua"].settings.max_attachment_bytes + 1024 * 1024)
    app.config.update(JSON_AS_ASCII=False, MAX_CONTENT_LENGTH=largest)
    if test_config:
        app.config.update(test_config)
        app.config.setdefault("TRUST_USER_HEADER", bool(test_config.get("TESTING")))
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    from engine.web import assets, auth, error_pages, guard, i18n, observability, request_limits, security_headers
    from engine.web.account import account
    from engine.web.account_api import account_api
    from engine.web.admin import admin
    from engine.web.api import api
    from engine.web.audit_api import audit_api
    from engine.web.counselling_room_api import counselling_room_api
    from engine.web.dashboard_api import dashboard_api
    from engine.web.delivery_api import delivery_api
    from engine.web.inbox import inbox
    from engine.web.monthly import monthly, monthly_api
    from engine.web.notification_api import notification_api
    from engine.web.notification_centre import notification_centre
    from engine.web.notification_choices import notification_choices
    from engine.web.operations_api import operations_api
    from engine.web.probes import probes
    from engine.web.starting import starting
    from engine.web.task_api import task_api

    observability.install(app, app.extensions["huhua"])  # first: every request is timed, refused ones too
    # then a body is bounded before the CSRF check or anything else reads it
    request_limits.install(app, max_request_bytes=app.extensions["huhua"].settings.max_request_bytes)
    auth.install(app, app.extensions["huhua"])
    guard.install(app)  # every endpoint's rule from engine.access.policy, before its view
    i18n.install(app, app.extensions["huhua"].settings.data_dir)
    security_headers.install(app, secure_cookies=app.extensions["huhua"].settings.secure_cookies)
    for blueprint in (api, task_api, dashboard_api, operations_api, account_api, audit_api, counselling_room_api,
                      monthly_api, notification_api, delivery_api):
        # the API authenticates each call by token or session (a session's changes carry its CSRF token in a
        # header, checked by auth.acting_user), and answers JSON only
        auth.csrf.exempt(blueprint)
        app.register_blueprint(blueprint)
    assets.install(app, app.config.get("FRONTEND_BUILD", assets.BUILD))  # refuses to start without the build
    app.register_blueprint(inbox)
    app.register_blueprint(admin)
    app.register_blueprint(account)
    app.register_blueprint(monthly)
    app.register_blueprint(starting)
    app.register_blueprint(notification_centre)
    app.register_blueprint(notification_choices)
    app.register_blueprint(probes)
    app.add_url_rule("/", "index", lambda: redirect(url_for("inbox.home")))
    error_pages.install(app, guard.API_BLUEPRINTS)

    return app
