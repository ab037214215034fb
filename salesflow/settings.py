"""Salesflow settings: one module, configured only through environment variables.

Defaults give a working embedded installation (SQLite in the data directory); production
sets ``SECRET_KEY``, ``ALLOWED_HOSTS``, ``DATABASE_URL`` and ``DEBUG=0``.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.utils.translation import gettext_lazy as _

django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(__file__).resolve().parent


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DATA_DIR = Path(os.environ.get("SALESFLOW_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = _env_bool("DEBUG", False)
# Test mode is switched on explicitly (the test configuration, conftest.py, sets
# SALESFLOW_TESTING=1 before the settings load): static files are served unhashed, so tests
# need no collectstatic run, and passwords are hashed fast. Never set it in production.
TESTING = _env_bool("SALESFLOW_TESTING", False)


def _secret_key() -> str:
    """Use ``SECRET_KEY``; otherwise a random key persisted in the data directory.

    The persisted key keeps sessions valid across restarts of an embedded installation;
    production deployments are expected to set ``SECRET_KEY`` explicitly.
    """
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    key_file = DATA_DIR / "secret_key"
    try:
        # O_EXCL: exactly one process creates the file, with mode 0600 from the first byte
        # (no window in which another user could read it, no race between two starting servers).
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(64))
    key = key_file.read_text().strip()
    if not key:  # another process created the file and is still writing it
        time.sleep(0.2)
        key = key_file.read_text().strip()
    return key


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = _env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",  # administrators edit configuration data (pipelines, stages, teams)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",  # serves the bundled Swagger UI for /api/v1/docs (no CDN)
    "django_tasks",  # Django 6's task API (backport) for Django 5.2
    "django_tasks_db",  # the database task backend: queue rows in our own database
    "salesflow.core",
    "salesflow.users",
    "salesflow.attachments",  # files on records, served only through the record's visibility
    "salesflow.search",  # the global search index (FTS5 / pg_trgm), filled by the apps above it
    "salesflow.tags",  # coloured tags on accounts, contacts, leads and deals
    "salesflow.parties",
    "salesflow.sales",
    "salesflow.leads",
    "salesflow.activities",
    "salesflow.workreports",  # daily and weekly work reports (日报/周报), issue 7
    "salesflow.objections",  # the objection library (异议库) and objections logged on deals
    "salesflow.catalogue",  # products, price lists, tiers, discount rules, deal line items (issue 9)
    "salesflow.quotes",  # quotes with versions, PDF, email and the public acceptance link (issue 9)
    "salesflow.contracts",  # contracts, signing, amendments (变更单), renewals (issue 9)
    "salesflow.orders",  # orders, fulfilment hand-off, deliveries and acceptance (issue 9)
    "salesflow.billing",  # payment plans, payments (回款), invoices, receivables ageing (issue 9)
    "salesflow.approvals",  # the generic approval engine (审批), inbox, delegation (issue 9)
    "salesflow.dedupe",  # the duplicate matcher (查重), merge and the duplicate report (issue 8)
    "salesflow.scoring",  # explainable lead scoring, the learned model, data quality (issue 8)
    "salesflow.routing",  # web-to-lead forms, assignment rules, first-response SLAs (issue 8)
    "salesflow.pools",  # public pools (公海), claims, caps (保有量), release and recycling (issue 8)
    "salesflow.protection",  # the known-customer list (已成交客户名单) and collision arbitration (撞单) (issue 8)
    "salesflow.merging",  # duplicate warnings before saving, access requests, merge and undo (issue 8)
    "salesflow.imports",  # CSV/XLSX import with mapping, preview, error report (issue 8)
    "salesflow.analytics",  # the metrics (core.metrics registry), actuals per node, reports (报表) (issue 10)
    "salesflow.targets",  # sales plans (销售计划), target decomposition, attainment, leaderboards (issue 10)
    "salesflow.scorecards",  # KPI scorecards, funnel math (漏斗倒推), appraisal (issue 10)
    "salesflow.commissions",  # commission rules and statements (提成) (issue 10)
    "salesflow.dashboards",  # manager and rep dashboards with charts and drill-down (issue 10)
    "salesflow.process",  # process metrics (流程分析), control charts (issue 11)
    "salesflow.winloss",  # win/loss drivers (赢单因素) with confidence intervals (issue 11)
    "salesflow.projections",  # time-series revenue forecasts with a rolling-origin backtest (收入预测) (issue 11)
    "salesflow.achievable",  # most likely achievable revenue (最可能实现的收入): Monte Carlo and calibration (issue 11)
    "salesflow.forecasts",  # forecast submissions (销售预测), roll-up, accuracy, waterfall (issue 11)
    "salesflow.improvement",  # DMAIC improvement projects (流程改进) with control plans (issue 11)
    "salesflow.demo",  # the demo company generator and its `demo` command (no models)
    "salesflow.notifications",  # notification centre, preferences, email and group robots
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "salesflow.core.middleware.ContentSecurityPolicyMiddleware",
    "salesflow.core.middleware.ApiErrorEnvelopeMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "salesflow.core.middleware.UserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "salesflow.core.middleware.QueryStringGuardMiddleware",
    "salesflow.core.middleware.PostOnlyRedirectMiddleware",
]

ROOT_URLCONF = "salesflow.urls"
WSGI_APPLICATION = "salesflow.wsgi.application"
ASGI_APPLICATION = "salesflow.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'salesflow.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # WAL lets readers run beside the writer; IMMEDIATE avoids lock upgrades failing.
            # A page cache of up to 64 MiB per connection (allocated as pages are read) and
            # reads through a memory map instead of a read() per page: an import batch at
            # scale 1.0 reads and updates thousands of scattered index pages (6-17% faster).
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000; "
                "PRAGMA cache_size=-65536; PRAGMA mmap_size=1073741824;"
            ),
            "transaction_mode": "IMMEDIATE",
        }
    )

# PostgreSQL's JIT compiles a plan once its estimated cost passes jit_above_cost; the
# visibility probes (one correlated sub-plan per kind of record) make plans whose cost
# estimate is high while they run in milliseconds, and compiling them took 2.4 s of a
# 2.4 s account page at bench scale 1.0. Short OLTP statements never gain from it.
# ``SALESFLOW_PG_JIT=on`` keeps the server's setting.
elif (
    DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql")
    and os.environ.get("SALESFLOW_PG_JIT", "off").lower() != "on"
):
    pg_options = DATABASES["default"].setdefault("OPTIONS", {})
    pg_options["options"] = f"{pg_options.get('options', '')} -c jit=off".strip()

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "users.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
# The project's catalogues win over Django's own: translations in LOCALE_PATHS take
# precedence over every installed app's (django.contrib.admin's "Filter" is 过滤器, ours 筛选).
# Apps' catalogues are listed here too, not only found through INSTALLED_APPS, for that reason;
# scripts/rendered_translations.py checks that no project string is overridden.
LOCALE_PATHS = [PACKAGE_DIR / "locale", *sorted(PACKAGE_DIR.glob("*/locale"))]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

SALESFLOW_DEFAULT_CURRENCY = os.environ.get("SALESFLOW_DEFAULT_CURRENCY", "CNY").upper()
# First month of the fiscal year (1 = January); plans and quarters follow it (issue 10).
SALESFLOW_FISCAL_YEAR_START_MONTH = int(os.environ.get("SALESFLOW_FISCAL_YEAR_START_MONTH", "1"))
SALESFLOW_CURRENCIES = _env_list("SALESFLOW_CURRENCIES", ["CNY", "USD", "EUR", "HKD", "JPY"])

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not (DEBUG or TESTING)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = DATA_DIR / "media"

SESSION_COOKIE_HTTPONLY = True
# Behind HTTPS set SECURE_SSL_REDIRECT=1; cookies then default to Secure as well. The embedded
# installation (`make run`) serves plain HTTP on 127.0.0.1, where Secure cookies would break login.
SECURE_SSL_REDIRECT = _env_bool("SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = _env_bool("SECURE_COOKIES", SECURE_SSL_REDIRECT)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = _env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy without 'unsafe-inline': every script is a static file (no inline
# <script>, no on…= handlers), htmx neither evaluates code nor injects its indicator <style>
# (see base.html), and templates use classes instead of style="…" attributes. Libraries that
# position elements (Bootstrap/Popper, Tom Select, SortableJS) set element.style from script,
# which CSP does not restrict. data: images and fonts are Tabler's inline SVG icons in its CSS.
# Set the variable to an empty string to send no policy (e.g. when a proxy sets its own).
SALESFLOW_CONTENT_SECURITY_POLICY = os.environ.get(
    "SALESFLOW_CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
)

SILENCED_SYSTEM_CHECKS = _env_list("SILENCED_SYSTEM_CHECKS", [])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# Reverse proxies in front of the application whose X-Forwarded-For is believed: addresses
# or CIDR networks, comma-separated (e.g. "10.0.0.0/8,127.0.0.1"). Empty (the default):
# REMOTE_ADDR is the client. When the peer is one of these, the client is the rightmost
# X-Forwarded-For address that is not (salesflow.core.clientip). Used by the web-to-lead
# forms' rate limit and consent record, the sign-in throttle and the public quote page.
SALESFLOW_TRUSTED_PROXIES = _env_list("SALESFLOW_TRUSTED_PROXIES", [])

# Sign-in throttling (/login/ and /admin/login/): this many failures for one username, or from
# one client address, within the window lock it for the lock period; 0 switches one off.
# Behind a proxy, list it in SALESFLOW_TRUSTED_PROXIES so the address limit counts each
# client, not the proxy's one address.
SALESFLOW_LOGIN_FAILURE_LIMIT = int(os.environ.get("SALESFLOW_LOGIN_FAILURE_LIMIT", "5"))
SALESFLOW_LOGIN_ADDRESS_FAILURE_LIMIT = int(os.environ.get("SALESFLOW_LOGIN_ADDRESS_FAILURE_LIMIT", "20"))
SALESFLOW_LOGIN_FAILURE_WINDOW = int(os.environ.get("SALESFLOW_LOGIN_FAILURE_WINDOW", "900"))  # seconds
SALESFLOW_LOGIN_LOCK_SECONDS = int(os.environ.get("SALESFLOW_LOGIN_LOCK_SECONDS", "900"))

NINJA_PAGINATION_PER_PAGE = 50

# Background tasks (django-tasks). The database backend keeps the queue in DATABASE_URL's
# database: `salesflow worker` runs them. Scale-out swaps only this setting (see README).
TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": [],  # every queue name is accepted
    }
}
# The one registry of periodic jobs (a list of salesflow.core.scheduling.PeriodicJob).
SALESFLOW_PERIODIC_JOBS = "salesflow.schedule.JOBS"

# Email: console in development; SMTP when EMAIL_HOST is set.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("EMAIL_USE_TLS", True)
EMAIL_USE_SSL = _env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = 20
# Links in emails and robot messages point here.
SALESFLOW_BASE_URL = os.environ.get("SALESFLOW_BASE_URL", "http://127.0.0.1:8000")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Salesflow <noreply@localhost>")

# Group robots (WeCom, DingTalk, Feishu) post only to https URLs on public addresses, except
# to hosts an administrator allowed here (comma-separated host names) or on the channel.
SALESFLOW_ROBOT_ALLOWED_HOSTS = _env_list("SALESFLOW_ROBOT_ALLOWED_HOSTS", [])
# Undeclared audit verbs and payloads that do not match their event type raise in development
# and tests; in production they are logged and the event is still stored (an audit row is never
# lost to a schema slip).
SALESFLOW_STRICT_EVENTS = _env_bool("SALESFLOW_STRICT_EVENTS", DEBUG or TESTING)
# Largest request body read into memory (JSON and form posts): bigger ones are refused
# (the API answers 413). 1 MiB is far above any record a person types.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", str(1024 * 1024)))
MESSAGE_TAGS = {40: "danger"}
APP_NAME = _("Salesflow")

if TESTING:
    # Fast hashing keeps persona set-up cheap; production keeps Django's PBKDF2 default.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Attachments: files live under this directory (outside static and media, served only through
# the download view after the record's visibility check); uploads above the size limit and
# images above the pixel limit are refused.
SALESFLOW_ATTACHMENTS_DIR = Path(os.environ.get("SALESFLOW_ATTACHMENTS_DIR", str(DATA_DIR / "attachments")))
SALESFLOW_ATTACHMENT_MAX_BYTES = int(os.environ.get("SALESFLOW_ATTACHMENT_MAX_BYTES", str(20 * 1024 * 1024)))
SALESFLOW_ATTACHMENT_MAX_PIXELS = int(os.environ.get("SALESFLOW_ATTACHMENT_MAX_PIXELS", "40000000"))
# The first handler skips attachment parts above the limit while they arrive (never spooled).
FILE_UPLOAD_HANDLERS = [
    "salesflow.attachments.uploads.AttachmentSizeLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# Tags: whether users who are not administrators may create a tag while tagging a record,
# until an administrator changes it on the tags settings page (stored in tags.TagSettings).
SALESFLOW_TAGS_INLINE = _env_bool("SALESFLOW_TAGS_INLINE", True)

# Work reports (日报/周报, salesflow.workreports): who is expected to report (roles), on which
# ISO weekdays a daily report is due (1 = Monday … 7 = Sunday), when a missing one is reminded
# (local time in each user's zone) and on which weekday the weekly report is reminded.
SALESFLOW_WORK_REPORT_ROLES = _env_list("SALESFLOW_WORK_REPORT_ROLES", ["rep"])
SALESFLOW_WORK_REPORT_DAYS = [int(d) for d in _env_list("SALESFLOW_WORK_REPORT_DAYS", ["1", "2", "3", "4", "5"])]
SALESFLOW_WORK_REPORT_REMIND_AT = os.environ.get("SALESFLOW_WORK_REPORT_REMIND_AT", "18:00")
SALESFLOW_WEEKLY_REPORT_REMIND_DAY = int(os.environ.get("SALESFLOW_WEEKLY_REPORT_REMIND_DAY", "5"))

# Escalation ladders (stalled deals, missed follow-ups): more than this many notifications of
# one kind to one person in one run of the daily job arrive as one digest listing the records
# (salesflow.core.escalation).
SALESFLOW_ESCALATION_DIGEST_OVER = int(os.environ.get("SALESFLOW_ESCALATION_DIGEST_OVER", "3"))
# Issue 11: a month's or quarter's forecast is due on its Nth day; reminders go out this many days before
SALESFLOW_FORECAST_DUE_DAY = int(os.environ.get("SALESFLOW_FORECAST_DUE_DAY", "5"))
SALESFLOW_FORECAST_REMIND_DAYS = int(os.environ.get("SALESFLOW_FORECAST_REMIND_DAYS", "3"))
