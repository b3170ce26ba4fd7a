"""Settings shared by every environment. Everything that differs between machines comes from the environment."""

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

SECRET_KEY = env("SECRET_KEY", default="insecure-local-only-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_prometheus",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_ratelimit",
    "rwa_service.accounts",
    "rwa_service.idempotency",
    "audit",
    "assets",
    "tokenization",
    "valuation",
]

MIDDLEWARE = [
    "rwa_service.request_metrics.RequestMetricsMiddleware",
    "rwa_service.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "rwa_service.urls"
# Admin messages ride in the session: the default (cookie first) builds a cookie signer on every request.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
WSGI_APPLICATION = "rwa_service.wsgi.application"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------------------
# The embedded default is SQLite in WAL mode; DATABASE_URL moves the service to PostgreSQL with no code change.
SQLITE_PATH = env("SQLITE_PATH", default=str(VAR_DIR / "db.sqlite3"))
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{SQLITE_PATH}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of failing mid-transaction.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        }
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The same backend, with a reused connection's health check at most once per DB_HEALTH_CHECK_SECONDS.
    DATABASES["default"]["ENGINE"] = "rwa_service.db.postgresql"
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DB_HEALTH_CHECK_SECONDS = env.float("DB_HEALTH_CHECK_SECONDS", default=1.0)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="rwa"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rwa"}}
    # django-ratelimit wants a shared cache; the embedded default has one process-local cache per worker,
    # so limits are counted per worker there. Production sets REDIS_URL.
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Covering indexes (INCLUDE) speed PostgreSQL up; SQLite builds the same indexes without the extra columns.
    SILENCED_SYSTEM_CHECKS = [*globals().get("SILENCED_SYSTEM_CHECKS", []), "models.W040"]
RATELIMIT_USE_CACHE = "default"
# Behind a proxy every client shares the proxy's address: name the header that carries the client's own address
# (e.g. HTTP_X_REAL_IP, set by your proxy, never by the client) so the login limit counts clients, not the proxy.
RATELIMIT_IP_META_KEY = env("RATELIMIT_IP_META_KEY", default=None)
RATELIMIT_VIEW = "rwa_service.api.errors.ratelimited_view"
LOGIN_RATE_LIMIT = env("LOGIN_RATE_LIMIT", default="20/m")

# --- Celery ---------------------------------------------------------------------------------------------------
# Without CELERY_BROKER_URL the broker is kombu's filesystem transport: a real worker and beat, no server.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_DIR = Path(env("CELERY_BROKER_DIR", default=str(VAR_DIR / "broker")))
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "tokenization.tasks.*": {"queue": "default"},
    "valuation.tasks.*": {"queue": "default"},
    "audit.tasks.*": {"queue": "default"},
}
CELERY_IMPORTS = ["tokenization.tasks", "valuation.tasks", "audit.tasks"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Auth -----------------------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/api-auth/login/"
CSRF_FAILURE_VIEW = "rwa_service.api.errors.csrf_failure_view"  # a problem+json 403, like every other error
LOGIN_REDIRECT_URL = "/api/v1/"

USER_CACHE_SECONDS = env.int("USER_CACHE_SECONDS", default=60)  # evicted at once when a user or their roles change
# Per-process cache of asset representations by (id, version): entries per worker (0: off) and their lifetime.
# Each process's own copy of a signed-in user, in front of the shared cache (0 s: off); see accounts/authentication.py.
USER_LOCAL_CACHE_SECONDS = env.float("USER_LOCAL_CACHE_SECONDS", default=2.0)
USER_LOCAL_CACHE_SIZE = env.int("USER_LOCAL_CACHE_SIZE", default=4096)
JWT_VERIFIED_CACHE_SIZE = env.int("JWT_VERIFIED_CACHE_SIZE", default=4096)  # verified access tokens kept per process
ASSET_DETAIL_CACHE_SIZE = env.int("ASSET_DETAIL_CACHE_SIZE", default=4096)
ASSET_DETAIL_CACHE_SECONDS = env.int("ASSET_DETAIL_CACHE_SECONDS", default=300)
ACCESS_TOKEN_MINUTES = min(env.int("JWT_ACCESS_MINUTES", default=15), 15)  # never longer than 15 minutes
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=ACCESS_TOKEN_MINUTES),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=1)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "SIGNING_KEY": env("JWT_SIGNING_KEY", default=SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
}

# --- REST framework -------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rwa_service.accounts.authentication.CachedJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rwa_service.api.pagination.CursorPage",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "rwa_service.api.errors.problem_exception_handler",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "rwa_service.api.negotiation.ContentNegotiation",
    # Scoped limits of the few expensive reads (a view names its scope): a full pass over the audit chain.
    "DEFAULT_THROTTLE_RATES": {"audit_verify": env("AUDIT_VERIFY_RATE", default="6/min")},
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "RWA Asset Service API",
    "DESCRIPTION": "System of record for real-world assets and their tokens.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AssetStatusEnum": "assets.models.AssetStatus",
        "AssetTypeEnum": "assets.asset_types.AssetType",
        "DocumentKindEnum": "assets.models.DocumentKind",
        "AccreditationEnum": "tokenization.models.investor.Accreditation",
        "InvestorTypeEnum": "tokenization.models.investor.InvestorType",
        "KycStatusEnum": "tokenization.models.investor.KycStatus",
        "WalletStatusEnum": "tokenization.models.investor.WalletStatus",
        "TokenStatusEnum": "tokenization.models.token.TokenStatus",
        "OperationStatusEnum": "tokenization.models.operation.OperationStatus",
        "LedgerEntryKindEnum": "tokenization.models.ledger.EntryKind",
    },
}

# --- Documents ------------------------------------------------------------------------------------------------
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
DOCUMENT_MAX_BYTES = env.int("DOCUMENT_MAX_BYTES", default=10 * 1024 * 1024)
DOCUMENT_ALLOWED_CONTENT_TYPES = env.list(
    "DOCUMENT_ALLOWED_CONTENT_TYPES",
    default=["application/pdf", "image/png", "image/jpeg", "text/plain", "text/csv"],
)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Static, i18n ---------------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(VAR_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging: JSON lines carrying the request id ------------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "rwa_service.logging.json_formatter",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.server": {"level": "WARNING"},
    },
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Tokenization -----------------------------------------------------------------------------------------------
# Fernet keys (urlsafe base64, 32 bytes) for investor PII, newest first: older keys still decrypt during rotation
# (`manage.py rotate_pii_keys` re-encrypts everything with the first). Local and test settings derive one from
# SECRET_KEY when unset; production refuses to start without it.
PII_ENCRYPTION_KEYS = env.list("PII_ENCRYPTION_KEYS", default=[])

# --- Audit ----------------------------------------------------------------------------------------------------
# Signed checkpoints of the chain head (audit/checkpoints.py): the base64 of a 32-byte Ed25519 private key where they
# are signed (derived from SECRET_KEY when unset, outside production), the public keys accepted where they are
# verified, and where the signed files go (outside the database host).
AUDIT_SIGNING_KEY = env("AUDIT_SIGNING_KEY", default="")
AUDIT_KEY_FROM_SECRET = True  # outside production only: a signing key derived from SECRET_KEY when none is set
AUDIT_VERIFY_KEYS = env.list("AUDIT_VERIFY_KEYS", default=[])
AUDIT_CHECKPOINT_DIR = Path(env("AUDIT_CHECKPOINT_DIR", default=str(VAR_DIR / "audit-checkpoints")))
EVENT_FEED_MAX = env.int("EVENT_FEED_MAX", default=1000)  # events per page of the integrators' feed
# Webhooks (audit/webhook_urls.py): which URLs may be called, and how deliveries are retried before the dead letter.
WEBHOOK_ALLOWED_SCHEMES = env.list("WEBHOOK_ALLOWED_SCHEMES", default=["https"])
WEBHOOK_ALLOWED_HOSTS = env.list("WEBHOOK_ALLOWED_HOSTS", default=["*"])
WEBHOOK_PRIVATE_HOSTS = env.list("WEBHOOK_PRIVATE_HOSTS", default=[])
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
WEBHOOK_BACKOFF_SECONDS = env.float("WEBHOOK_BACKOFF_SECONDS", default=30.0)  # doubled after each failure
WEBHOOK_BACKOFF_MAX_SECONDS = env.float("WEBHOOK_BACKOFF_MAX_SECONDS", default=3600.0)
WEBHOOK_DISPATCH_BATCH = env.int("WEBHOOK_DISPATCH_BATCH", default=500)
CHAIN_GATEWAY = env("CHAIN_GATEWAY", default="ledger")
TRANSFER_RETRY_ATTEMPTS = env.int("TRANSFER_RETRY_ATTEMPTS", default=8)
# On PostgreSQL a transfer runs as two database calls (tokenization/services/transfer_sql.py); off: the ORM path.
LEDGER_SQL_TRANSFERS = env.bool("LEDGER_SQL_TRANSFERS", default=True)
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=48)
OPERATION_STALE_SECONDS = env.int("OPERATION_STALE_SECONDS", default=120)
# Installed into django-celery-beat's tables at beat start; operators change the schedules in the admin.
CELERY_BEAT_SCHEDULE = {
    "expire-lapsed-kyc": {"task": "tokenization.tasks.expire_kyc", "schedule": 24 * 3600.0},
    "resume-open-operations": {"task": "tokenization.tasks.resume_operations", "schedule": 60.0},
    "purge-idempotency-keys": {"task": "tokenization.tasks.purge_idempotency_keys", "schedule": 3600.0},
    "resume-revaluation-runs": {"task": "valuation.tasks.resume_revaluation_runs", "schedule": 120.0},
}
# The nightly revaluation is not here: a data migration creates it in django-celery-beat's tables, so operators
# change its schedule in the admin (entries here would be rewritten from settings at every beat start).
REVALUATION_CHUNK_SIZE = env.int("REVALUATION_CHUNK_SIZE", default=2000)
# Prices: the stored series by default; PRICE_FEED_URL reads observations from an outside HTTP feed instead, behind
# bounded retries and a circuit breaker (valuation/feeds.py).
PRICE_FEED_URL = env("PRICE_FEED_URL", default="")
PRICE_FEED_TIMEOUT_SECONDS = env.float("PRICE_FEED_TIMEOUT_SECONDS", default=5.0)
PRICE_FEED_RETRIES = env.int("PRICE_FEED_RETRIES", default=2)
PRICE_FEED_BREAKER_THRESHOLD = env.int("PRICE_FEED_BREAKER_THRESHOLD", default=5)
PRICE_FEED_BREAKER_RESET_SECONDS = env.float("PRICE_FEED_BREAKER_RESET_SECONDS", default=60.0)
REVALUATION_CHUNK_STALE_SECONDS = env.int("REVALUATION_CHUNK_STALE_SECONDS", default=600)
