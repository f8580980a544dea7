"""Semantic validation ("lint") of a BPMN 2.0 document: the spec's rules that the XSD cannot express.

A model that passes the schema can still be meaningless: a flow into another pool, a gateway that
cannot choose, a timer that never fires. :func:`lint` finds these at deploy time, each as a
:class:`~engine.errors.Problem` naming the element, its line and the rule in plain words, so that an
author fixes the model instead of meeting the mistake in a running instance. It reads the tree only;
the rules live in :mod:`engine.bpmn.lint_rules`, one module per area.

Rules, by the ids of the BPMN spec's constraints as catalogued by BPMNspector (``EXT``) plus the
reference checks (``REF``) and a few of Huhua's own (named only):

EXT.002  ids are unique within a file (unique-ids)
EXT.003  flow elements and the processes, messages, signals, errors, escalations they use have an id
EXT.004  a documentation's textFormat is a MIME type
EXT.006  an artifact or data element is not the target of a sequence flow
EXT.007  an artifact or data element is not the source of a sequence flow
EXT.008  an artifact is not the target of a message flow
EXT.009  an artifact is not the source of a message flow
EXT.010  a text annotation's textFormat is a MIME type
EXT.011  a thrown escalation names an escalation, and that escalation has an escalationCode
EXT.012  an expression of an executable process is not a sentence (only prose is refused, see below)
EXT.013  a formal expression, and a timer, has a body
EXT.017  a gateway declared converging has at most one outgoing flow
EXT.018  a gateway declared diverging has at most one incoming flow
EXT.019  a gateway declared mixed has several incoming and several outgoing flows
EXT.020  a data element is a collection exactly when its item definition is one
EXT.021  an event sub-process is not the source of a sequence flow
EXT.022  an event sub-process is not the target of a sequence flow
EXT.023  <incoming>/<outgoing> lists agree with the flows' sourceRef/targetRef
EXT.024  a sequence flow of an executable process is not isImmediate="false"
EXT.025  a conditional flow out of an activity is not its only outgoing flow
EXT.026  a default flow is an outgoing flow of the element that names it
EXT.027  a choreography or global conversation does not reference a choreography
EXT.028  a sequence flow stays inside one pool (process)
EXT.029  a participant's minimum multiplicity is not negative
EXT.030  a participant's maximum multiplicity is at least 1 and at least the minimum
EXT.031  a message flow connects two different pools
EXT.032  a global conversation holds no conversation nodes, associations or artifacts
EXT.033  a collaboration and the choreography it references agree on isClosed
EXT.035  a public process is not executable
EXT.036  a process holds no choreography activities
EXT.037  an activity's startQuantity is at least 1
EXT.038  an activity's completionQuantity is at least 1
EXT.042  a service task calling an operation has exactly one input set
EXT.043  a service task calling an operation has at most one output set
EXT.044  a service task's data inputs are typed like the operation's in-message
EXT.045  a service task's data outputs are typed like the operation's out-message
EXT.046  a send task with a message has at most one input set
EXT.047  a send task with a message has at most one data input
EXT.048  a send task's data input is typed like its message
EXT.049  an instantiating receive task has no incoming flow
EXT.050  a receive task with a message has at most one output set
EXT.051  a receive task with a message has at most one data output
EXT.052  a receive task's data output is typed like its message
EXT.053  a script without scriptFormat is Python (Huhua's language) and parses
EXT.056  a sub-process holds no choreography activities
EXT.057  an event sub-process has no incoming or outgoing sequence flows
EXT.058  an event sub-process has exactly one start event
EXT.059  an event sub-process's start event has a trigger allowed there
EXT.061  an ad-hoc sub-process holds at least one activity
EXT.062  an ad-hoc sub-process holds no start/end events, conversations or choreography activities
EXT.063  a call activity's input/output specification matches the called element's (same file)
EXT.064  a callable element that supports an interface has an ioBinding
EXT.065  an ioBinding binds data typed like the operation's messages
EXT.067  an executable multi-instance activity has a loopCardinality or a loopDataInputRef
EXT.068  a task's loopDataInputRef names one of its data inputs (when it has a specification)
EXT.069  a loop's outputDataItem is a single element of the loopDataOutputRef's type
EXT.070  a loop's inputDataItem is a single element of the loopDataInputRef's type
EXT.071  a completion condition is a condition, not a value
EXT.072  a complex behaviour condition is a condition, not a value
EXT.076  a data object reference labelled "Name [state]" shows its object's name and state
EXT.077  a data object's isCollection matches its item definition
EXT.079  a sub-process has no input/output specification
EXT.080  a data output association does not write into a data input
EXT.081  a data input's isCollection matches its item definition
EXT.082  a data input association does not read from a data output
EXT.083  a data output's isCollection matches its item definition
EXT.084  every data input is in an input set
EXT.085  an input set's optional inputs are among its data inputs
EXT.086  an input set's while-executing inputs are among its data inputs
EXT.087  input and output sets that reference each other do so both ways
EXT.088  every data output is in an output set
EXT.089  an output set's optional outputs are among its data outputs
EXT.090  an output set's while-executing outputs are among its data outputs
EXT.091  without a transformation an association copies between data of the same type
EXT.092  without a transformation an association has at most one source
EXT.093  an event with data has one data input/output per trigger
EXT.094  each event data input/output is typed like its trigger's message, signal, error or escalation
EXT.095  an event definition written inside an event is not used by another event
EXT.096  a start event has no incoming flow
EXT.097  a level with end events has a start event
EXT.098  a process's start events are none, message, timer, conditional or signal events
EXT.099  a process called from the same file has a none start event
EXT.100  a (non-event) sub-process starts with a none start event
EXT.101  a start event has an outgoing flow
EXT.102  a start event does not send a message flow
EXT.103  a start event that receives a message flow is a message start event
EXT.104  an end event has no outgoing flow
EXT.105  a level with start events has an end event
EXT.106  a cancel end event is inside a transaction
EXT.107  an end event has an incoming flow
EXT.108  an end event does not receive a message flow
EXT.109  an end event that sends a message flow is a message end event
EXT.110  a boundary event has a trigger allowed for its (non-)interrupting kind
EXT.111  a cancel boundary event is attached to a transaction
EXT.112  a boundary event has no incoming flow
EXT.113  a (non-compensation) boundary event has an outgoing flow
EXT.114  a compensation boundary event has no outgoing flow
EXT.115  an intermediate event (other than a link catch) has an incoming flow
EXT.116  an intermediate event (other than a link throw) has an outgoing flow
EXT.117  a link catch has no incoming flow and a link throw no outgoing flow
EXT.118  a link throw's explicit target agrees with the pairing by name
EXT.119  an intermediate throw event receives no message flow, a catch event sends none
EXT.120  a cancel boundary event is attached to a transaction (sub-process case)
EXT.121  a process has no compensation start event (reported as EXT.098)
EXT.122  an intermediate catch event in the flow is not a compensation event
EXT.123  a conditional event has a condition, and it is not a sentence
EXT.124  a link catch event has a link throw event of the same name in its level
EXT.125  a link throw event has exactly one link catch event of the same name in its level
EXT.126  a link does not lead into another process level
EXT.127  a message event of an executable process names its message
EXT.129  an event sub-process's start event has a trigger
EXT.130  an interrupting boundary event has a trigger
EXT.131  a timer has at most one of timeDate, timeDuration, timeCycle
EXT.132  a literal timeDate is an ISO-8601 date and time
EXT.133  a literal timeCycle is an ISO-8601 repeating interval
EXT.134  a literal timeDuration is an ISO-8601 duration
EXT.135  a gateway joins or splits (several incoming or several outgoing flows)
EXT.136  an event-based gateway has at least two outgoing flows
EXT.137  a flow out of an event-based gateway has no condition
EXT.138  an event-based gateway leads to receive tasks or message/signal/timer/conditional catch events
EXT.139  an event-based gateway does not mix receive tasks and message catch events
EXT.140  a receive task after an event-based gateway has no boundary events
EXT.141  a target of an event-based gateway has no other incoming flow
EXT.142  an instantiating event-based gateway has no incoming flow
EXT.143  a compensation boundary event is associated with a compensation activity
EXT.144  that activity is marked isForCompensation="true"
EXT.145  a scriptFormat names a language Huhua runs (Python)
EXT.146  an end event's trigger is one an end event may have
EXT.147  a non-interrupting boundary event has a trigger allowed for it
EXT.148  an intermediate catch event's trigger is message, timer, conditional, link or signal
EXT.149  an intermediate throw event's trigger is none, message, escalation, compensation, link or signal
EXT.150  every flow node of a level with start events is reached from one (reachable-from-start)
EXT.151  in a level with end events, activities and gateways have an outgoing flow
EXT.152  a sequence flow does not cross a sub-process border
REF      every reference names an element of the file, of a kind it may name (qualified names bound
         to another namespace point into imported documents and are left to the engine)

Huhua's own, named rules: gateway-conditions (an exclusive gateway's outgoing flows all have conditions
but the default; an inclusive or complex gateway that uses conditions has them on every flow or has a
default), conditional-flow-source (no conditions on flows out of events), lane-members (a lane lists
nodes of its own process), boundary-attachment (a boundary event sits in its activity's level),
error-ref (a thrown error names its error), loop-maximum and loop-cardinality (no negative counts),
called-element (a call activity names what it calls; in this file, something callable),
no-credentials-in-models (HUHUA.CRED.1: a service task's parameters set no credential header, and neither
they nor a script hold a literal token, password or ``Bearer …`` value; credentials come from
config/connectors.toml), notify-task (HUHUA.NOTIFY.1: a ``notify`` service task has a known kind, recipients,
roles of the directory, user tasks of its process and templates that parse; see engine.notifications.operator),
known-connector (HUHUA.CONN.1: a service task names a connector the engine knows, its own or an operator of the
configured connector proxy; see engine.connectors.registry), called-decision (a business rule task names its
decision as <spiffworkflow:calledDecisionId>; older forms are named with the line to write instead), data-stores
(a bpmn:dataStore is refused saying what to use instead: Huhua implements no data store, spiff-arena's
JSONDataStore, KKVDataStore and the like live in its backend).

Left to the XSD, which already refuses them: EXT.014 and EXT.060 (URIs), EXT.039 and EXT.040
(resource assignments), EXT.041, EXT.054 and EXT.055 (two loop markers), EXT.078 (properties).

Deliberately not enforced, because models Huhua must accept break them:
EXT.012's demand that every expression of an executable process be typed xsi:type="tFormalExpression"
(betsy's valid models and Huhua's own processes leave conditions and timers untyped; only prose is
refused); EXT.128's operationRef on message events (Huhua correlates by message, its processes have
none); conditions on flows out of a parallel gateway, which the spec's semantics ignore (betsy's
ParallelGateway_Conditions must run).
"""

from __future__ import annotations

from lxml import etree

from engine.bpmn import schema
from engine.bpmn.dmn_lint import lint_dmn
from engine.bpmn.lint_rules import RULES, LintModel
from engine.connectors.registry import ConnectorRegistry
from engine.dmn.check import check_dmn
from engine.dmn.dialect import PYTHON, dialect
from engine.errors import Problem


def lint(tree: etree._ElementTree, filename: str, *, connectors: ConnectorRegistry | None = None) -> list[Problem]:
    """Every semantic problem of the BPMN document ``tree`` (empty when it has none), in document order.

    Call it on a tree that passed XSD validation: rules rely on the schema's structure (a sequence
    flow has a ``sourceRef``, a timer at most one value) and do not repeat its checks. Non-BPMN
    documents are left alone, but for DMN decision tables (see :mod:`engine.bpmn.dmn_lint`).
    ``connectors`` are those a service task may name (None: not checked, as for a version deployed before).
    """
    if schema.is_dmn(tree):
        return lint_dmn(tree, filename) if dialect(tree.getroot()) == PYTHON else check_dmn(tree, filename)
    if not schema.is_bpmn(tree):
        return []
    model = LintModel(tree, filename, connectors)
    problems: list[Problem] = []
    seen: set[tuple[str, int | None, str | None]] = set()
    for rule in RULES:
        for problem in rule(model):
            key = (problem.message, problem.line, problem.element_id)
            if key not in seen:
                seen.add(key)
                problems.append(problem)
    problems.sort(key=lambda problem: problem.line or 0)
    return problems
