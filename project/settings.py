"""Settings for the Workshop Recommendation Tracker, read from the environment (see README)."""

import ipaddress
import re
import zoneinfo
from pathlib import Path

import dj_database_url
import orjson
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from project.env import (
    env_bool,
    env_choice,
    env_email,
    env_int,
    env_list,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", required=not DEBUG) or "insecure-development-key-only-for-debug"
if not DEBUG and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters long when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required when DEBUG is off (comma-separated host names).")
# The container health check and local probes call http://127.0.0.1:8000/health/.
ALLOWED_HOSTS += [host for host in ("127.0.0.1", "localhost") if host not in ALLOWED_HOSTS]
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
for _origin in CSRF_TRUSTED_ORIGINS:
    if not _origin.startswith(("http://", "https://")):
        raise ImproperlyConfigured(f"CSRF_TRUSTED_ORIGINS entries must start with http:// or https://: {_origin!r}")

SITE_URL = env_url("SITE_URL", "http://127.0.0.1:8000", schemes={"http", "https"}).rstrip("/")

INSTALLED_APPS = [
    "tracker.secretariat.apps.TrackerAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "import_export",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_celery_beat",
    # The core (label "tracker": the domain model, rules, permissions, services) and the rooms, one per
    # face of the system; each room imports the core and nothing of another room (docs/architecture.md).
    "tracker.core",
    "tracker.focal",
    "tracker.review",
    "tracker.reminders",
    "tracker.api",
    "tracker.secretariat",
    "tracker.webhooks",
    "tracker.public",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The public pages answer everyone alike: they never see the session cookie (tracker/public/middleware.py).
    "tracker.public.middleware.PublicPagesWithoutSession",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "tracker.core.middleware.SecondFactorMiddleware",
    "tracker.core.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    # The API's answers: RateLimit headers on each (tracker.api.throttling), and the answer to a POST with an
    # Idempotency-Key stored, innermost so that it is the view's own (tracker.api.idempotency).
    "tracker.api.throttling.RateLimitHeadersMiddleware",
    "tracker.api.idempotency.IdempotencyKeyMiddleware",
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
    {
        # The reminder e-mails, rendered thousands of times a run (tracker/reminders/jinja2_env.py says why).
        "NAME": "emails",
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates" / "reminders"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "tracker.reminders.jinja2_env.environment"},
    },
]

# --- Database -----------------------------------------------------------------------------------
DATABASE_URL = env_url(
    "DATABASE_URL",
    f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
    schemes={"sqlite", "postgres", "postgresql", "pgsql"},
)
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one file locally: wait for locks instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A file, not memory, so that a worker started by a test shares the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
else:
    # Django's backend, with a health check that reads the kept connection's socket before each request reuses it
    # and runs SELECT 1 only if the server has sent something (project/postgresql/base.py). Without the check each
    # web process answers its next request with a 500 after a database restart or failover. Off:
    # DB_CONN_HEALTH_CHECKS=false.
    DATABASES["default"]["ENGINE"] = "project.postgresql"
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env_bool("DB_CONN_HEALTH_CHECKS", True)
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 5
    # Parameters bound by the server, and statements run often (API lists, token look-ups) prepared
    # after DB_PREPARE_THRESHOLD runs, so PostgreSQL stops re-planning them. Switch off behind a
    # transaction-mode pooler (PgBouncer < 1.21), which cannot keep prepared statements.
    if env_bool("DB_SERVER_SIDE_BINDING", True):
        DATABASES["default"]["OPTIONS"].update(
            server_side_binding=True, prepare_threshold=env_int("DB_PREPARE_THRESHOLD", 5, minimum=0)
        )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication -----------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "tracker.core.auth.UsernameOrEmailBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_SECONDS", 3600, minimum=60)
SESSION_SAVE_EVERY_REQUEST = True  # the age counts from the last request: an idle timeout
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15, minimum=1) / 60  # hours
# Lock the account, not the address: a ministry's focal points often share one NAT address.
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"
# Failures count against the account the name resolves to, whatever its spelling (tracker.core.auth).
AXES_USERNAME_CALLABLE = "tracker.core.auth.lockout_key"
AXES_CLIENT_IP_CALLABLE = "tracker.core.auth.client_address"
AXES_VERBOSE = False
OTP_REQUIRED_FOR_SECRETARIAT = env_bool("OTP_REQUIRED_FOR_SECRETARIAT", False)
OTP_TOTP_ISSUER = "Recommendation tracker"  # the name authenticator apps show

# --- Internationalisation -----------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("ar", _("Arabic")), ("en", _("English"))]
# One Arabic catalogue, locale/ar/LC_MESSAGES/django.po: `make messages` updates it, translators edit it.
LOCALE_PATHS = [BASE_DIR / "locale"]
# Arabic dates and times read day month year, on a 24-hour clock (project/formats/ar/formats.py).
FORMAT_MODULE_PATH = ["project.formats"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env_str("TIME_ZONE", "Asia/Riyadh")
if TIME_ZONE not in zoneinfo.available_timezones():
    raise ImproperlyConfigured(f"TIME_ZONE must be an IANA time zone such as Africa/Cairo, not {TIME_ZONE!r}.")
LANGUAGE_COOKIE_NAME = "wrt_language"
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- Files --------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every start when it is missing
MEDIA_ROOT = VAR_DIR / "private-media"  # evidence files: never served by URL, only through views
MEDIA_URL = "/no-public-media/"  # nothing is routed here: evidence is served by a permission-checked view
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
EVIDENCE_MAX_BYTES = env_int("EVIDENCE_MAX_MB", 10, minimum=1, maximum=200) * 1024 * 1024
# Quotas (tracker/core/evidence.py, enforced where evidence is stored): files per report, all the files of a
# member state, and what an Office file (a zip package) may expand to when opened.
EVIDENCE_MAX_FILES_PER_REPORT = env_int("EVIDENCE_MAX_FILES_PER_REPORT", 10, minimum=1, maximum=1000)
EVIDENCE_MAX_BYTES_PER_STATE = env_int("EVIDENCE_MAX_MB_PER_STATE", 2048, minimum=1) * 1024 * 1024
EVIDENCE_MAX_UNPACKED_BYTES = env_int("EVIDENCE_MAX_UNPACKED_MB", 100, minimum=1, maximum=10_000) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- E-mail -------------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
# Django's backends, or a provider's (e.g. anymail.backends.mailgun.EmailBackend) given as a dotted path.
if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+", EMAIL_BACKEND):
    raise ImproperlyConfigured(
        "EMAIL_BACKEND must be a dotted path such as django.core.mail.backends.smtp.EmailBackend, "
        f"not {EMAIL_BACKEND!r}."
    )
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be true.")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20, minimum=1)
# The sender of reminders and password resets. Its domain names each e-mail's Message-ID and is what receiving
# servers check (SPF, DMARC): in production it defaults to SITE_URL's host, and "localhost" or any other domain
# without a dot (a forgotten setting, or a bare host name) stops start-up.
DEFAULT_FROM_EMAIL = env_email(
    "DEFAULT_FROM_EMAIL",
    "tracker@localhost" if DEBUG else "tracker@" + SITE_URL.split("://", 1)[-1].split("/", 1)[0].split(":")[0],
)
if not DEBUG and "." not in DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(" >."):
    raise ImproperlyConfigured(
        "DEFAULT_FROM_EMAIL needs a real domain when DEBUG is off (it names every e-mail's Message-ID and is what "
        f"receiving servers check), not {DEFAULT_FROM_EMAIL!r}: for example tracker@your-organisation.org."
    )
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery -------------------------------------------------------------------------------------
CELERY_BROKER_URL = env_url("CELERY_BROKER_URL", "filesystem://", schemes={"filesystem", "redis", "rediss", "memory"})
BROKER_IS_FILESYSTEM = CELERY_BROKER_URL.startswith("filesystem://")
CELERY_BROKER_FOLDER = VAR_DIR / "broker"
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(CELERY_BROKER_FOLDER / "queue"),
        "data_folder_out": str(CELERY_BROKER_FOLDER / "queue"),
        "control_folder": str(CELERY_BROKER_FOLDER / "control"),
        "store_processed": False,
    }
    if BROKER_IS_FILESYSTEM
    else {
        # Short timeouts: a web request must never hang when Redis is down.
        "socket_timeout": 3,
        "socket_connect_timeout": 2,
        "visibility_timeout": 3600,
        "max_retries": 1,
    }
)
CELERY_RESULT_BACKEND = env_str(
    "CELERY_RESULT_BACKEND",
    f"file://{VAR_DIR / 'celery-results'}" if BROKER_IS_FILESYSTEM else CELERY_BROKER_URL,
)
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None  # a worker waits out a broker outage of any length (README)
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    # Every minute: /health/worker/ answers 503 when beat or the worker has been silent too long.
    "heartbeat": {"task": "tracker.tasks.heartbeat", "schedule": 60.0},
    # A cycle close whose task was lost (worker killed mid-freeze: it rolled back) is enqueued again.
    "resume-stuck-closes": {"task": "tracker.tasks.resume_stuck_closes", "schedule": 300.0},
    # Reminders: compute what is due and send it, hourly in office hours (TIME_ZONE); idempotent, so an
    # outage is caught up by the next run. Retries and admin "send now" are picked up every 5 minutes.
    "reminders-run": {"task": "tracker.reminders.run", "schedule": crontab(minute="0", hour="7-17")},
    "reminders-send-due": {"task": "tracker.reminders.send_due", "schedule": 300.0},
    # A clarification message whose e-mail task was lost (broker down at the time) is e-mailed again.
    "clarifications-resend": {"task": "tracker.tasks.resend_clarification_emails", "schedule": 300.0},
    # Webhooks: queue again the deliveries whose retry is due (or whose task was lost), every minute; announce
    # the commitments that became due or late (each once, whatever the number of beats).
    "webhooks-due": {"task": "tracker.webhooks.deliver_due", "schedule": 60.0},
    "webhooks-commitments": {"task": "tracker.webhooks.announce_commitments", "schedule": crontab(minute="*/30")},
}
# Celery's Django fixup closes the database connection around every task unless this is set.
# /health/worker/ answers 503 when beat or the worker has been silent for longer than this (beat's database
# scheduler saves its last runs every few minutes, so keep it well above 3).
HEALTH_SILENT_MINUTES = env_int("HEALTH_SILENT_MINUTES", 15, minimum=5)
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 100, minimum=0)
# Reminders (tracker/reminders): rows per claimed batch, and the first back-off of a temporary failure
# (doubling, at most an hour) for as long as the retry window lasts; then the row is failed and the admin says so.
REMINDER_BATCH_SIZE = env_int("REMINDER_BATCH_SIZE", 500, minimum=1, maximum=10000)
REMINDER_RETRY_BASE_SECONDS = env_int("REMINDER_RETRY_BASE_SECONDS", 300, minimum=1)
REMINDER_RETRY_HOURS = env_int("REMINDER_RETRY_HOURS", 24, minimum=1)
# How long one send run may go on starting e-mails. Its task's time limits and the lease on claimed rows are
# derived from this and EMAIL_TIMEOUT (tracker/reminders/timing.py), so a run always ends its last SMTP
# conversation before Celery's soft limit, and no live run's rows are ever taken back.
REMINDER_RUN_SECONDS = env_int("REMINDER_RUN_SECONDS", 200, minimum=1)
# When the server took a message but its answer was lost: "resend" once after the delay (at most one
# duplicate, nobody missed), or "hold" every such row for the secretariat to mark sent or resend in the admin.
REMINDER_UNKNOWN_OUTCOME = env_choice("REMINDER_UNKNOWN_OUTCOME", "resend", ("resend", "hold"))
REMINDER_UNKNOWN_DELAY_SECONDS = env_int("REMINDER_UNKNOWN_DELAY_SECONDS", 1800, minimum=0)
# With the send journal, rows are also marked sent in the database every this many e-mails: losing Redis's
# data together with a killed worker sends at most this many e-mails twice.
REMINDER_MARK_EVERY = env_int("REMINDER_MARK_EVERY", 10, minimum=1, maximum=10000)
# The send journal (tracker/reminders/journal.py): the Redis where each sent e-mail is noted until its batch
# is marked sent in one statement. Defaults to the broker's Redis; "off" (or no Redis broker) marks each
# row in the database as its e-mail leaves.
_BROKER_REDIS = CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else "off"
REMINDER_JOURNAL_URL = (
    ""
    if env_str("REMINDER_JOURNAL_URL", _BROKER_REDIS) == "off"
    else env_url("REMINDER_JOURNAL_URL", _BROKER_REDIS, schemes={"redis", "rediss"})
)

# --- Webhooks (tracker/webhooks) ----------------------------------------------------------------
# The timeout of each delivery's HTTP request (to connect, and for each read), and the waits before the attempts
# after the first, in seconds (the Standard Webhooks schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h). After the
# last the delivery has failed; the admin can replay it.
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1, maximum=60)
try:
    WEBHOOK_RETRY_SECONDS = [
        int(wait) for wait in env_list("WEBHOOK_RETRY_SECONDS", ["5", "300", "1800", "7200", "18000", "36000", "36000"])
    ]
except ValueError:
    raise ImproperlyConfigured("WEBHOOK_RETRY_SECONDS must be whole numbers of seconds separated by commas.") from None
if not WEBHOOK_RETRY_SECONDS or min(WEBHOOK_RETRY_SECONDS) < 1:
    raise ImproperlyConfigured("WEBHOOK_RETRY_SECONDS needs at least one wait, each of 1 second or more.")
# An endpoint whose attempts keep failing (this many in a row, the first this many hours ago) is disabled and the
# secretariat is e-mailed; one delivered event resets the count.
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 10, minimum=1)
WEBHOOK_DISABLE_AFTER_HOURS = env_int("WEBHOOK_DISABLE_AFTER_HOURS", 120, minimum=0)
# Endpoints must use HTTPS and resolve to public addresses (checked again at every delivery: no request reaches
# the server's own network). Development and tests on loopback turn both off; WEBHOOK_ALLOWED_NETWORKS lets
# endpoints on named private networks through (CIDRs, e.g. 10.20.0.0/16) without allowing the rest.
WEBHOOK_REQUIRE_HTTPS = env_bool("WEBHOOK_REQUIRE_HTTPS", not DEBUG)
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", DEBUG)
WEBHOOK_ALLOWED_NETWORKS = env_list("WEBHOOK_ALLOWED_NETWORKS")
for _network in WEBHOOK_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"WEBHOOK_ALLOWED_NETWORKS entries must be networks such as 10.20.0.0/16, not {_network!r}."
        ) from None
# "commitment.due" is announced this many days before a commitment's due date.
WEBHOOK_COMMITMENT_DUE_DAYS = env_int("WEBHOOK_COMMITMENT_DUE_DAYS", 7, minimum=0, maximum=90)

# The public overview and open data (tracker.public): how long a built page or download is served from the cache
# before new progress shows. Withdrawing an agreement takes effect at once whatever this is.
PUBLIC_CACHE_SECONDS = env_int("PUBLIC_CACHE_SECONDS", 60, minimum=0, maximum=3600)

# --- Import and export (admin) ------------------------------------------------------------------
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True  # a cell like =HYPERLINK(...) must not run in Excel
from tracker.secretariat import export_formats  # noqa: E402  (no models: safe to import while settings load)

# Our subclasses escape = + - @ tab CR by prefixing an apostrophe, keeping the data.
EXPORT_FORMATS = [export_formats.CSV, export_formats.XLSX, export_formats.TSV, export_formats.JSON]
IMPORT_EXPORT_USE_TRANSACTIONS = True  # a file with any row error changes nothing
IMPORT_EXPORT_SKIP_ADMIN_CONFIRM = False  # always show the dry-run preview first
# An admin import runs in the request (dry run, then confirm): a file of more rows is refused with a form error.
# About 56 ms a recommendation row a step (100 rows: about 6 s a step; a meeting adopts tens). Exports always run
# on the worker.
ADMIN_IMPORT_MAX_ROWS = env_int("ADMIN_IMPORT_MAX_ROWS", 100, minimum=1, maximum=100_000)

# --- REST framework -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    # JSON only, with a depth and size limit (a deeply nested body was a RecursionError): anything else is a 415.
    # The schema then offers JSON bodies only (generated clients choked on form variants); the browsable API
    # keeps its raw JSON form. An upload endpoint names its own multipart parser.
    "DEFAULT_PARSER_CLASSES": ["tracker.api.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First, so that a request without credentials answers 401 with WWW-Authenticate: Token.
        "tracker.api.authentication.PartnerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tracker.api.permissions.ApiPermission"],
    "DEFAULT_FILTER_BACKENDS": [
        "tracker.api.filters.ApiFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "tracker.api.pagination.ApiCursorPagination",
    # The rate limit, then the Idempotency-Key of a POST: the last step before every view (tracker.api.idempotency).
    "DEFAULT_THROTTLE_CLASSES": [
        "tracker.api.throttling.PartnerRateThrottle",
        "tracker.api.idempotency.IdempotencyKeyGate",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        # orjson: the same JSON as DRF's renderer (UTC times end in Z), in a fraction of the time.
        "tracker.api.renderers.ProblemDetailsJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "EXCEPTION_HANDLER": "tracker.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNICODE_JSON": True,
    "ORJSON_RENDERER_OPTIONS": (orjson.OPT_UTC_Z,),
}
# Requests per token (or signed-in user): "600/minute"; empty to switch throttling off.
API_THROTTLE_RATE = env_str("API_THROTTLE_RATE", "600/minute") or None
# How long a POST's Idempotency-Key (and the answer it got) is kept from its first use.
API_IDEMPOTENCY_KEY_HOURS = env_int("API_IDEMPOTENCY_KEY_HOURS", 24, minimum=1)
# Throttle counters are shared by all web processes through Redis when the broker is Redis.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "api-throttle": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CELERY_BROKER_URL,
            "OPTIONS": {"socket_timeout": 2, "socket_connect_timeout": 2},
        }
        if CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "api-throttle"}
    ),
}
KNOX_TOKEN_MODEL = "knox.AuthToken"
REST_KNOX = {"TOKEN_TTL": None, "AUTO_REFRESH": False}
SPECTACULAR_SETTINGS = {
    "TITLE": "Workshop Recommendation Tracker API",
    "DESCRIPTION": "Read and sync recommendations, implementations and progress reports; submit progress reports. "
    "Authenticate with `Authorization: Token <token>`.",
    "VERSION": "1.0.0",
    # 3.1: its schemas are JSON Schema (a null is a type), which Redocly, schemathesis and openapi-python-client read.
    "OAS_VERSION": "3.1.0",
    "SERVERS": [{"url": SITE_URL, "description": "This installation."}],
    "LICENSE": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"},
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several resources have a "state": each its own enum name in the schema.
    "ENUM_NAME_OVERRIDES": {
        "ReportStateEnum": "tracker.api.serializers.REPORT_STATES",
        "StateEnum": "tracker.core.models.ReviewCycle.State",  # the name it had before reports had a state
        "WebhookEventEnum": "tracker.core.events.EventType",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tracker.api.schema.add_error_responses",
        "tracker.api.schema_headers.add_transport_headers",
        "tracker.api.schema.add_summaries",
        "tracker.api.schema.add_examples",
        "tracker.api.schema.nullable_as_type_lists",
        "tracker.api.schema.request_bodies_closed",
    ],
}

# --- Security headers ---------------------------------------------------------------------------
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
# Behind the compose file's nginx (deploy/nginx): it terminates TLS and sets X-Forwarded-Proto and X-Forwarded-For
# (replacing any the client sent), so both are trusted then, and only then (tracker.core.auth.client_address).
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    REST_FRAMEWORK["NUM_PROXIES"] = 1
SECURE_REDIRECT_EXEMPT = [r"^health/$"]

# --- Logging: one line per event on standard output ---------------------------------------------
LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ["DEBUG", "INFO", "WARNING", "ERROR"])
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "line": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "line"}},
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "INFO"},
        "axes": {"level": "WARNING"},
    },
}
