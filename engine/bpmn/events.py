"""Event definitions SpiffWorkflow's parser drops, parsed by Huhua's event parsers.

SpiffWorkflow reads signal end events and error or escalation start events (of event sub-processes)
as plain none events: the signal is never sent, the error never caught. These parsers read the full
set of definitions BPMN allows in each position.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.parser.event_parsers import (
    CANCEL_EVENT_XPATH,
    CONDITIONAL_EVENT_XPATH,
    ERROR_EVENT_XPATH,
    ESCALATION_EVENT_XPATH,
    MESSAGE_EVENT_XPATH,
    SIGNAL_EVENT_XPATH,
    TERMINATION_EVENT_XPATH,
    TIMER_EVENT_XPATH,
)
from SpiffWorkflow.spiff.parser.event_parsers import SpiffStartEventParser

from engine.bpmn.compensation import CompensationStartDefinition
from engine.bpmn.compensation import EndEventParser as CompensatingEndEventParser

START_DEFINITIONS = [MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH, TIMER_EVENT_XPATH, CONDITIONAL_EVENT_XPATH,
                     ERROR_EVENT_XPATH, ESCALATION_EVENT_XPATH]
END_DEFINITIONS = [MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH, CANCEL_EVENT_XPATH, ERROR_EVENT_XPATH,
                   ESCALATION_EVENT_XPATH, TERMINATION_EVENT_XPATH]


class StartEventParser(SpiffStartEventParser):
    """Start events, including the error, escalation and compensation starts of event sub-processes."""

    def create_task(self) -> Any:
        compensation = self.node.find("{http://www.omg.org/spec/BPMN/20100524/MODEL}compensateEventDefinition")
        definition = CompensationStartDefinition(description="Compensation") if compensation is not None \
            else self.get_event_definition(START_DEFINITIONS)
        task = self._create_task(definition)
        task.interrupting = self.node.get("isInterrupting", "true") == "true"  # read by event sub-processes
        self.spec.start.connect(task)
        return task


class EndEventParser(CompensatingEndEventParser):
    """End events, including signal, compensation and (compensating) cancel end events."""

    def create_task(self) -> Any:
        if self.node.find(".//{http://www.omg.org/spec/BPMN/20100524/MODEL}compensateEventDefinition") is not None:
            return super().create_task()
        if self.node.find("{http://www.omg.org/spec/BPMN/20100524/MODEL}cancelEventDefinition") is not None:
            return self.cancel_task()
        task = self._create_task(self.get_event_definition(END_DEFINITIONS))
        task.connect(self.spec.end)
        return task
