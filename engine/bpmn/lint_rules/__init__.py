"""The semantic rules :func:`engine.bpmn.lint.lint` applies, one module per area of the BPMN spec.

Each rule is a function ``(LintModel) -> Iterable[Problem]``; :data:`RULES` lists them in the order
their findings are most useful to read (identity first, then flow, then details).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from engine.bpmn.lint_rules import (
    activities,
    collaboration,
    connectors,
    credentials,
    data,
    events,
    expressions,
    flows,
    gateways,
    instructions,
    interfaces,
    notify,
    reachability,
    receivers,
    references,
    timers,
)
from engine.bpmn.lint_rules.model import LintModel
from engine.errors import Problem

Rule = Callable[[LintModel], Iterable[Problem]]

RULES: tuple[Rule, ...] = (
    references.check_unique_ids,
    references.check_ids_present,
    references.check_references_resolve,
    references.check_lane_members,
    references.check_called_elements,
    references.check_event_definition_refs_are_root,
    flows.check_flow_ends,
    flows.check_declared_flows,
    flows.check_immediate_flows,
    flows.check_conditional_flows,
    reachability.check_reachable_from_start,
    reachability.check_paths_end,
    reachability.check_start_and_end_pair,
    gateways.check_gateway_directions,
    gateways.check_default_flows,
    gateways.check_gateway_conditions,
    gateways.check_event_based_gateways,
    events.check_start_events,
    events.check_end_events,
    events.check_intermediate_events,
    events.check_boundary_events,
    events.check_link_events,
    events.check_event_references,
    timers.check_timer_definitions,
    receivers.check_receiver_properties,
    activities.check_token_quantities,
    activities.check_loop_limits,
    activities.check_instantiating_receive_tasks,
    activities.check_event_sub_processes,
    activities.check_ad_hoc_sub_processes,
    activities.check_choreography_in_processes,
    activities.check_called_processes_start,
    activities.check_public_processes,
    activities.check_called_decisions,
    data.check_collection_flags,
    data.check_sub_process_io,
    data.check_association_directions,
    data.check_association_types,
    data.check_io_sets,
    data.check_loop_data,
    data.check_data_state_names,
    data.check_data_stores,
    interfaces.check_service_tasks,
    connectors.check_connectors,
    credentials.check_service_task_credentials,
    credentials.check_script_credentials,
    notify.check_notify_tasks,
    interfaces.check_message_tasks,
    interfaces.check_event_data,
    interfaces.check_call_activity_io,
    interfaces.check_exposed_interfaces,
    collaboration.check_message_flows,
    collaboration.check_message_flow_events,
    collaboration.check_participant_multiplicity,
    collaboration.check_conversations,
    expressions.check_formal_expressions_have_a_body,
    expressions.check_natural_language,
    expressions.check_conditions_are_boolean,
    expressions.check_scripts,
    expressions.check_text_formats,
    instructions.check_end_user_instructions,
)

__all__ = ["RULES", "LintModel", "Rule"]
