"""The tables as SQLAlchemy Core objects, for the command layer's statements.

Commands write with Core statements on one connection: an ORM unit of work per command costs more
than the engine step it persists. The ORM classes in :mod:`engine.store.models` define the tables.
"""

from sqlalchemy import Table

from engine.store import models, programme_models

deployment: Table = models.Deployment.__table__  # type: ignore[assignment]
deployment_resource: Table = models.DeploymentResource.__table__  # type: ignore[assignment]
process_definition: Table = models.ProcessDefinition.__table__  # type: ignore[assignment]
shipped_file: Table = models.ShippedFile.__table__  # type: ignore[assignment]
process_instance: Table = models.ProcessInstance.__table__  # type: ignore[assignment]
human_task: Table = models.HumanTask.__table__  # type: ignore[assignment]
task_candidate: Table = models.TaskCandidate.__table__  # type: ignore[assignment]
item_group: Table = models.ItemGroup.__table__  # type: ignore[assignment]
job: Table = models.Job.__table__  # type: ignore[assignment]
message_subscription: Table = models.MessageSubscription.__table__  # type: ignore[assignment]
start_trigger: Table = models.StartTrigger.__table__  # type: ignore[assignment]
incident: Table = models.Incident.__table__  # type: ignore[assignment]
event: Table = models.Event.__table__  # type: ignore[assignment]
workday_override: Table = models.WorkdayOverride.__table__  # type: ignore[assignment]
schedule_fire: Table = models.ScheduleFire.__table__  # type: ignore[assignment]
schedule_watermark: Table = models.ScheduleWatermark.__table__  # type: ignore[assignment]
schedule_definition: Table = models.ScheduleDefinition.__table__  # type: ignore[assignment]
term_calendar: Table = models.TermCalendarSetting.__table__  # type: ignore[assignment]
org_unit: Table = models.OrgUnit.__table__  # type: ignore[assignment]
person: Table = models.Person.__table__  # type: ignore[assignment]
role_assignment: Table = models.RoleAssignment.__table__  # type: ignore[assignment]
webhook_subscription: Table = models.WebhookSubscription.__table__  # type: ignore[assignment]
inbound_webhook: Table = models.InboundWebhook.__table__  # type: ignore[assignment]
fan_out: Table = models.FanOut.__table__  # type: ignore[assignment]
fan_out_child: Table = models.FanOutChild.__table__  # type: ignore[assignment]
form_definition: Table = models.FormDefinition.__table__  # type: ignore[assignment]
document: Table = models.Document.__table__  # type: ignore[assignment]
official_document: Table = programme_models.OfficialDocument.__table__  # type: ignore[assignment]
document_sequence: Table = programme_models.DocumentSequence.__table__  # type: ignore[assignment]
document_code: Table = programme_models.DocumentCode.__table__  # type: ignore[assignment]
account: Table = models.Account.__table__  # type: ignore[assignment]
api_token: Table = models.ApiToken.__table__  # type: ignore[assignment]
account_session: Table = models.AccountSession.__table__  # type: ignore[assignment]
login_failure: Table = models.LoginFailure.__table__  # type: ignore[assignment]
task_comment: Table = models.TaskComment.__table__  # type: ignore[assignment]
definition_artifact: Table = models.DefinitionArtifact.__table__  # type: ignore[assignment]
instance_figure: Table = models.InstanceFigure.__table__  # type: ignore[assignment]
training_attendance: Table = programme_models.TrainingAttendance.__table__  # type: ignore[assignment]
saved_filter: Table = models.SavedFilter.__table__  # type: ignore[assignment]
task_attachment: Table = models.TaskAttachment.__table__  # type: ignore[assignment]
audit_log: Table = models.AuditEntry.__table__  # type: ignore[assignment]
counselling_room: Table = programme_models.CounsellingRoom.__table__  # type: ignore[assignment]
teacher_appraisal: Table = programme_models.TeacherAppraisal.__table__  # type: ignore[assignment]
