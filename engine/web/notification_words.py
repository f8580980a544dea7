"""The words the notification pages show for the engine's codes, in the reader's language: kinds of notification,
channels, roles, where a choice comes from and why a channel cannot be used. The Chinese is written here (as in
the templates), the English comes from the pages' catalogue; a code without words shows as it is."""

from __future__ import annotations

from flask_babel import gettext


def kind_label(code: str) -> str:
    """engine.notifications.kinds: the same Chinese as its ``label``, translated."""
    return {
        "task_offered": gettext("新的待认领任务"), "task_assigned": gettext("分派给我的任务"),
        "task_due_tomorrow": gettext("任务明天到期"), "task_due_today": gettext("任务今天到期"),
        "task_overdue": gettext("任务已逾期"), "task_returned": gettext("任务被退回修改"),
        "task_claimed": gettext("任务已由同事认领"), "reminder": gettext("催办提醒"), "escalation": gettext("督办通知"),
        "crisis": gettext("危机个案紧急通知"), "document_issued": gettext("下发本单位的公文"),
        "digest_daily": gettext("每日待办摘要"), "digest_weekly": gettext("每周工作摘要（领导）"),
        "message": gettext("流程通知"),
    }.get(code, code)


def channel_label(code: str) -> str:
    return {"inbox": gettext("在站内"), "email": gettext("邮件"), "wecom": gettext("企业微信群"),
            "dingtalk": gettext("钉钉群"), "sms": gettext("短信")}.get(code, code)


def role_label(code: str) -> str:
    """engine.org.directory.ROLES, translated."""
    return {
        "bureau_head": gettext("局长"), "deputy_head": gettext("分管副局长"), "department_head": gettext("科室负责人"),
        "programme_officer": gettext("专项负责人"), "principal": gettext("校长"),
        "moral_education_head": gettext("德育处主任"), "class_teacher": gettext("班主任"),
        "mh_teacher_full": gettext("专职心理健康教育教师"), "mh_teacher_part": gettext("兼职心理健康教育教师"),
        "subject_teacher": gettext("任课教师"), "duty_counsellor": gettext("值班辅导教师"), "expert": gettext("专家"),
        "inspector": gettext("纪检监察"), "credit_registrar": gettext("学分登记员"), "researcher": gettext("教研员"),
    }.get(code, code)


def unavailable_reason(code: str) -> str:
    """Why a channel cannot reach the person (engine.queries.notifications.unavailable_channels)."""
    return {"not_set_up": gettext("本系统尚未开通"), "no_robot": gettext("您所在单位尚未配置群机器人"),
            "no_email": gettext("通讯录中没有您的邮箱"), "no_phone": gettext("通讯录中没有您的手机号"),
            "no_template": gettext("此类通知没有短信模板"),
            "private_kind": gettext("涉及学生个案的紧急通知不发到群")}.get(code, code)
