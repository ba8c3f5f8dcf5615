"""Settings for Argument Annotator, read from the environment (twelve-factor).

See the README's "Configuration" table. Nothing secret lives in this file.
"""

import sys
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

TESTING = "pytest" in sys.modules or sys.argv[1:2] == ["test"]
DEBUG = env.bool("DJANGO_DEBUG", default=False)

# Keys that are public knowledge (examples, test fixtures) must never sign a production session.
KNOWN_INSECURE_SECRET_KEYS = {
    "",
    "change-me",
    "changeme",
    "secret",
    "dev",
    "not-a-secret-used-only-by-the-test-suite",
}
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
# Without the variable, a key kept in a file: `make run` keeps one in .secret_key, so that
# `manage.py createsuperuser` and friends work in development as they do under `make run`;
# deployments may point DJANGO_SECRET_KEY_FILE at a mounted secret instead.
_SECRET_KEY_FILE = Path(env.str("DJANGO_SECRET_KEY_FILE", default=str(BASE_DIR / ".secret_key")))
if not SECRET_KEY and _SECRET_KEY_FILE.is_file():
    SECRET_KEY = _SECRET_KEY_FILE.read_text(encoding="utf-8").strip()
if TESTING and not SECRET_KEY:
    SECRET_KEY = "not-a-secret-used-only-by-the-test-suite"  # noqa: S105
elif DEBUG and not SECRET_KEY:
    # Development only: a throwaway key per process (sessions end when the server restarts).
    import secrets

    SECRET_KEY = secrets.token_urlsafe(50)
elif SECRET_KEY in KNOWN_INSECURE_SECRET_KEYS or SECRET_KEY.startswith("django-insecure"):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is missing or a publicly known value. Set it to a long random string, "
        'e.g. python -c "import secrets; print(secrets.token_urlsafe(50))". '
        "(`make run` generates and keeps one for local use.)"
    )

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
if TESTING:
    ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "axes",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "articles",
]

MIDDLEWARE = [
    "annotator.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "annotator.middleware.CSPMiddleware",  # django-csp's, its policy built once
    "django_htmx.middleware.HtmxMiddleware",
    "annotator.middleware.HtmxLoginRedirectMiddleware",
    "axes.middleware.AxesMiddleware",
    "annotator.middleware.DatabaseUnavailableMiddleware",
    "articles.replica.ReplicaReadsMiddleware",
]

ROOT_URLCONF = "annotator.urls"
WSGI_APPLICATION = "annotator.wsgi.application"

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
            "string_if_invalid": "",
        },
    }
]

# Database: SQLite by default (one person trying the app), PostgreSQL through DATABASE_URL.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}


def _postgresql(config: dict) -> None:
    """What a PostgreSQL connection (the primary or the replica) is set up with."""
    if config["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend with a health check that costs no round trip and prepared
        # statements for the reads every request makes (annotator/db/postgresql/base.py).
        config["ENGINE"] = "annotator.db.postgresql"
    # A connection kept between requests is checked before its first query of each one, so
    # a restarted server costs one retried connection, not an error (bench/fault_db_restart.py).
    config["CONN_HEALTH_CHECKS"] = True
    options = config.setdefault("OPTIONS", {})
    # No JIT: the counts' CASE branches (articles/selectors.py) raise a short query's estimated
    # cost past jit_above_cost, and compiling took 150 ms to 2.8 s of a 30 ms read (EXPLAIN).
    options.setdefault("options", "-c jit=off")
    if not env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        # e.g. behind a pooler in transaction mode that cannot keep prepared statements
        options["prepare_threshold"] = None


_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers and a writer work at once; IMMEDIATE takes the write lock at BEGIN so two
    # writers queue on the busy timeout instead of failing "database is locked" mid-transaction.
    _db.setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            "PRAGMA foreign_keys=ON;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
    # Kept open between requests, as on PostgreSQL: opening one (and its PRAGMAs) took 1.9 ms,
    # more than the rest of a short API request (bench/README.md, "One document").
    _db.setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    if TESTING:
        # A file, not Django's shared in-memory database, so that the concurrency tests exercise
        # the same WAL + busy-timeout behaviour as a real deployment. One file per test process.
        import os
        import tempfile

        _db["TEST"] = {
            "NAME": str(Path(tempfile.gettempdir()) / f"annotator-test-{os.getpid()}.sqlite3")
        }
else:
    _db.setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    _postgresql(_db)
# A streaming replica for heavy reads (articles/replica.py): exports, agreement, search, lists.
# Without DATABASE_REPLICA_URL everything reads from the primary, as before.
_replica_url = env.str("DATABASE_REPLICA_URL", default="")
REPLICA_ALIASES: tuple[str, ...] = ()
if _replica_url:
    DATABASES["replica"] = env.db_url_config(_replica_url)
    _postgresql(DATABASES["replica"])
    DATABASES["replica"].update(
        CONN_MAX_AGE=_db.get("CONN_MAX_AGE", 0),
        TEST={"MIRROR": "default"},  # tests read the primary's test database through it
    )
    REPLICA_ALIASES = ("replica",)
elif TESTING:
    # Tests that exercise the routing turn it on over this alias, a mirror of the primary.
    DATABASES["replica"] = {**_db, "TEST": {"MIRROR": "default"}}
DATABASE_ROUTERS = ["articles.replica.ReplicaRouter"]
# How long after a write the same browser or API token reads from the primary only (seconds).
REPLICA_READ_YOUR_WRITES_SECONDS = env.float("REPLICA_READ_YOUR_WRITES_SECONDS", default=10)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Argon2id at OWASP's parameters first (annotator/hashers.py: a login's hash in ~17 ms instead
# of PBKDF2's ~190 ms); PBKDF2 after it, so that accounts made before still log in, and are
# hashed anew with Argon2id at that login.
PRODUCTION_PASSWORD_HASHERS = [
    "annotator.hashers.Argon2idPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
PASSWORD_HASHERS = PRODUCTION_PASSWORD_HASHERS
if TESTING:
    # Fast hashes for the suite's many users (tests/test_password_hashing.py checks the above).
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling: lock a (username, address) pair after repeated failures.
# Failures are rows in the database (AccessAttempt, one per pair, incremented under a row lock), so
# every process serving the app counts the same failures, whatever cache CACHE_URL names.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = DEBUG or TESTING  # serve static files without collectstatic in dev/tests
MEDIA_ROOT = Path(env.str("DJANGO_MEDIA_ROOT", default=str(BASE_DIR / "media")))
# Export files and uploads waiting for an import job: not served as media, only through the
# job's download URL (which checks who asks). Another storage backend (e.g. S3 through
# django-storages) can replace it; the web processes and the workers must share it.
JOBS_FILES_DIR = Path(env.str("JOBS_FILES_DIR", default=str(MEDIA_ROOT / "jobs")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "jobs": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(JOBS_FILES_DIR), "base_url": None},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Article text limit (code points) and request body limits; larger requests get 413.
ARTICLE_MAX_CHARS = env.int("ARTICLE_MAX_CHARS", default=500_000)
# An export on PostgreSQL in a transaction of its own writes every other batch in a second
# process (articles/exports/parallel.py: each server worker keeps one); 1 keeps every export in
# one process.
EXPORT_PROCESSES = env.int("DJANGO_EXPORT_PROCESSES", default=2)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=200 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "articles.api.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["articles.api.renderers.JSONRenderer"],  # DRF's, + orjson
    "DEFAULT_PARSER_CLASSES": ["articles.api.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "articles.api.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "articles.api.throttles.UserRateThrottle",  # fixed windows: O(1) per request
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/minute"),
        "user": env.str("API_THROTTLE_USER", default="6000/minute"),
        "token": env.str("API_THROTTLE_TOKEN", default="10/minute"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # How many proxies in front append to X-Forwarded-For: the throttles count the address the
    # last trusted proxy saw, never one a client wrote itself (set below, with HTTPS).
    "NUM_PROXIES": 0,
}
# Named API tokens with a last-use time (articles.ApiToken extends knox's hashed token model).
KNOX_TOKEN_MODEL = "articles.ApiToken"  # noqa: S105 (a model name, not a secret)
REST_KNOX = {
    "TOKEN_TTL": None,  # tokens live until revoked on the tokens page or through the API
    "AUTO_REFRESH": False,
    "AUTH_HEADER_PREFIX": "Token",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Argument Annotator API",
    "DESCRIPTION": "Corpora of news articles with claims, stances, evidence, reviews and exports.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",  # tags and operation ids from the resource, not "v1"
    # API paths are listed without their optional trailing slash.
    "PREPROCESSING_HOOKS": ["articles.api.schema.canonical_api_paths"],
    # Fields that share a name but not their choices get distinct enum names.
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "articles.models.Role",
        "EvidenceRoleEnum": "articles.models.EvidenceRole",
        "EvidenceKindEnum": "articles.models.EvidenceKind",
        "RelationKindEnum": "articles.models.RelationKind",
        "AssignmentStateEnum": "articles.models.AssignmentState",
        "AnnotationStatusEnum": "articles.models.AnnotationStatus",
    },
}

# Shared state. Every process serving the app (gunicorn workers, several machines) must see the
# same API throttle counts (DRF keeps them in the "default" cache), so the cache lives outside the
# process: by default a table in the database (no extra service; created by a migration), or
# Redis with CACHE_URL=redis://host:6379/0.
DATABASE_CACHE_TABLE = "annotator_cache"  # articles/migrations/0005_cache_table.py creates it
REDIS_CACHE_BACKEND = "django.core.cache.backends.redis.RedisCache"


def _cache_from_url(url: str) -> dict:
    """One CACHES entry from a django-environ cache URL; redis:// always means Django's own Redis
    backend (django-environ would pick django-redis whenever that happens to be installed)."""
    scheme = url.split(":", 1)[0]
    backend = REDIS_CACHE_BACKEND if scheme in {"redis", "rediss", "rediscache"} else None
    config = environ.Env.cache_url_config(url, backend=backend)
    for name in ("TIMEOUT", "KEY_PREFIX", "VERSION", "KEY_FUNCTION"):
        # django-environ lower-cases these for the Redis backend, where Django reads upper case.
        if name.lower() in config:
            config[name] = config.pop(name.lower())
    if config["BACKEND"] == "django.core.cache.backends.db.DatabaseCache":
        # Past 300 live entries Django deletes a third of them in key order: a burst of new
        # addresses could push the counts of others out and so reset their throttles.
        config.setdefault("OPTIONS", {}).setdefault("MAX_ENTRIES", 20_000)
    return config


# An empty CACHE_URL (e.g. `CACHE_URL: ${CACHE_URL:-}` in compose) means the default too.
_cache_url = env.str("CACHE_URL", default="") or f"dbcache://{DATABASE_CACHE_TABLE}"
CACHES = {"default": _cache_from_url(_cache_url)}
if TESTING:
    # Each test process counts in its own memory and the security tests clear it between tests,
    # so one test's requests never throttle another's (and query counts hold no cache queries).
    # tests/test_shared_state.py starts real servers, outside pytest, on the shared default.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Sessions are rows in the database, which every process already shares; not in the cache, so
# that flushing or restarting Redis logs nobody out.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# Content-Security-Policy: no inline script or style anywhere; pages load only their own assets.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = (
    False  # htmx reads the token from the page, not the cookie; kept default-compatible
)

# Production is served over HTTPS (behind a TLS proxy that sets X-Forwarded-Proto); set
# DJANGO_HTTPS=0 only for a plain-HTTP trial such as `docker compose up` on localhost.
HTTPS = env.bool("DJANGO_HTTPS", default=not DEBUG and not TESTING)
# Behind the TLS proxy that HTTPS assumes, one proxy; without it, none (the socket's address).
REST_FRAMEWORK["NUM_PROXIES"] = env.int("DJANGO_TRUSTED_PROXIES", default=1 if HTTPS else 0)
if HTTPS:
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"refusals": {"()": "annotator.middleware.RefusalLogFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["refusals"]}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="WARNING")},
}

# E-mail (invitations, password resets): EMAIL_URL names the server, e.g.
# smtp+tls://user:password@smtp.example.org:587 (django-environ's form). Without it, mail is
# written to the console (the log), and an invitation is only shown to copy, not sent.
EMAIL_CONFIGURED = bool(env.str("EMAIL_URL", default=""))
globals().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="annotator@localhost")
if TESTING:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
INVITATION_DAYS = env.int("INVITATION_DAYS", default=7)
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24 * 3  # a reset link works for three days
# Background jobs (exports to a file, large imports) on Django's task framework (the django-tasks
# backport). TASKS_BACKEND=database (default): the task is a row in this database, written in the
# transaction of the request that asks for it, run by `manage.py jobs_worker`; TASKS_BACKEND=rq:
# queued in Redis (TASKS_REDIS_URL, else a redis:// CACHE_URL) and run by the same command.
TASKS_BACKEND = env.str("TASKS_BACKEND", default="database")
TASKS: dict[str, dict[str, object]]
if TASKS_BACKEND == "database":
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
elif TASKS_BACKEND == "rq":
    _redis_default = _cache_url if _cache_url.startswith(("redis://", "rediss://")) else ""
    TASKS_REDIS_URL = env.str("TASKS_REDIS_URL", default=_redis_default)
    if not TASKS_REDIS_URL:
        raise ImproperlyConfigured("TASKS_BACKEND=rq needs TASKS_REDIS_URL (redis://host:6379/1).")
    INSTALLED_APPS.insert(INSTALLED_APPS.index("articles"), "django_rq")
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    # A job outlives RQ's 3-minute default; our own lease (JOBS_LEASE_SECONDS) finds dead workers.
    RQ_QUEUES = {"default": {"URL": TASKS_REDIS_URL, "DEFAULT_TIMEOUT": 6 * 3600}}
else:
    raise ImproperlyConfigured(f"TASKS_BACKEND must be 'database' or 'rq', not {TASKS_BACKEND!r}.")
# How long a finished job's file is kept before the worker removes it (hours).
JOBS_FILE_HOURS = env.float("JOBS_FILE_HOURS", default=24)
# A running job renews its lease every JOBS_HEARTBEAT_SECONDS; a job whose lease ran out (its
# worker died) is queued again, up to JOBS_MAX_ATTEMPTS attempts, then marked failed.
JOBS_LEASE_SECONDS = env.float("JOBS_LEASE_SECONDS", default=60)
JOBS_HEARTBEAT_SECONDS = env.float("JOBS_HEARTBEAT_SECONDS", default=5)
JOBS_MAX_ATTEMPTS = env.int("JOBS_MAX_ATTEMPTS", default=3)
# How often the worker looks for dead workers' jobs and expired files (seconds).
JOBS_MAINTENANCE_SECONDS = env.float("JOBS_MAINTENANCE_SECONDS", default=30)
