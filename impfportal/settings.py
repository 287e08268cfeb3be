"""Settings for Impfportal, read from the environment (README: "Configuration").

Development defaults are safe to run on a laptop; with DEBUG off the project refuses to
start without SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL.
"""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from impfportal.database import embedded_database, parse_database_url
from impfportal.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off (comma-separated host names).")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "impfportal",
    "centres",
    "supply",
    "booking",
    "waitingroom",
]

MIDDLEWARE = [
    "impfportal.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "waitingroom.middleware.AdmissionGate",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "impfportal.urls"
WSGI_APPLICATION = "impfportal.wsgi.application"

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
                "impfportal.context_processors.language_links",
            ],
        },
    },
]

# --- Database: PostgreSQL only --------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
EMBEDDED_PGDATA = None  # the embedded server's data directory, when that is the database
if DATABASE_URL:
    _database = parse_database_url(DATABASE_URL)
elif DEBUG:
    EMBEDDED_PGDATA = Path(env_str("EMBEDDED_PGDATA", str(BASE_DIR / "var" / "pgdata"))).resolve()
    _database = embedded_database(EMBEDDED_PGDATA, env_str("EMBEDDED_DATABASE_NAME", "impfportal"))
else:
    raise ImproperlyConfigured(
        "DATABASE_URL must be set when DEBUG is off; the embedded PostgreSQL is for development only."
    )
# Persistent connections: a release-day request should not pay for a new connection.
_database["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 60, minimum=0)
_database["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Task worker (django-q2, ORM broker: no extra infrastructure) ---------------------------
Q_CLUSTER = {
    "name": "impfportal",
    "orm": "default",
    "workers": env_int("Q_WORKERS", 2, minimum=1),
    "timeout": env_int("Q_TIMEOUT", 600, minimum=1),
    "retry": env_int("Q_TIMEOUT", 600, minimum=1) + 60,
    "max_attempts": 3,
    "catch_up": False,
    "sync": env_bool("Q_SYNC", False),
    "label": _("Hintergrundaufgaben"),
}

# --- Passwords ------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Language and time ----------------------------------------------------------------------
LANGUAGE_CODE = "de"
# German at /, English at /en/ (impfportal/urls.py): links, not a cookie, choose the language.
LANGUAGES = [("de", "Deutsch"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

# --- Static files (whitenoise) --------------------------------------------------------------
STATIC_URL = "/static/"
# Collected files (the Docker image collects them at build time). In development whitenoise
# serves straight from the apps' and static/ directories, so nothing needs collecting.
_static_root = env_str("STATIC_ROOT") or (None if DEBUG else str(BASE_DIR / "staticfiles"))
STATIC_ROOT = Path(_static_root) if _static_root else None
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        # Hashed names let browsers and proxies cache static files forever.
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- E-mail (console by default: the demo prints mails to its terminal) ---------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("Set at most one of EMAIL_USE_TLS and EMAIL_USE_SSL.")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Impfportal Sachsen <noreply@impfportal.example>")
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

# --- Booking --------------------------------------------------------------------------------
# How long a held pair stays reserved for one person (DESIGN invariant 5); it can be extended once.
BOOKING_HOLD_MINUTES = env_int("BOOKING_HOLD_MINUTES", 10, minimum=1, maximum=60)

# --- Live overview (docs/overview.md) -------------------------------------------------------
# The free appointments are counted again when the stored count is older than this, by one web
# process for all; each process keeps its copy for OVERVIEW_REFRESH_SECONDS. The overview is at
# most the sum of both (plus one count) behind booking.
OVERVIEW_SECONDS = env_int("OVERVIEW_SECONDS", 3, minimum=0, maximum=60)
OVERVIEW_REFRESH_SECONDS = env_int("OVERVIEW_REFRESH_SECONDS", 1, minimum=0, maximum=30)
# How many days from today the overview shows.
OVERVIEW_DAYS = env_int("OVERVIEW_DAYS", 28, minimum=1, maximum=120)

# --- Waiting room (docs/waitingroom.md) -----------------------------------------------------
# How old each web process's copy of the queue states may get (one query per refresh), and so
# how long a poll response may be cached by browsers, nginx or a CDN.
WAITINGROOM_STATE_SECONDS = env_int("WAITINGROOM_STATE_SECONDS", 2, minimum=0, maximum=30)
# How often a waiting browser asks (JavaScript adds jitter; without it the page refreshes itself).
WAITINGROOM_POLL_SECONDS = env_int("WAITINGROOM_POLL_SECONDS", 10, minimum=2, maximum=120)
# Minutes a called person has to come in ("Jetzt Termin buchen"); then the call lapses and the
# place in the booking process goes to the next in line.
WAITINGROOM_ENTER_MINUTES = env_int("WAITINGROOM_ENTER_MINUTES", 5, minimum=1, maximum=60)
# How often the admission tick runs inside its task (the task itself is started every minute).
WAITINGROOM_TICK_SECONDS = env_int("WAITINGROOM_TICK_SECONDS", 2, minimum=1, maximum=30)
# Tickets one client address may draw per release and minute (bot defence; docs/waitingroom.md).
WAITINGROOM_JOINS_PER_MINUTE = env_int("WAITINGROOM_JOINS_PER_MINUTE", 10, minimum=1)
# Number of trusted proxies in front of the app that append to X-Forwarded-For (0: none, the
# client address is REMOTE_ADDR).
WAITINGROOM_TRUSTED_PROXIES = env_int("WAITINGROOM_TRUSTED_PROXIES", 0, minimum=0, maximum=5)

# --- Hotline API (docs/api.md) -------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["impfportal.api.auth.ClientTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["impfportal.api.auth.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["impfportal.api.auth.ClientRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "impfportal.api.views.Pages",
    "DEFAULT_SCHEMA_CLASS": "impfportal.api.schema.HotlineAutoSchema",
    "EXCEPTION_HANDLER": "impfportal.api.problems.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DATE_INPUT_FORMATS": ["iso-8601"],
}
# Bodies above this are refused with 413 before they are read (the largest real one is ~1 KB).
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 65536, minimum=1024)
SPECTACULAR_SETTINGS = {
    "TITLE": "Impfportal Sachsen – Hotline-Schnittstelle",
    "DESCRIPTION": (
        "REST-Schnittstelle für die Software der Impf-Hotline: Zentren, freie Terminpaare, "
        "Registrierungen, Reservierungen, Buchungen und Freigaben. Alle Fehler kommen als "
        "`application/problem+json` (RFC 9457) mit stabilem `code` und einem deutschen `detail` "
        "zum Vorlesen. Jede Anfrage nennt im Header `X-Agent-Id` die Person am Telefon; jeder "
        "Schreibzugriff steht im Protokoll und kann mit `Idempotency-Key` gefahrlos wiederholt werden."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {},
    "SCHEMA_PATH_PREFIX": r"/api/v1",
}

# --- Security -------------------------------------------------------------------------------
SECURE_COOKIES = env_bool("SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"pgserver": {"level": "WARNING"}},
}
