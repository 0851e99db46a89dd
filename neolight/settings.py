"""NeoLight settings: one module, every knob read from the environment with a default.

With no variables set NeoLight runs embedded: SQLite, an in-process channel layer, a local-memory
cache and Celery tasks executed in-process. `DATABASE_URL` switches to PostgreSQL; `REDIS_URL`
switches the cache, the channel layer and the Celery broker to Redis. The README lists every knob.
"""
import sys
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from kombu import Queue

from neolight.ops.logs import logging_config, structlog_configure

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # optional local overrides; absent by default

# --- core -------------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)  # never True in production
SECRET_KEY = env.str("SECRET_KEY", default="django-insecure-neolight-development-key-set-SECRET_KEY-in-production")  # set in production
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])  # host names served
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])  # e.g. https://neolight.example.com
TIME_ZONE = env.str("TIME_ZONE", default="UTC")  # display time zone; bars are always stored in UTC
USE_TZ = True
LANGUAGE_CODE = "en-us"
USE_I18N = False

INSTALLED_APPS = [
    "daphne",  # first, so runserver serves ASGI
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_celery_beat",
    "django_htmx",
    "guardian",
    "axes",  # login lockout; see the "limits: login lockout" block
    "cohorts",
    "knowledge",
    "promotions",
    "risk",
    "assistant",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "neolight.auth.PagesLoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out login into the lockout page (429)
]

ROOT_URLCONF = "neolight.urls"
ASGI_APPLICATION = "neolight.asgi.application"

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
                "cohorts.context_processors.header",
            ],
        },
    },
]

# --- market data: the quote chain, its circuit breakers and quote cache ---------------------------
# Providers tried in order: alpaca, finnhub, twelvedata, stored (bars in the database), or a class's dotted path.
MARKET_DATA_PROVIDERS = env.list("MARKET_DATA_PROVIDERS", default=["alpaca", "finnhub", "twelvedata"])
PROVIDER_BREAKER_FAILURES = env.int("PROVIDER_BREAKER_FAILURES", default=3)  # failures within the window that open a breaker
PROVIDER_BREAKER_WINDOW_SECONDS = env.int("PROVIDER_BREAKER_WINDOW_SECONDS", default=60)  # the window they are counted in
PROVIDER_BREAKER_COOLDOWN_SECONDS = env.int("PROVIDER_BREAKER_COOLDOWN_SECONDS", default=30)  # open this long, then one trial
QUOTE_CACHE_SECONDS = env.float("QUOTE_CACHE_SECONDS", default=2.0)  # a quote younger than this is served from the cache
QUOTE_STALE_SECONDS = env.float("QUOTE_STALE_SECONDS", default=300.0)  # last-known quote served (marked stale) when all fail

# --- database ---------------------------------------------------------------------------------
DATABASES = {
    # sqlite:///path or postgres://user:pass@host:5432/name
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'neolight.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=0)  # keep 0 under ASGI
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Embedded mode: a background run writes while pages read; WAL and a patient lock keep both going.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE", "timeout": 20}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, Celery broker ------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")  # e.g. redis://127.0.0.1:6379/0; empty = embedded mode

# --- live updates: websockets that stay up ------------------------------------------------------
# channels-redis waits for events with blocking pops of 5 s; redis-py's default socket timeout is also
# 5 s, so an idle follower's pop times out and its websocket is closed (1011). The read timeout must stay
# above the pop, and a PING checks a connection that sat unused. Options in REDIS_URL's query win.
CHANNEL_REDIS_HOST = {
    "address": REDIS_URL,
    "socket_timeout": env.float("CHANNEL_SOCKET_TIMEOUT", default=30.0),  # seconds; must exceed the 5 s pop
    "socket_connect_timeout": 5,  # seconds to reach Redis before giving up
    "socket_keepalive": True,  # TCP keepalive, so a dropped peer is noticed between events
    "health_check_interval": env.int("CHANNEL_HEALTH_CHECK_SECONDS", default=15),  # PING a connection idle this long
}

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [CHANNEL_REDIS_HOST], "prefix": env.str("CHANNEL_PREFIX", default="neolight")},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")  # defaults to REDIS_URL
CELERY_RESULT_BACKEND = None  # results live in the database, not in Celery
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)  # run tasks in-process
CELERY_TASK_EAGER_PROPAGATES = True
TASKS_IN_THREADS = env.bool("TASKS_IN_THREADS", default=not REDIS_URL)  # embedded: run queued tasks in a thread
CELERY_TASK_ACKS_LATE = True  # a task whose worker dies is redelivered
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {  # written into the database schedule by beat at start; editable in the admin
    "cohorts-recover-stale": {"task": "cohorts.tasks.cohort_recover_stale_task", "schedule": 300.0},
}  # the learning entries are added with their settings below

# --- keys at rest and bar ingestion ---------------------------------------------------------------
# Provider (and broker) keys are stored encrypted (neolight/crypto.py) with Fernet keys that are never
# derived from SECRET_KEY. The embedded mode (SQLite, no Redis) makes one key on first use and keeps it in
# var/ like the secret key; with REDIS_URL or another database NeoLight refuses to start without keys.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])  # Fernet keys, comma-separated, newest first
_EMBEDDED = not REDIS_URL and DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
FIELD_ENCRYPTION_KEY_FILE = (  # the embedded mode's kept key, used only while FIELD_ENCRYPTION_KEYS is empty
    Path(env.str("NEOLIGHT_VAR_DIR", default=str(VAR_DIR))) / "field-encryption-key" if _EMBEDDED else None
)
PROVIDER_CREDENTIALS_LOOKUP = env.str(  # dotted path of f(name) -> Credentials | None: the encrypted keys in the database
    "PROVIDER_CREDENTIALS_LOOKUP", default="cohorts.selectors.credentials.provider_credentials")
INGEST_LOOKBACK_MINUTES = env.int("INGEST_LOOKBACK_MINUTES", default=60)  # where a symbol with no bars starts
INGEST_CATCH_UP_MINUTES = env.int("INGEST_CATCH_UP_MINUTES", default=3 * 1440)  # farthest back each minute's run reaches
CELERY_BEAT_SCHEDULE["cohorts-ingest-latest-bars"] = {  # new bars of every instrument marked "ingest"
    "task": "cohorts.tasks.ingest_latest_bars", "schedule": crontab(minute="*"),
    "options": {"expires": 55},  # seconds: a run still queued when the next is due is dropped, not piled up
}

# --- auth -------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out username + address before any password check
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # django-guardian: no anonymous user row
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- limits: login lockout (django-axes; site and admin login) ----------------------------------
# Failed logins are counted per username + client address in the database (works on SQLite and
# PostgreSQL alike). Behind a proxy every client shares the proxy's address, so it is per username.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)  # count failed logins and lock out
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)  # failures that lock; later attempts get a 429
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))  # how long a lockout lasts
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # lock the pair, not every user of an address
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"  # attempts live in the database
AXES_RESET_ON_SUCCESS = True  # a successful login clears that pair's failures
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"  # says why and for how long

# --- limits: request bodies -----------------------------------------------------------------------
# A body larger than this (files excepted) is refused when first read; the API answers a JSON 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1_048_576)  # bytes; 1 MB

# --- static files -----------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_MANIFEST = env.bool("STATIC_MANIFEST", default=False)  # hashed names; needs collectstatic first
# collectstatic's target; only used with STATIC_MANIFEST (otherwise files are served from the app folders)
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles") if STATIC_MANIFEST else None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST  # serve straight from the app folders when not collected

# --- security (production: set SECURE_* and run `manage.py check --deploy`) --------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)  # True behind HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_PROXY", default=False) else None
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)  # e.g. 31536000 in production
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
# Sessions are read from the cache (Redis, or the process's memory in the embedded mode) and written through
# to the database, so a page costs no session query; a session stays bound to its user's password hash.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=False)  # True behind HTTPS
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "neolight.errors.api_exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    # limits: API throttling. Budgets are counted in the default cache (Redis with REDIS_URL, shared by
    # every process; local memory in the embedded mode). Over budget: a JSON 429 with Retry-After.
    "DEFAULT_THROTTLE_CLASSES": ["neolight.throttles.AnonThrottle", "neolight.throttles.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {  # "N/sec", "N/min", "N/hour" or "N/day"
        "anon": env.str("API_THROTTLE_ANON", default="60/min"),  # per client address, without a login
        "user": env.str("API_THROTTLE_USER", default="240/min"),  # per logged-in user, every endpoint
        "launch": env.str("API_THROTTLE_LAUNCH", default="20/hour"),  # per user, POST /api/experiments/cohorts
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "NeoLight API",
    "DESCRIPTION": "Multi-agent paper-trading cohorts on a shared bankroll.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- e-mail (approvers' notices) ----------------------------------------------------------------
# EMAIL_URL: smtp://user:password@host:587 (smtp+tls://…, smtp+ssl://…); the default prints mails on the console.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="NeoLight <neolight@localhost>")  # sender of every notice
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")  # where links in e-mails point

TRADING_MODE = env.str("TRADING_MODE", default="PAPER")  # TEST, PAPER or LIVE; shown on every page

# --- cohorts ----------------------------------------------------------------------------------
BANKROLL_MIN = env.int("BANKROLL_MIN", default=50)  # smallest cohort bankroll, USD
BANKROLL_MAX = env.int("BANKROLL_MAX", default=100_000)  # largest cohort bankroll, USD
BANKROLL_DEFAULT = env.int("BANKROLL_DEFAULT", default=1_000)  # proposed in forms
HOUSE_BANKROLL_NAME = env.str("HOUSE_BANKROLL_NAME", default="house")  # the bankroll cohorts draw from by default
HOUSE_BANKROLL_FUNDING = env.int("HOUSE_BANKROLL_FUNDING", default=1_000_000)  # its one-off funding, USD
COHORT_AGENTS_MIN = 10  # fewest agents in a cohort
COHORT_AGENTS_MAX = 300  # most agents in a cohort
COHORT_AGENTS_DEFAULT = env.int("COHORT_AGENTS_DEFAULT", default=30)  # agents when none are asked for
COHORT_MAX_WINDOW_DAYS = env.int("COHORT_MAX_WINDOW_DAYS", default=7)  # longest execution window
COHORT_RUN_TIMEOUT_SECONDS = env.int("COHORT_RUN_TIMEOUT_SECONDS", default=1800)  # then a stuck run is failed
COHORT_LEASE_SECONDS = env.int("COHORT_LEASE_SECONDS", default=60)  # a run's lease, renewed while it lives
COHORT_LIVE_SCORES_EVERY_BARS = env.int("COHORT_LIVE_SCORES_EVERY_BARS", default=5)  # a live run writes its agents' equity, ROI, trades
ALLOCATION_LOOKBACK_HOURS = env.int("ALLOCATION_LOOKBACK_HOURS", default=24)  # risk_weighted volatility window
# --- limits: per-user launch caps (system launches, e.g. campaign days, are not capped) ---------------
COHORT_MAX_ACTIVE_PER_USER = env.int("COHORT_MAX_ACTIVE_PER_USER", default=5)  # pending + running cohorts of one user
COHORT_MAX_CAPITAL_PER_USER = env.int("COHORT_MAX_CAPITAL_PER_USER", default=250_000)  # USD in them at once
# Bounds of every launch input (API, form, command, campaign); a value outside them is refused, never clipped.
COHORT_SEED_MAX = 2**31 - 1  # largest roster seed (seeds are whole numbers from 0)
COHORT_EXPOSURE_LIMIT_MAX = env.float("COHORT_EXPOSURE_LIMIT_MAX", default=10.0)  # largest gross exposure limit asked
COHORT_LEVERAGE_CEILING_MAX = env.float("COHORT_LEVERAGE_CEILING_MAX", default=10.0)  # largest per-agent leverage (10x cap)
COHORT_RATIO_PLACES = 6  # places of exposure, leverage and daily stop (as stored); more are refused, not rounded
COHORT_SYMBOLS_MAX = env.int("COHORT_SYMBOLS_MAX", default=50)  # most symbols in one cohort
COHORT_NOTES_MAX_CHARS = env.int("COHORT_NOTES_MAX_CHARS", default=2_000)  # longest compliance note at launch
COHORT_WINDOW_MIN_BARS = 2  # a window needs at least this many bars of every symbol
COHORT_WINDOW_YEARS = (1970, 2100)  # a window lies within these years (UTC)
COHORT_DEFAULTS = {  # the parent-wallet rules and costs of a cohort unless its launch says otherwise
    "exposure_limit": env.float("COHORT_EXPOSURE_LIMIT", default=1.0),  # gross notional / parent equity
    "leverage_ceiling": env.float("COHORT_LEVERAGE_CEILING", default=2.0),  # per agent
    "market_exposure_limit": env.float("COHORT_MARKET_EXPOSURE_LIMIT", default=0.5),  # per symbol / parent equity
    "daily_stop": env.float("COHORT_DAILY_STOP", default=0.05),  # flatten and halt after this loss on the day
    "fee_bps": env.float("COHORT_FEE_BPS", default=10.0),
    "slippage_bps": env.float("COHORT_SLIPPAGE_BPS", default=5.0),
    "max_volume_pct": env.float("COHORT_MAX_VOLUME_PCT", default=5.0),  # an order takes at most this % of a bar
    "breaker_losses": env.int("COHORT_BREAKER_LOSSES", default=5),  # pause an agent after K losing trades in a row
    "breaker_loss_limit": env.float("COHORT_BREAKER_LOSS_LIMIT", default=0.05),  # or after losing this fraction
    "breaker_cooldown_bars": env.int("COHORT_BREAKER_COOLDOWN_BARS", default=60),  # then resume after this long
}

# --- learning and campaigns -------------------------------------------------------------------
LEARNING_TRIALS = env.int("LEARNING_TRIALS", default=200)  # optuna trials per genome family in a cycle
LEARNING_LOOKBACK_HOURS = env.int("LEARNING_LOOKBACK_HOURS", default=24)  # daily: tune 2L..L h back, score last L h
LEARNING_INTRADAY_LOOKBACK_HOURS = env.int("LEARNING_INTRADAY_LOOKBACK_HOURS", default=6)  # the same, intraday
LEARNING_INTRADAY_EVERY_HOURS = env.int("LEARNING_INTRADAY_EVERY_HOURS", default=3)  # intraday cycle period, 2–4
LEARNING_KEEP_FRACTION = env.float("LEARNING_KEEP_FRACTION", default=0.5)  # top share of agents kept unchanged
LEARNING_MUTATION_RATE = env.float("LEARNING_MUTATION_RATE", default=0.3)  # chance each parameter of a child moves
LEARNING_MIN_TRADES = env.int("LEARNING_MIN_TRADES", default=5)  # fewer trades than this scores below any trader
LEARNING_DRAWDOWN_PENALTY = env.float("LEARNING_DRAWDOWN_PENALTY", default=1.0)  # score points per 1% drawdown
LEARNING_BANDIT_FLOOR = env.float("LEARNING_BANDIT_FLOOR", default=0.5)  # share of capital split equally
LEARNING_STUDY_STORAGE = env.str("LEARNING_STUDY_STORAGE", default="")  # optuna RDB URL shared by workers; empty = in memory
LEARNING_STUDY_HELPERS = env.int("LEARNING_STUDY_HELPERS", default=0)  # extra workers joining each study (needs storage)
LEARNING_CYCLE_TIMEOUT_SECONDS = env.int("LEARNING_CYCLE_TIMEOUT_SECONDS", default=1800)  # then a stuck cycle is redone
CAMPAIGN_MAX_DAYS = env.int("CAMPAIGN_MAX_DAYS", default=30)  # longest campaign
CAMPAIGN_TICK_SECONDS = env.int("CAMPAIGN_TICK_SECONDS", default=300)  # how often live campaigns are advanced
CELERY_BEAT_SCHEDULE.update({
    # Live campaigns: launch each day once its window has passed, then run its daily learning cycle.
    "knowledge-campaign-tick": {"task": "knowledge.tasks.campaign_tick_task", "schedule": float(CAMPAIGN_TICK_SECONDS)},
    # The intraday cycle (short-horizon genomes of running campaigns), on the hour every few hours.
    "knowledge-intraday-cycle": {"task": "knowledge.tasks.learning_intraday_task",
                                 "schedule": crontab(minute=0, hour=f"*/{LEARNING_INTRADAY_EVERY_HOURS}")},
})

# --- market data ------------------------------------------------------------------------------
BARS_API_MAX_ROWS = env.int("BARS_API_MAX_ROWS", default=5000)  # most bars one /api/market/bars page returns
# --- limits: market data uploads and reads ---------------------------------------------------------
BARS_API_MAX_READ_ROWS = env.int("BARS_API_MAX_READ_ROWS", default=20_000)  # most 1-minute rows one bars page reads
BARS_UPLOAD_MAX_BYTES = env.int("BARS_UPLOAD_MAX_BYTES", default=20 * 1_048_576)  # largest admin CSV upload; 20 MB

# --- promotions (Day 3), approvals and deployments ----------------------------------------------
# Guard rails and the go-live readiness checklist; a policy in the admin overrides them key by key, and
# PROMOTION_GUARDS='{"min_trades": 10, …}' in the environment overrides these defaults.
PROMOTION_GUARDS = {
    "min_trades": 10,  # fewest trades on the day
    "max_slippage_bps": 10.0,  # the cohort's modelled slippage may not exceed this
    "min_liquidity_ratio": 20.0,  # median dollar volume of a traded symbol's bar / proposed allocation
    "max_drawdown": 0.05,  # worst peak-to-trough fall of the agent's equity on the day
    "min_confidence": 0.6,  # the engine's confidence score (probabilistic Sharpe × trade count)
    "min_deflated_sharpe": 0.95,  # Deflated Sharpe Ratio: P(true Sharpe > 0) after the genomes tried
    "min_walk_forward": 0.6,  # share of the campaign's earlier days the genome scored positive out of sample
    "min_paper_days": 3,  # readiness: days of paper validation behind the candidate
    "min_sharpe": 1.5,  # readiness: annualised Sharpe
    "max_readiness_drawdown": 0.05,  # readiness: maximum drawdown
    "min_win_rate": 0.55,  # readiness: share of winning trades
    "max_error_rate": 0.001,  # readiness: failed runs / runs behind the candidate
}
PROMOTION_GUARDS.update(env.json("PROMOTION_GUARDS", default={}))
# V[SRn] of the Deflated Sharpe Ratio: "null" (each trial's sampling variance under a true Sharpe of 0) or
# "cross_section" (the variance of the agents' Sharpe ratios, Bailey & Lopez de Prado's); promotions/engine/gate.py
PROMOTION_DSR_VARIANCE = env.str("PROMOTION_DSR_VARIANCE", default="null")
PROMOTION_ALLOCATION_FRACTION = env.float("PROMOTION_ALLOCATION_FRACTION", default=0.05)  # of the bankroll
PROMOTION_ALLOCATION_MIN = env.int("PROMOTION_ALLOCATION_MIN", default=50)  # USD; below it no promotion
PROMOTION_MICRO_LIVE_CAP = env.int("PROMOTION_MICRO_LIVE_CAP", default=1_000)  # USD; most a deployment gets
PROMOTION_APPROVAL_ROLES = env.list("PROMOTION_APPROVAL_ROLES", default=["ops", "risk"])  # ordered Django groups
PROMOTION_REQUEST_TTL_HOURS = env.int("PROMOTION_REQUEST_TTL_HOURS", default=24)  # then an unsigned request expires
PROMOTION_OPS_GROUP = env.str("PROMOTION_OPS_GROUP", default="ops")  # may request by hand and cancel any request
PROMOTION_EXPIRE_EVERY_SECONDS = env.int("PROMOTION_EXPIRE_EVERY_SECONDS", default=60)  # how often expiry is swept
CELERY_BEAT_SCHEDULE["promotions-expire-due"] = {  # pending requests past their expiry become expired
    "task": "promotions.tasks.promotion_expire_due_task", "schedule": float(PROMOTION_EXPIRE_EVERY_SECONDS)}
PROMOTION_DAY = env.int("PROMOTION_DAY", default=3)  # campaign day from which the go/no-go proposes candidates
DEPLOYMENT_HOURS = env.int("DEPLOYMENT_HOURS", default=24)  # the rollback timer of a new deployment
DEPLOYMENT_MAX_DRAWDOWN = env.float("DEPLOYMENT_MAX_DRAWDOWN", default=0.05)  # roll back below this from the peak
DEPLOYMENT_MAX_RETURN_VARIANCE = env.float("DEPLOYMENT_MAX_RETURN_VARIANCE", default=0.0001)  # of 1-minute returns
DEPLOYMENT_BROKER = env.str("DEPLOYMENT_BROKER", default="paper")  # paper (NeoLight's) or alpaca
PROMOTION_GO_NO_GO_MINUTES = env.int("PROMOTION_GO_NO_GO_MINUTES", default=5)  # beat: how often the go/no-go runs
CELERY_BEAT_SCHEDULE.update({
    # The Day-3 go/no-go: weigh each campaign day from PROMOTION_DAY on, once, and propose its best agent.
    "promotions-day3-go-no-go": {"task": "promotions.tasks.day3_go_no_go_task",
                                 "schedule": float(60 * PROMOTION_GO_NO_GO_MINUTES)},
})
ALPACA_TRADING_URL = env.str("ALPACA_TRADING_URL", default="https://paper-api.alpaca.markets")  # Alpaca paper trading
DEPLOYMENT_RECONCILED_LOG_MINUTES = env.int("DEPLOYMENT_RECONCILED_LOG_MINUTES", default=15)  # log a match this often
CELERY_BEAT_SCHEDULE["promotions-deployments-reconcile"] = {  # each minute: ledger vs broker, resume, finish
    "task": "promotions.tasks.deployments_reconcile", "schedule": crontab(minute="*"), "options": {"expires": 55},
}

# --- risk: the leverage ladder (risk/services/leverage.py) ------------------------------------------
# The ladder's thresholds are kept per policy in the admin (LeverageLadder); these are the defaults of a new one.
RISK_LEVERAGE_DEPLOYMENT_MINUTES = env.int("RISK_LEVERAGE_DEPLOYMENT_MINUTES", default=60)  # a deployment's spacing
RISK_LEVERAGE_BATCH = env.int("RISK_LEVERAGE_BATCH", default=50)  # most evaluations one scheduled run makes
RISK_LEVERAGE_EVERY_MINUTES = env.int("RISK_LEVERAGE_EVERY_MINUTES", default=5)  # how often the schedule looks
CELERY_BEAT_SCHEDULE["risk-leverage-evaluate-due"] = {  # completed cohorts and days, deployments every hour
    "task": "risk.tasks.leverage.leverage_evaluate_due_task", "schedule": float(60 * RISK_LEVERAGE_EVERY_MINUTES),
    "options": {"expires": 60 * RISK_LEVERAGE_EVERY_MINUTES - 5}}

# --- risk: gradual capital rollout (risk/services/rollout.py) --------------------------------------------
# A deployment starts with a slice of its approved allocation; each step up goes through the approval chain after a
# slice has run RISK_ROLLOUT_DAYS without a pause, mismatch or rollback; a step down applies at once. The first
# fraction's default of 1 keeps the rollout off: a deployment starts with its whole allocation (set 0.25 to roll out).
RISK_ROLLOUT_FIRST_FRACTION = env.float("RISK_ROLLOUT_FIRST_FRACTION", default=1.0)  # of the allocation; 1 = no rollout
RISK_ROLLOUT_STEP_FRACTION = env.float("RISK_ROLLOUT_STEP_FRACTION", default=0.25)  # of the allocation, per step up
RISK_ROLLOUT_DAYS = env.float("RISK_ROLLOUT_DAYS", default=1.0)  # days a slice runs without a breach before a step up
RISK_ROLLOUT_MAX = env.float("RISK_ROLLOUT_MAX", default=1.0)  # the ceiling, × the allocation (≤ 1, ≤ the micro-live cap)
RISK_ROLLOUT_EVERY_SECONDS = env.int("RISK_ROLLOUT_EVERY_SECONDS", default=600)  # how often steps are proposed
CELERY_BEAT_SCHEDULE["risk-rollout-propose-due"] = {  # approved steps applied, due step-ups requested
    "task": "risk.tasks.rollout.rollout_propose_due_task", "schedule": float(RISK_ROLLOUT_EVERY_SECONDS)}

# --- risk: the guardian, breakers, trading modes and the kill switch (risk/services/guardian.py) --------
RISK_DAILY_LOSS_LIMIT = env.float("RISK_DAILY_LOSS_LIMIT", default=0.03)  # day's loss (of its open equity): reduce-only
RISK_CAPITAL_STOP = env.float("RISK_CAPITAL_STOP", default=0.05)  # day's loss that halts until a person resets it
RISK_CONSECUTIVE_LOSSES = env.int("RISK_CONSECUTIVE_LOSSES", default=5)  # losing round trips in a row: reduce-only
RISK_BREAKER_COOLDOWN_MINUTES = env.int("RISK_BREAKER_COOLDOWN_MINUTES", default=30)  # then a breaker recovers
RISK_ERROR_WINDOW = env.int("RISK_ERROR_WINDOW", default=20)  # the last broker orders / provider calls counted
RISK_ERROR_RATE = env.float("RISK_ERROR_RATE", default=0.2)  # errors per attempt above which trading halts
RISK_MARKET_EXPOSURE_LIMIT = env.float("RISK_MARKET_EXPOSURE_LIMIT", default=1.0)  # pre-trade: one market ≤ this × equity
COHORT_LIVE_GUARD = env.str(  # dotted path of the per-bar guard of live cohorts without a deployment; empty: none
    "COHORT_LIVE_GUARD", default="risk.services.guardian.cohort_guard")
CELERY_BEAT_SCHEDULE["risk-guardian-recover"] = {  # each minute: breakers whose cool-down has passed recover
    "task": "risk.tasks.guardian.breakers_recover_task", "schedule": crontab(minute="*"), "options": {"expires": 55},
}

# --- risk: alerts (risk/services/alerts.py) -------------------------------------------------------
# Routing: an alert goes to the enabled channels of its rule (admin: Risk › Alert rules); a kind with no rule, or a
# rule with no enabled channel, goes to RISK_ALERT_EMAILS (an e-mail channel "default e-mail" is kept for them).
RISK_ALERT_EMAILS = env.list("RISK_ALERT_EMAILS", default=[])  # default routing's addresses; empty = none
RISK_ALERT_TIMEOUT_SECONDS = env.float("RISK_ALERT_TIMEOUT_SECONDS", default=10.0)  # per SMTP / Slack / Telegram call
RISK_ALERT_MAX_ATTEMPTS = env.int("RISK_ALERT_MAX_ATTEMPTS", default=6)  # a delivery fails after this many tries
RISK_ALERT_RETRY_SECONDS = env.float("RISK_ALERT_RETRY_SECONDS", default=30.0)  # first retry's wait, doubled each time
RISK_ALERT_RETRY_MAX_SECONDS = env.float("RISK_ALERT_RETRY_MAX_SECONDS", default=900.0)  # longest wait between tries
TELEGRAM_API_URL = env.str("TELEGRAM_API_URL", default="https://api.telegram.org")  # Telegram Bot API base URL
RISK_ALERT_RULES_EVERY_SECONDS = env.int("RISK_ALERT_RULES_EVERY_SECONDS", default=60)  # beat: alert rules checked
# Each rule's figure; an AlertRule's `threshold` in the admin overrides it. parent_drawdown: fall of a running
# cohort's parent equity below its capital; leverage_breach: share of the agent's limit (min of its tier and the
# wallet's ceiling); utilisation: capital at work / bankroll; beat_missed: periods a scheduled job may miss;
# anomaly: |z-score| (risk/services/anomaly.py).
RISK_ALERT_THRESHOLDS = {"parent_drawdown": 0.05, "leverage_breach": 1.0, "utilisation": 0.9, "beat_missed": 2.0,
                         "anomaly": 3.0}
RISK_ALERT_THRESHOLDS.update(env.json("RISK_ALERT_THRESHOLDS", default={}))
RISK_ANOMALY_HISTORY = env.int("RISK_ANOMALY_HISTORY", default=20)  # past values a figure is compared with
RISK_ANOMALY_MIN_HISTORY = env.int("RISK_ANOMALY_MIN_HISTORY", default=5)  # fewer past values: no verdict
RISK_ANOMALY_MIN_HOURS = env.float("RISK_ANOMALY_MIN_HOURS", default=1.0)  # a deployment younger is not judged yet
RISK_ANOMALY_COHORT_LOOKBACK_MINUTES = env.int("RISK_ANOMALY_COHORT_LOOKBACK_MINUTES", default=60)  # cohorts ended since
CELERY_BEAT_SCHEDULE["risk-alert-rules"] = {  # the alert rules and the anomaly checks, each minute
    "task": "risk.tasks.alerts.alert_rules_check_task", "schedule": float(RISK_ALERT_RULES_EVERY_SECONDS),
    "options": {"expires": max(RISK_ALERT_RULES_EVERY_SECONDS - 5, 5)}}

# --- risk: Value at Risk, stress scenarios and the capital governor (risk/selectors/var.py, governor.py) ------
RISK_VAR_HORIZON = env.int("RISK_VAR_HORIZON", default=60)  # VaR horizon in 1-minute steps (?horizon= overrides)
RISK_VAR_MAX_HORIZON = env.int("RISK_VAR_MAX_HORIZON", default=1440)  # the largest ?horizon= accepted (a day)
RISK_VAR_SEED = env.int("RISK_VAR_SEED", default=7)  # seed of the Monte Carlo paths: same data, same figures
RISK_VAR_PATHS = env.int("RISK_VAR_PATHS", default=100_000)  # Monte Carlo paths (?paths= overrides)
RISK_VAR_MAX_PATHS = env.int("RISK_VAR_MAX_PATHS", default=500_000)  # the most ?paths= accepted
RISK_VAR_BANKROLL_COHORTS = env.int("RISK_VAR_BANKROLL_COHORTS", default=30)  # a bankroll's latest cohorts measured
RISK_VAR_CACHE_SECONDS = env.int("RISK_VAR_CACHE_SECONDS", default=600)  # a report is kept per subject and last bar
RISK_STRESS_CRASH_DAY = env.str("RISK_STRESS_CRASH_DAY", default="2021-05-19")  # the crash replayed from stored bars
RISK_STRESS_GAPS = env.list("RISK_STRESS_GAPS", cast=float, default=[5.0, 10.0, 20.0])  # ± gap scenarios, in %
RISK_STRESS_SIGMAS = env.float("RISK_STRESS_SIGMAS", default=3.0)  # correlation to one: every symbol falls this many σ
RISK_GOVERNOR_MAX_CORRELATION = env.float("RISK_GOVERNOR_MAX_CORRELATION", default=0.8)  # above: share one cap
RISK_GOVERNOR_GROUP_CAP = env.float("RISK_GOVERNOR_GROUP_CAP", default=0.25)  # most of the total one group may get

# --- assistant: intents, grow plans and the console (assistant/intents/, assistant/services/) -------------
ASSISTANT_CONFIRM_SECONDS = env.int("ASSISTANT_CONFIRM_SECONDS", default=300)  # how long an answer's Confirm stays good
ASSISTANT_HISTORY = env.int("ASSISTANT_HISTORY", default=30)  # questions and answers the console keeps per session

# --- assistant: narration and post-mortems (assistant/services/narration.py) ------------------------------

# --- assistant: reports, CSV and PDF, scheduled e-mails (assistant/reports/) ------------------------------
# Recipients and the reports they get are kept in the admin (Assistant › Report recipients); deliveries are logged there.
REPORT_DAILY_AFTER_MINUTES = env.int("REPORT_DAILY_AFTER_MINUTES", default=30)  # after a UTC day ends, its report goes
REPORT_CAMPAIGN_LOOKBACK_HOURS = env.int("REPORT_CAMPAIGN_LOOKBACK_HOURS", default=48)  # campaigns ended since get theirs
REPORT_LEADERBOARD_SIZE = env.int("REPORT_LEADERBOARD_SIZE", default=10)  # agents in a report's leaderboard
REPORT_EVERY_MINUTES = env.int("REPORT_EVERY_MINUTES", default=15)  # beat: how often due reports are looked for
CELERY_BEAT_SCHEDULE["assistant-reports-deliver-due"] = {  # the daily and campaign reports, once per recipient
    "task": "assistant.tasks.reports_deliver_due_task", "schedule": float(60 * REPORT_EVERY_MINUTES),
    "options": {"expires": 60 * REPORT_EVERY_MINUTES - 5}}

# --- operations: metrics, health, structured logs (neolight/ops/) -----------------------------------------
# /metrics (Prometheus), /healthz (liveness), /readyz (readiness), structured logs (README: Metrics, Health, Logs).
INSTALLED_APPS += ["django_structlog", "neolight.ops"]  # request/task log context; heartbeat task, metrics hooks
MIDDLEWARE.insert(0, "django_prometheus.middleware.PrometheusBeforeMiddleware")  # first: times the whole request
MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                  "django_structlog.middlewares.RequestMiddleware")  # binds request_id, user_id, ip to every line
MIDDLEWARE.insert(MIDDLEWARE.index("django_structlog.middlewares.RequestMiddleware") + 1,
                  "neolight.ops.logs.RequestIdHeaderMiddleware")  # answers with X-Request-ID
MIDDLEWARE.append("django_prometheus.middleware.PrometheusAfterMiddleware")  # last: sees the view and status
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.1/32", "::1/128"])  # may scrape
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")  # or any client sending "Authorization: Bearer <token>"; empty: none
READY_CHECK_TIMEOUT_SECONDS = env.float("READY_CHECK_TIMEOUT_SECONDS", default=2.0)  # /readyz's wait for Redis
OPS_HEARTBEAT_SECONDS = env.int("OPS_HEARTBEAT_SECONDS", default=30)  # beat's heartbeat; /readyz allows 2 periods
CELERY_BEAT_SCHEDULE["ops-heartbeat"] = {  # beat publishes it (beat's heartbeat), a worker runs it (the worker's)
    "task": "neolight.ops.tasks.heartbeat_task", "schedule": float(OPS_HEARTBEAT_SECONDS),
    "options": {"expires": OPS_HEARTBEAT_SECONDS}}
# LOG_FORMAT: json (one object a line, production) or console (a terminal); default console when DEBUG or a TTY.
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG or sys.stderr.isatty() else "json")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")  # DEBUG, INFO, WARNING
DJANGO_STRUCTLOG_CELERY_ENABLED = True  # a queued task carries its request's log context to the worker
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = True  # the client address on request lines
# Keep the X-Request-ID a proxy or load balancer sends (only behind one that sets it); otherwise each request gets a new id.
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = env.bool("LOG_TRUST_REQUEST_ID", default=False)
if REDIS_URL:  # pages keep answering from the database while Redis is down (reads miss, writes are dropped)
    CACHES["default"]["BACKEND"] = "neolight.ops.cache.DegradingRedisCache"
    CACHES["default"]["OPTIONS"] = {"socket_connect_timeout": env.float("CACHE_SOCKET_TIMEOUT", default=2.0),
                                    "socket_timeout": env.float("CACHE_SOCKET_TIMEOUT", default=2.0)}  # seconds

# --- operations: backups, restore, retention, queues (neolight/ops/) --------------------------------------
# Backups (neolight/ops/backup.py): `manage.py backup` / `restore`; beat makes one every BACKUP_EVERY_HOURS and keeps
# the BACKUP_KEEP newest in BACKUP_DIR (each dump with its manifest, FILE.json).
BACKUP_DIR = env.path("BACKUP_DIR", default=VAR_DIR / "backups")  # where dumps and manifests go
BACKUP_KEEP = env.int("BACKUP_KEEP", default=7)  # scheduled backups kept; older ones are deleted after each new one
BACKUP_EVERY_HOURS = env.float("BACKUP_EVERY_HOURS", default=24.0)  # beat's backup period; 0 = no scheduled backups
CELERY_INCLUDE = [*vars().get("CELERY_INCLUDE", []), "neolight.ops.backup_tasks"]  # tasks outside the apps
if BACKUP_EVERY_HOURS > 0:
    CELERY_BEAT_SCHEDULE["ops-backup"] = {"task": "neolight.ops.backup_tasks.backup_scheduled_task",
                                          "schedule": 3600.0 * BACKUP_EVERY_HOURS}
# Retention (neolight/ops/retention.py): `manage.py prune [--dry-run]`, and daily in beat. Each age is in days; None
# (the default) keeps those rows for ever. Ledger, transactions, settlements, audit (promotion log, signatures, mode
# changes, breaker and kill-switch events), alerts themselves and knowledge rows are never deleted.
RETENTION_BARS_DAYS = env.int("RETENTION_BARS_DAYS", default=None)  # 1-minute bars older than this
RETENTION_CURVES_DAYS = env.int("RETENTION_CURVES_DAYS", default=None)  # equity curves of cohorts ended before (scores kept)
RETENTION_DELIVERIES_DAYS = env.int("RETENTION_DELIVERIES_DAYS", default=None)  # finished alert deliveries (sent, failed)
RETENTION_LOGS_DAYS = env.int("RETENTION_LOGS_DAYS", default=None)  # login attempt logs, checkpoints of ended cohorts
CELERY_BEAT_SCHEDULE["ops-prune"] = {"task": "neolight.ops.backup_tasks.prune_task", "schedule": crontab(hour=3, minute=30)}
# Queues: one per kind of work, so each gets workers of its own (`celery -A neolight worker -Q cohorts`, deploy/); a
# worker started without -Q serves them all. A task not named here goes to "celery" (Celery's default queue: beat's
# sweeps, backups, retention). Embedded and eager modes ignore queues.
WORKER_QUEUES = ["cohorts", "learning", "alerts", "live", "celery"]  # deploy/ starts a worker for each
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = [Queue(name) for name in WORKER_QUEUES]
CELERY_TASK_ROUTES = {
    # cohort runs and the campaign days that launch them
    "cohorts.tasks.cohort_run_task": {"queue": "cohorts"},
    "knowledge.tasks.campaign_advance_task": {"queue": "cohorts"},
    "knowledge.tasks.campaign_replay_task": {"queue": "cohorts"},
    # learning: the optuna trials (studies shared through LEARNING_STUDY_STORAGE) and the intraday cycles
    "knowledge.tasks.learning_study_join_task": {"queue": "learning"},
    "knowledge.tasks.learning_intraday_task": {"queue": "learning"},
    # alerts, notices and reports: outside calls (SMTP, Slack, Telegram) that may wait on a slow peer
    "risk.tasks.alerts.alert_deliver_task": {"queue": "alerts"},
    "risk.tasks.alerts.alert_rules_check_task": {"queue": "alerts"},
    "promotions.tasks.promotion_notify_task": {"queue": "alerts"},
    "assistant.tasks.*": {"queue": "alerts"},
    # live ticks: live cohorts, deployments, the minute's bars and the breakers that guard them
    "cohorts.tasks.cohort_run_live_task": {"queue": "live"},
    "cohorts.tasks.ingest_latest_bars": {"queue": "live"},
    "promotions.tasks.deployment_run_task": {"queue": "live"},
    "promotions.tasks.deployments_reconcile": {"queue": "live"},
    "risk.tasks.guardian.breakers_recover_task": {"queue": "live"},
}

LOGGING = logging_config(log_format=LOG_FORMAT, level=LOG_LEVEL)  # structlog renders every line (neolight/ops/logs.py)
structlog_configure()

# --- market-data providers (cohorts/providers/) ----------------------------------------------------
ALPACA_DATA_URL = env.str("ALPACA_DATA_URL", default="https://data.alpaca.markets")  # Alpaca market data (stocks, crypto)
ALPACA_DATA_FEED = env.str("ALPACA_DATA_FEED", default="iex")  # Alpaca's stock feed: iex (free plan) or sip (paid)
FINNHUB_URL = env.str("FINNHUB_URL", default="https://finnhub.io/api/v1")  # Finnhub REST API
TWELVEDATA_URL = env.str("TWELVEDATA_URL", default="https://api.twelvedata.com")  # Twelve Data REST API
PROVIDER_TIMEOUT_SECONDS = env.float("PROVIDER_TIMEOUT_SECONDS", default=5.0)  # connect and read timeout of each call
