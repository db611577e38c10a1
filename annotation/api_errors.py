"""Maps DomainError to HTTP responses in the REST API (400/403/409 with the message as is)."""

from __future__ import annotations

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError, ValidationProblems


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        body: dict = {"detail": str(exc)}
        if isinstance(exc, ValidationProblems):
            body["problems"] = [
                {"line": p.line, "field": p.field, "message": p.message} for p in exc.problems
            ]
        return Response(body, status=exc.status_code)
    return drf_exception_handler(exc, context)
