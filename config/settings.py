"""Settings, read from the environment in this one place (README.md, Configuration).

Embedded defaults need nothing but Python: a SQLite file under var/ (WAL, busy timeout, immediate
transactions) and Celery's filesystem broker under var/broker. Production sets DATABASE_URL,
CELERY_BROKER_URL, SECRET_KEY, ALLOWED_HOSTS and leaves DEBUG off.
"""

import datetime as dt
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
# Where the embedded defaults keep their files; created only when one of them is in use, so a production
# process on PostgreSQL and Redis needs no writable project directory.
VAR_DIR = Path(env.str("LOYALTY_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=False)
# The insecure default only exists so a bare `make run` works; production must set SECRET_KEY.
SECRET_KEY = env.str("SECRET_KEY", default="insecure-embedded-default-set-SECRET_KEY-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # the admin's theme; its templates must win over django.contrib.admin's, and its assets are served locally
    "unfold.apps.BasicAppConfig",  # not "unfold": its default config installs a plain UnfoldAdminSite as admin.site
    "backoffice.sites.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "members",
    "members.portal",
    "loyalty",
    "rewards",
    "privacy",
    "backoffice",
]

MIDDLEWARE = [
    "config.middleware.RequestIdMiddleware",
    "config.middleware.FrontDoorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ApiBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'loyalty.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # WAL lets readers run beside the writer; IMMEDIATE takes the write lock at BEGIN so two
            # writers queue on the busy timeout instead of failing with "database is locked".
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    # Server-side binding lets psycopg prepare the statements a connection repeats (the checkout's are the
    # same every time), so PostgreSQL stops parsing and planning them anew. Off by default: it does not go
    # with PgBouncer in transaction mode.
    if env.bool("DATABASE_SERVER_SIDE_BINDING", default=False):
        DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default=None)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The covering index of tier sums has an INCLUDE column that SQLite leaves out; PostgreSQL uses it.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation ---------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
# The portal's catalogue first: an app's own translations yield to those of apps listed before it, so the admin's
# "History" (Geschichte) would otherwise replace the portal's (Verlauf).
LOCALE_PATHS = [BASE_DIR / "members" / "portal" / "locale"]
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(VAR_DIR / "static"))

# --- Security (passes `manage.py check --deploy` with DEBUG off) ------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024  # docs/API.md: a body over 256 KiB is refused

# --- Mail (members' sign-in links and messages) ---------------------------------------------------------
# EMAIL_URL in django-environ's syntax (smtp+tls://user:pass@host:587); the default prints mails to the console.
# With EMAIL_FILE_PATH set to a folder, every mail is written there as a file instead (`make run`: var/mail).
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default="")
if EMAIL_FILE_PATH:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    Path(EMAIL_FILE_PATH).mkdir(parents=True, exist_ok=True)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Loyalty <loyalty@localhost>")
# Links in mails are absolute, built from this (no trailing slash).
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

# --- Member portal ------------------------------------------------------------------------------------------
# A sign-in link works once, within PORTAL_SIGNIN_LINK_MINUTES; at most PORTAL_SIGNIN_LIMIT links are sent per
# email address and per client address in that window. A member's session ends after 30 days without a visit.
PORTAL_SIGNIN_LINK_MINUTES = env.int("PORTAL_SIGNIN_LINK_MINUTES", default=15)
PORTAL_SIGNIN_LIMIT = env.int("PORTAL_SIGNIN_LIMIT", default=5)
PORTAL_SESSION_DAYS = env.int("PORTAL_SESSION_DAYS", default=30)

# --- Cache (throttling counters): per process by default, Redis in production -----------------------
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # A cache server that stops answering holds neither requests (the rate limit then fails open, ApiKeyThrottle)
    # nor /healthz for long (URL options win).
    _cache_timeout = env.float("CACHE_TIMEOUT_SECONDS", default=0.5)
    for _option in ("socket_connect_timeout", "socket_timeout"):
        CACHES["default"].setdefault("OPTIONS", {}).setdefault(_option, _cache_timeout)

# --- REST framework ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["loyalty.api.parsers.ExactJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "config.api_errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Requests per API key (see loyalty.api.base.ApiKeyThrottle); several processes share the count only
    # when CACHE_URL points at a shared cache such as Redis.
    "DEFAULT_THROTTLE_RATES": {
        "api_key": env.str("API_RATE_LIMIT", default="6000/min"),
        # Voucher look-ups and uses by code: low enough that guessing a 65-bit code is hopeless.
        "voucher_lookup": env.str("VOUCHER_LOOKUP_RATE_LIMIT", default="60/min"),
    },
    "COERCE_DECIMAL_TO_STRING": True,
}
# How long a process keeps the program's settings and campaigns before reading them again.
LOYALTY_SETTINGS_CACHE_SECONDS = env.float("LOYALTY_SETTINGS_CACHE_SECONDS", default=5.0)
# How long a process trusts an API key it has verified (a revocation elsewhere takes this long to apply).
API_KEY_CACHE_SECONDS = env.float("API_KEY_CACHE_SECONDS", default=5.0)
# Stored responses to requests with an Idempotency-Key are kept at least this long (docs/API.md: >= 24 h).
IDEMPOTENCY_KEY_TTL_HOURS = max(24, env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=48))

SPECTACULAR_SETTINGS = {
    "TITLE": "Loyalty checkout API",
    "DESCRIPTION": (
        "Points at checkout: members, earning, refunds and points as payment. Every error has the shape "
        '`{"error": {"type", "code", "message", "param"}}`. Every POST accepts an `Idempotency-Key` header '
        "(same key and body: the original response is replayed with `Idempotent-Replayed: true`; same key, "
        "other body: 409 `idempotency_conflict`). Points are integers; money is a decimal string with the "
        "currency's minor units. Lists use cursor pagination (`limit` up to 200)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "HoldStatusEnum": ["held", "captured", "voided", "expired"],
        "SubscriptionStatusEnum": ["incomplete", "trialing", "active", "past_due", "canceled", "expired"],
        "PaymentStatusEnum": ["succeeded", "failed"],
        "RedemptionStatusEnum": ["issued", "cancelled"],
        "VoucherStatusEnum": ["issued", "used", "expired", "cancelled"],
        "MemberStatusEnum": ["active", "suspended", "closed"],
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "loyalty.api.schema_hooks.idempotency_headers",
        "loyalty.api.schema_hooks.pagination_parameters",
        "loyalty.api.schema_hooks.text_inputs",
    ],
}

# --- Celery -----------------------------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem://")
    else {}
)
if CELERY_BROKER_URL.startswith("filesystem://"):
    for folder in ("queue", "processed", "control"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
# Queueing a task must not hold a request for long (loyalty/queueing.py logs a send that fails); a worker just
# tries again. For a Redis broker the same budget applies to its connect.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT}
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Beat's schedule; beat copies into the database the entries it does not hold yet, where staff can change them
# in the admin (Periodic tasks); a restart never overwrites their edits (config/beat.py). Times are UTC.
CELERY_BEAT_SCHEDULER = "config.beat:SeedingDatabaseScheduler"
CELERY_BEAT_SCHEDULE: dict = {
    "expire-points": {"task": "loyalty.tasks.expire_points", "schedule": crontab(minute=5)},
    "activate-pending-points": {"task": "loyalty.tasks.activate_pending_points", "schedule": crontab(minute="*/10")},
    "release-expired-holds": {"task": "loyalty.tasks.release_expired_holds", "schedule": 60.0},
    "recalculate-tiers": {"task": "loyalty.tasks.recalculate_tiers", "schedule": crontab(hour=2, minute=30)},
    "purge-idempotency-keys": {"task": "loyalty.tasks.purge_idempotency_keys", "schedule": crontab(minute=45)},
    "expire-vouchers": {"task": "rewards.tasks.expire_vouchers", "schedule": crontab(minute=15)},
    "renew-subscriptions": {"task": "loyalty.tasks.renew_subscriptions", "schedule": crontab(minute="*/15")},
    "deliver-messages": {"task": "loyalty.tasks.deliver_messages", "schedule": 60.0},
    "process-signin-requests": {"task": "members.portal.tasks.process_signin_requests", "schedule": 60.0},
}

# --- Logging: one setup for web, worker and beat (config/celery.py hands Celery's logging to this) -------------
# LOG_LEVEL applies to every logger, Django's and Celery's included; LOG_FORMAT=json writes one JSON object per
# line. Every line logged while an API request is served carries its X-Request-ID (`-` elsewhere).
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"},
        "json": {"()": "config.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's defaults give these their own handlers (and "django" level INFO whatever LOG_LEVEL says);
        # here they go through the one handler above at LOG_LEVEL.
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.server": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
    },
}

# Staff logins are guarded against guessing (django-axes): after AXES_FAILURE_LIMIT failed logins for one
# username, that username is refused (429) for AXES_COOLOFF_MINUTES, whatever the password and wherever it comes
# from; a successful login resets its count. Locked by username rather than address: behind the proxy every
# staff member would share one. `manage.py axes_reset_username NAME` unlocks one early.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# axes warns when addresses are not a lock criterion; here they are left out on purpose (see above).
SILENCED_SYSTEM_CHECKS += ["axes.W006"]

# Staff log in through the admin's form; one opened directly (no ?next=) lands on the dashboard, not on
# Django's default /accounts/profile/, which this project does not have.
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"

# The admin's theme (django-unfold). Its CSS, fonts and scripts ship in the package and are served as static
# files: nothing is fetched from outside at run time.
UNFOLD = {
    "SITE_TITLE": "Loyalty back office",
    "SITE_HEADER": "Loyalty back office",
    "SITE_SYMBOL": "loyalty",
    "SIDEBAR": {"show_search": True, "show_all_applications": True},
    "DASHBOARD_CALLBACK": "backoffice.dashboard.dashboard_callback",
}
