"""Models compiled once per content: a deployed version's DMN file is read and its texts compiled on first use,
then shared by every instance and thread that evaluates it."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from lxml import etree

from engine.dmn.model import Model
from engine.dmn.xml import PARSER

#: distinct DMN files kept compiled (a deployment holds at most a few dozen; old versions fall out)
KEPT = 256

_models: OrderedDict[str, Model] = OrderedDict()
_lock = threading.Lock()


def compiled(content: bytes) -> Model:
    """The model of a DMN file's ``content``, compiled once per distinct content (by its sha256)."""
    key = hashlib.sha256(content).hexdigest()
    with _lock:
        found = _models.get(key)
        if found is not None:
            _models.move_to_end(key)
            return found
    model = Model([etree.fromstring(content, PARSER)])
    with _lock:
        _models[key] = model
        while len(_models) > KEPT:
            _models.popitem(last=False)
    return model
