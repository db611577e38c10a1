"""Trenchcoat settings: one module, every value from the environment.

With nothing set the app runs on its embedded default: SQLite in ``var/`` and Celery tasks
executed in-process. Setting ``DATABASE_URL`` and ``REDIS_URL`` moves it onto PostgreSQL,
Redis and real Celery workers without a code change. The README lists every variable.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

PLACEHOLDER_SECRET_KEY = "insecure-local-only-trenchcoat-key-do-not-use-in-production"


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean; use 1/0, true/false, yes/no or on/off."
    )


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env_str("SECRET_KEY") or PLACEHOLDER_SECRET_KEY
if SECRET_KEY == PLACEHOLDER_SECRET_KEY and not DEBUG:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Set SECRET_KEY to a long random string "
        "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), or DEBUG=1 for local work."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Where mutable state lives on the embedded default (SQLite file, release files).
DATA_DIR = Path(env_str("TRENCHCOAT_DATA_DIR") or BASE_DIR / "var")
EXPORT_DIR = Path(env_str("TRENCHCOAT_EXPORT_DIR") or DATA_DIR / "releases")
# A release build claimed longer ago than this is presumed dead (its worker was killed) and
# may be taken over by the task's redelivery. Only time is lost if it was merely slow: the
# two builds use their own directories and only one of them can publish.
RELEASE_BUILD_STALE_SECONDS = env_int("TRENCHCOAT_RELEASE_BUILD_STALE_SECONDS", 1800)
if RELEASE_BUILD_STALE_SECONDS < 1:
    raise ImproperlyConfigured("TRENCHCOAT_RELEASE_BUILD_STALE_SECONDS must be at least 1.")

# Pseudonymizes annotator ids in released judgments. Never reuse SECRET_KEY for it: rotating
# the session secret must not change the published pseudonyms of past releases.
EXPORT_PSEUDONYM_SALT = env_str("TRENCHCOAT_PSEUDONYM_SALT") or (
    "local-only-pseudonym-salt" if DEBUG else ""
)
if not EXPORT_PSEUDONYM_SALT:
    raise ImproperlyConfigured(
        "TRENCHCOAT_PSEUDONYM_SALT is not set. Set it to a long random string and keep it: it "
        "pseudonymizes annotator ids in releases."
    )

INSTALLED_APPS = [
    "annotation.admin_site.TrenchcoatAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "annotation",
    "scoring",
    "exports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a lockout flagged during login into the 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "annotation.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'trenchcoat.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Waiting on the write lock beats failing with "database is locked" under the dev server.
    # WAL: readers (pages, a running aggregation) do not hold writers back, nor writers
    # readers; with synchronous=NORMAL a commit does not wait for the disk (a power cut may
    # lose the last commits, never corrupt the file), so the write lock is held briefly and
    # 32 threads claiming at once do not starve one another past the timeout.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATA_DIR.mkdir(parents=True, exist_ok=True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "annotation:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed names once `collectstatic` has run (the Docker image does);
        # plain names before that (tests, `make dev`).
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if (STATIC_ROOT / "staticfiles.json").exists()
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Serve from the finder when collectstatic has not run (tests, `make dev`).
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", default=True)
WHITENOISE_AUTOREFRESH = DEBUG

# Uploads of item files can be large; they are streamed to disk past 5 MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Every import (page, API, command) refuses a file over this size before reading it.
IMPORT_MAX_BYTES = env_int("TRENCHCOAT_IMPORT_MAX_BYTES", 512 * 1024 * 1024)
# Uploads with more lines than this are imported by a worker; the file waits in IMPORT_DIR
# (shared by web and workers) until the job has finished.
IMPORT_BACKGROUND_LINES = env_int("TRENCHCOAT_IMPORT_BACKGROUND_LINES", 2000)
IMPORT_DIR = Path(env_str("TRENCHCOAT_IMPORT_DIR") or DATA_DIR / "imports")
# pg_dump and pg_restore for `manage.py backup` / `restore`: this directory, else the PATH.
POSTGRES_BIN_DIR = env_str("TRENCHCOAT_PG_BIN")

# Security: production serves over TLS, terminated by a reverse proxy in front of gunicorn.
# `manage.py check --deploy` is clean with these defaults except for the warnings listed in
# tests/annotation/test_deploy_check.py, each with its reason (README, "Production").
_proxy_ssl_header = env_str("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto")
# Trust the header only where a proxy overwrites it; "off" when gunicorn faces clients itself.
SECURE_PROXY_SSL_HEADER = (
    None
    if _proxy_ssl_header.lower() in {"off", "none", "0"}
    else ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
# Off by default: the proxy redirects HTTP to HTTPS, and the container's health check and
# in-network callers speak plain HTTP to gunicorn (security.W008, documented).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Sent only on HTTPS responses, so it cannot lock out a plain-HTTP development server.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
# Preloading is a request to browser vendors for the whole registrable domain, not this
# app's call (security.W021, documented).
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): only this origin's scripts, styles and images, no
# inline script or style and no eval (htmx runs with allowEval off, see base.html). Images
# are 'self' and data: only; Markdown images in content are rendered as links
# (annotation/markdown.py), so content never makes a browser fetch from another host.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Login throttling (django-axes) on every form that authenticates (/accounts/login/ and
# /admin/login/). A username, or an address, with this many failures inside the cool-off is
# locked out: each further attempt, the right password included, gets 429 with a
# Retry-After, and restarts the cool-off. Attempts live in the database (no Redis needed).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env_int("TRENCHCOAT_LOGIN_FAILURE_LIMIT", 5)
_cool_off_minutes = env_int("TRENCHCOAT_LOGIN_COOLOFF_MINUTES", 15)
if AXES_FAILURE_LIMIT < 1 or _cool_off_minutes < 1:
    raise ImproperlyConfigured(
        "TRENCHCOAT_LOGIN_FAILURE_LIMIT and TRENCHCOAT_LOGIN_COOLOFF_MINUTES must be at least 1."
    )
AXES_COOLOFF_TIME = timedelta(minutes=_cool_off_minutes)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# A success does not clear the counts: one valid account would otherwise let its owner clear
# the address's count between guesses at other accounts.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "annotation.lockout.lockout_response"
# The client's address, as the REST API's throttles see it too (NUM_PROXIES below):
# REMOTE_ADDR, or behind N reverse proxies the address the outermost one saw, N-th from the
# right in X-Forwarded-For. Without it everyone would share the proxy's address; trusting the
# header with no proxy would let a client pick its own address.
PROXY_COUNT = env_int("TRENCHCOAT_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "annotation.lockout.client_address"

# Celery: with no REDIS_URL, tasks run eagerly in-process (the embedded default). The
# in-memory broker is named with a host so that kombu does not warn, on every eager task,
# that none was supplied.
REDIS_URL = env_str("REDIS_URL")
IN_PROCESS_BROKER = "memory://localhost/"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL or IN_PROCESS_BROKER
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ALWAYS_EAGER = env_bool(
    "CELERY_TASK_ALWAYS_EAGER", default=CELERY_BROKER_URL.startswith("memory://")
)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "scoring.tasks.aggregation_*": {"queue": "aggregate"},
    "annotation.tasks.dashboard_*": {"queue": "aggregate"},
    "exports.tasks.*": {"queue": "exports"},
    "scoring.tasks.scorer_*": {"queue": "scoring"},
}
# A task taken by a worker that dies (acks_late) goes back on its queue once this many seconds
# passed since it was taken, when a worker starts or on a worker's periodic check. It must
# exceed the longest task, or a slow task is run twice (harmless: tasks are idempotent).
_visibility_timeout = env_int("CELERY_VISIBILITY_TIMEOUT", 3600)
if _visibility_timeout < 1:
    raise ImproperlyConfigured("CELERY_VISIBILITY_TIMEOUT must be at least 1 (seconds).")
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": _visibility_timeout}
# `celery -A config beat` (docker-compose's beat service, `make beat`). Not needed on the
# embedded default: there is no broker, and `manage.py aggregate` or the Run button catch up.
CELERY_BEAT_SCHEDULE = {
    "auto-aggregation-catch-up": {
        "task": "scoring.tasks.auto_aggregation_catch_up",
        "schedule": 60.0,
        "options": {"expires": 55},  # a tick that waited a minute is replaced by the next
    },
    "release-catch-up": {
        "task": "exports.tasks.release_catch_up",
        "schedule": 300.0,
        "options": {"expires": 295},
    },
}

# Automatic aggregation: a run is queued once this many judgments arrived since the last run,
# and at most once per debounce window per project.
AGGREGATE_AFTER_JUDGMENTS = env_int("TRENCHCOAT_AGGREGATE_AFTER_JUDGMENTS", 200)
AGGREGATE_DEBOUNCE_SECONDS = env_int("TRENCHCOAT_AGGREGATE_DEBOUNCE_SECONDS", 300)
# The lead dashboard's stored figures are recounted this long after the first commit that
# changed them (one recount per burst; annotation.services.dashboard).
DASHBOARD_REFRESH_SECONDS = env_int("TRENCHCOAT_DASHBOARD_REFRESH_SECONDS", 5)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "annotation.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("API_THROTTLE_ANON", "60/minute"),
        "user": env_str("API_THROTTLE_USER", "1200/minute"),
    },
    "EXCEPTION_HANDLER": "annotation.api_errors.exception_handler",
    "NUM_PROXIES": PROXY_COUNT,
}

# API tokens (django-rest-knox with a named model, annotation/models/tokens.py): stored as
# SHA-512 digests, shown once, each with its own expiry (annotation/services/tokens.py).
KNOX_TOKEN_MODEL = "annotation.ApiToken"
REST_KNOX = {"TOKEN_MODEL": KNOX_TOKEN_MODEL, "AUTH_HEADER_PREFIX": "Token"}
# knox's own migrations create its default `knox_authtoken` table even though the model is
# swapped out for ours; that unused table references auth_user and breaks test-database
# flushes. With no migrations, Django creates no table for the swapped model.
MIGRATION_MODULES = {"knox": None}

SPECTACULAR_SETTINGS = {
    "TITLE": "Trenchcoat API",
    "DESCRIPTION": "Projects, agreement, aggregation runs and versioned dataset releases.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Swagger UI and ReDoc from drf-spectacular-sidecar: no CDN, the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Every operation's error answers (401, 403, 404, 429, and 400 where it takes input).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "annotation.api_errors.schema_document_errors",
    ],
}
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # An unreachable Redis costs a request at most this long, never a hang (its
            # failures after a commit are logged and skipped: annotation.side_effects).
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

TRENCHCOAT_VERSION = "0.1.0"
