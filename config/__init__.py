"""Settings: a class per environment, then HEMON_* environment variables on top.

`create_app` picks the class from HEMON_ENV (development, testing, production) and then
applies `app.config.from_prefixed_env("HEMON")`, so any setting below can be overridden as
HEMON_<NAME>. DATABASE_URL is also read without the prefix, as most hosts set it that way.
"""
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent


class Base:
    # No shipped secret: development makes one in the instance folder, production must set it.
    SECRET_KEY = None
    # None: start the embedded PostgreSQL (pgserver) under the instance folder.
    DATABASE_URL = None
    # Milliseconds; every statement issued through app.db runs under this limit.
    STATEMENT_TIMEOUT_MS = 60_000
    POOL_MAX_SIZE = 8
    # Dates and times are the province's: deadlines, lateness and every time shown.
    TIMEZONE = "Asia/Shanghai"
    RISK_THRESHOLDS_FILE = str(CONFIG_DIR / "risk.yaml")
    # Upload limits: compressed size, and the size the xlsx (a zip) may expand to.
    MAX_CONTENT_LENGTH = 30 * 1024 * 1024
    MAX_UNCOMPRESSED_BYTES = 400 * 1024 * 1024
    # Each uploaded workbook is read (and annotated) in a child process under these limits:
    # address space, CPU seconds, wall-clock seconds. A 100,000-row 表5 needs about 0.5 GB.
    PARSE_MEMORY_MB = 2048
    PARSE_CPU_SECONDS = 60
    PARSE_TIMEOUT_SECONDS = 90
    # The marked (annotated) copy is made only for workbooks expanding to at most this many MB
    # (about 18,000 表5 rows); larger ones get the list of findings alone.
    ANNOTATE_MAX_UNCOMPRESSED_MB = 5
    # Upload answers are kept 24 h in instance/upload-results/; the folder is kept under this
    # size by deleting the oldest answers first.
    UPLOAD_RESULTS_MAX_MB = 500
    # Attachments to a case (风险处置): PDF, PNG, JPEG, .xlsx, .docx up to this size each.
    CASE_ATTACHMENT_MAX_MB = 10
    # Template versions the reader accepts (return-format.md, 封面 模板版本).
    TEMPLATE_VERSIONS = ("2026.1",)
    # The simulation lists hospitals whose service_revenue_share moves more than this (points).
    SIMULATION_THRESHOLD_POINTS = 1
    # Data quality: a figure whose modified z-score against the hospital's own last 12 months,
    # or against same-level hospitals this month, exceeds this becomes a notice.
    QUALITY_Z_CUTOFF = 3.5
    # Deadline reminders by email: none are sent unless SMTP_HOST is set.
    SMTP_HOST = None
    SMTP_PORT = 25
    SMTP_SENDER = "hemon@localhost"
    SMTP_USERNAME = None
    SMTP_PASSWORD = None
    SMTP_STARTTLS = False
    REMINDER_DAYS_BEFORE = 3
    # Default deadline: this day of the month after the period.
    DEADLINE_DAY = 10
    # Pages (overview, map, hospital pages, bulletin form) open on the newest month whose deadline
    # has passed, or on a newer one once this share of registered hospitals have filed it.
    DEFAULT_PERIOD_SHARE = 0.8
    # The scheduler (`flask --app wsgi scheduler`, app/scheduler.py): reminders daily at this hour,
    # and the previous month's bulletin on BULLETIN_DAY at BULLETIN_HOUR, in TIMEZONE.
    REMINDER_HOUR = 9
    BULLETIN_DAY = 15
    BULLETIN_HOUR = 8
    # Where the scheduled bulletin is emailed (needs SMTP_HOST): a list, or one comma-separated string.
    BULLETIN_RECIPIENTS = ()
    # An ISO date-time: make the bulletin job fire once then instead of monthly (tests, a one-off run).
    BULLETIN_RUN_AT = None
    # On start, make the month's bulletin if its moment has passed and none was scheduled yet.
    SCHEDULER_CATCH_UP = True
    # Also run the scheduler in each web process (started on its first request); the
    # database locks keep several workers to one bulletin. Off: run `flask --app wsgi scheduler`.
    SCHEDULER_IN_WEB = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # A session ends after this long without a request, and this long after login in any case.
    IDLE_MINUTES = 60
    SESSION_HOURS = 12
    # Roles that must log in with a TOTP code as well (HEMON_TOTP_ROLES="admin,reviewer"; "" for
    # none). Everyone else may turn it on from the password page.
    TOTP_ROLES = ()
    # How many reverse proxies (nginx …) stand in front and set X-Forwarded-For: login throttling
    # counts by the client's address, which only they know. 0: clients connect directly.
    PROXY_HOPS = 0
    # Strict-Transport-Security on every response (production serves HTTPS only).
    HSTS = False
    # The province this deployment serves (HEMON_PROVINCE=370000): `serve` sets it up on first
    # start (init-province) instead of building the demo province (Sichuan, 510000).
    PROVINCE = None
    SERVER_HOST = "127.0.0.1"
    SERVER_PORT = 5000


class Development(Base):
    pass


class Testing(Base):
    TESTING = True
    STATEMENT_TIMEOUT_MS = 30_000


class Production(Base):
    SESSION_COOKIE_SECURE = True
    HSTS = True
    TOTP_ROLES = ("admin", "reviewer")


BY_NAME = {"development": Development, "testing": Testing, "production": Production}
