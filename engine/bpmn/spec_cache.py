"""Compiled specs per deployed version, parsed at most once per process and shared by all instances."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from engine.bpmn.parser import CompiledProcess


class SpecCache:
    """A bounded, thread-safe map from definition id to its compiled specs."""

    def __init__(self, capacity: int = 512) -> None:
        self._capacity = capacity
        self._items: OrderedDict[int, CompiledProcess] = OrderedDict()
        self._lock = threading.Lock()
        self.builds = 0

    def get(self, definition_id: int, build: Callable[[], CompiledProcess]) -> CompiledProcess:
        with self._lock:
            found = self._items.get(definition_id)
            if found is not None:
                self._items.move_to_end(definition_id)
                return found
        compiled = build()  # outside the lock: parsing may take a while; a duplicate build is harmless
        with self._lock:
            self.builds += 1
            self._items[definition_id] = compiled
            self._items.move_to_end(definition_id)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
        return compiled
