"""Application errors and the one DRF exception handler that turns them into clear 400s (413 for a body too big)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler

NON_FIELD = "non_field_errors"


class ApplicationError(Exception):
    """A refusal a user can act on.

    One problem: `ApplicationError(message, field="bankroll")`. Several at once: `ApplicationError(errors={field:
    [messages]})` (see `ApplicationError.gather`). Either way `errors` maps every field at fault to its messages,
    `field` names the first and `message` says everything in one line. The API answers it with `status_code`
    (400: the request is at fault; a subclass may say otherwise, e.g. 503 when a service is down for now)."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, message: str | None = None, *, field: str | None = None,
                 extra: dict[str, Any] | None = None, errors: dict[str, list[str]] | None = None):
        if errors is None:
            errors = {field or NON_FIELD: [message or ""]}
        self.errors = {name: list(messages) for name, messages in errors.items() if messages}
        first = next(iter(self.errors), None)
        self.field = field if field is not None else (first if first != NON_FIELD else None)
        if message is None:
            message = " ".join(m for messages in self.errors.values() for m in messages)
        super().__init__(message)
        self.message = message
        self.extra = extra or {}

    @classmethod
    def gather(cls, refusals: Iterable[ApplicationError]) -> ApplicationError:
        """One error carrying every refusal's fields and messages, in order."""
        errors: dict[str, list[str]] = {}
        for refusal in refusals:
            for name, messages in refusal.errors.items():
                errors.setdefault(name, []).extend(m for m in messages if m not in errors.get(name, []))
        return cls(errors=errors)

    def lines(self) -> list[str]:
        """One `field: message` line per message, for a terminal."""
        return [f"{name + ': ' if name != NON_FIELD else ''}{m}" for name, ms in self.errors.items() for m in ms]


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, plus ApplicationError (with its `status_code`, 400 unless a subclass says) and Django's
    ValidationError as 400 `{detail, errors}` (one entry per
    field at fault, each a list of messages), and a body over DATA_UPLOAD_MAX_MEMORY_SIZE as 413 in the same shape."""
    if isinstance(exc, ApplicationError):
        errors = {} if list(exc.errors) == [NON_FIELD] else exc.errors  # a refusal as a whole: `detail` says it
        return Response({"detail": exc.message, "errors": errors, **exc.extra}, status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):  # raised when the view first reads the body
        limit_mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 1_048_576
        message = f"The request body is larger than the {limit_mb:.1f} MB allowed."
        return Response({"detail": message, "errors": {NON_FIELD: [message]}},
                        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD: exc.messages}
        return Response({"detail": "; ".join(exc.messages), "errors": errors}, status=status.HTTP_400_BAD_REQUEST)
    response = exception_handler(exc, context)
    if response is not None and response.status_code == 400 and isinstance(response.data, dict):
        if "detail" not in response.data:
            fields = ", ".join(response.data)
            response.data = {"detail": f"Invalid input: {fields}.", "errors": response.data}
    return response


BAD_REQUEST = OpenApiResponse(description="Invalid input: `errors` has one entry per field at fault, each a list of "
                                          "messages; `detail` says everything in one line.")
"""The schema's 400 of every endpoint that validates input: the body `api_exception_handler` answers."""
