"""Settings, read once from the environment (and ``config/``) into a frozen dataclass.

Nothing here connects to anything: :func:`load_settings` only reads values.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from engine.locations import PROJECT_ROOT as PROJECT_ROOT  # re-exported: the checkout, for bench/ and tests
from engine.locations import default_config, default_data_dir, process_library

#: The largest BPMN/DMN file accepted, in bytes. Real diagrams are well under 1 MB.
DEFAULT_MAX_MODEL_BYTES = 5 * 1024 * 1024
#: The largest file a person may attach to a task (a scanned form, a photo from a phone, a spreadsheet).
DEFAULT_MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
#: The largest request body that is not a file upload (JSON, forms): room for a model sent as JSON, no more.
DEFAULT_MAX_REQUEST_BYTES = 8 * 1024 * 1024
#: The largest set of variables one call may bring (start, completion, message, retry), as JSON.
DEFAULT_MAX_VARIABLES_BYTES = 1024 * 1024
#: How long an API token lasts unless its maker asks for less, and the longest any token may last, in days.
DEFAULT_TOKEN_DAYS = 90
DEFAULT_TOKEN_MAX_DAYS = 365
#: Wrong passwords within 15 minutes that lock log-in for 15 minutes: for one account name, from one address.
DEFAULT_LOGIN_ACCOUNT_LIMIT = 5
DEFAULT_LOGIN_ADDRESS_LIMIT = 50
#: The shipped configuration files (``config/`` of the checkout, or inside the installed wheel).
DEFAULT_SCHEDULES = default_config("schedules.toml")
DEFAULT_CONNECTORS = default_config("connectors.toml")
DEFAULT_NOTIFICATIONS = default_config("notifications.toml")


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    processes_dir: Path
    max_model_bytes: int = DEFAULT_MAX_MODEL_BYTES
    #: Free-form identifier of this process, for logs (and the job leases of the workers to come).
    node_name: str = "huhua"
    #: Budget of one script or expression evaluation (see engine/runtime/scripting.py).
    script_seconds: float = 1.0
    script_max_elements: int = 10_000_000
    script_max_memory_mb: int = 1024
    #: The schedules file (see config/schedules.toml).
    schedules_file: Path = DEFAULT_SCHEDULES
    #: None for the wall clock; an aware instant to run on a virtual clock that starts there (simulations).
    virtual_clock_start: datetime | None = None
    #: A virtual clock shared with other processes on this machine (``HUHUA_VIRTUAL_CLOCK_FILE``): the workers of
    #: a simulation read the simulator's time there (engine.clock.SharedVirtualClock).
    virtual_clock_file: Path | None = None
    #: Days the retention policy keeps finished jobs, superseded or issued drafts' files, and read notifications
    #: (``HUHUA_RETAIN_JOB_DAYS``, ``…_DRAFT_DAYS``, ``…_NOTIFICATION_DAYS``; 0 keeps them; engine.commands.retention).
    retain_job_days: int = 30
    retain_draft_days: int = 90
    retain_notification_days: int = 365
    #: What service tasks may call (see config/connectors.toml).
    connectors_file: Path = DEFAULT_CONNECTORS
    #: How people are told: e-mail, group robots, SMS, quiet hours (see config/notifications.toml).
    notifications_file: Path = DEFAULT_NOTIFICATIONS
    #: Task attachments larger than this are refused (``HUHUA_MAX_ATTACHMENT_BYTES``).
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES
    #: Addresses or networks outbound requests may reach although not public (``HUHUA_OUTBOUND_ALLOW``, comma-
    #: separated; see engine/outbound.py). None by default: webhooks and service tasks call public addresses only.
    outbound_allow: tuple[str, ...] = ()
    #: Request bodies other than multipart uploads larger than this are refused with 413 (``HUHUA_MAX_REQUEST_BYTES``).
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    #: Variables or task data of one command larger than this (as JSON) are refused (``HUHUA_MAX_VARIABLES_BYTES``).
    max_variables_bytes: int = DEFAULT_MAX_VARIABLES_BYTES
    #: Files one task may hold, and their total size (``HUHUA_MAX_ATTACHMENTS_PER_TASK``, ``…_BYTES_PER_TASK``).
    max_attachments_per_task: int = 20
    max_attachment_bytes_per_task: int = 100 * 1024 * 1024
    #: Files one person may have uploaded, and their total size (``HUHUA_MAX_ATTACHMENTS_PER_PERSON``, ``…_BYTES_…``).
    max_attachments_per_person: int = 1000
    max_attachment_bytes_per_person: int = 1024 * 1024 * 1024
    #: Mark the session, remember-me and language cookies Secure (``HUHUA_SECURE_COOKIES=1``: served over HTTPS).
    secure_cookies: bool = False
    #: API tokens last this many days by default (``HUHUA_TOKEN_DAYS``), never more than the maximum
    #: (``HUHUA_TOKEN_MAX_DAYS``).
    token_days: int = DEFAULT_TOKEN_DAYS
    token_max_days: int = DEFAULT_TOKEN_MAX_DAYS
    #: The log-in throttle (engine.commands.login_throttle): ``HUHUA_LOGIN_ACCOUNT_LIMIT`` wrong passwords for a
    #: name, ``HUHUA_LOGIN_ADDRESS_LIMIT`` from an address (a school's network may put hundreds behind one).
    login_account_limit: int = DEFAULT_LOGIN_ACCOUNT_LIMIT
    login_address_limit: int = DEFAULT_LOGIN_ADDRESS_LIMIT
    #: The name of this deployment (``HUHUA_ENV``: production, demo, test, ...), what scripts' ``get_env()`` answers.
    environment: str = "production"
    #: The bearer token a Prometheus scraper sends to read /metrics (``HUHUA_METRICS_TOKEN``); none: /metrics is off.
    metrics_token: str | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Build settings from ``HUHUA_*`` environment variables, with the embedded SQLite default."""
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("HUHUA_DATA_DIR") or default_data_dir()).resolve()
    url = env.get("HUHUA_DATABASE_URL") or f"sqlite:///{data_dir / 'huhua.db'}"
    return Settings(
        database_url=normalise_database_url(url),
        data_dir=data_dir,
        processes_dir=Path(env.get("HUHUA_PROCESSES_DIR") or process_library()).resolve(),
        max_model_bytes=int(env.get("HUHUA_MAX_MODEL_BYTES", DEFAULT_MAX_MODEL_BYTES)),
        node_name=env.get("HUHUA_NODE_NAME", f"{os.uname().nodename}:{os.getpid()}"),
        script_seconds=float(env.get("HUHUA_SCRIPT_SECONDS", 1.0)),
        script_max_elements=int(env.get("HUHUA_SCRIPT_MAX_ELEMENTS", 10_000_000)),
        script_max_memory_mb=int(env.get("HUHUA_SCRIPT_MAX_MEMORY_MB", 1024)),
        virtual_clock_start=_virtual_clock_start(env.get("HUHUA_VIRTUAL_CLOCK")),
        retain_job_days=int(env.get("HUHUA_RETAIN_JOB_DAYS", 30)),
        retain_draft_days=int(env.get("HUHUA_RETAIN_DRAFT_DAYS", 90)),
        retain_notification_days=int(env.get("HUHUA_RETAIN_NOTIFICATION_DAYS", 365)),
        virtual_clock_file=Path(env["HUHUA_VIRTUAL_CLOCK_FILE"]).resolve() if env.get("HUHUA_VIRTUAL_CLOCK_FILE")
        else None,
        schedules_file=Path(env.get("HUHUA_SCHEDULES", DEFAULT_SCHEDULES)).resolve(),
        connectors_file=Path(env.get("HUHUA_CONNECTORS", DEFAULT_CONNECTORS)).resolve(),
        notifications_file=Path(env.get("HUHUA_NOTIFICATIONS", DEFAULT_NOTIFICATIONS)).resolve(),
        max_attachment_bytes=int(env.get("HUHUA_MAX_ATTACHMENT_BYTES", DEFAULT_MAX_ATTACHMENT_BYTES)),
        max_request_bytes=int(env.get("HUHUA_MAX_REQUEST_BYTES", DEFAULT_MAX_REQUEST_BYTES)),
        max_variables_bytes=int(env.get("HUHUA_MAX_VARIABLES_BYTES", DEFAULT_MAX_VARIABLES_BYTES)),
        max_attachments_per_task=int(env.get("HUHUA_MAX_ATTACHMENTS_PER_TASK", 20)),
        max_attachment_bytes_per_task=int(env.get("HUHUA_MAX_ATTACHMENT_BYTES_PER_TASK", 100 * 1024 * 1024)),
        max_attachments_per_person=int(env.get("HUHUA_MAX_ATTACHMENTS_PER_PERSON", 1000)),
        max_attachment_bytes_per_person=int(env.get("HUHUA_MAX_ATTACHMENT_BYTES_PER_PERSON", 1024 * 1024 * 1024)),
        secure_cookies=env.get("HUHUA_SECURE_COOKIES", "") == "1",
        outbound_allow=tuple(e.strip() for e in env.get("HUHUA_OUTBOUND_ALLOW", "").split(",") if e.strip()),
        token_days=int(env.get("HUHUA_TOKEN_DAYS", DEFAULT_TOKEN_DAYS)),
        token_max_days=int(env.get("HUHUA_TOKEN_MAX_DAYS", DEFAULT_TOKEN_MAX_DAYS)),
        login_account_limit=int(env.get("HUHUA_LOGIN_ACCOUNT_LIMIT", DEFAULT_LOGIN_ACCOUNT_LIMIT)),
        login_address_limit=int(env.get("HUHUA_LOGIN_ADDRESS_LIMIT", DEFAULT_LOGIN_ADDRESS_LIMIT)),
        environment=env.get("HUHUA_ENV", "").strip() or "production",
        metrics_token=env.get("HUHUA_METRICS_TOKEN", "").strip() or None,
    )


def _virtual_clock_start(value: str | None) -> datetime | None:
    """``HUHUA_VIRTUAL_CLOCK=2026-09-01T08:00`` (Beijing time unless a zone is given) starts a virtual clock."""
    if not value:
        return None
    try:
        start = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"HUHUA_VIRTUAL_CLOCK must be an ISO date-time, not {value!r}") from None
    return start if start.tzinfo else start.replace(tzinfo=ZoneInfo("Asia/Shanghai"))


def normalise_database_url(url: str) -> str:
    """Accept the ``postgresql://`` spelling people paste and use the psycopg 3 driver for it."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
