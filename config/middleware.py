import io

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse

from config import logs
from config.api_errors import error_body, is_api


class ApiBodyLimitMiddleware:
    """API.md: a body over 256 KiB is a 400 in the error shape, whether or not it says its length.

    A chunked body states no Content-Length, and Django's WSGI request would read it as empty; here it
    is read (up to the limit) and handed on with its length, so it is neither lost nor unbounded."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api(request) and request.method in {"POST", "PUT", "PATCH"}:
            try:
                if _chunked(request):
                    _read_chunked(request)
                request.body  # noqa: B018 (reading it enforces DATA_UPLOAD_MAX_MEMORY_SIZE)
            except RequestDataTooBig:
                message = "The body is larger than 256 KiB."
                return JsonResponse(error_body("invalid_request", "body_too_large", message), status=400)
        return self.get_response(request)


def _chunked(request: HttpRequest) -> bool:
    return "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower() and not request.META.get(
        "CONTENT_LENGTH"
    )


def _read_chunked(request: HttpRequest) -> None:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = request.META["wsgi.input"].read(limit + 1)
    if len(body) > limit:
        raise RequestDataTooBig("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")
    request._body = body
    request._stream = io.BytesIO(body)
    request.META["CONTENT_LENGTH"] = str(len(body))


class RequestIdMiddleware:
    """Every response carries `X-Request-ID`: the client's own if it sent a sane one (1..128 printable ASCII
    characters, no spaces), otherwise a new uuid4 hex. Every line logged while the request is served carries it
    (config.logs.RequestIdFilter); it stays set after the response so that Django's own request log line
    ("Not Found: ...") has it too, and the next request replaces it. Put it first in MIDDLEWARE."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = logs.request_id_from(request.headers.get("X-Request-ID"))
        logs.request_id.set(request.request_id)
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response
