"""The commands: one dataclass per state change, named as an imperative — what an entry point asks for.

Each is handled by exactly one function (see :mod:`engine.commands.bus`), in one transaction. Entry points
import them from :mod:`engine.commands`; the handlers, and the modules they use, import them from here (that
package's ``__init__`` imports the handlers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from engine.org.directory import Directory

SYSTEM_ACTOR = "system"
#: Who a start comes from (``StartInstance.origin``): a person through an entry point (the API, the CLI, a
#: page), checked against the process's start rule and start form; or the engine itself (the scheduler, a
#: fan-out, a thrown message), which is not. Entry points never set it.
PERSON, ENGINE = "person", "engine"


@dataclass(frozen=True)
class DeployModels:
    """Deploy BPMN/DMN files; processes whose content changed get a new version."""

    files: tuple[tuple[str, bytes], ...]
    actor: str
    source: str = "api"
    name: str | None = None
    #: When given, only processes defined in these files get definitions; the other files are context.
    only_files: frozenset[str] | None = None


@dataclass(frozen=True)
class DeployProcessModel:
    """Deploy one spiff-arena process model (a folder holding ``process_model.json``) under its folder's identity.

    ``path`` is the folder's path below the group root (``misc/category_number_one/hello_world``): the model's
    identity, which owns the ids of the processes its files define. ``files`` are the folder's own BPMN, DMN and
    JSON files by their name in it; ``context`` holds other models' files its call activities and business rule
    tasks need, by their path from the root (deployed alongside, but no versions of theirs are made here).
    """

    path: str
    display_name: str
    description: str
    primary_file_name: str
    primary_process_id: str
    files: tuple[tuple[str, bytes], ...]
    actor: str
    context: tuple[tuple[str, bytes], ...] = ()
    source: str = "cli"


@dataclass(frozen=True)
class DeployEditedProcess:
    """Deploy a process version's BPMN file as edited in the modeler: its deployment's other files go along."""

    definition_id: int
    xml: str
    actor: str


@dataclass(frozen=True)
class DeployEditedDecision:
    """Deploy a process version's DMN decision table as edited: its users get new versions, its other files go along."""

    definition_id: int
    decision_id: str
    xml: str
    actor: str


@dataclass(frozen=True)
class DeployEditedForm:
    """Deploy a process version's task form as edited: a new form version, and new versions of its users."""

    definition_id: int
    form_key: str
    schema: dict[str, Any]
    actor: str


@dataclass(frozen=True)
class DeployShippedProcesses:
    """Deploy files under ``processes/`` that changed since they were last shipped."""

    directory: str
    actor: str = SYSTEM_ACTOR


@dataclass(frozen=True)
class StartInstance:
    """Start an instance of the newest version of a process.

    A start by a ``PERSON`` (the default, and the only origin an entry point may use) is checked against the
    process's start rule and start form (:mod:`engine.access.starting`); ``ENGINE`` is for the engine's own
    starts (and tests standing for the scheduler or a fan-out).
    """

    process_key: str
    actor: str
    variables: dict[str, Any] = field(default_factory=dict)
    org_scope: str | None = None
    business_key: str | None = None
    origin: str = PERSON


@dataclass(frozen=True)
class CompleteTask:
    task_id: int
    actor: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CorrelateMessage:
    """Deliver a named message to the instance(s) waiting for it under ``correlation_key`` (without one: only to
    catches that take keyless messages), among those ``actor`` may deliver to (engine.access.messages)."""

    message_name: str
    actor: str
    correlation_key: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    deliver_to_all: bool = False


@dataclass(frozen=True)
class ThrowSignal:
    """Throw a named signal from outside: it reaches every waiting instance ``actor`` may deliver it to, and starts
    each process that starts with it where ``actor`` may start it (engine.access.messages), at ``org_scope``."""

    signal_name: str
    actor: str
    variables: dict[str, Any] = field(default_factory=dict)
    org_scope: str | None = None


@dataclass(frozen=True)
class FireSchedule:
    """Start the work of one occurrence of a schedule, unless that occurrence already started."""

    schedule_key: str
    fire_time: datetime
    process_key: str
    org_unit: str = ""
    late: bool = False
    actor: str = "scheduler"
    #: Start one instance per org unit of this kind, through ``scheduled_start`` jobs.
    for_each: str | None = None
    #: The timer start event the instances start through (a schedule from a BPMN timer start event).
    start_event: str | None = None
    #: The occurrence's start variables (the schedule's, rendered from the fire time).
    variables: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadShippedSchedules:
    """Load the schedules of ``config/schedules.toml`` whose entry changed since it was last loaded."""

    path: str
    actor: str = SYSTEM_ACTOR


@dataclass(frozen=True)
class ChangeSchedule:
    """An administrator's change to a schedule: pause or enable it, or change its rule, months, time or start
    variables (``changes`` holds the entry fields to set; a field set to None is removed)."""

    schedule_key: str
    actor: str
    changes: dict[str, Any]


@dataclass(frozen=True)
class SetTermCalendar:
    """An administrator's setting of the school term calendar: holiday months and semester dates (fields left
    out keep their value)."""

    actor: str
    values: dict[str, Any]


@dataclass(frozen=True)
class MarkSchedulesChecked:
    """Record how far the scheduler has looked at each schedule, so a restart knows what it missed."""

    checked_until: dict[str, datetime]
    actor: str = "scheduler"


@dataclass(frozen=True)
class StartScheduledUnits:
    """Run ``scheduled_start`` jobs: start their org units' instances of a fanned-out occurrence, each at most once."""

    job_ids: tuple[int, ...]
    actor: str = "scheduler"


@dataclass(frozen=True)
class ClaimDueJobs:
    """Lease due jobs to a worker for ``lease_seconds``; the worker runs them before the lease ends."""

    worker: str
    limit: int = 20
    lease_seconds: int = 60
    actor: str = SYSTEM_ACTOR


@dataclass(frozen=True)
class RenewLeases:
    """Keep a worker's claim on jobs it has not run yet (a batch that takes longer than the lease)."""

    worker: str
    job_ids: tuple[int, ...]
    lease_seconds: int = 60
    actor: str = SYSTEM_ACTOR


@dataclass(frozen=True)
class ReleaseLeases:
    """Hand back a stopping worker's claim on jobs it will not run, so another worker takes them now rather than
    when the lease would have ended."""

    worker: str
    job_ids: tuple[int, ...]
    actor: str = SYSTEM_ACTOR


@dataclass(frozen=True)
class RecordJobFailure:
    """Note that running a job failed: retry it later with backoff, or give up after the last attempt — at once
    when the failure is ``permanent`` (it would come again: an unknown connector, a 4xx answer, a refused address)."""

    job_id: int
    error: str
    actor: str = SYSTEM_ACTOR
    permanent: bool = False


@dataclass(frozen=True)
class FireTimer:
    """Fire one due timer job; retried on a version conflict because nobody waits on it."""

    job_id: int
    actor: str = SYSTEM_ACTOR


@dataclass(frozen=True)
class RunOfficialDocumentStep:
    """Run an ``official_document`` service task: compose and store a draft, or issue it under the next 文号."""

    job_id: int
    actor: str = SYSTEM_ACTOR


@dataclass(frozen=True)
class RunNotifyStep:
    """Run a ``notify`` service task: tell its recipients and release the task, in one transaction."""

    job_id: int
    actor: str = SYSTEM_ACTOR


@dataclass(frozen=True)
class SetDocumentCode:
    """Set a unit's 发文机关代字 (衡教通); the unit's next issued document is numbered under it."""

    unit_id: str
    code: str
    actor: str


@dataclass(frozen=True)
class RunHeldTask:
    """Run a service task with the ``result`` its worker got from the connector, or an async continuation.

    ``documents`` (name, content type, bytes) are stored with the release; their ids join the result.
    """

    job_id: int
    result: Any = None
    actor: str = SYSTEM_ACTOR
    documents: tuple[Any, ...] = ()


@dataclass(frozen=True)
class RaiseServiceError:
    """A service task's connector failed for good with ``error_code``: throw it as that BPMN error at the task
    when the model catches it (an error boundary event, an enclosing sub-process's); else change nothing and
    answer ``caught: False`` (the failure then becomes an incident)."""

    job_id: int
    error_code: str
    details: dict[str, Any] = field(default_factory=dict)
    actor: str = SYSTEM_ACTOR


@dataclass(frozen=True)
class SetWorkday:
    """Make one date a working day or a holiday, whatever the official calendar says (replaces an earlier ruling)."""

    day: date | str  # a date, or YYYY-MM-DD
    working: bool
    actor: str
    note: str | None = None


@dataclass(frozen=True)
class ClearWorkday:
    """Withdraw the ruling on one date, so the official calendar (or Monday to Friday) decides again."""

    day: date | str  # a date, or YYYY-MM-DD
    actor: str


@dataclass(frozen=True)
class LoadDirectory:
    """Replace the org directory with ``directory`` (checked whole first; nothing changes if a row is bad)."""

    directory: Directory
    actor: str
    source: str = "directory"


@dataclass(frozen=True)
class AddWebhook:
    """Subscribe ``url`` to engine events ('*' or a comma-separated list of kinds); a secret is made if none given."""

    url: str
    actor: str
    events: str = "*"
    secret: str | None = None


@dataclass(frozen=True)
class RemoveWebhook:
    subscription_id: int
    actor: str


@dataclass(frozen=True)
class RotateWebhookSecret:
    """Give a subscription a new secret (made if none given); the old one still signs for ``grace_hours``."""

    subscription_id: int
    actor: str
    secret: str | None = None
    grace_hours: float = 24.0


@dataclass(frozen=True)
class SetPersonContact:
    """Correct one person's e-mail address and phone number (a mobile or a landline) in the directory (None or
    '': none)."""

    person_id: str
    actor: str
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class FinishJob:
    """Mark a job done whose work happened outside the engine (a webhook was delivered)."""

    job_id: int
    actor: str = SYSTEM_ACTOR


@dataclass(frozen=True)
class ReceiveWebhook:
    """An inbound request to deliver a message, applied once per idempotency key of its caller (``actor``)."""

    idempotency_key: str
    message_name: str
    actor: str
    correlation_key: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StartChildren:
    """Run ``child_start`` jobs: start a fan-out's child instances, one per unit, each at most once."""

    job_ids: tuple[int, ...]
    actor: str = SYSTEM_ACTOR


@dataclass(frozen=True)
class ClaimTask:
    """Take an unassigned task one is a candidate for."""

    task_id: int
    actor: str


@dataclass(frozen=True)
class UnclaimTask:
    """Give a claimed task back to its candidates."""

    task_id: int
    actor: str


@dataclass(frozen=True)
class DelegateTask:
    """Hand one's task to a colleague, who completes it instead."""

    task_id: int
    actor: str
    to: str
    reason: str | None = None


@dataclass(frozen=True)
class ReassignTask:
    """Give a task to someone else (or back to its candidates, ``to=None``): the administrator or the tier above."""

    task_id: int
    actor: str
    to: str | None
    reason: str | None = None


@dataclass(frozen=True)
class SetPassword:
    """Create a person's log-in account, or give it a new password."""

    username: str
    password: str
    actor: str
    is_admin: bool = False


@dataclass(frozen=True)
class CreateApiToken:
    """A new token for a program acting as ``username``; the token is in the answer and nowhere else.

    It lasts ``days`` (the configured default when None, never more than the configured maximum). One makes
    tokens for oneself; the administrator for anyone.
    """

    username: str
    name: str
    actor: str
    days: int | None = None


@dataclass(frozen=True)
class SetServiceAccount:
    """Create or change a service account: a system that delivers the named messages (within ``scope_unit``)."""

    name: str
    messages: tuple[str, ...]
    actor: str
    scope_unit: str | None = None


@dataclass(frozen=True)
class RevokeApiToken:
    """Stop a token: its owner's own, or (the administrator) anyone's; another's id is as unknown as a missing one."""

    token_id: int
    actor: str


@dataclass(frozen=True)
class TouchApiToken:
    """Note that a token was used now (kept to about a minute, so a busy program does not write on every call)."""

    token_id: int


@dataclass(frozen=True)
class LogIn:
    """Try a password under the log-in throttle; if it opens the account, start a session of ``lifetime_minutes``.

    Answers ``outcome``: ``ok`` (with the new ``session_key``), ``refused`` or ``locked`` (with ``until``):
    a failure is recorded, not raised, so that it counts. The throttle runs on the engine clock; a session's
    lifetime on the people's clock, ``person_now`` (the wall clock: a year simulated on a virtual clock must
    not log everyone out), so the session is asked about with that clock too.
    """

    username: str
    password: str
    remote: str | None
    lifetime_minutes: int
    person_now: datetime


@dataclass(frozen=True)
class ChangeOwnPassword:
    """A person changes their own password, proving the current one (under the log-in throttle, so a borrowed
    session cannot guess it). Every session of theirs ends; this browser gets a new one of ``lifetime_minutes``.
    Answers ``outcome`` like :class:`LogIn`."""

    username: str
    current_password: str
    new_password: str
    remote: str | None
    lifetime_minutes: int
    person_now: datetime


@dataclass(frozen=True)
class LogOut:
    """End one session (the one whose key the browser's cookie holds)."""

    session_key: str


@dataclass(frozen=True)
class SetAccountActive:
    """Deactivate an account (its sessions end, its tokens stop) or make it active again (administrator)."""

    username: str
    active: bool
    actor: str


@dataclass(frozen=True)
class UnlockLogIn:
    """Forget an account's failed log-ins: a person locked out by others' guessing may log in (administrator)."""

    username: str
    actor: str


@dataclass(frozen=True)
class RetryIncidents:
    """Run an instance's failed step again (``variables`` added to it first) and make its failed jobs due again."""

    instance_id: int
    actor: str
    variables: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SuspendInstance:
    """Hold an instance: nothing moves (completions refused, jobs wait) until it is resumed."""

    instance_id: int
    actor: str
    reason: str | None = None


@dataclass(frozen=True)
class ResumeInstance:
    instance_id: int
    actor: str


@dataclass(frozen=True)
class TerminateInstance:
    """End an instance for good, and the children its fan-outs started."""

    instance_id: int
    actor: str
    reason: str | None = None


@dataclass(frozen=True)
class AddComment:
    """Remark on a task (who may see the task may comment; the entry point checks that)."""

    task_id: int
    actor: str
    body: str


@dataclass(frozen=True)
class SaveFilter:
    """Name and keep a person's inbox filter; saving under a name they already use replaces that filter."""

    owner: str
    name: str
    filters: dict[str, Any]


@dataclass(frozen=True)
class DeleteFilter:
    """Remove one of a person's saved filters (nobody else's)."""

    filter_id: int
    owner: str


@dataclass(frozen=True)
class AddAttachment:
    """Attach a file to a task (who may see the task may attach; the entry point checks that)."""

    task_id: int
    actor: str
    filename: str
    content: bytes


@dataclass(frozen=True)
class RecordCaseRead:
    """Note in the audit log that ``actor`` read confidential case ``instance_id`` (``what``: instance, history,
    task, document …) through ``surface`` (api, page or cli), with the access they had."""

    instance_id: int
    actor: str
    surface: str
    what: str
    access: str | None = None


@dataclass(frozen=True)
class SetNotificationChoices:
    """A person's own choices (``actor``'s, nobody else's): channels per kind of notification, and quiet hours."""

    actor: str
    #: kind → the channels chosen (engine.notifications.kinds.CHANNELS), or None to follow the defaults again
    #: (the administrator's for the person's roles, else the kind's); kinds not named keep what they had.
    choices: dict[str, Any] = field(default_factory=dict)
    #: None: unchanged; ``"default"``: the server's; ``"none"``: never quiet; ``"22:00-07:00"``: from–until
    #: (Beijing time, may span midnight).
    quiet_hours: str | None = None


@dataclass(frozen=True)
class SetRoleNotificationDefaults:
    """The administrator's default channels for holders of ``role``, per kind (None: the kind's own default)."""

    actor: str
    role: str
    defaults: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MarkNotificationsRead:
    """Mark one of ``actor``'s notifications read, or (``notification_id`` None) all of them."""

    actor: str
    notification_id: int | None = None


@dataclass(frozen=True)
class NotifyPeople:
    """Tell people something by hand (the administrator): a notification of ``kind`` through their channels."""

    actor: str
    kind: str
    subject: str
    body: str
    people: tuple[str, ...]
    link: str | None = None
    task_id: int | None = None
    #: Tells each person once per key; None: a new key each time.
    dedupe_key: str | None = None


@dataclass(frozen=True)
class TellOfEvents:
    """Tell the people a ``notify_event`` job's events concern (a task offered, assigned, claimed, returned; a
    document issued), once each however often the job runs."""

    job_id: int
    actor: str = SYSTEM_ACTOR


@dataclass(frozen=True)
class PlanNotificationSweep:
    """Make sure exactly one morning sweep (due reminders, digests) is waiting: ``huhua serve``, ``worker`` and
    ``scheduler`` ask for it when they start."""

    actor: str = SYSTEM_ACTOR


@dataclass(frozen=True)
class SweepNotifications:
    """The working morning's sweep (a ``notify_sweep`` job): due-tomorrow, due-today and overdue reminders, the
    daily digest, on the week's first working day the leaders' weekly digest; then the next morning's sweep."""

    job_id: int
    actor: str = SYSTEM_ACTOR


@dataclass(frozen=True)
class FinishDelivery:
    """A notification delivery went out: mark it sent with the provider's answer, and its job done.

    ``notification_ids`` are those the worker sent; any added to a robot batch after it was read move to a new
    delivery, so none is lost."""

    job_id: int
    delivery_id: int
    answer: str
    notification_ids: tuple[int, ...]
    actor: str = SYSTEM_ACTOR


@dataclass(frozen=True)
class RecordDeliveryFailure:
    """Sending a delivery failed (or the provider refused it): note why, and retry its job with backoff."""

    job_id: int
    delivery_id: int
    error: str
    answer: str | None = None
    actor: str = SYSTEM_ACTOR


@dataclass(frozen=True)
class DeferDelivery:
    """The channel's per-minute limit is reached: send this delivery at ``until`` instead (not a failure)."""

    job_id: int
    delivery_id: int
    until: datetime
    actor: str = SYSTEM_ACTOR


@dataclass(frozen=True)
class ReplayDelivery:
    """Send a failed or sent delivery again (administrator): pending with a new job. A failed one keeps its message
    id (a receiver drops it if an unrecorded attempt got through); a sent one gets a new id, so it shows again."""

    delivery_id: int
    actor: str


@dataclass(frozen=True)
class SendNotice:
    """The administrator's notice (kind ``message``) to people by id or to holders of a role at a unit
    (``role@unit``), through the channels each chose."""

    actor: str
    recipients: tuple[str, ...]
    subject: str
    body: str = ""
    link: str | None = None
    #: Send through these channels (besides the in-app centre) whatever people chose; empty: as each chose.
    channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class SendTestNotification:
    """A test message to one person through one channel now (``huhua notify test``): the notification, and for an
    outside channel a delivery whose job the caller runs at once (leased to ``actor`` so no worker takes it)."""

    person_id: str
    channel: str
    actor: str


@dataclass(frozen=True)
class ApplyRetention:
    """Delete what the retention policy no longer keeps, at most ``batch`` rows of each kind (``huhua retention``
    calls it until nothing is left); ``dry_run`` only counts."""

    actor: str
    job_days: int
    draft_days: int
    notification_days: int
    dry_run: bool = False
    batch: int = 5_000
