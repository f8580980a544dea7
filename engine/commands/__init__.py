"""The command layer: the only way entry points change state.

Commands are dataclasses (:mod:`engine.commands.model`); each has one handler; the
:class:`~engine.commands.bus.CommandBus` runs it in one transaction.
"""

from engine.commands.accounts import create_api_token, record_login, revoke_api_token, set_password
from engine.commands.calendar import clear_workday, set_workday
from engine.commands.deployment import (
    deploy_edited_decision,
    deploy_edited_form,
    deploy_edited_process,
    deploy_models,
    deploy_shipped_processes,
)
from engine.commands.fan_out import start_children
from engine.commands.inbox import add_attachment, delete_filter, save_filter
from engine.commands.incidents import retry_incidents
from engine.commands.instance_control import resume_instance, suspend_instance, terminate_instance
from engine.commands.instances import correlate_message, fire_timer, run_held_task, start_instance
from engine.commands.jobs import claim_due_jobs, record_job_failure, renew_leases
from engine.commands.migration import IncompatibleMigration, MigrateInstance, migrate_instance
from engine.commands.model import (
    ENGINE,
    PERSON,
    AddAttachment,
    AddComment,
    AddWebhook,
    ClaimDueJobs,
    ClaimTask,
    ClearWorkday,
    CompleteTask,
    CorrelateMessage,
    CreateApiToken,
    DelegateTask,
    DeleteFilter,
    DeployEditedDecision,
    DeployEditedForm,
    DeployEditedProcess,
    DeployModels,
    DeployShippedProcesses,
    FinishJob,
    FireSchedule,
    FireTimer,
    LoadDirectory,
    MarkSchedulesChecked,
    ReassignTask,
    ReceiveWebhook,
    RecordJobFailure,
    RecordLogin,
    RemoveWebhook,
    RenewLeases,
    ResumeInstance,
    RetryIncidents,
    RevokeApiToken,
    RunHeldTask,
    SaveFilter,
    SetPassword,
    SetWorkday,
    StartChildren,
    StartInstance,
    StartScheduledUnits,
    SuspendInstance,
    TerminateInstance,
    UnclaimTask,
)
from engine.commands.org import load_directory
from engine.commands.schedules import fire_schedule, mark_schedules_checked, start_scheduled_units
from engine.commands.task_assignment import add_comment, claim_task, delegate_task, reassign_task, unclaim_task
from engine.commands.tasks import complete_task
from engine.commands.webhooks import add_webhook, finish_job, receive_webhook, remove_webhook

HANDLERS = {
    DeployModels: deploy_models,
    DeployEditedDecision: deploy_edited_decision,
    DeployEditedForm: deploy_edited_form,
    DeployEditedProcess: deploy_edited_process,
    DeployShippedProcesses: deploy_shipped_processes,
    StartInstance: start_instance,
    CompleteTask: complete_task,
    CorrelateMessage: correlate_message,
    FireTimer: fire_timer,
    ClaimDueJobs: claim_due_jobs,
    FireSchedule: fire_schedule,
    RecordJobFailure: record_job_failure,
    SetWorkday: set_workday,
    ClearWorkday: clear_workday,
    LoadDirectory: load_directory,
    StartScheduledUnits: start_scheduled_units,
    MarkSchedulesChecked: mark_schedules_checked,
    RunHeldTask: run_held_task,
    AddWebhook: add_webhook,
    RemoveWebhook: remove_webhook,
    FinishJob: finish_job,
    ReceiveWebhook: receive_webhook,
    StartChildren: start_children,
    ClaimTask: claim_task,
    UnclaimTask: unclaim_task,
    DelegateTask: delegate_task,
    ReassignTask: reassign_task,
    SetPassword: set_password,
    RecordLogin: record_login,
    CreateApiToken: create_api_token,
    RevokeApiToken: revoke_api_token,
    RenewLeases: renew_leases,
    RetryIncidents: retry_incidents,
    SuspendInstance: suspend_instance,
    ResumeInstance: resume_instance,
    TerminateInstance: terminate_instance,
    AddComment: add_comment,
    MigrateInstance: migrate_instance,
    SaveFilter: save_filter,
    DeleteFilter: delete_filter,
    AddAttachment: add_attachment,
}

#: Commands nobody waits on: a version conflict is retried with backoff instead of reported.
RETRY_ON_CONFLICT = frozenset({FireTimer, RecordJobFailure, ClaimDueJobs, RenewLeases, StartScheduledUnits, RunHeldTask,
                               FinishJob, ReceiveWebhook, StartChildren})

__all__ = [
    "ENGINE",
    "HANDLERS",
    "PERSON",
    "RETRY_ON_CONFLICT",
    "AddAttachment",
    "AddComment",
    "AddWebhook",
    "ClaimDueJobs",
    "ClaimTask",
    "ClearWorkday",
    "CompleteTask",
    "CorrelateMessage",
    "CreateApiToken",
    "DelegateTask",
    "DeleteFilter",
    "DeployEditedDecision",
    "DeployEditedForm",
    "DeployEditedProcess",
    "DeployModels",
    "DeployShippedProcesses",
    "FinishJob",
    "FireSchedule",
    "FireTimer",
    "IncompatibleMigration",
    "LoadDirectory",
    "MarkSchedulesChecked",
    "MigrateInstance",
    "ReassignTask",
    "ReceiveWebhook",
    "RecordJobFailure",
    "RecordLogin",
    "RemoveWebhook",
    "RenewLeases",
    "ResumeInstance",
    "RetryIncidents",
    "RevokeApiToken",
    "RunHeldTask",
    "SaveFilter",
    "SetPassword",
    "SetWorkday",
    "StartChildren",
    "StartInstance",
    "StartScheduledUnits",
    "SuspendInstance",
    "TerminateInstance",
    "UnclaimTask",
]
