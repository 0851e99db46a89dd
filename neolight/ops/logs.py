"""Structured logs: structlog over the standard library, so `logging.getLogger(__name__)` lines and structlog
lines go through one formatter and carry the same bound ids (request, user, task, cohort, campaign).

LOG_FORMAT picks the renderer: "json" (one JSON object a line, for production collectors) or "console"
(coloured key=value, for a terminal). Imported by settings: standard library and structlog only.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import structlog

# Applied to every line, structlog's or the standard library's, before it is rendered.
SHARED_PROCESSORS = [
    structlog.contextvars.merge_contextvars,  # request_id, user_id, task_id, cohort_id … bound in this context
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.ExtraAdder(),
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def renderer(log_format: str):
    if log_format == "json":
        return [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    return [structlog.dev.ConsoleRenderer()]


def logging_config(*, log_format: str, level: str) -> dict:
    """The LOGGING dict: one handler on stderr whose ProcessorFormatter renders every record as `log_format`."""
    if log_format not in ("json", "console"):
        raise ValueError(f"LOG_FORMAT must be json or console, not {log_format!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer(log_format)],
                "foreign_pre_chain": SHARED_PROCESSORS,
            },
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {  # django-structlog's request lines: one per request is plenty
            "django_structlog": {"level": level},
            "django.server": {"level": "WARNING"},
        },
    }


def structlog_configure() -> None:
    """structlog hands its events to the standard library, which renders them with the formatter above."""
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *SHARED_PROCESSORS,
                    structlog.stdlib.PositionalArgumentsFormatter(), structlog.processors.StackInfoRenderer(),
                    structlog.processors.UnicodeDecoder(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


@contextlib.contextmanager
def log_context(**ids) -> Iterator[None]:
    """Binds `ids` (cohort_id=…, campaign_id=…) to every log line written inside the block, then restores what
    was bound before. Ids of None are left out."""
    with structlog.contextvars.bound_contextvars(**{k: v for k, v in ids.items() if v is not None}):
        yield


def request_id() -> str | None:
    """The correlation id bound to this context (an HTTP request's, or the one a task carried over)."""
    return structlog.contextvars.get_contextvars().get("request_id")


class RequestIdHeaderMiddleware:
    """Answers every request with its correlation id in X-Request-ID, so a user's report can be found in the logs.
    Sits after django-structlog's RequestMiddleware, which binds the id (or takes the caller's X-Request-ID)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if rid := request_id():
            response.headers.setdefault("X-Request-ID", rid)
        return response
