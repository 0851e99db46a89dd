"""Application errors and the one DRF exception handler that turns them into clear 400s (413 for a body too big)."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ApplicationError(Exception):
    """A refusal a user can act on: `message` says what is wrong, `field` names the input at fault."""

    def __init__(self, message: str, *, field: str | None = None, extra: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra or {}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, plus ApplicationError and Django's ValidationError as 400 `{detail, errors}`, and a
    body over DATA_UPLOAD_MAX_MEMORY_SIZE as 413 in the same shape."""
    if isinstance(exc, ApplicationError):
        errors = {exc.field: [exc.message]} if exc.field else {}
        return Response({"detail": exc.message, "errors": errors, **exc.extra}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RequestDataTooBig):  # raised when the view first reads the body
        limit_mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 1_048_576
        message = f"The request body is larger than the {limit_mb:.1f} MB allowed."
        return Response({"detail": message, "errors": {"non_field_errors": [message]}},
                        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response({"detail": "; ".join(exc.messages), "errors": errors}, status=status.HTTP_400_BAD_REQUEST)
    response = exception_handler(exc, context)
    if response is not None and response.status_code == 400 and isinstance(response.data, dict):
        if "detail" not in response.data:
            fields = ", ".join(response.data)
            response.data = {"detail": f"Invalid input: {fields}.", "errors": response.data}
    return response


BAD_REQUEST = OpenApiResponse(description="Invalid input: `detail` says what, `errors` names the field.")
"""The schema's 400 of every endpoint that validates input: the body `api_exception_handler` answers."""
