"""What the process modeler's properties panel offers to choose from: the values the engine accepts.

The panel shows selects, not free text, where the set is known — the roles of the org directory, the forms
deployed, the connectors a service task may name, the unit kinds — so an administrator picks what exists;
the deploy path still checks the model (lint, start rule) and refuses what is wrong.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from engine.bootstrap import Huhua
from engine.connectors import BUILT_IN
from engine.notifications.operator import OPERATOR as NOTIFY
from engine.org.directory import ROLES, UNIT_KINDS
from engine.roster import OPERATOR as ROSTER
from engine.runtime.execution import FAN_OUT


def _connector_names() -> dict[str, str]:
    """The connectors (config/connectors.toml) and the operators the engine and its workers answer themselves."""
    return {"http": _("HTTP 调用"), "document": _("生成文书文件"), FAN_OUT: _("下发子流程（每个单位一个实例）"),
            "fan_out_status": _("下发进度"), ROSTER: _("本单位名册"), "official_document": _("公文拟稿与印发"),
            "counselling_room": _("本校心理辅导室登记"), NOTIFY: _("发送通知（催办、督办、危机）")}


def _offered(huhua: Huhua, names: dict[str, str]) -> list[str]:
    """The engine's own connectors, then the connector proxy's operators named exactly (a pattern is no choice)."""
    proxied = [name for name in huhua.services.connectors.registry.proxy_operators if not set("*?") & set(name)]
    return sorted(set(names) | BUILT_IN) + sorted(set(proxied) - BUILT_IN - set(names))


def modeler_settings(huhua: Huhua) -> dict[str, Any]:
    names = _connector_names()
    return {
        "roles": [{"value": code, "name": name} for code, name in ROLES.items()],
        "forms": [{"value": form["key"], "label": f"{form['name']}（{form['key']}）"}
                  for form in huhua.queries.form_names()],
        "connectors": [{"value": key, "label": names.get(key, key)} for key in _offered(huhua, names)],
        "unitKinds": [{"value": kind, "name": name} for kind, (name, _parents) in UNIT_KINDS.items()],
    }
