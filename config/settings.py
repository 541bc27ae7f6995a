"""One settings module, driven by the environment (see .env.example)."""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)


def _secret(name: str, dev_default: str) -> str:
    value = env_str(name)
    if value:
        return value
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(f"{name} must be set when DEBUG is off")


SECRET_KEY = _secret("SECRET_KEY", "dev-only-insecure-secret-key-change-me-0123456789abcdef")
TWILIO_AUTH_TOKEN = _secret("TWILIO_AUTH_TOKEN", "dev-twilio-auth-token")
SMS_HASH_KEY = _secret("SMS_HASH_KEY", "dev-sms-hash-key")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "directory.admin_app.DirectoryAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "simple_history",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_filters",
    "drf_spectacular",
    "rest_framework_api_key",
    "drf_spectacular_sidecar",
    "csp",
    "directory",
    "sms",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (admin, Swagger UI, Redoc) are served by the app itself, with DEBUG off too.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # django-csp's, with the settings' policy built once (config/csp.py).
    "config.csp.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "directory.exception_handler.RejectNullCharactersMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Marks a user who signed in with a one-time code as verified (moderators must be).
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "directory.exception_handler.DatabaseUnavailableMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Outside the caching one, so the 304s it answers are counted too.
    "directory.usage.PartnerUsageMiddleware",
    "directory.http_caching.ReadCachingMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into its lockout response.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # First, so a locked-out account or address is refused before its password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
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

# SQLite is the embedded default; DATABASE_URL switches to PostgreSQL.
DATABASE_URL = env_str("DATABASE_URL")
# What a 503 for a database that cannot answer (directory/exception_handler.py) asks clients to wait.
DATABASE_RETRY_AFTER_SECONDS = env_int("DATABASE_RETRY_AFTER_SECONDS", 5, minimum=1)
# PostgreSQL cancels any statement running longer than this, so no request holds a worker or a
# connection for longer; the request then answers 503 with Retry-After. Keep it well below the WSGI
# server's worker timeout (gunicorn: 30 s), so a worker is never killed mid-query. 0 turns it off, for
# bulk jobs (the benchmark's loader) that are no request.
DATABASE_STATEMENT_TIMEOUT_MS = env_int("DATABASE_STATEMENT_TIMEOUT_MS", 5000, minimum=0)
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=600, conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend, checking a kept connection without a round trip when it can (config/postgresql).
        DATABASES["default"]["ENGINE"] = "config.postgresql"
    # Parameters bound by the server, and a statement run five times on a connection prepared there: the
    # busiest statements are then planned once per connection, not on every request. Turn it off
    # (DATABASE_PREPARED_STATEMENTS=0) behind a pooler in transaction mode that cannot keep them.
    if env_bool("DATABASE_PREPARED_STATEMENTS", default=True):
        DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
    if DATABASE_STATEMENT_TIMEOUT_MS:
        _options = DATABASES["default"].setdefault("OPTIONS", {})
        _timeout = f"-c statement_timeout={DATABASE_STATEMENT_TIMEOUT_MS}"
        _options["options"] = f"{_options.get('options', '')} {_timeout}".strip()
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            # Kept open across requests, as PostgreSQL's are: opening one and running the pragmas below
            # cost about 1.5 ms per request.
            "CONN_MAX_AGE": 600,
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so concurrent writers wait
                # (busy timeout) instead of failing with "database is locked" mid-transaction.
                "transaction_mode": "IMMEDIATE",
                "timeout": 10,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
# While Redis is unreachable each process answers from its own memory (config/cache.py says what then
# holds per process only), and tries Redis again after this many seconds.
REDIS_RETRY_SECONDS = env_int("REDIS_RETRY_SECONDS", 5, minimum=1)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.cache.SharedCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "helpdir"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "config.cache.LocalCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves STATIC_ROOT (filled by `collectstatic`) and, without it, the apps' own static folders,
# so a fresh checkout serves the admin and the API docs with DEBUG off and without a build step.
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", default=True)

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "directory.exception_handler.ErrorDocumentingSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "directory.pagination.DirectoryPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_RENDERER_CLASSES": ["directory.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    # Partner keys first: a refused key gets 401 with WWW-Authenticate: Api-Key (writes say Token).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "directory.authentication.PartnerKeyAuthentication",
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["directory.throttling.ClientRateThrottle", "directory.throttling.PartnerKeyQuota"],
    "DEFAULT_THROTTLE_RATES": {"anon": env_str("API_ANON_RATE", "30/minute")},
    # Proxies in front of the app whose X-Forwarded-For is trusted for the client's address (0: none).
    "NUM_PROXIES": env_int("API_TRUSTED_PROXIES", 0, minimum=0),
    "EXCEPTION_HANDLER": "directory.exception_handler.exception_handler",
}

# Seconds browsers and CDNs may reuse a public read before revalidating it.
HTTP_CACHE_MAX_AGE = env_int("HTTP_CACHE_MAX_AGE", 60, minimum=0)

SPECTACULAR_SETTINGS = {
    "TITLE": "Helpline directory API",
    "DESCRIPTION": (
        "Verified helplines, police units and support agencies for people facing online sextortion "
        "and sexual exploitation, searchable by place, topic and language."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc from the app's own static files: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "directory.schema.document_caching_and_limits",
    ],
    # Keeps the /api/v1/ operation ids and tags (v1_…): beside /hsds/, the common path prefix would shrink to /.
    "SCHEMA_PATH_PREFIX": r"/api",
    "ENUM_NAME_OVERRIDES": {
        "ServiceKindEnum": "directory.models.ServiceKind",
        "OrganizationKindEnum": "directory.models.OrganizationKind",
        "ChannelKindEnum": "directory.models.ChannelKind",
        "VerificationStateEnum": ["unverified", "pending", "verified", "stale"],
        "ReviewConflictCodeEnum": "directory.exception_handler.REVIEW_REFUSAL_CODES",
    },
}

# Maintainer and moderator API tokens: random, stored as SHA-512 digests, expiring, revocable.
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=env_int("API_TOKEN_TTL_HOURS", 10, minimum=1)),
    "TOKEN_LIMIT_PER_USER": env_int("API_TOKENS_PER_USER", 10, minimum=1),
    "AUTO_REFRESH": False,
}

# Failed sign-ins (API token endpoint and admin alike) lock out the account and, separately, the address.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "directory.auth.lockout_response"
# Behind a proxy, the client's address as the rate limits see it (API_TRUSTED_PROXIES), not the proxy's.
AXES_CLIENT_IP_CALLABLE = "directory.auth.client_address"
AXES_VERBOSE = False

# Pages load scripts only from this app: no inline script, no CDN. Swagger UI and Redoc set inline styles
# and Redoc renders in a blob: worker, hence those two allowances.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Behind a TLS-terminating proxy the public scheme comes from this header.
if env_bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_X_FORWARDED_HOST = env_bool("USE_X_FORWARDED_HOST", default=False)

if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Joining the browsers' preload list is a one-way commitment for the whole domain, made by the
        # operator with SECURE_HSTS_PRELOAD=1, not a default.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SECURE_CONTENT_TYPE_NOSNIFF = True

# HSDS: the address published as assurer_email of verified listings (the team that verifies them); empty: none.
HSDS_ASSURER_EMAIL = env_str("HSDS_ASSURER_EMAIL", "")

# Mail (review reminders): the console by default; EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend
# with EMAIL_HOST etc. to send for real.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Helpline directory <noreply@localhost>")
# The public address of this service, for links in emails.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

# SMS gateway
SMS_PUBLIC_BASE_URL = env_str("SMS_PUBLIC_BASE_URL")
SMS_STATE_TTL_HOURS = env_int("SMS_STATE_TTL_HOURS", 4, minimum=1)
SMS_RATE_LIMIT = env_int("SMS_RATE_LIMIT", 10, minimum=1)
SMS_RATE_WINDOW_SECONDS = env_int("SMS_RATE_WINDOW_SECONDS", 600, minimum=1)
SMS_DELIVERY_STATUS_DAYS = env_int("SMS_DELIVERY_STATUS_DAYS", 30, minimum=1)
# Daily SMS statistics are counted in the cache and copied to the database at most this often (0: every message).
SMS_STATS_FLUSH_SECONDS = env_int("SMS_STATS_FLUSH_SECONDS", 60, minimum=0)

# Search and lists answer from an in-memory read model per process (directory/readmodel.py), kept fresh
# by the database's revision; off, they query SQL. Preload builds it when the WSGI app is loaded (set it
# with gunicorn --preload so the workers share one copy).
READ_MODEL = env_bool("READ_MODEL", default=True)
READ_MODEL_PRELOAD = env_bool("READ_MODEL_PRELOAD", default=False)
# How long a process answers from its read model without asking the database for its revision, when no
# listing was written on this machine since (directory/local_writes.py): the delay before a change made on
# another node (or in SQL by hand) is served here. 0 asks before every answer.
READ_MODEL_CHECK_MS = env_int("READ_MODEL_CHECK_MS", 1000, minimum=0)
# Days the change log keeps its entries (manage.py purge_change_log); a process whose read model has not
# caught up for longer builds it afresh.
DIRECTORY_CHANGE_DAYS = env_int("DIRECTORY_CHANGE_DAYS", 7, minimum=1)
# How long the area candidates of a search (which depend on the region, not the point) are reused.
SEARCH_CACHE_SECONDS = env_int("SEARCH_CACHE_SECONDS", 120, minimum=0)

# Online geocoding is off by default; postcodes resolve from the offline table.
GEOCODER_ONLINE = env_bool("GEOCODER_ONLINE", default=False)
GEOCODER_USER_AGENT = env_str("GEOCODER_USER_AGENT", "helpline-directory")
GEOCODER_TIMEOUT_SECONDS = env_int("GEOCODER_TIMEOUT_SECONDS", 5, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
