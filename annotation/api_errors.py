"""The REST API's errors: DomainError mapped to HTTP responses (400/403/409 with the message
as is), and the error answers every operation can give, documented in the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import serializers
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


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: a path under /api/ that matches no route (a slug with a space, a run id
    that is not a number) gets the API's JSON 404, as an unknown object does; pages get the
    HTML one."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


class ErrorSerializer(serializers.Serializer):
    """What every error answer but a 400 carries: one message a person can act on."""

    detail = serializers.CharField()

    class Meta:
        ref_name = "Error"


# Answers any operation may give, on top of those its view declares. The schema documents
# them so that a client (and tests/test_api_fuzz.py) knows every status it can get.
COMMON_ERRORS = {
    "401": "No token, or an expired, revoked or mistyped one.",
    "403": "Your role in the project does not allow this.",
    "404": "No such project for you (outsiders get 404), no such object, or no such page.",
    "429": "Too many requests: wait the Retry-After seconds.",
}
BAD_REQUEST = (
    "Invalid input: either ``{field: [messages]}`` (a field of the request) or a ``detail`` "
    "message, with ``problems`` (line, field, message) for a rejected file."
)
_ERROR = {"$ref": "#/components/schemas/Error"}
_BAD_REQUEST = {"$ref": "#/components/schemas/BadRequest"}


def schema_document_errors(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]):
    adds COMMON_ERRORS to every operation, and 400 to those that take input (a body or query
    parameters); a status the view already documents is left as it is."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(
        "Error",
        {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]},
    )
    schemas["BadRequest"] = {
        "type": "object",
        "description": BAD_REQUEST,
        "properties": {
            "detail": {"type": "string"},
            "problems": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "line": {"type": "integer", "nullable": True},
                        "field": {"type": "string"},
                        "message": {"type": "string"},
                    },
                    "required": ["line", "field", "message"],
                },
            },
        },
    }
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            takes_input = "requestBody" in operation or any(
                p.get("in") == "query" for p in operation.get("parameters", [])
            )
            if takes_input:
                responses.setdefault(
                    "400",
                    {"description": BAD_REQUEST, "content": _json(_BAD_REQUEST)},
                )
            for code, description in COMMON_ERRORS.items():
                responses.setdefault(code, {"description": description, "content": _json(_ERROR)})
    return result


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}
