"""One shape for every API error (docs/API.md, Conventions), whatever raised it:

{"error": {"type": "...", "code": "...", "message": "...", "param": "field or null"}}
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError, DataError, IntegrityError, InterfaceError, OperationalError, transaction
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response

from loyalty.db import in_request_transaction
from loyalty.errors import error_paths
from members.errors import DomainError

logger = logging.getLogger("loyalty.api")

BOUND_CODES = {"max_value", "min_value", "max_length", "min_length", "max_digits", "max_whole_digits"}
MISSING_CODES = {"required", "null", "blank", "empty"}
INVALID_CODES = {"invalid", "invalid_choice", "not_a_list", "not_a_dict", "parse_error", "date", "datetime"}


def error_body(type_: str, code: str, message: str, param: str | None = None) -> dict:
    return {"error": {"type": type_, "code": code, "message": str(message), "param": param}}


def _first_error(detail: object) -> tuple[str | None, exceptions.ErrorDetail | str]:
    """The first (path, error) in DRF's nested validation errors; paths read `lines[0].quantity`."""
    path, error = next(iter(error_paths(detail)), ("", str(detail)))
    return path or None, error


def _validation_code(param: str | None, drf_code: str) -> str:
    leaf = (param or "").rsplit(".", 1)[-1].split("[", 1)[0] or "field"
    if drf_code in MISSING_CODES:
        return "missing_field"
    if drf_code == "max_decimal_places":
        return "too_many_decimals"
    if drf_code == "max_length" and leaf in {"lines"}:
        return f"too_many_{leaf}"
    if drf_code in BOUND_CODES:
        return f"{leaf}_out_of_range"
    if drf_code in INVALID_CODES:
        return "invalid_field"
    return drf_code  # a code a serializer chose on purpose (total_mismatch, ...)


def error_response(exc: Exception) -> tuple[int, dict, dict]:
    """(status, body, headers) for any exception."""
    if isinstance(exc, DomainError):
        return exc.status, exc.as_dict(), {}
    if isinstance(exc, exceptions.ValidationError):
        param, first = _first_error(exc.detail)
        code = _validation_code(param, getattr(first, "code", "invalid") or "invalid")
        return 400, error_body("invalid_request", code, first, param), {}
    if isinstance(exc, exceptions.ParseError):
        return (
            400,
            error_body("invalid_request", "malformed_json", f"The body is not valid JSON: {exc.detail}"),
            {},
        )
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return (
            415,
            error_body("invalid_request", "unsupported_media_type", "Send JSON (application/json)."),
            {},
        )
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        message = (
            exc.detail if isinstance(exc, exceptions.AuthenticationFailed) else "Send `Authorization: Bearer <key>`."
        )
        return (
            401,
            error_body("authentication_error", "invalid_api_key", message),
            {"WWW-Authenticate": "Bearer"},
        )
    if isinstance(exc, exceptions.PermissionDenied | DjangoPermissionDenied):
        return (
            403,
            error_body("permission_error", "missing_scope", getattr(exc, "detail", "Not allowed.")),
            {},
        )
    if isinstance(exc, exceptions.NotFound | Http404):
        return 404, error_body("not_found", "not_found", "No such object."), {}
    if isinstance(exc, exceptions.MethodNotAllowed):
        return 405, error_body("invalid_request", "method_not_allowed", exc.detail), {}
    if isinstance(exc, exceptions.NotAcceptable):
        return 406, error_body("invalid_request", "not_acceptable", exc.detail), {}
    if isinstance(exc, exceptions.Throttled):
        wait = max(1, int(exc.wait or 1))
        message = f"Too many requests; retry in {wait} s."
        return 429, error_body("rate_limited", "rate_limited", message), {"Retry-After": str(wait)}
    if isinstance(exc, OperationalError | InterfaceError):
        logger.error("database unavailable: %s", exc)
        message = "The service is temporarily unavailable; nothing was written. Retry later."
        return 503, error_body("unavailable", "database_unavailable", message), {"Retry-After": "5"}
    if isinstance(exc, DataError):
        # A value the database cannot hold or compare (a NUL byte, a number beyond its column): bad input.
        return 400, error_body("invalid_request", "invalid_value", "A value in the request cannot be used."), {}
    if isinstance(exc, IntegrityError):
        # A unique constraint caught a concurrent duplicate that the checks before it could not see.
        logger.warning("integrity error answered as 409: %s", exc)
        message = "A concurrent request changed this first; nothing was written. Retry to see the outcome."
        return 409, error_body("conflict", "concurrent_conflict", message), {}
    if isinstance(exc, exceptions.APIException):
        return exc.status_code, error_body("invalid_request", exc.default_code, exc.detail), {}
    if isinstance(exc, DatabaseError):
        logger.exception("database error")
    else:
        logger.exception("unexpected error")
    return (
        500,
        error_body("api_error", "internal_error", "Something went wrong on our side; nothing was written."),
        {},
    )


def api_exception_handler(exc: Exception, context: dict) -> Response:
    """DRF's EXCEPTION_HANDLER: every exception becomes docs/API.md's error shape, and the request's transaction
    rolls back, so whatever a service wrote before the failure does not stay written. (DRF's own
    `set_rollback` only acts under ATOMIC_REQUESTS; our write requests open their transaction in ShopApi.)"""
    if in_request_transaction():
        transaction.set_rollback(True)
    elif isinstance(exc, DataError | IntegrityError) and transaction.get_connection().in_atomic_block:
        # The refused statement aborted a transaction no boundary of ours rolls back: every later query in
        # it would fail, so this must not pass for the client's mistake (ShopApi views never get here).
        logger.error("database error inside a transaction the request does not own: %s", exc)
        exc = DatabaseError(str(exc))
    status, body, headers = error_response(exc)
    return Response(body, status=status, headers=headers)


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def json_404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(
        error_body("not_found", "not_found", "No such endpoint; the endpoints are listed at /api/docs/."), status=404
    )


def json_500(request: HttpRequest) -> JsonResponse:
    body = error_body("api_error", "internal_error", "Something went wrong on our side; nothing was written.")
    return JsonResponse(body, status=500)
