"""Settings come from the environment: embedded defaults, PostgreSQL/Redis switches, deploy check."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTROLLED = {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "CELERY_BROKER_URL",
              "CELERY_TASK_ALWAYS_EAGER", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_COOKIES",
              "STATIC_MANIFEST", "DJANGO_ALLOW_ASYNC_UNSAFE"}

PRINT_SETTINGS = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "db": s.DATABASES["default"]["ENGINE"], "cache": s.CACHES["default"]["BACKEND"],
    "layer": s.CHANNEL_LAYERS["default"]["BACKEND"], "broker": s.CELERY_BROKER_URL,
    "eager": s.CELERY_TASK_ALWAYS_EAGER, "debug": s.DEBUG,
}))
"""


def run(code_or_args, **env):
    clean = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    clean.update(env, DJANGO_SETTINGS_MODULE="neolight.settings")
    args = [sys.executable, "-c", code_or_args] if isinstance(code_or_args, str) else [sys.executable, *code_or_args]
    return subprocess.run(args, cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120)


def test_embedded_default_needs_no_services():
    result = json.loads(run(PRINT_SETTINGS).stdout)
    assert result == {
        "db": "django.db.backends.sqlite3", "cache": "django.core.cache.backends.locmem.LocMemCache",
        "layer": "channels.layers.InMemoryChannelLayer", "broker": "memory://", "eager": True, "debug": False,
    }


def test_database_and_redis_urls_switch_to_postgres_and_redis():
    result = json.loads(run(PRINT_SETTINGS, DATABASE_URL="postgres://u@db:5432/neo",
                            REDIS_URL="redis://cache:6379/0").stdout)
    assert result["db"] == "django.db.backends.postgresql"
    assert result["cache"] == "neolight.ops.cache.DegradingRedisCache"  # Django's RedisCache, missing while down
    assert result["layer"] == "channels_redis.core.RedisChannelLayer"
    assert result["broker"] == "redis://cache:6379/0" and result["eager"] is False


def test_production_settings_pass_the_deploy_check():
    production = {
        "SECRET_KEY": "x" * 20 + "-production-secret-of-sufficient-length-and-variety-9f3K",
        "ALLOWED_HOSTS": "neolight.example.com", "SECURE_SSL_REDIRECT": "true", "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_COOKIES": "true", "STATIC_MANIFEST": "true",
    }
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **production)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_check_flags_the_development_defaults():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"])
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr + result.stdout
